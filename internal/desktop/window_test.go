package desktop_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/internal/desktop"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/team"
	"github.com/keywizard/keywizard/ui/uitest"
)

// windowText is the text of every label and button in w, read on Fyne's
// goroutine.
func windowText(t *testing.T, w fyne.Window) string {
	var b strings.Builder
	fyne.DoAndWait(func() {
		uitest.Walk(w.Content(), func(o fyne.CanvasObject) {
			switch v := o.(type) {
			case *widget.Label:
				b.WriteString(v.Text + "\n")
			case *ui.Button:
				b.WriteString("[" + v.Text + "]\n")
			}
		})
	})
	return b.String()
}

// open runs desktop.Open as a real app does, on Fyne's goroutine: the
// wizard's key watch may hand a render to fyne.Do at once, and it must wait
// until the window is built.
func open(ctx context.Context, a fyne.App, w fyne.Window, simulate bool, d desktop.Deps) (err error) {
	fyne.DoAndWait(func() { err = desktop.Open(ctx, a, w, simulate, d) })
	return err
}

// waitText waits until the window shows want.
func waitText(t *testing.T, w fyne.Window, want string) string {
	t.Helper()
	for guard := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) { // a hang guard, not a deadline
		text := windowText(t, w)
		if strings.Contains(text, want) {
			return text
		}
		if time.Now().After(guard) {
			t.Fatalf("the window never showed %q; it shows:\n%s", want, text)
		}
	}
}

func fakeDeps(cfg desktop.Settings) desktop.Deps {
	return desktop.Deps{
		Version:      "test",
		LoadSettings: func(context.Context, bool) (desktop.Settings, error) { return cfg, nil },
		Keys:         stepstest.NewFakeKeys(stepstest.NewKey(stepstest.HarnessEveryday, true)),
		Browser:      &stepstest.Browser{}, SmartCard: &stepstest.SmartCard{},
		FindTeam:  func(context.Context, string) (team.Source, error) { return nil, nil },
		Now:       func() time.Time { return time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC) },
		AfterFunc: func(time.Duration, func()) func() bool { return func() bool { return true } },
	}
}

func settingsIn(t *testing.T) desktop.Settings {
	dir := t.TempDir()
	return desktop.Settings{ConfigDir: dir, StorePath: filepath.Join(dir, "keywizard", "progress.json"), Reporter: &stepstest.Reporter{}}
}

// TestOpenShowsSettingsProblem: settings that cannot be read are shown in
// the window, and returned for a terminal.
func TestOpenShowsSettingsProblem(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	boom := errors.New("keywizard settings are not valid JSON")
	d := fakeDeps(desktop.Settings{})
	d.LoadSettings = func(context.Context, bool) (desktop.Settings, error) { return desktop.Settings{}, boom }
	if err := open(context.Background(), a, w, false, d); !errors.Is(err, boom) {
		t.Fatalf("Open = %v, want the settings error", err)
	}
	text := waitText(t, w, "keywizard could not start")
	if !strings.Contains(text, "not valid JSON") || strings.Contains(text, "[Start over]") {
		t.Errorf("window:\n%s\nwant the error's detail and no Start over", text)
	}
}

