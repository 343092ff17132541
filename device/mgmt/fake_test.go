package mgmt

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// step is one exchange a scriptCard expects: the exact command bytes (hex,
// spaces ignored) and either a response (hex, including SW) or an error.
type step struct {
	cmd  string
	resp string
	err  error
}

// scriptCard is a device.Card that plays a fixed transcript and fails the
// test on any command it did not expect, so tests assert the exact bytes sent
// and that nothing is sent after a refusal.
type scriptCard struct {
	t      testing.TB
	name   string
	mu     sync.Mutex
	steps  []step
	sent   []string
	closed bool
}

func newScript(t testing.TB, name string, steps ...step) *scriptCard {
	c := &scriptCard{t: t, name: name, steps: steps}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.steps) != 0 && !t.Failed() {
			t.Errorf("%s: %d expected commands were not sent, next: %s", c.name, len(c.steps), c.steps[0].cmd)
		}
	})
	return c
}

func normHex(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "|", "").Replace(s))
}

func (c *scriptCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := hex.EncodeToString(cmd)
	c.sent = append(c.sent, got)
	if c.closed {
		c.t.Errorf("%s: command %s sent on a closed card", c.name, got)
		return nil, fmt.Errorf("closed card: %w", device.ErrRemoved)
	}
	if len(c.steps) == 0 {
		c.t.Errorf("%s: unexpected command %s after the end of the script", c.name, got)
		return nil, fmt.Errorf("script over: %w", device.ErrRemoved)
	}
	s := c.steps[0]
	c.steps = c.steps[1:]
	if want := normHex(s.cmd); want != got {
		c.t.Errorf("%s: command\n got %s\nwant %s", c.name, got, want)
	}
	if s.err != nil {
		return nil, s.err
	}
	b, err := hex.DecodeString(normHex(s.resp))
	if err != nil {
		c.t.Fatalf("bad response hex %q", s.resp)
	}
	return b, nil
}

func (c *scriptCard) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// Commands as the package must send them.
const (
	cmdSelect     = "00 A4 04 00 08 A0 00 00 05 27 47 11 17"
	cmdReadConfig = "00 1D 00 00"
)

// selectOK is the SELECT answer of a key with firmware v.
func selectOK(v device.Version) string {
	return hex.EncodeToString(selectText(v)) + "9000"
}

// hexOf spells bytes the way the scripts do.
func hexOf(b []byte) string { return hex.EncodeToString(b) }
