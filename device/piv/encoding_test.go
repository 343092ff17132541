package piv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Metadata
		err  error
	}{
		// The three real examples in docs/yubikey-protocol.md §4.4 (.NET metadata.md)
		// and the lab trace of §7.5.
		{name: "PIN", in: "01 01 FF 05 01 01 06 02 05 05", want: Metadata{Algorithm: 0xFF, HasAlgorithm: true, IsDefault: true, HasIsDefault: true, RetriesTotal: 5, RetriesRemaining: 5, HasRetries: true}},
		{name: "PIN lab", in: "01 01 FF 05 01 01 06 02 03 03", want: Metadata{Algorithm: 0xFF, HasAlgorithm: true, IsDefault: true, HasIsDefault: true, RetriesTotal: 3, RetriesRemaining: 3, HasRetries: true}},
		{name: "mgmt key", in: "01 01 03 02 02 00 01 05 01 00", want: Metadata{Algorithm: 0x03, HasAlgorithm: true, PINPolicy: 0, TouchPolicy: 1, HasPolicy: true, HasIsDefault: true}},
		{name: "mgmt key lab", in: "01 01 03 02 02 00 00 05 01 01", want: Metadata{Algorithm: 0x03, HasAlgorithm: true, HasPolicy: true, IsDefault: true, HasIsDefault: true}},
		{name: "key slot", in: "01 01 11 02 02 02 01 03 01 01 04 03 86 01 04", want: Metadata{Algorithm: 0x11, HasAlgorithm: true, PINPolicy: 2, TouchPolicy: 1, HasPolicy: true, Origin: 1, PublicKey: []byte{0x86, 0x01, 0x04}}},
		{name: "bio tags ignored", in: "01 01 FF 07 01 01 08 00", want: Metadata{Algorithm: 0xFF, HasAlgorithm: true}},
		{name: "empty", in: "", want: Metadata{}},
		{name: "bad algorithm length", in: "01 02 03 03", err: device.ErrInvalidResponse},
		{name: "bad retries length", in: "06 01 03", err: device.ErrInvalidResponse},
		{name: "bad policy length", in: "02 01 02", err: device.ErrInvalidResponse},
		{name: "bad default length", in: "05 00", err: device.ErrInvalidResponse},
		{name: "bad origin length", in: "03 02 01 01", err: device.ErrInvalidResponse},
		{name: "truncated", in: "01 05 03", err: device.ErrInvalidResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMetadata(unhex(t, tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !metadataEqual(*got, tc.want) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func metadataEqual(a, b Metadata) bool {
	return reflect.DeepEqual(a, b) || (len(a.PublicKey) == 0 && len(b.PublicKey) == 0 && func() bool {
		a.PublicKey, b.PublicKey = nil, nil
		return reflect.DeepEqual(a, b)
	}())
}

func TestAdminData(t *testing.T) {
	tests := []struct {
		name                  string
		in                    string
		protected, pukBlocked bool
		salt                  bool
		timestamp             uint32
		roundTrip             bool
		err                   error
	}{
		// ykman's write in docs/yubikey-protocol.md §4.11 step 8.
		{name: "stored key", in: "80 03 81 01 02", protected: true, roundTrip: true},
		{name: "PIN-only (.NET)", in: "80 03 81 01 03", protected: true, pukBlocked: true, roundTrip: true},
		{name: "derived key", in: "80 15 81 01 00 82 10 000102030405060708090A0B0C0D0E0F", salt: true, roundTrip: true},
		{name: "timestamp", in: "80 09 81 01 02 83 04 5F 5E 10 00", protected: true, timestamp: 0x5F5E1000, roundTrip: true},
		{name: "no flags", in: "80 00", roundTrip: true},
		{name: "empty object", in: ""},
		{name: "unknown inner tag kept out", in: "80 06 81 01 02 99 01 00", protected: true},
		{name: "wrong outer tag", in: "81 01 02", err: device.ErrInvalidResponse},
		{name: "trailing bytes", in: "80 03 81 01 02 00", err: device.ErrInvalidResponse},
		{name: "long flags", in: "80 04 81 02 02 00", err: device.ErrInvalidResponse},
		{name: "short timestamp", in: "80 04 83 02 00 01", err: device.ErrInvalidResponse},
		{name: "truncated inner", in: "80 02 81 01", err: device.ErrInvalidResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.in)
			a, err := ParseAdminData(in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.MgmtKeyProtected() != tc.protected || a.PUKBlocked() != tc.pukBlocked || (a.Salt != nil) != tc.salt || a.Timestamp != tc.timestamp {
				t.Errorf("parsed %+v", a)
			}
			if tc.roundTrip {
				if got := a.Marshal(); !bytes.Equal(got, in) {
					t.Errorf("Marshal = % X, want % X", got, in)
				}
			}
		})
	}
	// What keywizard writes: exactly ykman's bytes.
	if got := (&AdminData{Flags: AdminFlagMgmtProtected}).Marshal(); !bytes.Equal(got, unhex(t, "80 03 81 01 02")) {
		t.Errorf("stored-key ADMIN DATA = % X", got)
	}
}

func TestProtectedData(t *testing.T) {
	key := unhex(t, "000102030405060708090A0B0C0D0E0F1011121314151617")
	// ykman's write in docs/yubikey-protocol.md §4.11 step 9 (inside 53 1C).
	want := append(unhex(t, "88 1A 89 18"), key...)
	if got := (&ProtectedData{ManagementKey: key}).Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("Marshal = % X, want % X", got, want)
	}
	p, err := ParseProtectedData(want)
	if err != nil || !bytes.Equal(p.ManagementKey, key) || p.PreviousKey != nil {
		t.Fatalf("Parse = %+v, %v", p, err)
	}
	// The transient rotation form keeps the key ykman reads in 89.
	prev := bytes.Repeat([]byte{7}, 16)
	both := (&ProtectedData{ManagementKey: key, PreviousKey: prev}).Marshal()
	if both[0] != 0x88 || !bytes.Equal(both[2:4], []byte{0x89, 0x18}) || !bytes.Equal(both[4:28], key) {
		t.Fatalf("rotation form % X", both)
	}
	p, err = ParseProtectedData(both)
	if err != nil || !bytes.Equal(p.ManagementKey, key) || !bytes.Equal(p.PreviousKey, prev) {
		t.Fatalf("Parse rotation form = %+v, %v", p, err)
	}
	// piv-go's SetMetadata with no key, and an absent object.
	for _, in := range []string{"88 00", ""} {
		p, err := ParseProtectedData(unhex(t, in))
		if err != nil || p.ManagementKey != nil {
			t.Errorf("Parse(%q) = %+v, %v", in, p, err)
		}
	}
	for _, in := range []string{
		"88 05 89 03 01 02 03", // 3-byte key
		"89 18" + strings.Repeat("00", 24),
		"88 1A 89 18" + strings.Repeat("00", 23), // truncated
		"88 02 89 00 00",
	} {
		if _, err := ParseProtectedData(unhex(t, in)); !errors.Is(err, device.ErrInvalidResponse) {
			t.Errorf("Parse(%s) err = %v, want ErrInvalidResponse", in, err)
		}
	}
}

func TestCHUID(t *testing.T) {
	var guid [16]byte
	for i := range guid {
		guid[i] = byte(0xA0 + i)
	}
	got := CHUID(guid, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	// ykman generate_chuid, byte for byte (docs/yubikey-protocol.md §4.8): the lab
	// trace wraps it as 53 3B, i.e. 59 bytes.
	want := unhex(t, "30 19 D4E739DA739CED39CE739D836858210842108421C84210C3EB"+
		"34 10 A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"+
		"35 08 3230333030313031"+
		"3E 00 FE 00")
	if !bytes.Equal(got, want) {
		t.Fatalf("CHUID\n got % X\nwant % X", got, want)
	}
	if len(got) != 0x3B {
		t.Errorf("CHUID is %d bytes, the lab trace has 0x3B", len(got))
	}
	a, err := NewCHUID(bytes.NewReader(bytes.Repeat([]byte{1}, 16)), time.Date(2056, 11, 26, 0, 0, 0, 0, time.UTC))
	if err != nil || !bytes.Contains(a, []byte("20561126")) || !bytes.Contains(a, bytes.Repeat([]byte{1}, 16)) {
		t.Errorf("NewCHUID = % X, %v", a, err)
	}
	if _, err := NewCHUID(bytes.NewReader(nil), time.Now()); err == nil {
		t.Error("NewCHUID with an empty random source succeeded")
	}
}

func TestCCC(t *testing.T) {
	var id [14]byte
	for i := range id {
		id[i] = byte(i + 1)
	}
	want := unhex(t, "F0 15 A0000001 16 FF 02 0102030405060708090A0B0C0D0E"+
		"F1 01 21 F2 01 21 F3 00 F4 01 00 F5 01 10 F6 00 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00")
	if got := CCC(id); !bytes.Equal(got, want) {
		t.Fatalf("CCC\n got % X\nwant % X", got, want)
	}
	if _, err := NewCCC(bytes.NewReader(make([]byte, 3))); err == nil {
		t.Error("NewCCC with a short random source succeeded")
	}
}

func TestValidateMacPIN(t *testing.T) {
	for _, tc := range []struct {
		pin string
		ok  bool
	}{
		{"246810", true}, {"1357913", true}, {"02468024", true},
		{"12345", false}, {"123456789", false}, {"", false},
		{"12345a", false}, {"١٢٣٤٥٦", false}, {"12 456", false},
		{"123456", false}, // factory PIN
	} {
		err := ValidateMacPIN(tc.pin)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateMacPIN(%q) = %v, want ok=%v", tc.pin, err, tc.ok)
		}
		if err != nil {
			if !errors.Is(err, device.ErrPINPolicy) {
				t.Errorf("ValidateMacPIN(%q) error %v does not match ErrPINPolicy", tc.pin, err)
			}
			if tc.pin != "" && tc.pin != DefaultPIN && strings.Contains(err.Error(), tc.pin) {
				t.Errorf("error %q repeats the PIN", err)
			}
		}
	}
}

func TestValidatePUK(t *testing.T) {
	for _, tc := range []struct {
		puk string
		ok  bool
	}{
		{"87654321", true}, {"abc-123", true}, {"Zz9!zz", true},
		{"12345", false}, {"123456789", false}, {"12345678", false},
		{"pük123", false}, {"abc\x00def", false},
	} {
		err := ValidatePUK(tc.puk)
		if (err == nil) != tc.ok {
			t.Errorf("ValidatePUK(%q) = %v, want ok=%v", tc.puk, err, tc.ok)
		}
		if err != nil && !errors.Is(err, device.ErrPINPolicy) {
			t.Errorf("ValidatePUK(%q) error %v does not match ErrPINPolicy", tc.puk, err)
		}
	}
}

func TestMgmtKeyAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		a    MgmtKeyAlgorithm
		name string
		n    int
	}{
		{MgmtTDES, "TDES", 24}, {MgmtAES128, "AES128", 16}, {MgmtAES192, "AES192", 24}, {MgmtAES256, "AES256", 32}, {0x11, "0x11", 0},
	} {
		if tc.a.String() != tc.name || tc.a.KeyLen() != tc.n {
			t.Errorf("%#x: %s/%d, want %s/%d", byte(tc.a), tc.a, tc.a.KeyLen(), tc.name, tc.n)
		}
	}
}
