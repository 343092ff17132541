package piv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// The seed corpora under testdata/fuzz hold the real responses of
// docs/yubikey-protocol.md §4.4, §4.11 and §7.5 (scripts/seed.sh).

func FuzzParseMetadata(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(b)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse", err)
			}
			return
		}
		if m.HasRetries && (m.RetriesTotal > 255 || m.RetriesRemaining > 255) {
			t.Fatalf("retries out of byte range: %+v", m)
		}
	})
}

func FuzzParseAdminData(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAdminData(b)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse", err)
			}
			return
		}
		// What we parse we can write back, and it reads the same.
		again, err := ParseAdminData(a.Marshal())
		if err != nil {
			t.Fatalf("re-parsing our own encoding % X: %v", a.Marshal(), err)
		}
		if again.Flags != a.Flags || !bytes.Equal(again.Salt, a.Salt) || again.Timestamp != a.Timestamp || again.HasTimestamp != a.HasTimestamp {
			t.Fatalf("round trip changed %+v into %+v", a, again)
		}
	})
}

func FuzzParseProtectedData(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProtectedData(b)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse", err)
			}
			return
		}
		again, err := ParseProtectedData(p.Marshal())
		if err != nil || !bytes.Equal(again.ManagementKey, p.ManagementKey) || !bytes.Equal(again.PreviousKey, p.PreviousKey) {
			t.Fatalf("round trip of %+v: %+v, %v", p, again, err)
		}
	})
}

func FuzzDynAuthElement(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range []int{8, 16} {
			v, err := dynAuthElement(b, 0x80, n)
			if err != nil {
				if !errors.Is(err, device.ErrInvalidResponse) {
					t.Fatalf("error %v is not ErrInvalidResponse", err)
				}
				continue
			}
			if len(v) != n {
				t.Fatalf("element of %d bytes accepted for n=%d", len(v), n)
			}
		}
	})
}
