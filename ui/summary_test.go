package ui_test

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// TestSaveSummary: "Save summary…" hands the wizard's summary to the
// saver (the file dialog in the app) under a sensible name, and a save
// that fails says so.
func TestSaveSummary(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	type save struct{ name, text string }
	var saves []save
	var result error
	e, err := screens.NewEnv(a, w, "linux", t.TempDir(), ui.Options{SaveSummary: func(name, text string, done func(error)) {
		saves = append(saves, save{name, text})
		done(result)
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.UseUI()
	t.Cleanup(e.UI.Close)
	d := &driver{t: t, e: e, w: w}
	if err := e.AdvanceTo(steps.StepSummary); err != nil {
		t.Fatal(err)
	}
	d.settle()
	tapSave := func() {
		t.Helper()
		for _, o := range test.LaidOutObjects(w.Content()) {
			if b, ok := o.(*ui.Button); ok && b.Text == "Save summary…" && b.Visible() && !b.Disabled() {
				test.Tap(b)
				return
			}
		}
		t.Fatal("no Save summary… button on the summary")
	}
	tapSave()
	if len(saves) != 1 || saves[0].text != e.Wizard.Summary() || !strings.HasSuffix(saves[0].name, ".md") ||
		!strings.Contains(saves[0].text, "Alice Example") {
		t.Fatalf("saved %+v", saves)
	}
	d.noError()
	// Cancelling says nothing; a failure says what happened.
	result = steps.ErrCancelled
	tapSave()
	d.noError()
	result = errors.New("open /Volumes/USB/keywizard-summary.md: read-only file system")
	tapSave()
	if m, ok := e.UI.Message(); !ok || m.Title != "The summary was not saved" || !strings.Contains(m.Details, "read-only file system") {
		t.Fatalf("message after a failed save: %+v %v", m, ok)
	}
}
