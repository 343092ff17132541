package mgmt

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
)

var versionCases = []struct {
	in   string
	want *device.Version // nil: no version
}{
	{"Virtual mgr - FW version 5.7.2", ver(5, 7, 2)},
	{"Virtual mgr - FW version 4.1.1", ver(4, 1, 1)},
	{"YubiKey Edge 4.1.1\x90\x00", ver(4, 1, 1)}, // Edge repeats 90 00 in the data
	{"FW 5-4-3", ver(5, 4, 3)},                   // ykman's "." is any character
	{"v10.2.3", nil},                             // no word boundary before 10
	{"version 5.10.2", nil},                      // two-digit minor is not a version to ykman
	{"a 5.4.3.1 b", ver(5, 4, 3)},
	{"5.4.3", ver(5, 4, 3)},
	{"255.0.0", ver(255, 0, 0)},
	{"", nil},
	{"no version here", nil},
	{"5.4", nil},
}

func TestParseVersion(t *testing.T) {
	for _, tt := range versionCases {
		got, err := ParseVersion([]byte(tt.in))
		if tt.want == nil {
			if !errors.Is(err, device.ErrInvalidResponse) || !errors.Is(err, device.ErrUnsupported) {
				t.Errorf("ParseVersion(%q) = %v, %v; want an error matching ErrInvalidResponse and ErrUnsupported", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != *tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", tt.in, got, err, *tt.want)
		}
	}
	if _, err := ParseVersion([]byte("FW 300.1.2")); !errors.Is(err, device.ErrInvalidResponse) {
		t.Errorf("major 300 does not fit a byte; got %v", err)
	}
}

// TestParseVersionMatchesYkman runs the same strings through ykman's
// Version.from_string (the Edge "90 00" strip happens before it in ykman, as
// in ParseVersion, so it is left out here).
func TestParseVersionMatchesYkman(t *testing.T) {
	var reqs []map[string]any
	var ins []string
	for _, tt := range versionCases {
		if len(tt.in) >= 2 && tt.in[len(tt.in)-2:] == "\x90\x00" {
			continue
		}
		ins = append(ins, tt.in)
		reqs = append(reqs, map[string]any{"version_string": tt.in})
	}
	res := runYkman(t, reqs)
	for i, in := range ins {
		got, err := ParseVersion([]byte(in))
		if res[i].Error != "" {
			if err == nil {
				t.Errorf("%q: ykman finds no version (%s), ParseVersion gave %v", in, res[i].Error, got)
			}
			continue
		}
		want := res[i].Version
		if err != nil || !equalInts([]int{int(got.Major), int(got.Minor), int(got.Patch)}, want) {
			t.Errorf("%q: ParseVersion = %v, %v; ykman %v", in, got, err, want)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("YubiKey", func(t *testing.T) {
		card := newScript(t, "5.7.1", step{cmd: cmdSelect, resp: selectOK(device.Version{Major: 5, Minor: 7, Patch: 1})})
		s, err := Open(ctx, card)
		if err != nil || s.Version() != (device.Version{Major: 5, Minor: 7, Patch: 1}) {
			t.Fatalf("Open = %v, %v", s, err)
		}
	})
	t.Run("not a YubiKey", func(t *testing.T) {
		card := newScript(t, "other card", step{cmd: cmdSelect, resp: "6A82"})
		_, err := Open(ctx, card)
		if !errors.Is(err, device.ErrNotFound) || !errors.Is(err, device.ErrUnsupported) {
			t.Fatalf("Open = %v; want an error matching ErrNotFound and ErrUnsupported", err)
		}
	})
	t.Run("card answers without a version", func(t *testing.T) {
		card := newScript(t, "odd card", step{cmd: cmdSelect, resp: hex.EncodeToString([]byte("hello")) + "9000"})
		_, err := Open(ctx, card)
		if !errors.Is(err, device.ErrUnsupported) || !errors.Is(err, device.ErrInvalidResponse) {
			t.Fatalf("Open = %v; want ErrUnsupported and ErrInvalidResponse", err)
		}
	})
	t.Run("removed", func(t *testing.T) {
		card := newScript(t, "gone", step{cmd: cmdSelect, err: device.ErrRemoved})
		if _, err := Open(ctx, card); !errors.Is(err, device.ErrRemoved) {
			t.Fatalf("Open = %v; want ErrRemoved", err)
		}
	})
	t.Run("nil card", func(t *testing.T) {
		if _, err := Open(ctx, nil); !errors.Is(err, device.ErrInvalidArgument) {
			t.Fatalf("Open(nil) = %v", err)
		}
	})
}
