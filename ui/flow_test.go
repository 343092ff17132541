package ui_test

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// driver works the window as a person does: reads the primary button,
// taps it, types into dialogs, and waits for the wizard between steps.
type driver struct {
	t *testing.T
	e *screens.Env
	w fyne.Window
}

func newDriver(t *testing.T, goos string) *driver {
	t.Helper()
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	e, err := screens.NewEnv(fyne.CurrentApp(), w, goos, t.TempDir(), ui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.UseUI()
	t.Cleanup(e.UI.Cancel)
	return &driver{t: t, e: e, w: w}
}

func (d *driver) settle() {
	d.t.Helper()
	if !d.e.UI.Settle(10 * time.Second) {
		d.t.Fatal("the UI did not settle")
	}
}

// press taps the primary button after checking its label.
func (d *driver) press(label string) {
	d.t.Helper()
	b := d.e.UI.PrimaryButton()
	if b.Hidden || b.Text != label {
		st := d.e.UI.Snapshot().CurrentStep()
		d.t.Fatalf("on %s (%s %s) the primary button says %q (hidden %v), want %q; keys %+v", st.ID, st.Status, st.Reason, b.Text, b.Hidden, label, st.Keys)
	}
	if b.Disabled() {
		d.t.Fatalf("primary button %q is disabled", label)
	}
	test.Tap(b)
	d.settle()
	d.noError()
}

// pin types pin (and its repeat, for a new one) into the open PIN dialog
// and presses Continue.
func (d *driver) pin(title, pin string) {
	d.t.Helper()
	got, _, open := d.e.UI.Dialog()
	if !open || got != title {
		d.t.Fatalf("dialog %q (open %v), want %q", got, open, title)
	}
	p, repeat, ok, _ := d.e.UI.DialogWidgets()
	test.Type(p, pin)
	if repeat != nil {
		test.Type(repeat, pin)
	}
	test.Tap(ok)
	d.settle()
	d.noError()
}

func (d *driver) noError() {
	d.t.Helper()
	if m, ok := d.e.UI.Message(); ok {
		d.t.Fatalf("message on screen: %s: %s", m.Title, m.Text)
	}
}

// passkeyOnBoth does a passkey service through the window on both keys as
// a person would: Open, the passkey made on the key (the browser's part),
// then Verify with the FIDO2 PIN. opened, if not nil, runs after each Open.
func (d *driver) passkeyOnBoth(name, rpID, user string, opened func()) {
	d.t.Helper()
	for _, k := range []struct {
		role   string
		serial uint32
	}{{"everyday", screens.Everyday}, {"backup", screens.Backup}} {
		d.press("Open " + name + " for your " + k.role + " key")
		if opened != nil {
			opened()
		}
		if err := d.e.Keys.RegisterPasskey(k.serial, rpID, user); err != nil {
			d.t.Fatal(err)
		}
		d.press("Verify your " + k.role + " key")
		d.pin("Enter your FIDO2 PIN", stepstest.FlowFIDOPIN)
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
	test.Type(name, "Alice Example")
	test.Type(email, "alice@example.com")
	test.Type(start, "2026-11-23")
	start.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	d.settle()
	d.noError()
	d.current(steps.StepKeys)
	if got := u.Snapshot().Person.Name; got != "Alice Example" {
		t.Fatalf("person %q", got)
	}

	// Keys: look, accept the suggested roles.
	d.press("Look for keys")
	if n := len(u.Snapshot().Detected); n != 2 {
		t.Fatalf("detected %d keys", n)
	}
	d.press("Use these keys")
	d.current(steps.StepFIDOPIN)

	// FIDO2 PIN on both keys.
	d.press("Set the PIN on your everyday key")
	d.pin("Choose a FIDO2 PIN", stepstest.FlowFIDOPIN)
	d.press("Set the PIN on your backup key")
	d.pin("Choose a FIDO2 PIN", stepstest.FlowFIDOPIN)
	// A finished step moves on by itself; Alt+Left goes back to it, where
	// the primary action is Continue (Enter), and Alt+Right moves on.
	d.current("google")
	keys := d.w.Canvas().(fyne.Shortcutable)
	keys.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt})
	d.settle()
	d.current(steps.StepFIDOPIN)
	d.press("Continue")
	d.current("google")
	keys.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt})
	d.settle()
	d.current(steps.StepFIDOPIN)
	d.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter = primary
	d.settle()
	d.current("google")

	serial := map[steps.Role]uint32{steps.RoleEveryday: screens.Everyday, steps.RoleBackup: screens.Backup}
	for _, svc := range catalogue.Default().Services {
		if !svc.AppliesOn("darwin") {
			continue
		}
		d.current(steps.StepID(svc.ID))
		for _, role := range []steps.Role{steps.RoleEveryday, steps.RoleBackup} {
			switch svc.Verification.Kind {
			case catalogue.KindFIDOCredential:
				d.press("Open " + svc.Name + " for your " + string(role) + " key")
				if urls := e.Browser.Opened(); urls[len(urls)-1] != svc.URL {
					t.Fatalf("browser opened %q, want %q", urls[len(urls)-1], svc.URL)
				}
				user := "alice@example.com"
				if svc.Verification.User == catalogue.UserAccount {
					user = "alice-gh"
					if role == steps.RoleEveryday {
						acct := u.AccountEntry(svc.ID)
						test.Type(acct, user)
						acct.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
						d.settle()
						d.noError()
					}
				}
				// The person registers a passkey in the browser.
				if err := e.Keys.RegisterPasskey(serial[role], svc.Verification.RPID, user); err != nil {
					t.Fatal(err)
				}
				d.press("Verify your " + string(role) + " key")
				d.pin("Enter your FIDO2 PIN", stepstest.FlowFIDOPIN)
			case catalogue.KindSelfAttest:
				d.press("Open " + svc.Name + " for your " + string(role) + " key")
				d.press("I have added my " + string(role) + " key")
			case catalogue.KindSCAuth:
				d.press("Set up your " + string(role) + " key for Mac login")
				title, text, open := u.Dialog()
				if !open || !strings.Contains(title, "serial") || !strings.Contains(text, "YubiKey") {
					t.Fatalf("confirmation %q %q does not name the key", title, text)
				}
				_, _, yes, _ := u.DialogWidgets()
				test.Tap(yes)
				d.settle()
				d.pin("Choose a smart-card PIN", stepstest.FlowPIVPIN)
				d.pin("Choose a PUK", stepstest.FlowPIVPUK)
			}
		}
	}

	// OTP: the touch notice shows while the key waits, and goes.
	d.current(steps.StepOTP)
	touched := 0
	e.DuringTouch = func(uint32) {
		if u.Touching() {
			touched++
		}
	}
	d.press("Turn off OTP on your everyday key")
	d.press("Turn off OTP on your backup key")
	if touched != 2 || u.Touching() {
		t.Fatalf("touch notice shown %d times (want 2), still showing %v", touched, u.Touching())
	}

	d.current(steps.StepReport)
	d.joinTracker()
	d.press("Send to IT")
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
	test.NewTempApp(t)
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
	t.Cleanup(e.UI.Cancel)
	d := &driver{t: t, e: e, w: w}
	if _, ok := e.UI.Snapshot().Step("aws"); ok {
		t.Fatal("the organisation dropped AWS, but the wizard has the step")
	}
	// Through the steps before Okta as a person would, then Okta by hand.
	if err := e.AdvanceTo("github"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.passkeyOnBoth("GitHub", "github.com", stepstest.FlowPerson().Accounts["github"], nil)
	d.current("okta")
	test.AssertRendersToMarkup(t, "flow/org-okta.xml", w.Canvas())
	d.passkeyOnBoth("Okta", "acme.okta.com", "alice@example.com", func() {
		if urls := e.Browser.Opened(); urls[len(urls)-1] != "https://acme.okta.com/enduser/settings" {
			t.Fatalf("browser opened %q", urls[len(urls)-1])
		}
	})
	st, _ := e.UI.Snapshot().Step("okta")
	for _, k := range st.Keys {
		if k.Evidence == nil || k.Evidence.Level != steps.VerifiedOnKey {
			t.Errorf("okta on %d: %+v", k.Serial, k.Evidence)
		}
	}
	d.current(steps.StepOTP) // macOS login does not apply on Linux
}
