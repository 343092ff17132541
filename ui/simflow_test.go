package ui_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/testenv"
	"github.com/keywizard/keywizard/internal/wire"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// pairingKeys is the production steps.Keys with one stand-in: there is no
// Mac here, so the fake sc_auth is shown the identities provisioning really
// put on the simulated key, as macOS would see them once it is inserted.
type pairingKeys struct {
	*wire.Keys
	sc *stepstest.SmartCard
}

func (p pairingKeys) ProvisionPIV(ctx context.Context, serial uint32, prm steps.PIVParams) (steps.PIVResult, error) {
	res, err := p.Keys.ProvisionPIV(ctx, serial, prm)
	if err == nil {
		p.sc.Insert(res.Identities...)
	}
	return res, err
}

// TestFullFlowSimulatedKeys drives the whole wizard through the window
// (Fyne's test driver), welcome to summary, on two simulated YubiKeys
// plugged into the real pcscd through vpcd, with the production adapters of
// internal/wire: what `keywizard --simulate` runs. Opening a service's page
// registers a passkey on the keys as the person would (wire.Browser); PINs
// are typed into the dialogs; PIV goes through piv-go; OTP is turned off
// with a reboot and read back. Every step's evidence is checked at the end,
// and against the simulated keys themselves.
func TestFullFlowSimulatedKeys(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sim, err := wire.StartSimulation(ctx, wire.DefaultSimKeys, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	// NoWatch: Fyne's test driver runs fyne.Do on the calling goroutine, so
	// key events from the watcher's goroutine would touch widgets while the
	// test taps them; the watcher is tested in device/scan and internal/wire.
	u := ui.New(fyne.CurrentApp(), w, ui.Options{NoWatch: true})
	t.Cleanup(u.Cancel)
	sc := &stepstest.SmartCard{}
	rep := &stepstest.Reporter{}
	var wiz *steps.Wizard
	br := &wire.Browser{Sim: sim, Catalogue: catalogue.Default(), Snapshot: func() steps.Snapshot { return wiz.Snapshot() }}
	wiz, err = steps.New(ctx, steps.Options{
		Keys: pairingKeys{&wire.Keys{Hub: sim.Hub}, sc}, Browser: br, Prompter: u, Reporter: rep,
		Store: &steps.FileStore{Path: filepath.Join(t.TempDir(), "progress.json")},
		Clock: &stepstest.Clock{T: stepstest.FlowNow}, SmartCard: sc, GOOS: "darwin", OSUser: "alice", AppVersion: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	u.Attach(ctx, wiz)

	settle := func() {
		t.Helper()
		if !u.Settle(2 * time.Minute) {
			t.Fatal("the UI did not settle")
		}
		if m, ok := u.Message(); ok {
			t.Fatalf("message on screen: %s: %s", m.Title, m.Text)
		}
	}
	press := func(label string) {
		t.Helper()
		b := u.PrimaryButton()
		if b.Hidden || b.Disabled() || b.Text != label {
			st := u.Snapshot().CurrentStep()
			t.Fatalf("on %s the primary button says %q (hidden %v, disabled %v), want %q", st.ID, b.Text, b.Hidden, b.Disabled(), label)
		}
		test.Tap(b)
		settle()
	}
	pin := func(title, value string) {
		t.Helper()
		got, _, open := u.Dialog()
		if !open || got != title {
			t.Fatalf("dialog %q (open %v), want %q", got, open, title)
		}
		p, repeat, ok, _ := u.DialogWidgets()
		test.Type(p, value)
		if repeat != nil {
			test.Type(repeat, value)
		}
		test.Tap(ok)
		settle()
	}

	name, email, start := u.WelcomeEntries()
	test.Type(name, "Alice Example")
	test.Type(email, "alice@example.com")
	test.Type(start, "2026-11-23")
	start.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	settle()

	press("Look for keys")
	if n := len(u.Snapshot().Detected); n != 2 {
		t.Fatalf("detected %d simulated keys, want 2", n)
	}
	press("Use these keys")
	for _, k := range u.Snapshot().Keys {
		want := map[uint32]steps.Role{wire.DefaultSimKeys[0].Serial: steps.RoleEveryday, wire.DefaultSimKeys[1].Serial: steps.RoleBackup}[k.Serial]
		if k.Role != want {
			t.Fatalf("key %d got role %q, want %q (the Nano is the everyday key)", k.Serial, k.Role, want)
		}
	}
	press("Set the PIN on your everyday key")
	pin("Choose a FIDO2 PIN", stepstest.FlowFIDOPIN)
	press("Set the PIN on your backup key")
	pin("Choose a FIDO2 PIN", stepstest.FlowFIDOPIN)

	for _, svc := range catalogue.Default().Services {
		if !svc.AppliesOn("darwin") {
			continue
		}
		if got := u.Snapshot().Current; got != steps.StepID(svc.ID) {
			t.Fatalf("current step %s, want %s", got, svc.ID)
		}
		for _, role := range []steps.Role{steps.RoleEveryday, steps.RoleBackup} {
			switch svc.Verification.Kind {
			case catalogue.KindFIDOCredential:
				if svc.Verification.User == catalogue.UserAccount && role == steps.RoleEveryday {
					acct := u.AccountEntry(svc.ID)
					test.Type(acct, "alice-gh")
					acct.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
					settle()
				}
				press("Open " + svc.Name + " for your " + string(role) + " key")
				press("Verify your " + string(role) + " key")
				pin("Enter your FIDO2 PIN", stepstest.FlowFIDOPIN)
			case catalogue.KindSelfAttest:
				press("Open " + svc.Name + " for your " + string(role) + " key")
				press("I have added my " + string(role) + " key")
			case catalogue.KindSCAuth:
				press("Set up your " + string(role) + " key for Mac login")
				title, _, open := u.Dialog()
				if !open || !strings.Contains(title, "serial") {
					t.Fatalf("the confirmation %q does not name the key", title)
				}
				_, _, yes, _ := u.DialogWidgets()
				test.Tap(yes)
				settle()
				pin("Choose a smart-card PIN", stepstest.FlowPIVPIN)
				pin("Choose a PUK", stepstest.FlowPIVPUK)
			}
		}
	}
	press("Turn off OTP on your everyday key")
	press("Turn off OTP on your backup key")
	press("Send to IT")
	press("Copy summary")

	s := u.Snapshot()
	if !s.Complete || len(rep.Reports) != 1 {
		t.Fatalf("complete %v, reports %d, remaining %v", s.Complete, len(rep.Reports), s.Remaining)
	}
	checkFlowEvidence(t, s)
	// The simulated keys, read directly, agree with the evidence.
	for _, k := range sim.Keys {
		if k.Info().USBEnabled&1 != 0 {
			t.Errorf("key %d still has OTP enabled over USB", k.Serial())
		}
		if _, ok := k.PIVObject(0x5FFF00); !ok {
			t.Errorf("key %d has no ADMIN DATA: the management key is not PIN-protected", k.Serial())
		}
	}
}
