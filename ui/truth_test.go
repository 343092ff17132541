package ui_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// watch makes the wizard follow the fake keys being plugged in and out,
// as keywizard-gui's window does (the scenarios' Env leaves it off).
func (d *driver) watch() {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, err := d.e.Wizard.Watch(ctx)
	if err != nil {
		cancel()
		d.t.Fatal(err)
	}
	// Stopped before the test ends: a key event it handles later would
	// draw while the next test starts.
	d.t.Cleanup(func() { cancel(); <-done })
}

// waitFor returns once the wizard publishes a snapshot satisfying ok. The
// window hands each snapshot to Fyne before later subscribers hear of it,
// so what the test reads through fyne.DoAndWait afterwards shows it.
func (d *driver) waitFor(ok func(steps.Snapshot) bool) {
	d.t.Helper()
	done := make(chan struct{})
	var once sync.Once
	stop := d.e.Wizard.OnChange(func(s steps.Snapshot) {
		if ok(s) {
			once.Do(func() { close(done) })
		}
	})
	defer stop()
	<-done
}

// rowText is the text of the key row for serial on the current screen.
func (d *driver) rowText(serial uint32) string {
	d.t.Helper()
	var text string
	var snap steps.Snapshot
	fyne.DoAndWait(func() { text, snap = labelsIn(d.t, d.w.Content()), d.e.UI.Snapshot() })
	label := ""
	for _, k := range snap.Keys {
		if k.Serial == serial {
			label = k.Label
		}
	}
	i := strings.Index(text, label)
	if label == "" || i < 0 {
		d.t.Fatalf("no row for key %d on screen:\n%s", serial, text)
	}
	rest := text[i+len(label):]
	// Up to the next key's row.
	for _, k := range snap.Keys {
		if j := strings.Index(rest, k.Label); k.Serial != serial && j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

// waitKey returns once key serial's presence is p; the window has drawn
// that snapshot by then.
func (d *driver) waitKey(serial uint32, p steps.Presence) {
	d.t.Helper()
	d.waitFor(func(s steps.Snapshot) bool {
		for _, k := range s.Keys {
			if k.Serial == serial {
				return k.Presence == p
			}
		}
		return false
	})
}

// TestResumeRechecksThroughWindow: keywizard quits, a passkey is deleted
// from the everyday key meanwhile, keywizard starts again: the window reads
// the keys again (the PIN asked once per key), the Google item goes back to
// to do with why, and the summary and the report say so.
func TestResumeRechecksThroughWindow(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo("google"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.complete("google")
	d.current("aws")

	d.e.Keys.Key(screens.Everyday).Passkeys = nil
	w2 := test.NewTempWindow(t, nil)
	e2, err := d.e.Reopen(fyne.CurrentApp(), w2, ui.Options{Recheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e2.UI.Close)
	e2.UseUI()
	d2 := &driver{t: t, e: e2, w: w2}
	// The re-check started with the window; its PIN prompts (one per key)
	// are answered in the window. The first may have gone to the scripted
	// prompter before UseUI: answer what the window shows.
	for range 2 {
		d2.settle()
		if _, _, open := e2.UI.Dialog(); open {
			d2.pin("Enter your FIDO2 PIN", stepstest.FlowFIDOPIN)
		}
	}
	d2.settle()
	s := e2.UI.Snapshot()
	st, _ := s.Step("google")
	k, _ := st.Key(screens.Everyday)
	if st.Status == steps.StatusDone || k.Evidence != nil || !strings.Contains(k.Lost, "passkey not found on key 12345678") {
		t.Fatalf("google after the re-check: %s, everyday key %+v", st.Status, k)
	}
	if kb, _ := st.Key(screens.Backup); kb.Evidence == nil {
		t.Errorf("the backup key's passkey is still there, but %+v", kb)
	}
	if err := e2.Wizard.GoTo(context.Background(), "google"); err != nil {
		t.Fatal(err)
	}
	d2.settle()
	if row := d2.rowText(screens.Everyday); !strings.Contains(row, "passkey not found on key 12345678") {
		t.Errorf("the everyday key's row: %q", row)
	}
	if sum := e2.Wizard.Summary(); !strings.Contains(sum, "not done: Google Workspace passkey not found on key 12345678") {
		t.Errorf("summary:\n%s", sum)
	}
	for _, rk := range e2.Wizard.LastReport().Keys {
		for _, it := range rk.Items {
			if rk.Serial == screens.Everyday && it.Service == "google" {
				t.Errorf("the report claims %+v", it)
			}
		}
	}
}

// TestReportNotSentThroughWindow: with no tracker connected the report is
// kept on this computer; the window never shows it as sent: no tick, no
// "All done", "Not sent" with the invite code field to connect.
func TestReportNotSentThroughWindow(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo(steps.StepReport); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.press("Keep the report on this computer")
	d.noError()
	s := d.e.UI.Snapshot()
	st, _ := s.Step(steps.StepReport)
	if st.Status == steps.StatusDone || s.Complete {
		t.Fatalf("report %s, complete %v without a tracker", st.Status, s.Complete)
	}
	text := labelsIn(t, d.w.Content())
	if !strings.Contains(text, "Not sent: IT has not received this") || strings.Contains(text, "All done") {
		t.Errorf("screen:\n%s", text)
	}
	if _, code, connect := d.e.UI.JoinWidgets(); code == nil || connect == nil {
		t.Error("no invite code field to connect")
	}
	if b := d.e.UI.StepButton(string(steps.StepReport)); b.Icon.Name() == "confirm.svg" || strings.Contains(b.Icon.Name(), "confirm") {
		t.Errorf("Tell IT shows %s", b.Icon.Name())
	}
	if sum := d.e.Wizard.Summary(); strings.Contains(sum, "you are done") || strings.Contains(sum, "all done") || !strings.Contains(sum, "Not sent") {
		t.Errorf("summary:\n%s", sum)
	}
}

// TestReportWaitingThroughWindow: connected to a tracker the network does
// not reach, the report waits to be sent and is not done; it becomes done
// only once the tracker answers.
func TestReportWaitingThroughWindow(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo(steps.StepReport); err != nil {
		t.Fatal(err)
	}
	if err := d.e.Wizard.Join(context.Background(), "https://tracker.example.com", screens.InviteCode); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.e.Reporter.Err = fmt.Errorf("posting the report: %w", errors.New("dial tcp: connection refused"))
	test.Tap(d.e.UI.PrimaryButton())
	d.settle()
	st, _ := d.e.UI.Snapshot().Step(steps.StepReport)
	if st.Status == steps.StatusDone || !strings.Contains(st.Reason, "Waiting to send") {
		t.Fatalf("offline: %s %q", st.Status, st.Reason)
	}
	if !strings.Contains(labelsIn(t, d.w.Content()), "Waiting to send") {
		t.Error("the screen does not say the report is waiting")
	}
	// Still no answer: still waiting.
	if err := d.e.Wizard.ResendPending(context.Background()); !errors.Is(err, steps.ErrReportQueued) {
		t.Fatalf("resend while offline: %v", err)
	}
	// The tracker answers: the resend the window runs now and then
	// (Options.ResendEvery) sends it, and only now it is done.
	d.e.Reporter.Err = nil
	if err := d.e.Wizard.ResendPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.settle()
	st, _ = d.e.UI.Snapshot().Step(steps.StepReport)
	if st.Status != steps.StatusDone || len(d.e.Reporter.Sent()) != 1 {
		t.Fatalf("after the tracker answered: %s %q, %d reports", st.Status, st.Reason, len(d.e.Reporter.Sent()))
	}
	if sum := d.e.Wizard.Summary(); !strings.Contains(sum, "Sent ") {
		t.Errorf("summary:\n%s", sum)
	}
}

// TestSelfConfirmVerifiableThroughWindow: Google can be checked on the key,
// so confirming it by hand is offered only after the page was opened, asks
// first, and is recorded as "confirmed by you, not verified".
func TestSelfConfirmVerifiableThroughWindow(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo("google"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	if b := d.e.UI.RowButton(screens.Everyday, "Confirm myself…"); b != nil && !b.Hidden {
		t.Fatal("confirming by hand is offered before the page was opened")
	}
	d.press("Open Google Workspace for your everyday key")
	if d.e.UI.PrimaryButton().Text != "Verify your everyday key" {
		t.Errorf("primary %q after opening", d.e.UI.PrimaryButton().Text)
	}
	b := d.e.UI.RowButton(screens.Everyday, "Confirm myself…")
	if b == nil {
		t.Fatal("no way to confirm by hand after opening the page")
	}
	test.Tap(b)
	d.settle()
	title, text, open := d.e.UI.Dialog()
	if !open || !strings.Contains(text, `"confirmed by you, not verified"`) || !strings.Contains(title, "yourself") {
		t.Fatalf("confirmation %q %q (open %v)", title, text, open)
	}
	_, _, ok, _ := d.e.UI.DialogWidgets()
	test.Tap(ok)
	d.settle()
	d.noError()
	st, _ := d.e.UI.Snapshot().Step("google")
	k, _ := st.Key(screens.Everyday)
	if k.Evidence == nil || k.Evidence.Level != steps.SelfAttested {
		t.Fatalf("everyday key %+v", k)
	}
	if row := d.rowText(screens.Everyday); !strings.Contains(row, "Confirmed by you, not verified") {
		t.Errorf("row %q", row)
	}
}

// TestKeyPulledOutThroughWindow: a key pulled out mid-step is "Unplugged"
// on its row at once, and the advice names that key, without "swap" when
// the other key is simply also plugged in.
func TestKeyPulledOutThroughWindow(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo("google"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.watch()
	d.e.Keys.Unplug(screens.Everyday)
	d.waitKey(screens.Everyday, steps.PresenceUnplugged)
	if row := d.rowText(screens.Everyday); !strings.Contains(row, "Unplugged") || strings.Contains(row, "Not plugged in") {
		t.Errorf("row %q", row)
	}
	m := d.fails("Open Google Workspace for your everyday key", "", ui.Error, "Key not plugged in")
	if !strings.Contains(m.Text, "serial 12345678 is unplugged") || !strings.Contains(m.Text, "backup key can stay plugged in") ||
		strings.Contains(strings.ToLower(m.Text), "swap") {
		t.Errorf("advice %q", m.Text)
	}
	// A stranger's key arriving gets a way to its role.
	d.e.Keys.Add(stepstest.NewKey(screens.Stranger, false))
	d.waitFor(func(s steps.Snapshot) bool { return len(s.Unknown) == 1 })
	d.settle()
	b := d.e.UI.RoleButton()
	if b == nil || b.Hidden || !strings.Contains(b.Text, fmt.Sprint(screens.Stranger)) {
		t.Fatalf("role button %+v", b)
	}
	test.Tap(b)
	d.settle()
	d.current(steps.StepKeys)
}

// TestOTPRestartThroughWindow: turning OTP off reboots the key; while it is
// away its row says "Restarting", never "Unplugged" or "Not plugged in".
func TestOTPRestartThroughWindow(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo(steps.StepOTP); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.watch()
	var during string
	d.e.Keys.OnReboot = func(serial uint32) {
		d.e.Keys.OnReboot = nil
		// The key is off the bus while it reboots.
		d.waitFor(func(s steps.Snapshot) bool { return !s.Keys[0].Connected })
		during = d.rowText(serial)
	}
	d.press("Turn off OTP on both keys") // one click: the everyday key first
	d.noError()
	// Back after the reboot.
	d.waitFor(func(s steps.Snapshot) bool {
		k, _ := s.Step(steps.StepOTP)
		ek, _ := k.Key(screens.Everyday)
		return ek.Evidence != nil && ek.Presence == steps.PresencePlugged
	})
	if !strings.Contains(during, "Restarting") || strings.Contains(during, "Unplugged") || strings.Contains(during, "Not plugged in") {
		t.Errorf("row while rebooting: %q", during)
	}
	// Both keys done, the wizard moved on: back to the step to read the row.
	d.settle()
	d.e.UI.Go(func(ctx context.Context) error { return d.e.Wizard.GoTo(ctx, steps.StepOTP) })
	d.settle()
	if row := d.rowText(screens.Everyday); strings.Contains(row, "Restarting") || strings.Contains(row, "Unplugged") {
		t.Errorf("row after: %q", row)
	}
}
