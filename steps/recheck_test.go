package steps_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// TestRecheckAfterRestart: results recorded in one run are read again in
// the next; a passkey removed meanwhile and a key reset meanwhile are taken
// back with the reason and time, the summary and the report say so, and
// what still holds carries the new check time.
func TestRecheckAfterRestart(t *testing.T) {
	e := newEnv(t, "linux", twoKeys()...)
	e.setup(nano, nfc)
	for _, s := range []uint32{nano, nfc} {
		e.must("register", e.keys.RegisterPasskey(s, "google.com", "alice@example.com"))
		e.must("open", e.w.OpenService(e.ctx, "google", s))
		e.must("verify", e.w.Verify(e.ctx, "google", s))
		e.must("otp", e.w.DisableOTP(e.ctx, s))
	}
	recorded := stepKey(e.w.Snapshot(), "google", nfc).Evidence.At

	// Meanwhile: the Nano's Google passkey is deleted; the NFC key keeps
	// its own.
	e.keys.Key(nano).Passkeys = nil
	e.clock.Advance(2 * time.Hour)
	e.w = e.newWizard()
	asked := len(e.prompter.Requests)
	e.must("recheck", e.w.RecheckAll(e.ctx))
	if n := len(e.prompter.Requests) - asked; n != 2 {
		t.Errorf("PIN asked %d times, want once per key", n)
	}
	s := e.w.Snapshot()
	k := stepKey(s, "google", nano)
	at := stepstest.FlowNow.Add(2 * time.Hour).Format("15:04")
	if k.Evidence != nil || k.Status == steps.StatusDone || !strings.Contains(k.Lost, "Google Workspace passkey not found on key 12345678 at "+at+": set it up again") {
		t.Fatalf("google on the Nano after the re-check: %+v", k)
	}
	if kept := stepKey(s, "google", nfc); kept.Evidence == nil || !kept.Evidence.Checked().Equal(stepstest.FlowNow.Add(2*time.Hour)) || !kept.Evidence.At.Equal(recorded) {
		t.Errorf("google on the NFC key: %+v", kept.Evidence)
	}
	if st := step(s, "google"); st.Status == steps.StatusDone {
		t.Error("google still done")
	}
	if sum := e.w.Summary(); !strings.Contains(sum, "not done: Google Workspace passkey not found on key 12345678") || !strings.Contains(sum, "last checked") {
		t.Errorf("summary:\n%s", sum)
	}
	rep := e.w.LastReport()
	for _, rk := range rep.Keys {
		for _, it := range rk.Items {
			if it.Service == "google" && rk.Serial == nano {
				t.Errorf("the report still claims Google on the Nano: %+v", it)
			}
			if it.CheckedAt.IsZero() || it.CheckedAt.Before(it.At) {
				t.Errorf("item %s on %d checked at %v", it.Service, rk.Serial, it.CheckedAt)
			}
		}
	}
	if !strings.Contains(strings.Join(rep.Remaining, "\n"), "passkey not found on key 12345678") {
		t.Errorf("report's remaining: %q", rep.Remaining)
	}
	// Survives a restart (saved), and new evidence clears it.
	e.w = e.newWizard()
	if k := stepKey(e.w.Snapshot(), "google", nano); k.Lost == "" {
		t.Error("the reason was not saved")
	}
	e.must("register", e.keys.RegisterPasskey(nano, "google.com", "alice@example.com"))
	e.must("verify", e.w.Verify(e.ctx, "google", nano))
	if k := stepKey(e.w.Snapshot(), "google", nano); k.Lost != "" || k.Evidence == nil {
		t.Errorf("after verifying again: %+v", k)
	}

	// A key reset elsewhere: no PIN, no passkeys, OTP back on. Re-checked
	// without asking for a PIN (there is none).
	fk := e.keys.Key(nfc)
	fk.FIDOPIN, fk.Passkeys = "", nil
	fk.Key.Info.USBEnabled |= device.CapOTP
	asked = len(e.prompter.Requests)
	e.must("recheck nfc", e.w.Recheck(e.ctx, nfc))
	if len(e.prompter.Requests) != asked {
		t.Error("a PIN was asked of a key without one")
	}
	s = e.w.Snapshot()
	for _, id := range []steps.StepID{steps.StepFIDOPIN, "google", steps.StepOTP} {
		if k := stepKey(s, id, nfc); k.Evidence != nil || k.Lost == "" {
			t.Errorf("%s on the reset key: %+v", id, k)
		}
	}
	// A key not plugged in keeps its last check.
	e.keys.Unplug(nano)
	before := *stepKey(e.w.Snapshot(), steps.StepOTP, nano).Evidence
	e.must("recheck unplugged", e.w.Recheck(e.ctx, nano))
	if after := stepKey(e.w.Snapshot(), steps.StepOTP, nano).Evidence; after == nil || !after.Checked().Equal(before.Checked()) {
		t.Errorf("unplugged key's OTP: %+v, was %+v", after, before)
	}
}

// TestReportRechecksFirst: the report is built from a fresh read of the
// keys, so a result that no longer holds is not sent as done.
func TestReportRechecksFirst(t *testing.T) {
	e := newEnv(t, "linux", twoKeys()...)
	e.setup(nano, nfc)
	e.must("otp", e.w.DisableOTP(e.ctx, nano))
	e.keys.Key(nano).Key.Info.USBEnabled |= device.CapOTP // turned back on with ykman
	e.must("report", e.w.Report(e.ctx))
	sent := e.reporter.Sent()
	for _, rk := range sent[len(sent)-1].Keys {
		if rk.OTPDisabled {
			t.Errorf("key %d reported with OTP off", rk.Serial)
		}
	}
	if k := stepKey(e.w.Snapshot(), steps.StepOTP, nano); !strings.Contains(k.Lost, "OTP is on again on key 12345678") {
		t.Errorf("otp on the Nano: %+v", k)
	}
}

