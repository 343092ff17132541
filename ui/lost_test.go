package ui_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// lostFlowChecks are what a lost-key test reads from its tracker at each
// point of the flow.
type lostFlowChecks struct {
	// afterLoss runs once the loss is reported through the window.
	afterLoss func(t *testing.T)
	// atEnd runs once the replacement is enrolled and reported.
	atEnd func(t *testing.T)
}

// runLostKeyFlow works the lost-key flow through the window on a Mac, with
// both keys enrolled first: "I lost my backup key" on the summary, the
// confirmation, the checklist (macOS login unpaired and read back through
// the sc_auth fake, the rest confirmed), a replacement given the backup
// role and set up through every step, and the report. The everyday key's
// results must not change on the way.
func runLostKeyFlow(t *testing.T, d *driver, c lostFlowChecks) {
	t.Helper()
	e := d.e
	u := e.UI
	ctx := context.Background()
	before := windowEvidence(u.Snapshot(), screens.Everyday)
	if len(before) == 0 {
		t.Fatal("the everyday key has no results before the loss")
	}
	pairedBefore := e.SmartCard.PairedWith("alice")
	d.current(steps.StepSummary)
	// The key is lost days after the enrolment.
	e.Clock.Advance(72 * time.Hour)

	// The lost key is not plugged in.
	e.Keys.Unplug(screens.Backup)
	lost := u.SecondaryButton(fmt.Sprintf("I lost my backup key (serial %d)…", screens.Backup))
	if lost == nil {
		t.Fatal("the summary offers no \"I lost my backup key\"")
	}
	input(func() { test.Tap(lost) })
	d.settle()
	title, text, open := u.Dialog()
	if !open || !strings.Contains(title, fmt.Sprint(screens.Backup)) || !strings.Contains(title, "YubiKey 5C NFC") || !strings.Contains(text, "IT") {
		t.Fatalf("confirmation %q %q (open %v)", title, text, open)
	}
	_, _, yes, _ := u.DialogWidgets()
	if yes.Text != "Yes, it is lost" {
		t.Fatalf("confirm button %q", yes.Text)
	}
	input(func() { test.Tap(yes) })
	d.settle()
	d.noError()
	d.current(steps.StepLost)
	s := u.Snapshot()
	st, _ := s.Step(steps.StepLost)
	if st.Loss == nil || st.Loss.Told != steps.ToldSent {
		t.Fatalf("loss %+v", st.Loss)
	}
	if s.Complete || len(s.Keys) != 1 {
		t.Fatalf("after the loss: complete %v, keys %+v", s.Complete, s.Keys)
	}
	if c.afterLoss != nil {
		c.afterLoss(t)
	}

	// The checklist, through the window.
	if err := stepstest.Complete(ctx, d.actor(), st, 0); err != nil {
		t.Fatal(err)
	}
	checklistDone(t, u, pairedBefore, e.SmartCard.PairedWith("alice"), e.Browser.Opened())

	// The replacement, for the backup role only.
	d.press("Set up a new backup key")
	d.current(steps.StepKeys)
	e.Keys.Add(stepstest.NewKey(screens.Replacement, false))
	look := u.SecondaryButton("Look again")
	if look == nil {
		t.Fatal("no Look again on Your keys")
	}
	input(func() { test.Tap(look) })
	d.settle()
	for _, k := range u.Snapshot().Detected {
		if k.Serial == screens.Replacement && k.SuggestedRole != steps.RoleBackup {
			t.Fatalf("the replacement is suggested as %q", k.SuggestedRole)
		}
	}
	d.press("Use these keys")
	a := d.actor()
	for _, st := range u.Snapshot().Steps {
		switch st.Kind {
		case steps.KindWelcome, steps.KindKeys, steps.KindLost, steps.KindReport, steps.KindSummary:
			continue
		}
		if err := stepstest.CompleteOnKeys(ctx, a, st.ID, screens.Replacement); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Snapshot().CurrentStep(); err.ID != steps.StepReport {
		t.Fatalf("after the replacement's steps, current %s", err.ID)
	}
	d.press("Send to IT")
	s = u.Snapshot()
	if !s.Complete {
		t.Fatalf("not complete after the replacement: %v", s.Remaining)
	}
	if after := windowEvidence(s, screens.Everyday); !reflect.DeepEqual(before, after) {
		t.Fatalf("the everyday key's results changed:\n%v\n%v", before, after)
	}
	for _, st := range s.Steps {
		if k, ok := st.Key(screens.Replacement); ok && st.Status != steps.StatusNotApplicable && k.Evidence == nil {
			t.Errorf("%s not done on the replacement", st.ID)
		}
	}
	if c.atEnd != nil {
		c.atEnd(t)
	}
	if clip := u.Snapshot(); clip.Current != steps.StepSummary {
		t.Fatalf("current %s at the end", clip.Current)
	}
	d.press("Copy summary")
	if sum := fyne.CurrentApp().Clipboard().Content(); !strings.Contains(sum, "## Lost keys") || !strings.Contains(sum, "Replaced") {
		t.Fatalf("summary:\n%s", sum)
	}
}

// windowEvidence is every result on key serial: level, detail and when it
// was recorded. When it was last re-checked is left out: reporting reads
// the keys again (steps' Recheck), which moves only that.
func windowEvidence(s steps.Snapshot, serial uint32) map[steps.StepID]steps.Evidence {
	out := map[steps.StepID]steps.Evidence{}
	for _, st := range s.Steps {
		if k, ok := st.Key(serial); ok && k.Evidence != nil {
			e := *k.Evidence
			e.CheckedAt = time.Time{}
			out[st.ID] = e
		}
	}
	return out
}

// TestLostKeyThroughWindow runs the lost-key flow against the fake
// tracker (stepstest's Reporter and LossReporter).
func TestLostKeyThroughWindow(t *testing.T) {
	d := newDriver(t, "darwin")
	e := d.e
	if err := e.Wizard.Join(context.Background(), "https://tracker.example.com", screens.InviteCode); err != nil {
		t.Fatal(err)
	}
	if err := e.AdvanceTo(steps.StepSummary); err != nil {
		t.Fatal(err)
	}
	d.settle()
	runLostKeyFlow(t, d, lostFlowChecks{
		afterLoss: func(t *testing.T) {
			sent := e.Lost.Sent()
			if len(sent) != 1 || sent[0].Serial != screens.Backup || sent[0].Role != steps.RoleBackup {
				t.Fatalf("loss reports %+v", sent)
			}
		},
		atEnd: func(t *testing.T) {
			reps := e.Reporter.Sent()
			last := reps[len(reps)-1]
			if !last.Complete || len(last.Keys) != 2 || last.Keys[1].Serial != screens.Replacement || last.Keys[1].Role != steps.RoleBackup {
				t.Fatalf("last report %+v", last)
			}
		},
	})
}

// checklistDone checks a worked lost-key checklist: done, each item with
// the evidence it can have (the Mac's unpair verified by the system, the
// rest confirmed by the person), the lost key's two pairings and only they
// gone from the Mac, and the last four pages opened the removal pages.
func checklistDone(t *testing.T, u *ui.UI, pairedBefore, pairedAfter, opened []string) {
	t.Helper()
	st, _ := u.Snapshot().Step(steps.StepLost)
	if st.Status != steps.StatusDone {
		t.Fatalf("checklist %s: %s", st.Status, st.Reason)
	}
	var lostIDs []string
	for _, it := range st.Loss.Items {
		want := steps.SelfAttested
		if it.ByKeywizard {
			want, lostIDs = steps.VerifiedBySystem, it.Identities
		}
		if it.Evidence == nil || it.Evidence.Level != want {
			t.Errorf("%s: %+v, want %s", it.Service, it.Evidence, want)
		}
	}
	if len(lostIDs) != 2 || len(pairedAfter) != len(pairedBefore)-2 {
		t.Fatalf("paired before %v, after %v, lost key's %v", pairedBefore, pairedAfter, lostIDs)
	}
	for _, h := range lostIDs {
		if strings.Contains(strings.Join(pairedAfter, " "), h) {
			t.Fatalf("the lost key's %s is still paired", h)
		}
	}
	for i, url := range opened[len(opened)-4:] {
		if !strings.HasPrefix(url, "https://") {
			t.Errorf("removal page %d %q", i, url)
		}
	}
}
