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

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// evidence counts the results in the saved progress file: what a failed
// action must not lose.
func evidence(t *testing.T, e *screens.Env) int {
	t.Helper()
	p, err := e.Store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range p.Items {
		for _, it := range m {
			if it.Evidence != nil {
				n++
			}
		}
	}
	return n
}

// fails presses the primary button, which must say label (answering a PIN prompt with pin when
// one opens), expects a message with the given severity and headline, and
// checks the saved progress is intact.
func (d *driver) fails(label, pin string, sev ui.Severity, title string) ui.Message {
	d.t.Helper()
	before := evidence(d.t, d.e)
	if d.e.UI.PrimaryButton().Text != label {
		d.t.Fatalf("primary button %q, want %q", d.e.UI.PrimaryButton().Text, label)
	}
	test.Tap(d.e.UI.PrimaryButton())
	d.settle()
	if _, _, open := d.e.UI.Dialog(); open {
		p, _, ok, _ := d.e.UI.DialogWidgets()
		test.Type(p, pin)
		test.Tap(ok)
		d.settle()
	}
	m, ok := d.e.UI.Message()
	if !ok {
		d.t.Fatalf("no message after %q failed", label)
	}
	if m.Severity != sev || m.Title != title {
		d.t.Fatalf("message %v %q: %s; want %v %q", m.Severity, m.Title, m.Text, sev, title)
	}
	if after := evidence(d.t, d.e); after != before {
		d.t.Fatalf("saved results went from %d to %d after a failed action", before, after)
	}
	return m
}

// wrongPIN types pin into the open PIN dialog and presses Continue, and
// expects the dialog to stay open saying note, with no message behind it.
func (d *driver) wrongPIN(pin, note string) {
	d.t.Helper()
	p, _, ok, _ := d.e.UI.DialogWidgets()
	if p == nil {
		d.t.Fatal("no PIN dialog open")
	}
	test.Type(p, pin)
	test.Tap(ok)
	d.settle()
	if _, _, open := d.e.UI.Dialog(); !open {
		m, _ := d.e.UI.Message()
		d.t.Fatalf("the PIN dialog closed after a wrong PIN; message %q: %s", m.Title, m.Text)
	}
	if got := d.e.UI.DialogNote(); got != note {
		d.t.Fatalf("dialog says %q, want %q", got, note)
	}
	if m, ok := d.e.UI.Message(); ok {
		d.t.Fatalf("a message %q shows behind the PIN dialog", m.Title)
	}
}

