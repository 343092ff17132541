package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/join"
)

// FuzzJoinInput feeds arbitrary bytes to what the join command decodes
// itself: the invite code from standard input (tracker/join fuzzes the
// settings file and --url with the same corpus).
func FuzzJoinInput(f *testing.F) {
	f.Add([]byte("kwi_0123456789abcdef_secret\n"))
	f.Add([]byte(`{"tracker_url":"https://t.example.com","future":[1,2]}`))
	f.Add([]byte("https://Tracker.Example.com:8443/kw/"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The invite code: one trimmed line, never empty.
		if code, err := readInviteCode(bytes.NewReader(b), io.Discard); err == nil {
			if code == "" || strings.TrimSpace(code) != code || strings.ContainsAny(code, "\r\n") || len(code) > maxInviteLine {
				t.Errorf("readInviteCode(%q) = %q", b, code)
			}
		}

	})
}

func TestReadInviteCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"kwi_a_b\n", "kwi_a_b", nil},
		{"kwi_a_b", "kwi_a_b", nil},
		{"\n\n  kwi_a_b \r\nignored\n", "kwi_a_b", nil},
		{"\rkwi_a_b\rignored", "kwi_a_b", nil},
		{"", "", join.ErrNoInviteCode},
		{" \t\r\n\n", "", join.ErrNoInviteCode},
		{strings.Repeat("\n", maxInviteLine) + "kwi_a_b", "", join.ErrNoInviteCode},
	} {
		got, err := readInviteCode(strings.NewReader(tc.in), io.Discard)
		if got != tc.want || err != tc.err {
			t.Errorf("readInviteCode(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
