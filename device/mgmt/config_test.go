package mgmt

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
)

func capp(c device.Capability) *device.Capability { return &c }
func u8(v uint8) *uint8                           { return &v }

var (
	lockA = bytes.Repeat([]byte{0xA5}, 16)
	lockB = []byte("0123456789abcdef")
)

var configCases = []struct {
	name string
	cfg  Config
	want string
	// oracle is the same configuration as ykman's DeviceConfig arguments.
	oracle map[string]any
}{
	{
		// The bytes ykman 4.0.9 sent in the lab (§7.4): it always re-sends
		// the flags it read.
		name:   "ykman 4.0.9 disable OTP",
		cfg:    Config{Reboot: true, USBEnabled: capp(0x023E), DeviceFlags: u8(0)},
		want:   "09 0C 00 03 02 02 3E 08 01 00",
		oracle: map[string]any{"reboot": true, "usb": 0x023E, "flags": 0},
	},
	{
		// ykman 5.x (and keywizard): no 08 TLV unless asked (§1.8).
		name:   "ykman 5.x disable OTP",
		cfg:    Config{Reboot: true, USBEnabled: capp(0x023E)},
		want:   "06 0C 00 03 02 02 3E",
		oracle: map[string]any{"reboot": true, "usb": 0x023E},
	},
	{
		name:   "unknown bits kept",
		cfg:    Config{Reboot: true, USBEnabled: capp(0x063E)},
		want:   "06 0C 00 03 02 06 3E",
		oracle: map[string]any{"reboot": true, "usb": 0x063E},
	},
	{
		name:   "NFC only",
		cfg:    Config{NFCEnabled: capp(0x023E)},
		want:   "04 0E 02 02 3E",
		oracle: map[string]any{"nfc": 0x023E},
	},
	{
		name:   "unlock with the current code",
		cfg:    Config{Reboot: true, USBEnabled: capp(0x023E), CurrentLockCode: lockA},
		want:   "18 0C 00 0B 10" + strings.Repeat("A5", 16) + "03 02 02 3E",
		oracle: map[string]any{"reboot": true, "usb": 0x023E, "cur": hex.EncodeToString(lockA)},
	},
	{
		name: "every field, in ykman's order",
		cfg: Config{Reboot: true, CurrentLockCode: lockA, USBEnabled: capp(0x023F), NFCEnabled: capp(0x0001),
			AutoEjectTimeout: func() *uint16 { v := uint16(0x1234); return &v }(), ChalRespTimeout: u8(15), DeviceFlags: u8(0x80), NewLockCode: lockB},
		want: "38 0C 00 0B 10" + strings.Repeat("A5", 16) + "03 02 02 3F 0E 02 00 01 06 02 12 34 07 01 0F 08 01 80 0A 10" + hex.EncodeToString(lockB),
		oracle: map[string]any{"reboot": true, "cur": hex.EncodeToString(lockA), "usb": 0x023F, "nfc": 0x0001,
			"auto_eject": 0x1234, "chalresp": 15, "flags": 0x80, "new": hex.EncodeToString(lockB)},
	},
	{
		name:   "nothing",
		cfg:    Config{},
		want:   "00",
		oracle: map[string]any{},
	},
}

func TestConfigBytes(t *testing.T) {
	reqs := make([]map[string]any, len(configCases))
	for i, c := range configCases {
		reqs[i] = map[string]any{"device_config": c.oracle}
	}
	yk := runYkmanRaw(t, reqs)
	for i, tt := range configCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if hexOf(got) != normHex(tt.want) {
				t.Errorf("Bytes() = %s\nwant      %s", hexOf(got), normHex(tt.want))
			}
			if yk[i] != hexOf(got) {
				t.Errorf("Bytes() = %s\nykman DeviceConfig.get_bytes = %s", hexOf(got), yk[i])
			}
		})
	}
	t.Run("NFC restricted (ykman-main)", func(t *testing.T) {
		got, err := Config{NFCRestricted: true}.Bytes()
		if err != nil || hexOf(got) != "03170101" {
			t.Errorf("got %x, %v", got, err)
		}
	})
}

