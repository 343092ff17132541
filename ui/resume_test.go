package ui_test

import (
	"context"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// TestResumeThroughWindow runs the flow half way in a window over a
// progress file in a temporary directory, closes the window, starts a new
// wizard and window on the same file (keywizard quit and started again)
// and checks it carries on at the same step with every result kept.
func TestResumeThroughWindow(t *testing.T) {
	a := uitest.NewTempApp(t)
	// Closed by the test itself, half way (a temporary window would be
	// closed again at cleanup).
	w := test.NewWindow(nil)
	e, err := screens.NewEnv(a, w, "linux", t.TempDir(), ui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.UseUI()
	d := &driver{t: t, e: e, w: w}
	if err := e.AdvanceTo("google"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	// Half way, through the window: Google on both keys, AWS on one.
	d.complete("google")
	d.current("aws")
	aws, _ := e.UI.Snapshot().Step("aws")
	if err := stepstest.Complete(context.Background(), d.actor(), aws, screens.Everyday); err != nil {
		t.Fatal(err)
	}
	before := e.UI.Snapshot()

	// Quit: the window goes, and a new one starts on the same file.
	w.Close()
	w2 := test.NewTempWindow(t, nil)
	e2, err := e.Reopen(a, w2, ui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e2.UseUI()
	t.Cleanup(e2.UI.Close)
	d2 := &driver{t: t, e: e2, w: w2}
	d2.settle()
	if e2.UI == e.UI || e2.Wizard == e.Wizard {
		t.Fatal("Reopen reused the wizard or the UI")
	}
	after := e2.UI.Snapshot()
	d2.current("aws")
	if after.Person.Email != before.Person.Email {
		t.Errorf("person %+v after resuming", after.Person)
	}
	for _, st := range before.Steps {
		got, ok := after.Step(st.ID)
		if !ok || got.Status != st.Status {
			t.Errorf("%s: %s before, %s after resuming", st.ID, st.Status, got.Status)
			continue
		}
		for _, k := range st.Keys {
			gk, _ := got.Key(k.Serial)
			if (k.Evidence == nil) != (gk.Evidence == nil) || (k.Evidence != nil && (gk.Evidence.Level != k.Evidence.Level || !gk.Evidence.At.Equal(k.Evidence.At))) {
				t.Errorf("%s on %d: evidence %+v before, %+v after resuming", st.ID, k.Serial, k.Evidence, gk.Evidence)
			}
		}
	}
	if st, _ := after.Step("google"); st.Status != steps.StatusDone {
		t.Errorf("google %s after resuming", st.Status)
	}
	// The new window offers what is left and finishes the step.
	aws, _ = e2.UI.Snapshot().Step("aws")
	if err := stepstest.Complete(context.Background(), d2.actor(), aws, screens.Backup); err != nil {
		t.Fatal(err)
	}
	d2.current("1password")
}
