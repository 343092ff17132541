package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// windowActor finishes steps through the window for stepstest.Complete:
// each of the wizard's actions is the button a person presses for it, and
// the dialogs it opens are answered as a person would (FlowPrompter's
// secrets). Complete decides which actions a step needs; this decides how
// a person takes them.
type windowActor struct {
	t *testing.T
	u *ui.UI
	// settle waits for the wizard and fails on a message on screen.
	settle func()
	// register makes a passkey as the browser would; nil when opening the
	// page does it (internal/wire's simulated browser).
	register func(serial uint32, rpID, user string) error
	// opened lists the pages the browser opened, checked after each Open;
	// nil: not checked.
	opened func() []string
	// count, when set, is told of every click and keystroke the actor
	// makes (TestClicksToReport).
	count *effort
}

// simActor is the actor of the tests over simulated keys: it waits for the
// wizard up to two minutes (the keys answer through the real pcscd) and
// fails on a message on screen; the simulated browser makes each passkey
// when its page is opened, so the actor need not.
func simActor(t *testing.T, u *ui.UI) *windowActor {
	settle := func() {
		t.Helper()
		if !u.Settle(2 * time.Minute) {
			t.Fatal("the UI did not settle")
		}
		if m, ok := u.Message(); ok {
			t.Fatalf("message on screen: %s: %s", m.Title, m.Text)
		}
	}
	return &windowActor{t: t, u: u, settle: settle}
}

// effort counts what a person does: clicks (taps) and keystrokes (each
// character typed, Enter included).
type effort struct{ clicks, keys int }

func (a *windowActor) click() {
	if a.count != nil {
		a.count.clicks++
	}
}

func (a *windowActor) typed(s string) {
	if a.count != nil {
		a.count.keys += utf8.RuneCountInString(s)
	}
}

var _ stepstest.Actor = (*windowActor)(nil)

// press taps the primary button after checking its label.
func (a *windowActor) press(label string) {
	a.t.Helper()
	b := a.u.PrimaryButton()
	if b.Hidden || b.Text != label {
		st := a.u.Snapshot().CurrentStep()
		a.t.Fatalf("on %s (%s %s) the primary button says %q (hidden %v), want %q; keys %+v", st.ID, st.Status, st.Reason, b.Text, b.Hidden, label, st.Keys)
	}
	if b.Disabled() {
		a.t.Fatalf("primary button %q is disabled", label)
	}
	a.click()
	input(func() { test.Tap(b) })
	a.settle()
}

// input delivers a tap or typing as a real driver does, on Fyne's
// goroutine (uitest serialises it with what the wizard's actions draw).
func input(f func()) { fyne.DoAndWait(f) }

// pin types pin (and its repeat, for a new one) into the open PIN dialog
// and presses Continue.
func (a *windowActor) pin(title, pin string) {
	a.t.Helper()
	got, _, open := a.u.Dialog()
	if !open || got != title {
		a.t.Fatalf("dialog %q (open %v), want %q", got, open, title)
	}
	p, repeat, ok, _ := a.u.DialogWidgets()
	input(func() { test.Type(p, pin) })
	a.typed(pin)
	if repeat != nil {
		// Tab to the repeat field, as the person does.
		a.typed("\t" + pin)
		input(func() { test.Type(repeat, pin) })
	}
	a.click()
	input(func() { test.Tap(ok) })
	a.settle()
}

// role is how the buttons name the key with serial.
func (a *windowActor) role(serial uint32) string {
	a.t.Helper()
	for _, k := range a.u.Snapshot().Keys {
		if k.Serial == serial {
			return string(k.Role)
		}
	}
	a.t.Fatalf("key %d has no role", serial)
	return ""
}

func (a *windowActor) Snapshot() steps.Snapshot { return a.u.Snapshot() }

// Start fills in the welcome form and submits it with Enter from the last
// field.
func (a *windowActor) Start(_ context.Context, p steps.Person) error {
	name, email, start := a.u.WelcomeEntries()
	input(func() {
		test.Type(name, p.Name)
		test.Type(email, p.Email)
		test.Type(start, p.StartDate.Format(time.DateOnly))
	})
	// Click into the first field, Tab between them, Enter at the end.
	a.click()
	a.typed(p.Name + "\t" + p.Email + "\t" + p.StartDate.Format(time.DateOnly) + "\n")
	input(func() { start.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) })
	a.settle()
	return nil
}

// DetectKeys presses Look for keys, unless the window already lists the
// keys (starting looks for them).
func (a *windowActor) DetectKeys(context.Context) error {
	if len(a.u.Snapshot().Detected) == 0 {
		a.press("Look for keys")
	}
	return nil
}

