package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// driver works the window as a person does: reads the primary button,
// taps it, types into dialogs, and waits for the wizard between steps.
type driver struct {
	t *testing.T
	e *screens.Env
	w fyne.Window
	// count, when set, counts the clicks and keystrokes of the driver's
	// actor and joinTracker.
	count *effort
}

func newDriver(t *testing.T, goos string) *driver {
	t.Helper()
	uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	e, err := screens.NewEnv(fyne.CurrentApp(), w, goos, t.TempDir(), ui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.UseUI()
	t.Cleanup(e.UI.Close)
	return &driver{t: t, e: e, w: w}
}

func (d *driver) settle() {
	d.t.Helper()
	if !d.e.UI.Settle(10 * time.Second) {
		d.t.Fatal("the UI did not settle")
	}
	// Every error state a test reaches shows plain headlines.
	if m, ok := d.e.UI.Message(); ok {
		if why := ui.PlainHeadline(m.Title); why != "" {
			d.t.Errorf("error headline %q %s", m.Title, why)
		}
	}
	if n := d.e.UI.DialogNote(); n != "" {
		if why := ui.PlainHeadline(n); why != "" {
			d.t.Errorf("dialog note %q %s", n, why)
		}
	}
}

// actor finishes steps through d's window for stepstest.Complete, making
// passkeys on the fake keys and checking each page the browser opens.
func (d *driver) actor() *windowActor {
	return &windowActor{t: d.t, u: d.e.UI, settle: func() { d.t.Helper(); d.settle(); d.noError() },
		register: d.e.Keys.RegisterPasskey, opened: d.e.Browser.Opened, count: d.count}
}

// press taps the primary button after checking its label.
func (d *driver) press(label string) {
	d.t.Helper()
	d.actor().press(label)
}

// pin types pin (and its repeat, for a new one) into the open PIN dialog
// and presses Continue.
func (d *driver) pin(title, pin string) {
	d.t.Helper()
	d.actor().pin(title, pin)
}

// complete finishes step id on both keys through the window
// (stepstest.Complete).
func (d *driver) complete(id steps.StepID) {
	d.t.Helper()
	if err := stepstest.CompleteOnKeys(context.Background(), d.actor(), id, screens.Everyday, screens.Backup); err != nil {
		d.t.Fatal(err)
	}
}

func (d *driver) noError() {
	d.t.Helper()
	if m, ok := d.e.UI.Message(); ok {
		d.t.Fatalf("message on screen: %s: %s", m.Title, m.Text)
	}
}

func (d *driver) current(want steps.StepID) {
	d.t.Helper()
	if got := d.e.UI.Snapshot().Current; got != want {
		d.t.Fatalf("current step %s, want %s", got, want)
	}
}

// TestFullFlow drives the whole wizard through the window, welcome to
// summary, with two fake keys on a Mac (so every kind of screen runs):
// typing into the form, the PIN dialogs, the destructive confirmation, the
// touch notice, and checks each step's evidence at the end.
func TestFullFlow(t *testing.T) {
	d := newDriver(t, "darwin")
	e := d.e
	u := e.UI

	// Welcome: the form, submitted with Enter from the last field.
	d.current(steps.StepWelcome)
	name, email, start := u.WelcomeEntries()
	input(func() {
		test.Type(name, "Alice Example")
		test.Type(email, "alice@example.com")
		test.Type(start, "2026-11-23")
		start.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	})
	d.settle()
	d.noError()
	d.current(steps.StepKeys)
	if got := u.Snapshot().Person.Name; got != "Alice Example" {
		t.Fatalf("person %q", got)
	}

	// Keys: starting looked for them; accept the suggested roles.
	if n := len(u.Snapshot().Detected); n != 2 {
		t.Fatalf("detected %d keys", n)
	}
	d.press("Use these keys")
	d.current(steps.StepFIDOPIN)

	// FIDO2 PIN on both keys.
	d.complete(steps.StepFIDOPIN)
	// A finished step moves on by itself; Alt+Left goes back to it, where
	// the primary action is Continue (Enter), and Alt+Right moves on.
	d.current("google")
	keys := d.w.Canvas().(fyne.Shortcutable)
	input(func() {
		keys.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt})
	})
	d.settle()
	d.current(steps.StepFIDOPIN)
	d.press("Continue")
	d.current("google")
	input(func() {
		keys.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt})
	})
	d.settle()
	d.current(steps.StepFIDOPIN)
	input(func() { d.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn}) }) // Enter = primary
	d.settle()
	d.current("google")

	// Every service through the window: the pages opened are the
	// catalogue's, the passkeys are read with the PIN typed into the
	// dialog, and macOS login's confirmation names the key.
	for _, svc := range stepstest.Catalogue().Services {
		if !svc.AppliesOn("darwin") {
			continue
		}
		d.current(steps.StepID(svc.ID))
		d.complete(steps.StepID(svc.ID))
	}

	// OTP: the touch notice shows while the key waits, and goes.
	d.current(steps.StepOTP)
	touched := 0
	e.DuringTouch = func(uint32) {
		// Read on Fyne's goroutine, after the notice handed to it.
		fyne.DoAndWait(func() {
			if u.Touching() {
				touched++
			}
		})
	}
	d.complete(steps.StepOTP)
	if touched != 2 || u.Touching() {
		t.Fatalf("touch notice shown %d times (want 2), still showing %v", touched, u.Touching())
	}

	d.current(steps.StepReport)
	d.joinTracker()
	d.complete(steps.StepReport)
	d.current(steps.StepSummary)
	d.press("Copy summary")
	if clip := fyne.CurrentApp().Clipboard().Content(); !strings.Contains(clip, "Alice Example") {
		t.Fatalf("clipboard after Copy summary: %q", clip)
	}

	s := u.Snapshot()
	if !s.Complete || len(e.Reporter.Sent()) != 1 {
		t.Fatalf("complete %v, reports %d, remaining %v", s.Complete, len(e.Reporter.Sent()), s.Remaining)
	}
	checkFlowEvidence(t, s)
	// Every step in the side list shows done (the summary is current).
	for _, st := range s.Steps {
		if st.ID != steps.StepSummary && st.Status != steps.StatusDone {
			t.Errorf("step %s is %s", st.ID, st.Status)
		}
	}
}

