package mgmt

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/tlv"
)

func openScript(t *testing.T, v device.Version, steps ...step) *Session {
	t.Helper()
	card := newScript(t, t.Name(), append([]step{{cmd: cmdSelect, resp: selectOK(v)}}, steps...)...)
	s, err := Open(context.Background(), card)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReadInfoPaging(t *testing.T) {
	v := device.Version{Major: 5, Minor: 7, Patch: 4}
	page0 := infoSpec{serial: 42, version: ver(5, 7, 4), ff: 0x04, usbSup: 0x033F, usbEn: u16(0x033F), extra: tlv.Encode(tagMoreData, []byte{1})}.bytes()
	p1 := tlv.Encode(tagPartNumber, []byte("PN-1"))
	page1 := append([]byte{byte(len(p1))}, p1...)
	s := openScript(t, v,
		step{cmd: cmdReadConfig, resp: hexOf(page0) + "9000"},
		step{cmd: "00 1D 01 00", resp: hexOf(page1) + "9000"})
	info, err := s.ReadInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Serial != 42 || info.PartNumber != "PN-1" || info.Model() != "YubiKey 5C Nano" {
		t.Errorf("paged info = %+v (%s)", info, info.Model())
	}
}

func TestReadInfoPagingBounded(t *testing.T) {
	v := device.Version{Major: 5, Minor: 7, Patch: 4}
	more := tlv.Encode(tagMoreData, []byte{1})
	page := hexOf(append([]byte{byte(len(more))}, more...)) + "9000"
	var steps []step
	for p := 0; p < maxPages; p++ {
		steps = append(steps, step{cmd: hexOf([]byte{0, insReadConfig, byte(p), 0}), resp: page})
	}
	s := openScript(t, v, steps...)
	if _, err := s.ReadInfo(context.Background()); !errors.Is(err, device.ErrInvalidResponse) {
		t.Fatalf("a key asking for pages forever: %v; want ErrInvalidResponse", err)
	}
}

func TestReadInfoOldFirmware(t *testing.T) {
	for _, v := range []device.Version{{Major: 4, Minor: 0, Patch: 9}, {Major: 3, Minor: 4, Patch: 9}} {
		s := openScript(t, v) // nothing but SELECT may be sent
		info, err := s.ReadInfo(context.Background())
		if !errors.Is(err, device.ErrUnsupported) {
			t.Errorf("%v: ReadInfo error %v; want ErrUnsupported", v, err)
		}
		if info.Version != v {
			t.Errorf("%v: ReadInfo still reports version %v", v, info.Version)
		}
	}
}

func TestReadInfoErrors(t *testing.T) {
	v := device.Version{Major: 5, Minor: 4, Patch: 3}
	tests := []struct {
		name string
		st   step
		want error
	}{
		{"removed", step{cmd: cmdReadConfig, err: device.ErrRemoved}, device.ErrRemoved},
		{"not supported", step{cmd: cmdReadConfig, resp: "6D00"}, device.ErrUnsupported},
		{"malformed", step{cmd: cmdReadConfig, resp: "2B0102023F9000"}, device.ErrInvalidResponse},
		{"no status word", step{cmd: cmdReadConfig, resp: "90"}, device.ErrInvalidResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openScript(t, v, tt.st)
			if _, err := s.ReadInfo(context.Background()); !errors.Is(err, tt.want) {
				t.Fatalf("ReadInfo = %v; want %v", err, tt.want)
			}
		})
	}
}

func FuzzParseInfo(f *testing.F) {
	for _, s := range []string{resp5NFC523, resp5Ci526, resp5NFC543} {
		b, _ := hex.DecodeString(normHex(s))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseInfo(b)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("error %v does not match ErrInvalidResponse", err)
			}
			return
		}
		if len(b) == 0 || int(b[0]) != len(b)-1 {
			t.Fatalf("accepted a response whose length byte is wrong: % x", b)
		}
		_ = info.Model()
		again, err := ParseInfo(b)
		if err != nil || again != info {
			t.Fatalf("not deterministic: %+v vs %+v, %v", info, again, err)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	f.Add([]byte("Virtual mgr - FW version 5.7.2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVersion(b)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("error %v does not match ErrInvalidResponse", err)
			}
			return
		}
		if v.Minor > 9 || v.Patch > 9 {
			t.Fatalf("minor and patch are single digits, got %v", v)
		}
	})
}

func TestReadInfoMoreDataZero(t *testing.T) {
	// MORE_DATA 00 means no further page (ykman-main: pages still to come).
	page0 := infoSpec{serial: 43, version: ver(5, 7, 4), ff: 0x04, usbSup: 0x033F, usbEn: u16(0x033F), extra: []byte{tagMoreData, 1, 0}}.bytes()
	s := openScript(t, device.Version{Major: 5, Minor: 7, Patch: 4}, step{cmd: cmdReadConfig, resp: hexOf(page0) + "9000"})
	if info, err := s.ReadInfo(context.Background()); err != nil || info.Serial != 43 {
		t.Fatalf("ReadInfo = %+v, %v", info, err)
	}
}

func TestReadInfoBadSecondPage(t *testing.T) {
	page0 := infoSpec{serial: 44, version: ver(5, 7, 4), ff: 0x04, usbSup: 0x033F, usbEn: u16(0x033F), extra: []byte{tagMoreData, 1, 1}}.bytes()
	s := openScript(t, device.Version{Major: 5, Minor: 7, Patch: 4},
		step{cmd: cmdReadConfig, resp: hexOf(page0) + "9000"},
		step{cmd: "00 1D 01 00", resp: "05 13 02 41 9000"})
	if _, err := s.ReadInfo(context.Background()); !errors.Is(err, device.ErrInvalidResponse) {
		t.Fatalf("ReadInfo = %v; want ErrInvalidResponse", err)
	}
}

func BenchmarkParseInfo(b *testing.B) {
	raw, _ := hex.DecodeString(normHex(resp5NFC523))
	for b.Loop() {
		if _, err := ParseInfo(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenReadInfo is what discovery costs per key in-process: SELECT
// plus READ CONFIG against the simulator.
func BenchmarkOpenReadInfo(b *testing.B) {
	k, err := sim.New(sim.Config{Serial: 1, Model: "5c-nano"})
	if err != nil {
		b.Fatal(err)
	}
	card := k.Card()
	ctx := context.Background()
	for b.Loop() {
		s, err := Open(ctx, card)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ReadInfo(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
