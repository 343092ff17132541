//go:build cgo && linux

package keys_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/scan/scanbench"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/testenv"
	"github.com/keywizard/keywizard/steps"
)

// coexistRuns is how many times each ykman command runs beside the watcher.
const coexistRuns = 50

// TestYkmanBesideWatcher is the window left open while the person (or their
// ssh agent) uses the key with other smart-card software: with the watcher
// the window uses (keys.Keys.Watch, over device/scan) following two
// simulated keys, Yubico's ykman reads and changes the PIV PIN on one of
// them over and over, while the other key is replugged. Every run must
// succeed: the watcher probes a card only
// when it arrives, never because another program connected to it, so it
// never selects the management application in the middle of ykman's PIV
// session (which then answered 6D00).
func TestYkmanBesideWatcher(t *testing.T) {
	testenv.LockVPCD(t)
	var sims []*sim.Key
	for slot, model := range []string{"5c-nano", "5c-nfc"} {
		a, err := scanbench.Attach(context.Background(), slot, sim.Config{Serial: uint32(63000001 + slot), Model: model})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := a.Remove(); err != nil {
				t.Error(err)
			}
		})
		sims = append(sims, a.Key)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ks := &keys.Keys{Hub: keys.NewHub(sim.NewRegistry(sims...))}
	events, err := ks.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for len(seen) < 2 {
		select {
		case ev := <-events:
			if ev.Kind == steps.KeyAdded {
				seen[ev.Key.Serial] = true
			}
		case <-time.After(scanbench.Guard):
			t.Fatalf("the watcher did not report both keys (saw %v)", seen)
		}
	}
	// Anything the watcher reports from now on is drained, and counted:
	// nothing arrives or leaves while ykman works.
	later := make(chan steps.KeyEvent, 1000)
	go func() {
		for ev := range events {
			later <- ev
		}
		close(later)
	}()

	ykman := func(args ...string) {
		t.Helper()
		cctx, ccancel := context.WithTimeout(ctx, time.Minute)
		defer ccancel()
		out, err := exec.CommandContext(cctx, "ykman", append([]string{"--reader", sim.ReaderName(0)}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ykman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Meanwhile the other key is unplugged and plugged back in, again and
	// again: each time the watcher wakes, and sees the first key's state
	// word changed too (SCARD_STATE_INUSE, set while ykman is connected).
	// That must not make it probe the first key.
	replugs := make(chan struct{})
	go func() {
		defer close(replugs)
		for ctx.Err() == nil {
			sims[1].Unplug()
			time.Sleep(1500 * time.Millisecond)
			sims[1].Plug()
			time.Sleep(1500 * time.Millisecond)
		}
	}()
	for range coexistRuns {
		ykman("piv", "info")
		ykman("piv", "access", "change-pin", "--pin", "123456", "--new-pin", "24681357")
		ykman("piv", "access", "change-pin", "--pin", "24681357", "--new-pin", "123456")
	}
	cancel()
	<-replugs
	if pin, _ := sims[0].PIVRetries(); pin != 3 {
		t.Errorf("PIV PIN retries %d after the runs, want 3 (no wrong PIN was ever sent)", pin)
	}
	for ev := range later {
		if ev.Key.Serial != sims[1].Serial() {
			t.Errorf("the watcher reported %v for key %d while ykman used it", ev.Kind, ev.Key.Serial)
		}
	}
}