// checkFlowEvidence checks each step's evidence on every key after the whole
// flow on a Mac: the strongest level each service allows, never more.
func checkFlowEvidence(t *testing.T, s steps.Snapshot) {
	t.Helper()
	want := map[steps.StepID]steps.Level{
		steps.StepFIDOPIN: steps.VerifiedOnKey, "google": steps.VerifiedOnKey, "github": steps.VerifiedOnKey,
		"aws": steps.SelfAttested, "1password": steps.SelfAttested,
		"macos": steps.VerifiedBySystem, steps.StepOTP: steps.VerifiedBySystem,
	}
	for id, lvl := range want {
		st, ok := s.Step(id)
		if !ok {
			t.Fatalf("no step %s", id)
		}
		for _, k := range st.Keys {
			if k.Evidence == nil || k.Evidence.Level != lvl {
				t.Errorf("%s on %d: evidence %+v, want %s", id, k.Serial, k.Evidence, lvl)
			}
		}
	}
}

// TestOrgCatalogueFlow runs an organisation's catalogue (AWS dropped, Okta
// added) through the window: the added service's screen matches its
// golden, and Okta is done on both keys with its passkey verified.
func TestOrgCatalogueFlow(t *testing.T) {
	uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	org, err := screens.OrgCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	e, err := screens.NewEnvWith(fyne.CurrentApp(), w, screens.EnvConfig{GOOS: "linux", Dir: t.TempDir(), Catalogue: org})
	if err != nil {
		t.Fatal(err)
	}
	e.UseUI()
	t.Cleanup(e.UI.Close)
	d := &driver{t: t, e: e, w: w}
	if _, ok := e.UI.Snapshot().Step("aws"); ok {
		t.Fatal("the organisation dropped AWS, but the wizard has the step")
	}
	// Through the steps before Okta as a person would, then Okta by hand.
	if err := e.AdvanceTo("github"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.complete("github")
	d.current("okta")
	test.AssertRendersToMarkup(t, "flow/org-okta.xml", w.Canvas())
	d.complete("okta")
	if urls := e.Browser.Opened(); urls[len(urls)-1] != "https://acme.okta.com/enduser/settings" {
		t.Fatalf("browser opened %q", urls[len(urls)-1])
	}
	st, _ := e.UI.Snapshot().Step("okta")
	for _, k := range st.Keys {
		if k.Evidence == nil || k.Evidence.Level != steps.VerifiedOnKey {
			t.Errorf("okta on %d: %+v", k.Serial, k.Evidence)
		}
	}
	d.current(steps.StepOTP) // macOS login does not apply on Linux
}
