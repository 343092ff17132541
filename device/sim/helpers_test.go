package sim

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// unhex decodes hex written with spaces, as the reference prints bytes.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func hexs(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// send transmits one raw command and returns the raw response as upper-case
// hex without spaces.
func send(t testing.TB, c device.Card, cmd string) string {
	t.Helper()
	resp, err := c.Transmit(context.Background(), unhex(t, cmd))
	if err != nil {
		t.Fatalf("transmit %s: %v", cmd, err)
	}
	return hexs(resp)
}

// expect transmits cmd and checks the exact response.
func expect(t testing.TB, c device.Card, cmd, want string) {
	t.Helper()
	got := send(t, c, cmd)
	if w := strings.ToUpper(strings.ReplaceAll(want, " ", "")); got != w {
		t.Fatalf("%s:\n got %s\nwant %s", cmd, got, w)
	}
}

func newKey(t testing.TB, cfg Config) *Key {
	t.Helper()
	k, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return k
}

const (
	selMgmt = "00 A4 04 00 08 A0 00 00 05 27 47 11 17"
	selPIV  = "00 A4 04 00 05 A0 00 00 03 08"
)

// asciiHex is the hex of an ASCII string, for SELECT answers.
func asciiHex(s string) string { return hexs([]byte(s)) }
