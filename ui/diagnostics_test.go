package ui_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// TestCopyDiagnostics: an error's message offers "Copy diagnostics" when
// the window has a trace, and the button puts the trace on the clipboard;
// a warning does not offer it, nor does a window without a trace.
func TestCopyDiagnostics(t *testing.T) {
	for _, withTrace := range []bool{true, false} {
		a := test.NewTempApp(t)
		w := test.NewTempWindow(t, nil)
		opts := ui.Options{NoWatch: true}
		if withTrace {
			opts.Diagnostics = func() string { return "keywizard trace:\n> 00 A4 04 00 SELECT\n" }
		}
		u := ui.New(a, w, opts)
		w.Resize(ui.DefaultSize)
		wiz, err := steps.New(context.Background(), steps.Options{
			Keys: stepstest.NewFakeKeys(stepstest.NewKey(1, true)), Browser: &stepstest.Browser{}, Prompter: u,
			Reporter: &stepstest.Reporter{}, Store: &steps.FileStore{Path: filepath.Join(t.TempDir(), "progress.json")},
			Clock: &stepstest.Clock{T: stepstest.FlowNow}, SmartCard: &stepstest.SmartCard{}, GOOS: "linux", OSUser: "alice", AppVersion: "test",
		})
		if err != nil {
			t.Fatal(err)
		}
		u.Attach(context.Background(), wiz)
		t.Cleanup(u.Close)
		u.ShowError(fmt.Errorf("turning off OTP: %w", device.ErrRemoved))
		b := u.BannerButton("Copy diagnostics")
		if !withTrace {
			if b != nil {
				t.Fatal("Copy diagnostics offered without a trace")
			}
			continue
		}
		if b == nil {
			t.Fatal("no Copy diagnostics on an error")
		}
		test.Tap(b)
		if got := a.Clipboard().Content(); got != opts.Diagnostics() {
			t.Errorf("clipboard = %q", got)
		}
		u.ShowError(fmt.Errorf("checking: %w", steps.ErrCannotVerify))
		if u.BannerButton("Copy diagnostics") != nil {
			t.Error("Copy diagnostics offered on an information message")
		}
	}
}