// TestPresence: a key pulled out is unplugged at once; one rebooting after
// OTP is turned off is restarting, and back to plugged in after.
func TestPresence(t *testing.T) {
	e := newEnv(t, "linux", twoKeys()...)
	e.setup(nano, nfc)
	var seen []steps.Presence
	e.keys.Hook = func(op stepstest.Op, serial uint32) error {
		if op == stepstest.OpDisableOTP {
			e.keys.Hook = nil
			// Inside the call, before the key reboots: the wizard has
			// marked it as being reconfigured.
			e.keys.Unplug(serial)
			waitFor(t, e.w, func(s steps.Snapshot) bool { return !stepKey(s, steps.StepOTP, serial).Connected })
			seen = append(seen, stepKey(e.w.Snapshot(), steps.StepOTP, serial).Presence)
			e.keys.Plug(serial)
		}
		return nil
	}
	watchAll(t, e)
	e.must("otp", e.w.DisableOTP(e.ctx, nano))
	if len(seen) != 1 || seen[0] != steps.PresenceRestarting {
		t.Fatalf("while rebooting after the change: %v, want restarting", seen)
	}
	e.keys.Unplug(nfc)
	waitFor(t, e.w, func(s steps.Snapshot) bool { return stepKey(s, steps.StepOTP, nfc).Presence == steps.PresenceUnplugged })
	if k := stepKey(e.w.Snapshot(), steps.StepOTP, nano); k.Presence != steps.PresencePlugged {
		t.Errorf("nano %s", k.Presence)
	}
	// An error while reconfiguring leaves no key "restarting".
	e.keys.Key(nfc).LockCode = true
	e.keys.Plug(nfc)
	waitFor(t, e.w, func(s steps.Snapshot) bool { return stepKey(s, steps.StepOTP, nfc).Presence == steps.PresencePlugged })
	if err := e.w.DisableOTP(e.ctx, nfc); !errors.Is(err, device.ErrLocked) {
		t.Fatalf("locked key: %v", err)
	}
	e.keys.Unplug(nfc)
	waitFor(t, e.w, func(s steps.Snapshot) bool { return stepKey(s, steps.StepOTP, nfc).Presence == steps.PresenceUnplugged })
}

// watchAll runs the wizard's key watch for the test.
func watchAll(t *testing.T, e *env) {
	t.Helper()
	ctx, cancel := contextWithCancel(e)
	t.Cleanup(cancel)
	_, werr := e.w.Watch(ctx)
	e.must("watch", werr)
}

// TestInstructionsAndAccountFirst: instructions name the key worked on by
// its serial; a service that needs an account name says so before its page
// can be opened.
func TestInstructionsAndAccountFirst(t *testing.T) {
	e := newEnv(t, "linux", twoKeys()...)
	e.setup(nano, nfc)
	aws := step(e.w.Snapshot(), "aws")
	text := strings.Join(aws.Service.Instructions, "\n")
	if !strings.Contains(text, "yk-nano-12345678") || strings.Contains(text, "<serial>") {
		t.Errorf("AWS instructions for the Nano:\n%s", text)
	}
	e.must("attest nano", e.w.Attest(e.ctx, "aws", nano))
	if text := strings.Join(step(e.w.Snapshot(), "aws").Service.Instructions, "\n"); !strings.Contains(text, "yk-nfc-23456789") {
		t.Errorf("AWS instructions for the NFC key:\n%s", text)
	}
	e.must("start", e.w.Start(e.ctx, steps.Person{Name: "Alice", Email: "alice@example.com", StartDate: stepstest.FlowStart, Accounts: map[string]string{}}))
	if st := step(e.w.Snapshot(), "github"); !st.NeedAccount {
		t.Fatal("github does not say it needs the username")
	}
	var na *steps.NeedAccountError
	if err := e.w.OpenService(e.ctx, "github", nano); !errors.As(err, &na) {
		t.Fatalf("open github without a username: %v", err)
	}
	if len(e.browser.Opened()) != 0 {
		t.Errorf("opened %v before the username was given", e.browser.Opened())
	}
	e.must("account", e.w.SetAccount(e.ctx, "github", "alice-gh"))
	e.must("open github", e.w.OpenService(e.ctx, "github", nano))
}

func contextWithCancel(e *env) (context.Context, context.CancelFunc) {
	return context.WithCancel(e.ctx)
}

// TestWatchDoneWaitsForRechecks: Watch's done channel closes only once the
// watch has ended and the re-check a returning key started has returned,
// so a window that waits for it knows nothing it started still publishes.
func TestWatchDoneWaitsForRechecks(t *testing.T) {
	e := newEnv(t, "linux", twoKeys()...)
	e.setup(nano, nfc)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	done, err := e.w.Watch(ctx)
	e.must("watch", err)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.keys.Hook = func(op stepstest.Op, _ uint32) error {
		if op == stepstest.OpList {
			once.Do(func() { close(entered); <-release }) // the re-check reads the keys
		}
		return nil
	}
	// The re-check has finished once the wizard is no longer busy with it.
	var checking, finished atomic.Bool
	stop := e.w.OnChange(func(s steps.Snapshot) {
		if strings.HasPrefix(s.Busy, "Checking") {
			checking.Store(true)
		} else if s.Busy == "" && checking.Load() {
			finished.Store(true)
		}
	})
	defer stop()
	e.keys.Unplug(nano)
	e.keys.Plug(nano) // one of the person's keys comes back: re-checked
	<-entered
	cancel()
	close(release)
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("done never closed after the watch ended")
	}
	if !finished.Load() {
		t.Fatal("done closed while a re-check the watch started was still running")
	}
}