func TestConfigBytesRejects(t *testing.T) {
	short := []byte("secret-lock")
	for _, c := range []Config{{CurrentLockCode: short}, {NewLockCode: short}, {CurrentLockCode: append(lockA, 0)}} {
		_, err := c.Bytes()
		if !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("bad lock code length: %v; want ErrInvalidArgument", err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error repeats the lock code: %v", err)
		}
	}
}

func TestParseLockCode(t *testing.T) {
	got, err := ParseLockCode("a5a5a5a5 a5a5a5a5 A5A5A5A5 a5a5a5a5")
	if err != nil || !bytes.Equal(got, lockA) {
		t.Errorf("ParseLockCode = %x, %v", got, err)
	}
	for _, in := range []string{"", "a5", "zz" + strings.Repeat("a5", 15), strings.Repeat("a5", 17)} {
		_, err := ParseLockCode(in)
		if !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("ParseLockCode(%q) = %v; want ErrInvalidArgument", in, err)
		}
		if in != "" && err != nil && strings.Contains(err.Error(), in) {
			t.Errorf("error repeats the input: %v", err)
		}
	}
}

func TestModeBytes(t *testing.T) {
	tests := []struct {
		m    Mode
		want string
	}{
		{Mode{Interfaces: device.IfaceOTP | device.IfaceFIDO}, "04 00 00 00"}, // ykman issue #448: 00 16 11 00 04 04 00 00 00
		{Mode{Interfaces: device.IfaceFIDO | device.IfaceCCID, ChalRespTimeout: 15}, "05 0F 00 00"},
		{Mode{Interfaces: device.IfaceOTP | device.IfaceFIDO | device.IfaceCCID, ChalRespTimeout: 15, AutoEjectTimeout: 0x1234}, "06 0F 34 12"},
		{Mode{Interfaces: device.IfaceOTP | device.IfaceCCID}, "02 00 00 00"},
		{Mode{Interfaces: device.IfaceCCID, TouchEject: true}, "81 00 00 00"},
	}
	var reqs []map[string]any
	for _, tt := range tests {
		if !tt.m.TouchEject {
			reqs = append(reqs, map[string]any{"mode": int(tt.m.Interfaces), "chalresp": int(tt.m.ChalRespTimeout), "auto_eject": int(tt.m.AutoEjectTimeout)})
		}
	}
	yk := runYkmanRaw(t, reqs)
	for i, tt := range tests {
		got, err := tt.m.Bytes()
		if err != nil || hexOf(got) != normHex(tt.want) {
			t.Errorf("%+v: Bytes() = %x, %v; want %s", tt.m, got, err, tt.want)
		}
		if !tt.m.TouchEject && yk[i] != hexOf(got) {
			t.Errorf("%+v: Bytes() = %x; ykman set_mode payload %s", tt.m, got, yk[i])
		}
	}
	for _, m := range []Mode{{}, {Interfaces: 8}, {Interfaces: device.IfaceOTP, TouchEject: true}} {
		if _, err := m.Bytes(); !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("%+v: %v; want ErrInvalidArgument", m, err)
		}
	}
}