// atGoogle is a window on the Google step with the page opened for the
// everyday key.
func atGoogle(t *testing.T) *driver {
	t.Helper()
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo("google"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.press("Open Google Workspace for your everyday key")
	return d
}

// TestErrorStates does each failure through the window as a person meets
// it, checks the message says what happened and what to do, that nothing
// saved was lost, and that doing what it says works.
func TestErrorStates(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong PIN", func(t *testing.T) {
		d := atGoogle(t)
		if err := d.e.Keys.RegisterPasskey(screens.Everyday, "google.com", "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		// A wrong PIN is said in the PIN dialog, which stays; the right
		// PIN typed there works.
		test.Tap(d.e.UI.PrimaryButton())
		d.settle()
		d.wrongPIN("0000", "Wrong PIN. 7 tries left.")
		d.pin("Enter your FIDO2 PIN", stepstest.FlowFIDOPIN)
		if _, ok := d.e.UI.Message(); ok {
			t.Error("a message is left after the right PIN")
		}
		if k, _ := d.e.UI.Snapshot().CurrentStep().Key(screens.Everyday); k.Evidence == nil || k.Evidence.Level != steps.VerifiedOnKey {
			t.Fatalf("after the right PIN: %+v", k)
		}
	})
	t.Run("blocked PIN", func(t *testing.T) {
		d := atGoogle(t)
		d.e.Keys.Key(screens.Everyday).FIDORetries = 0
		m := d.fails("Verify your everyday key", "", ui.Error, "PIN blocked")
		if !strings.Contains(m.Text, "ask IT") {
			t.Errorf("blocked message does not say to ask IT: %q", m.Text)
		}
	})
	t.Run("PIN blocked until replugged", func(t *testing.T) {
		d := atGoogle(t)
		if err := d.e.Keys.RegisterPasskey(screens.Everyday, "google.com", "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		test.Tap(d.e.UI.PrimaryButton())
		d.settle()
		d.wrongPIN("0000", "Wrong PIN. 7 tries left.")
		d.wrongPIN("0000", "Wrong PIN. 6 tries left.")
		// The third wrong PIN in a row: the key refuses PINs until it is
		// replugged. The dialog closes; the headline says what to do,
		// calmly, with the tries that remain; it is not the red "PIN
		// blocked" of a reset.
		p, _, ok, _ := d.e.UI.DialogWidgets()
		test.Type(p, "0000")
		test.Tap(ok)
		d.settle()
		if _, _, open := d.e.UI.Dialog(); open {
			t.Fatal("the PIN dialog is still open after the key asked to be replugged")
		}
		m, _ := d.e.UI.Message()
		if m.Severity != ui.Warning || m.Title != "Unplug and replug your key" {
			t.Fatalf("message %v %q, want the warning to replug", m.Severity, m.Title)
		}
		if !strings.Contains(m.Text, "5 tries left") || strings.Contains(m.Text, "ask IT") {
			t.Errorf("message %q should give the tries left and not send the person to IT", m.Text)
		}
		// Until the key is replugged no PIN is asked for (the key would
		// refuse the right one too): the same advice, no dialog.
		m = d.fails("Verify your everyday key", "", ui.Warning, "Unplug and replug your key")
		if _, _, open := d.e.UI.Dialog(); open {
			t.Fatal("a PIN dialog opened before the key was replugged")
		}
		if !strings.Contains(labelsIn(t, d.w.Content()), "Unplug this key and plug it back in") {
			t.Error("the key's row does not say to replug it")
		}
		// The window follows the key leaving and coming back.
		d.watch()
		d.e.Keys.Unplug(screens.Everyday)
		d.waitKey(screens.Everyday, steps.PresenceUnplugged)
		if !strings.Contains(d.rowText(screens.Everyday), "Unplugged") {
			t.Errorf("row %q once the key is out", d.rowText(screens.Everyday))
		}
		// Back, the key is read again (what needs no PIN) before the next
		// action: wait for that check to finish.
		checked := make(chan struct{})
		var mu sync.Mutex
		checking, closed := false, false
		stop := d.e.Wizard.OnChange(func(s steps.Snapshot) {
			mu.Lock()
			defer mu.Unlock()
			if strings.HasPrefix(s.Busy, "Checking") {
				checking = true
			} else if checking && s.Busy == "" && !closed && s.Keys[0].Connected && !s.Keys[0].ReplugNeeded {
				closed = true
				close(checked)
			}
		})
		d.e.Keys.Plug(screens.Everyday)
		<-checked
		stop()
		test.Tap(d.e.UI.PrimaryButton())
		d.settle()
		d.pin("Enter your FIDO2 PIN", stepstest.FlowFIDOPIN)
		if k, _ := d.e.UI.Snapshot().CurrentStep().Key(screens.Everyday); k.Evidence == nil || k.Evidence.Level != steps.VerifiedOnKey {
			t.Fatalf("after replugging and the right PIN: %+v", k)
		}
	})
	t.Run("key pulled out", func(t *testing.T) {
		d := newDriver(t, "linux")
		if err := d.e.AdvanceTo(steps.StepOTP); err != nil {
			t.Fatal(err)
		}
		d.settle()
		d.e.Keys.Hook = func(op stepstest.Op, serial uint32) error {
			if op == stepstest.OpDisableOTP {
				d.e.Keys.Hook = nil
				d.e.Keys.Unplug(serial)
				return fmt.Errorf("writing the configuration: %w", device.ErrRemoved)
			}
			return nil
		}
		// One click for both keys: the everyday key, first, fails and
		// stops it.
		m := d.fails("Turn off OTP on both keys", "", ui.Error, "The key was removed")
		if !strings.Contains(m.Text, "plug it back in") {
			t.Errorf("message does not say to plug it back in: %q", m.Text)
		}
		if k, _ := d.e.UI.Snapshot().CurrentStep().Key(screens.Backup); k.Evidence != nil {
			t.Errorf("the backup key was changed after the everyday key failed: %+v", k)
		}
		d.e.Keys.Plug(screens.Everyday)
		d.press("Turn off OTP on both keys")
	})
	t.Run("wrong key", func(t *testing.T) {
		d := newDriver(t, "linux")
		if err := d.e.AdvanceTo("github"); err != nil {
			t.Fatal(err)
		}
		d.settle()
		d.e.Keys.Unplug(screens.Everyday)
		d.e.Keys.Unplug(screens.Backup)
		d.e.Keys.Add(stepstest.NewKey(screens.Stranger, false))
		m := d.fails("Open GitHub for your everyday key", "", ui.Error, "A different key is plugged in")
		if !strings.Contains(m.Text, "serial 12345678") || !strings.Contains(m.Text, "serial 34567890") {
			t.Errorf("message does not name both keys: %q", m.Text)
		}
		d.e.Keys.Unplug(screens.Stranger)
		d.e.Keys.Plug(screens.Everyday)
		d.press("Open GitHub for your everyday key")
	})
	t.Run("one key only", func(t *testing.T) {
		d := newDriver(t, "linux")
		if err := d.e.AdvanceTo(steps.StepKeys); err != nil {
			t.Fatal(err)
		}
		d.settle()
		d.e.Keys.Unplug(screens.Backup)
		d.press("Look for keys")
		d.press("Use these keys")
		d.current(steps.StepFIDOPIN)
		s := d.e.UI.Snapshot()
		if len(s.Keys) != 1 || len(s.Messages) == 0 {
			t.Fatalf("keys %d, messages %q", len(s.Keys), s.Messages)
		}
		st := s.CurrentStep()
		if len(st.Keys) != 2 || !st.Keys[1].Missing {
			t.Fatalf("the backup key's row should wait: %+v", st.Keys)
		}
		// The flow goes on for the one key.
		d.press("Set the PIN on your everyday key")
		d.pin("Choose a FIDO2 PIN", stepstest.FlowFIDOPIN)
	})
	t.Run("no network", func(t *testing.T) {
		d := newDriver(t, "linux")
		if err := d.e.AdvanceTo(steps.StepReport); err != nil {
			t.Fatal(err)
		}
		d.settle()
		d.joinTracker()
		d.e.Reporter.Err = errors.New("dial tcp: lookup tracker.example.com: no such host")
		m := d.fails("Send to IT", "", ui.Warning, "Report saved, not sent yet")
		if !strings.Contains(m.Text, "network is back") {
			t.Errorf("message does not say it will be sent later: %q", m.Text)
		}
		if st := d.e.UI.Snapshot().CurrentStep(); st.Status != steps.StatusNeedsAttention {
			t.Errorf("report step %s, want needs-attention", st.Status)
		}
		d.e.Reporter.Err = nil
		d.press("Send to IT")
		d.current(steps.StepSummary)
	})
	t.Run("browser fails", func(t *testing.T) {
		d := newDriver(t, "linux")
		if err := d.e.AdvanceTo("aws"); err != nil {
			t.Fatal(err)
		}
		d.settle()
		d.e.Browser.Err = errors.New("exec: \"xdg-open\": executable file not found in $PATH")
		m := d.fails("Open AWS console for your everyday key", "", ui.Error, "Your browser did not open")
		svc := d.e.UI.Snapshot().CurrentStep().Service
		if m.URL != svc.URL {
			t.Fatalf("message URL %q, want %q", m.URL, svc.URL)
		}
		// The address can be copied and opened by hand; the person confirms.
		fyne.CurrentApp().Clipboard().SetContent("")
		copied := false
		for _, o := range test.LaidOutObjects(d.w.Content()) {
			if b, ok := o.(*ui.Button); ok && b.Text == "Copy address" && b.Visible() {
				test.Tap(b)
				copied = true
			}
		}
		if !copied || fyne.CurrentApp().Clipboard().Content() != svc.URL {
			t.Fatalf("Copy address: found %v, clipboard %q", copied, fyne.CurrentApp().Clipboard().Content())
		}
		// Having opened it by hand, the person carries on from the window:
		// the primary action moves on instead of offering Open again.
		d.press("I have added my everyday key")
		// The browser still fails for the backup key; the service can be
		// finished all the same.
		d.fails("Open AWS console for your backup key", "", ui.Error, "Your browser did not open")
		d.press("I have added my backup key")
		s := d.e.UI.Snapshot()
		st, _ := s.Step("aws")
		if st.Status != steps.StatusDone || s.Current == "aws" {
			t.Fatalf("aws %s (current %s) after finishing it by hand: %+v", st.Status, s.Current, st.Keys)
		}
		for _, k := range st.Keys {
			if k.Evidence == nil || k.Evidence.Level != steps.SelfAttested || k.Attention != "" {
				t.Errorf("aws on %d: %+v", k.Serial, k)
			}
		}
		_ = ctx
	})
}