// AssignRoles accepts the suggested roles, which must be the ones asked for.
func (a *windowActor) AssignRoles(_ context.Context, everyday, backup uint32) error {
	for _, k := range a.u.Snapshot().Detected {
		want := map[uint32]steps.Role{everyday: steps.RoleEveryday, backup: steps.RoleBackup}[k.Serial]
		if k.SuggestedRole != want {
			a.t.Fatalf("key %d is suggested as %q, want %q", k.Serial, k.SuggestedRole, want)
		}
	}
	a.press("Use these keys")
	return nil
}

// SetAccount types the account into the service's field and presses Enter.
func (a *windowActor) SetAccount(_ context.Context, serviceID, account string) error {
	e := a.u.AccountEntry(serviceID)
	if e == nil {
		a.t.Fatalf("no account field for %s", serviceID)
	}
	input(func() { test.Type(e, account) })
	a.click()
	a.typed(account + "\n")
	input(func() { e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) })
	a.settle()
	return nil
}

func (a *windowActor) SetPIN(_ context.Context, serial uint32) error {
	a.press("Set the PIN on your " + a.role(serial) + " key")
	a.pin("Choose a FIDO2 PIN", stepstest.FlowFIDOPIN)
	return nil
}

func (a *windowActor) OpenService(_ context.Context, serviceID string, serial uint32) error {
	st, _ := a.u.Snapshot().Step(steps.StepID(serviceID))
	a.press("Open " + st.Service.Name + " for your " + a.role(serial) + " key")
	if a.opened != nil {
		if urls := a.opened(); len(urls) == 0 || urls[len(urls)-1] != st.Service.URL {
			a.t.Fatalf("browser opened %q, want %q", urls, st.Service.URL)
		}
	}
	return nil
}

func (a *windowActor) RegisterPasskey(serial uint32, rpID, user string) error {
	if a.register == nil {
		return nil
	}
	return a.register(serial, rpID, user)
}

func (a *windowActor) Verify(_ context.Context, _ string, serial uint32) error {
	a.press("Verify your " + a.role(serial) + " key")
	a.pin("Enter your FIDO2 PIN", stepstest.FlowFIDOPIN)
	return nil
}

func (a *windowActor) Attest(_ context.Context, _ string, serial uint32) error {
	a.press("I have added my " + a.role(serial) + " key")
	return nil
}

// ProvisionMac confirms the destructive set-up, which must name the key by
// serial and model, and chooses the smart-card PIN and PUK.
func (a *windowActor) ProvisionMac(_ context.Context, _ string, serial uint32) error {
	a.press("Set up your " + a.role(serial) + " key for Mac login")
	title, text, open := a.u.Dialog()
	if !open || !strings.Contains(title, "serial") || !strings.Contains(text, "YubiKey") {
		a.t.Fatalf("confirmation %q %q does not name the key", title, text)
	}
	_, _, yes, _ := a.u.DialogWidgets()
	a.click()
	input(func() { test.Tap(yes) })
	a.settle()
	a.pin("Choose a smart-card PIN", stepstest.FlowPIVPIN)
	a.pin("Choose a PUK", stepstest.FlowPIVPUK)
	return nil
}

// DisableOTP presses the button that turns OTP off on the key: one for
// both keys while both need it (the second key's call then finds it done).
func (a *windowActor) DisableOTP(_ context.Context, serial uint32) error {
	st, _ := a.u.Snapshot().Step(steps.StepOTP)
	for _, k := range st.Keys {
		if k.Serial == serial && k.Status == steps.StatusDone {
			return nil
		}
	}
	if a.u.PrimaryButton().Text == "Turn off OTP on both keys" {
		a.press("Turn off OTP on both keys")
		return nil
	}
	a.press("Turn off OTP on your " + a.role(serial) + " key")
	return nil
}

func (a *windowActor) Report(context.Context) error {
	a.press("Send to IT")
	return nil
}

// OpenRemoval taps the service's "Open page" on the lost-key checklist.
func (a *windowActor) OpenRemoval(_ context.Context, serviceID string) error {
	a.tap(a.u.LossButton(serviceID, "Open page"), serviceID+": Open page")
	return nil
}

// ConfirmRemoved presses the checklist's primary "I removed it from …",
// which must be for this service.
func (a *windowActor) ConfirmRemoved(_ context.Context, serviceID string) error {
	st := a.u.Snapshot().CurrentStep()
	for _, it := range st.Loss.Items {
		if it.Service == serviceID {
			a.press("I removed it from " + it.Name)
			return nil
		}
	}
	a.t.Fatalf("no checklist item for %s", serviceID)
	return nil
}

// UnpairLost presses the checklist's primary "Unpair the lost key from
// this Mac".
func (a *windowActor) UnpairLost(context.Context, string) error {
	a.press("Unpair the lost key from this Mac")
	return nil
}

// tap taps b (which must be there and enabled), then settles.
func (a *windowActor) tap(b *ui.Button, what string) {
	a.t.Helper()
	if b == nil || b.Hidden || b.Disabled() {
		a.t.Fatalf("no button %s on %s", what, a.u.Snapshot().Current)
	}
	a.click()
	input(func() { test.Tap(b) })
	a.settle()
}
