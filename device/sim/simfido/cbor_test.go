package simfido

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/keywizard/keywizard/device"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCBORVectors uses RFC 8949 Appendix A examples (the subset CTAP2
// allows) in both directions.
func TestCBORVectors(t *testing.T) {
	tests := []struct {
		hex  string
		val  any
		skip bool // decode only
	}{
		{"00", int64(0), false},
		{"17", int64(23), false},
		{"1818", int64(24), false},
		{"1903e8", int64(1000), false},
		{"1a000f4240", int64(1000000), false},
		{"1b000000e8d4a51000", int64(1000000000000), false},
		{"20", int64(-1), false},
		{"3863", int64(-100), false},
		{"3903e7", int64(-1000), false},
		{"40", []byte{}, false},
		{"4401020304", []byte{1, 2, 3, 4}, false},
		{"60", "", false},
		{"6449455446", "IETF", false},
		{"62c3bc", "\u00fc", false},
		{"f4", false, false},
		{"f5", true, false},
		{"f6", cborNull{}, false},
		{"80", []any{}, false},
		{"83010203", []any{int64(1), int64(2), int64(3)}, false},
		{"8301820203820405", []any{int64(1), []any{int64(2), int64(3)}, []any{int64(4), int64(5)}}, false},
	}
	for _, tt := range tests {
		got, err := decodeCBOR(unhex(t, tt.hex))
		if err != nil {
			t.Errorf("decode %s: %v", tt.hex, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.val) {
			t.Errorf("decode %s = %#v, want %#v", tt.hex, got, tt.val)
		}
		if enc := hex.EncodeToString(encodeCBOR(tt.val)); enc != tt.hex {
			t.Errorf("encode %#v = %s, want %s", tt.val, enc, tt.hex)
		}
	}
}

// TestCBORCanonicalMap: CTAP2 canonical order puts shorter keys first,
// then bytewise: 1, 2, 10, -1, -2, "id", "name" (CTAP 2.1 §8).
func TestCBORCanonicalMap(t *testing.T) {
	got := encodeCBOR(map[int]any{-2: 0, 10: 0, 1: 0, -1: 0, 2: 0})
	if want := "a5" + "0100" + "0200" + "0a00" + "2000" + "2100"; hex.EncodeToString(got) != want {
		t.Errorf("int keys: %x, want %s", got, want)
	}
	got = encodeCBOR(map[string]any{"name": "x", "id": "y"})
	if want := "a2" + "626964" + "6179" + "646e616d65" + "6178"; hex.EncodeToString(got) != want {
		t.Errorf("text keys: %x, want %s", got, want)
	}
	m, err := decodeCBOR(got)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.(*cborMap).get("name"); !ok || v != "x" {
		t.Errorf("get(name) = %v, %v", v, ok)
	}
	if !bytes.Equal(encodeCBOR(m), got) {
		t.Errorf("re-encoding a decoded map changed it")
	}
}

func TestCBORRejects(t *testing.T) {
	for _, h := range []string{
		"",                       // nothing
		"18",                     // truncated argument
		"1c",                     // reserved additional information
		"5f",                     // indefinite byte string
		"9f",                     // indefinite array
		"bf",                     // indefinite map
		"c0",                     // tag
		"f97e00",                 // half float
		"fb3ff199999999999a",     // double
		"f0",                     // simple value 16
		"4201",                   // string longer than input
		"9a7fffffff",             // array count beyond input
		"bb7fffffffffffffff",     // map count beyond input
		"a1f500",                 // bool map key
		"a2010001 00",            // duplicate key (spaces stripped below)
		"0000",                   // trailing bytes
		"3bffffffffffffffff",     // negative integer beyond int64
		"1bffffffffffffffff",     // integer beyond int64
		"8181818181818181818100", // nested deeper than 8
	} {
		b, err := hex.DecodeString(stripSpaces(h))
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if _, err := decodeCBOR(b); !errors.Is(err, errCBOR) {
			t.Errorf("decode %s = %v, want errCBOR", h, err)
		}
	}
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

// FuzzDecodeCBOR: the decoder never panics, and whatever it accepts
// re-encodes canonically to something that decodes to the same value.
func FuzzDecodeCBOR(f *testing.F) {
	for _, h := range []string{"a301020203a1626964616a", "83010203", "f6", "bf", "1bffffffffffffffff"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeCBOR(b)
		if err != nil {
			return
		}
		enc := encodeCBOR(v)
		v2, err := decodeCBOR(enc)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", enc, err)
		}
		if !bytes.Equal(encodeCBOR(v2), enc) {
			t.Fatalf("encoding not stable for %x", b)
		}
	})
}

// FuzzHandleCTAP: any CTAP message gets a status byte back and never a
// panic; a key without a PIN keeps its state whatever it is sent, except
// through setPIN (which needs a valid key agreement no fuzzer finds) or
// reset.
func FuzzHandleCTAP(f *testing.F) {
	for _, h := range []string{
		"04",                  // getInfo
		"06a2010102" + "01",   // clientPIN getRetries
		"06a20101" + "0202",   // getKeyAgreement
		"06a301010203" + "a0", // setPIN with an empty key
		"41a10101",            // credMgmt metadata without auth
		"0aa10102",            // credMgmt (final) RPs begin
		"07",                  // reset
		"06ff",                // bad CBOR
		"0601",                // not a map
		"",
	} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		a := New(Config{Serial: 1, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}})
		resp, err := a.HandleCTAP(context.Background(), msg)
		if err != nil {
			t.Fatalf("HandleCTAP(%x) error %v", msg, err)
		}
		if len(resp) == 0 {
			t.Fatalf("HandleCTAP(%x): empty response", msg)
		}
		if resp[0] == statusOK && len(resp) > 1 {
			if _, err := decodeCBOR(resp[1:]); err != nil {
				t.Fatalf("response %x is not CBOR: %v", resp, err)
			}
		}
		if a.retries != MaxPINRetries {
			t.Fatalf("retries changed to %d by %x", a.retries, msg)
		}
	})
}
