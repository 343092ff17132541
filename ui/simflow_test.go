package ui_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/testenv"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// pairingKeys is the production steps.Keys with one stand-in: there is no
// Mac here, so the fake sc_auth is shown the identities provisioning really
// put on the simulated key, as macOS would see them once it is inserted.
type pairingKeys struct {
	*keys.Keys
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
// internal/keys and internal/simulation: what `keywizard --simulate` runs.
// Opening a service's page registers a passkey on the keys as the person
// would (simulation.Browser); PINs
// are typed into the dialogs; PIV goes through piv-go; OTP is turned off
// with a reboot and read back. Every step's evidence is checked at the end,
// and against the simulated keys themselves.
func TestFullFlowSimulatedKeys(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sim, err := simulation.Start(ctx, simulation.DefaultKeys, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	// NoWatch: the test looks for the keys itself (Look for keys), so each
	// screen is in a known state; the watcher is tested in device/scan,
	// internal/keys and ui's truth tests.
	u := ui.New(fyne.CurrentApp(), w, ui.Options{NoWatch: true})
	t.Cleanup(u.Close)
	sc := &stepstest.SmartCard{}
	rep := &stepstest.Reporter{}
	var wiz *steps.Wizard
	cat := stepstest.Catalogue()
	// The person types the PINs they set into the browser's prompt too.
	person := &simulation.Person{}
	br := &simulation.Browser{Sim: sim, Catalogue: cat, Snapshot: func() steps.Snapshot { return wiz.Snapshot() }, PIN: person.FIDOPIN}
	wiz, err = steps.New(ctx, steps.Options{
		Keys: person.Keys(pairingKeys{&keys.Keys{Hub: sim.Hub}, sc}), Browser: br, Prompter: u, Reporter: rep,
		Store: &steps.FileStore{Path: filepath.Join(t.TempDir(), "progress.json")},
		Clock: &stepstest.Clock{T: stepstest.FlowNow}, SmartCard: sc, GOOS: "darwin", OSUser: "alice", AppVersion: "test",
		Catalogue: cat,
	})
	if err != nil {
		t.Fatal(err)
	}
	fyne.DoAndWait(func() { u.Attach(ctx, wiz) }) // on Fyne's goroutine, as the app does

	// The window as a person works it.
	a := simActor(t, u)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(stepstest.Complete(ctx, a, u.Snapshot().CurrentStep(), 0))
	keys := u.Snapshot().CurrentStep()
	if keys.ID != steps.StepKeys {
		t.Fatalf("after the welcome, current step %s", keys.ID)
	}
	must(a.DetectKeys(ctx))
	if n := len(u.Snapshot().Detected); n != 2 {
		t.Fatalf("detected %d simulated keys, want 2", n)
	}
	// The Nano is the everyday key.
	must(a.AssignRoles(ctx, simulation.DefaultKeys[0].Serial, simulation.DefaultKeys[1].Serial))
	serials := []uint32{simulation.DefaultKeys[0].Serial, simulation.DefaultKeys[1].Serial}
	for _, k := range u.Snapshot().Keys {
		want := map[uint32]steps.Role{serials[0]: steps.RoleEveryday, serials[1]: steps.RoleBackup}[k.Serial]
		if k.Role != want {
			t.Fatalf("key %d got role %q, want %q (the Nano is the everyday key)", k.Serial, k.Role, want)
		}
	}
	must(stepstest.CompleteOnKeys(ctx, a, steps.StepFIDOPIN, serials...))
	for _, svc := range cat.Services {
		if !svc.AppliesOn("darwin") {
			continue
		}
		if got := u.Snapshot().Current; got != steps.StepID(svc.ID) {
			t.Fatalf("current step %s, want %s", got, svc.ID)
		}
		must(stepstest.CompleteOnKeys(ctx, a, steps.StepID(svc.ID), serials...))
	}
	must(stepstest.CompleteOnKeys(ctx, a, steps.StepOTP, serials...))
	must(stepstest.CompleteOnKeys(ctx, a, steps.StepReport))
	a.press("Copy summary")

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
