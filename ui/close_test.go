package ui_test

import (
	"context"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// TestCloseStopsWhatTheUIStarted: Close returns once the key watch and the
// resend loop the UI started have stopped (it would hang otherwise), and
// nothing the wizard publishes afterwards reaches the window: no goroutine
// draws in a closed window, or in the next test's.
func TestCloseStopsWhatTheUIStarted(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	h := stepstest.NewHarness(t, "linux")
	h.AdvanceTo(t, steps.StepOTP)
	u := ui.New(a, w, ui.Options{}) // with the watch and the resend loop
	fyne.DoAndWait(func() { u.Attach(context.Background(), h.W) })
	u.Close()
	var seq uint64
	fyne.DoAndWait(func() { seq = u.Snapshot().Seq })
	// Published now, drawn by nobody: the wizard hands snapshots to its
	// subscribers before GoTo returns.
	if err := h.W.GoTo(context.Background(), steps.StepReport); err != nil {
		t.Fatal(err)
	}
	fyne.DoAndWait(func() {
		if s := u.Snapshot(); s.Seq != seq || s.Current != steps.StepOTP {
			t.Errorf("the closed window drew snapshot %d (step %s), want %d (step %s) still", s.Seq, s.Current, seq, steps.StepOTP)
		}
	})
}
