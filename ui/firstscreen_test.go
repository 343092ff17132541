package ui_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// OnFirstScreen fires once, on the first paint after Attach has rendered a
// step, not on frames painted before (the simulated keys' note, or the UI
// built but not attached) and not again afterwards.
func TestOnFirstScreenFiresOnceAfterAttach(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	calls := 0
	u := ui.New(a, w, ui.Options{NoWatch: true, OnFirstScreen: func() { calls++ }})
	w.Resize(ui.DefaultSize)
	w.Canvas().Capture() // a frame before any step is shown
	if calls != 0 {
		t.Fatalf("OnFirstScreen called %d times before Attach", calls)
	}

	wiz, err := steps.New(context.Background(), steps.Options{
		Keys:      stepstest.NewFakeKeys(stepstest.NewKey(1, true)),
		Browser:   &stepstest.Browser{},
		Prompter:  u,
		Reporter:  &stepstest.Reporter{},
		Store:     &steps.FileStore{Path: filepath.Join(t.TempDir(), "progress.json")},
		Clock:     &stepstest.Clock{T: stepstest.FlowNow},
		SmartCard: &stepstest.SmartCard{},
		GOOS:      "linux", OSUser: "alice", AppVersion: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	u.Attach(context.Background(), wiz)
	t.Cleanup(u.Close)
	if !u.Settle(10 * time.Second) {
		t.Fatal("the UI did not settle")
	}
	w.Canvas().Capture() // the first frame with the welcome step
	if calls != 1 {
		t.Fatalf("OnFirstScreen called %d times after the first step was painted, want 1", calls)
	}
	w.Resize(fyne.NewSize(1280, 900))
	w.Canvas().Capture()
	if calls != 1 {
		t.Fatalf("OnFirstScreen called %d times after more frames, want 1", calls)
	}
}
