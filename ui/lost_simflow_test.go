package ui_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/zalando/go-keyring"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/testenv"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// TestLostKeySimulatedKeys is the lost-key flow through the window on
// simulated YubiKeys in the real pcscd (vpcd) with the production
// adapters, reporting to a real tracker through the app's adapters
// (internal/trackerlink, the keychain mocked) under the tracker's default
// policy (genuine keys, the simulator's root trusted): both keys are
// enrolled; the
// backup key (the 5C NFC in vpcd slot 1) is reported lost, and the tracker
// has it reported lost and Alice incomplete; the checklist is worked
// through (macOS login unpaired and read back through the sc_auth fake,
// the rest confirmed); the lost key is pulled out of its slot and a new
// simulated key put in (simulation.Replace), which is set up for the
// backup role through every step; the tracker then has Alice complete
// again, with her completion history, and the everyday key's records as
// they were, in the tracker and in the wizard.
func TestLostKeySimulatedKeys(t *testing.T) {
	testenv.LockVPCD(t)
	keyring.MockInit()
	t.Setenv("KEYWIZARD_TRACKER", "")
	// The tracker's default policy, genuine keys included, trusting the
	// simulator's attestation root as it trusts Yubico's in production
	// (docs/genuine-key.md).
	roots := x509.NewCertPool()
	roots.AddCert(sim.AttestationRoot())
	rt := newRealTrackerWith(t, func(c *server.Config) { c.Verifier = &attest.Verifier{Roots: roots} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	keysim, err := simulation.Start(ctx, simulation.DefaultKeys, false)
	if err != nil {
		t.Fatal(err)
	}
	defer keysim.Close()
	everydaySerial, backupSerial := simulation.DefaultKeys[0].Serial, simulation.DefaultKeys[1].Serial
	replacement := simulation.KeySpec{Serial: 31000003, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}}

	dir := t.TempDir()
	link := &trackerlink.Link{ConfigDir: dir}
	rep, err := trackerlink.NewAppReporter(ctx, dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	// NoWatch, as in TestFullFlowSimulatedKeys: the keys are looked for
	// when the person asks.
	u := ui.New(fyne.CurrentApp(), w, ui.Options{NoWatch: true})
	t.Cleanup(u.Close)
	sc := &stepstest.SmartCard{}
	clock := &stepstest.Clock{T: stepstest.FlowNow}
	var wiz *steps.Wizard
	cat := stepstest.Catalogue()
	person := &simulation.Person{}
	br := &simulation.Browser{Sim: keysim, Catalogue: cat, Snapshot: func() steps.Snapshot { return wiz.Snapshot() }, PIN: person.FIDOPIN}
	wiz, err = steps.New(ctx, steps.Options{
		Keys: person.Keys(pairingKeys{&keys.Keys{Hub: keysim.Hub}, sc}), Browser: br, Prompter: u,
		Reporter: rep, LossReporter: rep, Tracker: link,
		Store: &steps.FileStore{Path: filepath.Join(t.TempDir(), "progress.json")},
		Clock: clock, SmartCard: sc, GOOS: "darwin", OSUser: "alice", AppVersion: "test",
		Catalogue: cat,
	})
	if err != nil {
		t.Fatal(err)
	}
	fyne.DoAndWait(func() { u.Attach(ctx, wiz) }) // on Fyne's goroutine, as the app does
	if err := wiz.Join(ctx, rt.url, rt.code); err != nil {
		t.Fatal(err)
	}

	a := simActor(t, u)
	settle := a.settle
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Both keys enrolled, through the window.
	must(stepstest.Complete(ctx, a, u.Snapshot().CurrentStep(), 0))
	must(a.DetectKeys(ctx))
	must(a.AssignRoles(ctx, everydaySerial, backupSerial))
	enrol := func(serials ...uint32) {
		t.Helper()
		for _, st := range u.Snapshot().Steps {
			switch st.Kind {
			case steps.KindWelcome, steps.KindKeys, steps.KindLost, steps.KindReport, steps.KindSummary:
				continue
			}
			must(stepstest.CompleteOnKeys(ctx, a, st.ID, serials...))
		}
	}
	enrol(everydaySerial, backupSerial)
	must(stepstest.CompleteOnKeys(ctx, a, steps.StepReport))
	if s := u.Snapshot(); !s.Complete || s.Current != steps.StepSummary {
		t.Fatalf("after both keys: complete %v, current %s, remaining %v", s.Complete, s.Current, s.Remaining)
	}
	checkFlowEvidence(t, u.Snapshot())
	if !rt.complete(t) {
		t.Fatal("the tracker does not have Alice complete after both keys")
	}
	everydayRec := rt.key(t, everydaySerial)
	before := windowEvidence(u.Snapshot(), everydaySerial)
	pairedBefore := sc.PairedWith("alice")

	// The backup key is lost days later; it is not plugged in.
	clock.Advance(72 * time.Hour)
	keysim.Keys[1].Unplug()
	lost := u.SecondaryButton(fmt.Sprintf("I lost my backup key (serial %d)…", backupSerial))
	if lost == nil {
		t.Fatal("the summary offers no \"I lost my backup key\"")
	}
	a.tap(lost, "I lost my backup key")
	title, text, open := u.Dialog()
	if !open || !strings.Contains(title, fmt.Sprint(backupSerial)) || !strings.Contains(title, "YubiKey 5C NFC") {
		t.Fatalf("confirmation %q %q (open %v) does not name the key by serial and model", title, text, open)
	}
	_, _, yes, _ := u.DialogWidgets()
	if yes.Text != "Yes, it is lost" {
		t.Fatalf("confirm button %q", yes.Text)
	}
	input(func() { test.Tap(yes) })
	settle()
	st, _ := u.Snapshot().Step(steps.StepLost)
	if u.Snapshot().Current != steps.StepLost || st.Loss == nil || st.Loss.Told != steps.ToldSent {
		t.Fatalf("after the loss: current %s, loss %+v", u.Snapshot().Current, st.Loss)
	}
	if k := rt.key(t, backupSerial); k.Status != tracker.KeyReportedLost || k.OwnerEmail != "alice@example.com" {
		t.Fatalf("the tracker has the backup key %s (owner %s), want reported-lost", k.Status, k.OwnerEmail)
	}
	if rt.complete(t) {
		t.Fatal("the tracker has Alice complete with her backup key reported lost")
	}

	// The checklist, through the window.
	must(stepstest.Complete(ctx, a, st, 0))
	checklistDone(t, u, pairedBefore, sc.PairedWith("alice"), br.Pages())

	// A new key in the lost key's slot, set up for the backup role.
	a.press("Set up a new backup key")
	if cur := u.Snapshot().Current; cur != steps.StepKeys {
		t.Fatalf("after Set up a new backup key, current %s", cur)
	}
	if _, err := keysim.Replace(ctx, 1, replacement); err != nil {
		t.Fatal(err)
	}
	look := u.SecondaryButton("Look again")
	if look == nil {
		t.Fatal("no Look again on Your keys")
	}
	a.tap(look, "Look again")
	found := false
	for _, k := range u.Snapshot().Detected {
		if k.Serial == replacement.Serial {
			found = true
			if k.SuggestedRole != steps.RoleBackup {
				t.Fatalf("the replacement is suggested as %q", k.SuggestedRole)
			}
		}
	}
	if !found {
		t.Fatalf("the replacement is not detected: %+v", u.Snapshot().Detected)
	}
	a.press("Use these keys")
	enrol(replacement.Serial)
	if cur := u.Snapshot().Current; cur != steps.StepReport {
		t.Fatalf("after the replacement's steps, current %s", cur)
	}
	a.press("Send to IT")
	s := u.Snapshot()
	if !s.Complete || s.Current != steps.StepSummary {
		t.Fatalf("after the replacement: complete %v, current %s, remaining %v", s.Complete, s.Current, s.Remaining)
	}
	checkFlowEvidence(t, s)
	for _, st := range s.Steps {
		if k, ok := st.Key(replacement.Serial); ok && st.Status != steps.StatusNotApplicable && k.Evidence == nil {
			t.Errorf("%s not done on the replacement", st.ID)
		}
	}
	if after := windowEvidence(s, everydaySerial); !reflect.DeepEqual(before, after) {
		t.Fatalf("the everyday key's results changed:\n%v\n%v", before, after)
	}

	// The tracker: complete again, with the history, the everyday key as it was.
	rt.replaced(t, replacement.Serial, backupSerial)
	if k := rt.key(t, everydaySerial); k.Status != tracker.KeyActive || k.Role != everydayRec.Role || !reflect.DeepEqual(k.History, everydayRec.History) {
		t.Fatalf("the everyday key changed in the tracker: %+v, was %+v", k, everydayRec)
	}
	// Complete under the default policy means both active keys proven
	// genuine: the replacement's proof was checked against the root too.
	recs, _, err := rt.st.Records(context.Background(), []string{rt.alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	genuine := map[uint32]bool{}
	for _, k := range recs {
		genuine[k.Serial] = k.Genuine
	}
	if !genuine[everydaySerial] || !genuine[replacement.Serial] {
		t.Fatalf("the tracker's genuine-key results %v, want the everyday key and the replacement genuine", genuine)
	}
	a.press("Copy summary")
	if sum := fyne.CurrentApp().Clipboard().Content(); !strings.Contains(sum, "## Lost keys") || !strings.Contains(sum, "Replaced") {
		t.Fatalf("summary:\n%s", sum)
	}
}