// TestOpenRecoversDamagedProgress: in the window, a damaged progress file
// is explained with Start over, which keeps the file aside and brings up
// the wizard's first step.
func TestOpenRecoversDamagedProgress(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	cfg := settingsIn(t)
	os.MkdirAll(filepath.Dir(cfg.StorePath), 0o700)
	if err := os.WriteFile(cfg.StorePath, []byte("{damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := open(ctx, a, w, false, fakeDeps(cfg)); err != nil {
		t.Fatal(err)
	}
	waitText(t, w, "Your saved progress could not be read")
	var startOver *ui.Button
	fyne.DoAndWait(func() {
		uitest.Walk(w.Content(), func(o fyne.CanvasObject) {
			if b, ok := o.(*ui.Button); ok && b.Text == "Start over" {
				startOver = b
			}
		})
	})
	if startOver == nil {
		t.Fatal("no Start over button")
	}
	fyne.DoAndWait(func() { test.Tap(startOver) }) // as a real driver delivers a tap: on Fyne's goroutine
	waitText(t, w, "Welcome")
	if _, err := os.Stat(cfg.StorePath + ".damaged-20260302-093000"); err != nil {
		t.Errorf("the damaged file was not kept aside: %v", err)
	}
}

// TestOpenSimulated: with --simulate the window first shows the plugging-in
// note; once it is drawn the simulated keys are plugged in behind it and the
// wizard's first step replaces it.
func TestOpenSimulated(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	cfg := settingsIn(t)
	d := fakeDeps(cfg)
	d.Keys, d.Browser = nil, nil
	var gotSimulate bool
	d.LoadSettings = func(_ context.Context, simulate bool) (desktop.Settings, error) {
		gotSimulate = simulate
		return cfg, nil
	}
	plugged := make(chan struct{})
	d.Simulate = func(context.Context, func(string)) (*desktop.Simulated, error) {
		close(plugged)
		return &desktop.Simulated{
			Keys:    stepstest.NewFakeKeys(stepstest.NewKey(31000001, true)),
			Browser: func(*catalogue.Catalogue, func() steps.Snapshot) steps.Browser { return &stepstest.Browser{} },
			Close:   func() {},
		}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := open(ctx, a, w, true, d); err != nil {
		t.Fatal(err)
	}
	if !gotSimulate {
		t.Error("settings loaded for real keys")
	}
	if w.Title() != "keywizard (simulated keys)" {
		t.Errorf("title %q", w.Title())
	}
	select {
	case <-plugged:
		t.Fatal("keys plugged in before the note was drawn")
	default:
	}
	fyne.DoAndWait(func() { w.Canvas().Capture() }) // the note's first frame
	select {
	case <-plugged:
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("the simulated keys were never plugged in")
	}
	waitText(t, w, "Welcome")
}

// TestLoadSettings: a simulated run keeps its record on this computer and
// cannot join a tracker; a real one reports through the tracker link.
func TestLoadSettings(t *testing.T) {
	cfgHome := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfgHome)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KEYWIZARD_TRACKER", "")
	t.Setenv("KEYWIZARD_CATALOGUE", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := desktop.LoadSettings(ctx, true, "test")
	if err != nil {
		t.Fatal(err)
	}
	if lr, ok := sim.Reporter.(*steps.LocalReporter); !ok || lr.Path != filepath.Join(cfgHome, "keywizard", "record-simulated.jsonl") || sim.Tracker != nil {
		t.Errorf("simulated: reporter %#v, tracker %v; want the simulated local record and no tracker", sim.Reporter, sim.Tracker)
	}
	if sim.ConfigDir != cfgHome || sim.Catalogue == nil || sim.StorePath == "" {
		t.Errorf("simulated settings %+v", sim)
	}
	real, err := desktop.LoadSettings(ctx, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := real.Reporter.(*trackerlink.AppReporter); !ok {
		t.Errorf("reporter %T, want the tracker link's", real.Reporter)
	}
	if l, ok := real.Tracker.(*trackerlink.Link); !ok || l.ConfigDir != cfgHome {
		t.Errorf("tracker %#v, want the tracker link over %s", real.Tracker, cfgHome)
	}
}

// TestTrackerTeamNoTracker: with no tracker configured there is no team
// view, and the Source is nil itself (not a nil pointer in an interface,
// which the window would try to show).
func TestTrackerTeamNoTracker(t *testing.T) {
	t.Setenv("KEYWIZARD_TRACKER", "")
	src, err := desktop.TrackerTeam("test", time.After)(context.Background(), t.TempDir())
	if !errors.Is(err, trackerlink.ErrNoTracker) || src != nil {
		t.Errorf("TrackerTeam with no tracker = %v, %v; want nil, ErrNoTracker", src, err)
	}
}

// closingSource is a team view's source whose fetch ends only when the
// window's context does, as the tracker client's request does when the
// window closes; it records that the fetch returned.
type closingSource struct {
	called   chan struct{}
	returned atomic.Bool
}

func (s *closingSource) Team(ctx context.Context) (tracker.TeamView, error) {
	close(s.called)
	<-ctx.Done()
	s.returned.Store(true)
	return tracker.TeamView{}, ctx.Err()
}

// TestCloseEndsTheTeamViewFetch: the real window with its team view
// closed while the view's fetch is in progress: the fetch is told to stop
// (the context ends) and has returned when Close does, without a hang
// between the closing window and the view. (That close waits for the view
// is TestCloseWaitsForTheTeamView in app_test.go, deterministically; here
// the fetch may also end first by itself.)
func TestCloseEndsTheTeamViewFetch(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewWindow(nil) // closed by the test (the test driver's window panics when closed twice)
	var closeOnce sync.Once
	closeWindow := func() { closeOnce.Do(func() { fyne.DoAndWait(w.Close) }) } // as a real driver closes it: on Fyne's goroutine
	t.Cleanup(closeWindow)
	src := &closingSource{called: make(chan struct{})}
	d := fakeDeps(settingsIn(t))
	d.FindTeam = func(context.Context, string) (team.Source, error) { return src, nil }
	if err := open(context.Background(), a, w, false, d); err != nil {
		t.Fatal(err)
	}
	select {
	case <-src.called:
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("the team view never asked for the team")
	}
	closeWindow()
	if !src.returned.Load() {
		t.Error("the window closed while the team view's fetch was still running")
	}
}