func TestWriteConfig(t *testing.T) {
	ctx := context.Background()
	v5 := device.Version{Major: 5, Minor: 4, Patch: 3}
	t.Run("sends WRITE CONFIG", func(t *testing.T) {
		s := openScript(t, v5, step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3E", resp: "9000"})
		if err := s.WriteConfig(ctx, Config{Reboot: true, USBEnabled: capp(0x023E)}); err != nil {
			t.Fatal(err)
		}
	})
	for _, sw := range []string{"6F00", "6982"} {
		t.Run("lock refusal "+sw, func(t *testing.T) {
			s := openScript(t, v5, step{cmd: "00 1C 00 00 05 04 03 02 02 3E", resp: sw})
			err := s.WriteConfig(ctx, Config{USBEnabled: capp(0x023E)})
			var le *LockedError
			if !errors.Is(err, device.ErrLocked) || !errors.As(err, &le) || le.CodeSupplied || errors.Is(err, device.ErrWrongPIN) {
				t.Fatalf("WriteConfig = %v; want a LockedError without a code", err)
			}
		})
	}
	t.Run("wrong lock code", func(t *testing.T) {
		s := openScript(t, v5, step{cmd: "00 1C 00 00 17 16 0B 10" + hexOf(lockB) + "03 02 02 3E", resp: "6F00"})
		err := s.WriteConfig(ctx, Config{USBEnabled: capp(0x023E), CurrentLockCode: lockB})
		if !errors.Is(err, device.ErrLocked) || !errors.Is(err, device.ErrWrongPIN) {
			t.Fatalf("WriteConfig = %v; want ErrLocked and ErrWrongPIN", err)
		}
		if strings.Contains(err.Error(), string(lockB)) || strings.Contains(err.Error(), hexOf(lockB)) {
			t.Fatalf("error message leaks the lock code: %v", err)
		}
	})
	t.Run("other status is not a lock", func(t *testing.T) {
		s := openScript(t, v5, step{cmd: "00 1C 00 00 05 04 03 02 02 3E", resp: "6A80"})
		err := s.WriteConfig(ctx, Config{USBEnabled: capp(0x023E)})
		if err == nil || errors.Is(err, device.ErrLocked) {
			t.Fatalf("WriteConfig = %v; want a non-lock error", err)
		}
	})
	for _, v := range []device.Version{{Major: 4, Minor: 3, Patch: 7}, {Major: 3, Minor: 4, Patch: 9}} {
		t.Run("refused on "+v.String(), func(t *testing.T) {
			s := openScript(t, v) // nothing may be sent
			if err := s.WriteConfig(ctx, Config{USBEnabled: capp(0x3E)}); !errors.Is(err, device.ErrUnsupported) {
				t.Fatalf("WriteConfig = %v; want ErrUnsupported", err)
			}
		})
	}
}

func TestSetMode(t *testing.T) {
	ctx := context.Background()
	t.Run("YubiKey 4", func(t *testing.T) {
		s := openScript(t, device.Version{Major: 4, Minor: 1, Patch: 1}, step{cmd: "00 16 11 00 04 04 00 00 00", resp: "9000"})
		if err := s.SetMode(ctx, Mode{Interfaces: device.IfaceOTP | device.IfaceFIDO}); err != nil {
			t.Fatal(err)
		}
	})
	for _, v := range []device.Version{{Major: 5, Minor: 4, Patch: 3}, {Major: 3, Minor: 4, Patch: 9}} {
		t.Run("refused on "+v.String(), func(t *testing.T) {
			s := openScript(t, v)
			if err := s.SetMode(ctx, Mode{Interfaces: device.IfaceCCID}); !errors.Is(err, device.ErrUnsupported) {
				t.Fatalf("SetMode = %v; want ErrUnsupported", err)
			}
		})
	}
}

func FuzzParseLockCode(f *testing.F) {
	f.Add("a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseLockCode(s)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidArgument) {
				t.Fatalf("error %v does not match ErrInvalidArgument", err)
			}
			if len(s) >= 4 && strings.Contains(err.Error(), s) {
				t.Fatalf("error repeats the input: %v", err)
			}
			return
		}
		if len(b) != LockCodeLen {
			t.Fatalf("accepted %d bytes", len(b))
		}
	})
}

func TestNoLockCodeInFormatting(t *testing.T) {
	code := []byte("SECRETLOCKCODE16")
	values := []any{
		Request{USBDisable: device.CapOTP, LockCode: code},
		Config{USBEnabled: capp(0x023E), CurrentLockCode: code, NewLockCode: code, Reboot: true},
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, "SECRET") || strings.Contains(out, hexOf(code)) || strings.Contains(out, "83 69") {
				t.Errorf("%s of %T leaks the lock code: %s", verb, v, out)
			}
			if !strings.Contains(out, "redacted") {
				t.Errorf("%s of %T does not say a code was given: %s", verb, v, out)
			}
		}
	}
	if got := (Config{USBEnabled: capp(0x023E), Reboot: true}).String(); got != "USB enabled 0x023e, reboot" {
		t.Errorf("Config.String() = %q", got)
	}
}
