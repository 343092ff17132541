// Package desktop is the keywizard app: what the window does from start to
// close. It loads the settings, starts the wizard (offering to set a
// damaged progress file aside and start over), sends again a report that
// could not be sent last time, looks for the manager's team view (at start,
// again while the tracker cannot be reached, and when this computer joins
// the tracker), and with --simulate plugs in simulated keys behind a note.
// Every side effect is injected through Deps, so each of these behaviours is
// tested with fakes; cmd/keywizard-gui only parses flags, creates the Fyne
// app and passes the real adapters.
package desktop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/ui/team"
)

// Screen is what the app shows the wizard on: *ui.UI, or a fake in tests.
// Its methods run on Fyne's goroutine.
type Screen interface {
	steps.Prompter
	// Attach shows wiz and renders its snapshots.
	Attach(ctx context.Context, wiz *steps.Wizard)
	// Go runs a wizard action as if the person had asked for it.
	Go(f func(ctx context.Context) error)
	// ShowStartupProblem shows why the wizard cannot start; startOver, when
	// not nil, is offered to start again (ui.UI.ShowStartupProblem).
	ShowStartupProblem(err error, startOver func() error)
	// Close ends what Attach and Go started and returns once it has
	// stopped; it may be called on Fyne's goroutine.
	Close()
}

// Settings is what the wizard needs before it can start (LoadSettings).
type Settings struct {
	// ConfigDir is the user config directory (keywizard's settings,
	// report queue and records are under ConfigDir/keywizard).
	ConfigDir string
	// StorePath is the progress file of a run with real keys.
	StorePath string
	Catalogue *catalogue.Catalogue
	Reporter  steps.Reporter
	// Tracker joins the onboarding tracker; nil when it cannot be joined
	// (a simulated run).
	Tracker steps.Tracker
	OSUser  string
}

// SimulatedStorePath is where a simulated run keeps its progress: beside
// the real progress file and apart from it, so trying keywizard out never
// touches a person's real progress.
func (s Settings) SimulatedStorePath() string {
	return filepath.Join(filepath.Dir(s.StorePath), "progress-simulated.json")
}

// Simulated is a set of simulated keys plugged in (internal/simulation).
type Simulated struct {
	Keys steps.Keys
	// Browser stands in for the person at each service's page; snapshot
	// gives the wizard's state at the time of a visit.
	Browser func(cat *catalogue.Catalogue, snapshot func() steps.Snapshot) steps.Browser
	// Close unplugs the keys.
	Close func()
}

// Deps are the app's side effects.
type Deps struct {
	Version string
	// Diagnostics gives the recent trace of what was said to the keys
	// (device/trace; secrets only as lengths) for the error messages'
	// "Copy diagnostics"; nil leaves that action out.
	Diagnostics func() string
	// LoadSettings reads the catalogue and this computer's settings
	// (desktop.LoadSettings in the app).
	LoadSettings func(ctx context.Context, simulate bool) (Settings, error)
	// Keys and Browser are the real keys and the system browser.
	Keys    steps.Keys
	Browser steps.Browser
	// SmartCard is macOS smart-card login (internal/maclogin).
	SmartCard steps.SmartCardLogin
	// Simulate plugs in the simulated keys; it may wait for vpcd's
	// readers. It tells progress, in plain words, what it is waiting for
	// each time that changes (internal/simulation's Options.Progress).
	Simulate func(ctx context.Context, progress func(waitingFor string)) (*Simulated, error)
	// FindTeam looks for the team view of the person this computer joined
	// the tracker as, waiting while the tracker cannot be reached
	// (TrackerTeam); nil source: no team to show.
	FindTeam func(ctx context.Context, configDir string) (team.Source, error)
	// Now is the clock for setting a damaged progress file aside.
	Now func() time.Time
	// AfterFunc runs f after d unless stopped (time.AfterFunc); the
	// simulation's "taking longer" note uses it.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
}

// SlowSimulation is how long plugging in the simulated keys may take before
// the note says why: well under a second unless another program holds
// vpcd's two readers, when internal/simulation waits for them (at most
// 30 s).
const SlowSimulation = 3 * time.Second

// App is one run of the window.
type App struct {
	d      Deps
	cfg    Settings
	screen Screen
	// do runs f on Fyne's goroutine (fyne.Do); tests run it at once.
	do func(f func())
	// showTeam adds the team view beside the wizard, on Fyne's goroutine,
	// and returns what waits for the view's fetches (team.View.Wait).
	showTeam  func(ctx context.Context, src team.Source) (wait func())
	teamShown atomic.Bool
	// goroutines are the ones the app starts (plugging in the simulated
	// keys, looking for the team view); close waits for them.
	goroutines sync.WaitGroup
	// teamWait waits for the shown team view's fetches; close calls it.
	teamMu   sync.Mutex
	teamWait func()
}

// close waits, once the window's context has ended, for everything the app,
// its team view and its screen started. On Fyne's goroutine (the window's
// SetOnClosed): nothing it waits for waits for Fyne once the context has
// ended.
func (a *App) close() {
	a.goroutines.Wait()
	// After goroutines: the team view is shown from one of them.
	a.teamMu.Lock()
	wait := a.teamWait
	a.teamMu.Unlock()
	if wait != nil {
		wait()
	}
	if a.screen != nil {
		a.screen.Close()
	}
}

// newWizard builds the wizard over keys and br on the progress file at
// storePath.
func (a *App) newWizard(ctx context.Context, keys steps.Keys, br steps.Browser, storePath string) (*steps.Wizard, error) {
	wiz, err := steps.New(ctx, steps.Options{
		Catalogue:  a.cfg.Catalogue,
		Keys:       keys,
		Browser:    br,
		Prompter:   a.screen,
		Reporter:   a.cfg.Reporter,
		Store:      &steps.FileStore{Path: storePath},
		SmartCard:  a.d.SmartCard,
		Tracker:    a.cfg.Tracker,
		OSUser:     a.cfg.OSUser,
		AppVersion: a.d.Version,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the wizard: %w", err)
	}
	return wiz, nil
}

// start builds the wizard and calls begin with it, or shows why it cannot
// start; a damaged progress file can be set aside there to start over. On
// Fyne's goroutine.
func (a *App) start(ctx context.Context, keys steps.Keys, br steps.Browser, storePath string, begin func(*steps.Wizard)) {
	wiz, err := a.newWizard(ctx, keys, br, storePath)
	if err == nil {
		begin(wiz)
		return
	}
	var startOver func() error
	if errors.Is(err, steps.ErrDamagedProgress) {
		startOver = func() error {
			if _, err := (&steps.FileStore{Path: storePath}).SetAside(a.d.Now()); err != nil {
				return err
			}
			wiz, err := a.newWizard(ctx, keys, br, storePath)
			if err != nil {
				return err
			}
			begin(wiz)
			return nil
		}
	}
	a.screen.ShowStartupProblem(err, startOver)
}

// attach shows wiz; a report that could not be sent last time (saved,
// waiting for the network) is sent again now. On Fyne's goroutine.
func (a *App) attach(ctx context.Context, wiz *steps.Wizard) {
	a.screen.Attach(ctx, wiz)
	if st, ok := wiz.Snapshot().Step(steps.StepReport); ok && st.Status == steps.StatusNeedsAttention {
		a.screen.Go(wiz.Report)
	}
}

// watchTeam shows a manager or IT their team from the tracker next to
// their own wizard; with no tracker, not joined or no reports, the wizard
// stays alone. The team is looked for now (and, while the tracker cannot be
// reached, again with growing waits: FindTeam) and again when this computer
// joins the tracker from the Tell IT step; it is shown once.
func (a *App) watchTeam(ctx context.Context, wiz *steps.Wizard) {
	a.goFindTeam(ctx)
	var wasConnected atomic.Bool
	wasConnected.Store(wiz.Snapshot().Tracker.Connected)
	stop := wiz.OnChange(func(s steps.Snapshot) {
		if s.Tracker.Connected && wasConnected.CompareAndSwap(false, true) {
			a.goFindTeam(ctx)
		}
	})
	context.AfterFunc(ctx, stop)
}

// goFindTeam looks for the team view in the background (findTeam).
func (a *App) goFindTeam(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	a.goroutines.Add(1)
	go func() {
		defer a.goroutines.Done()
		a.findTeam(ctx)
	}()
}

func (a *App) findTeam(ctx context.Context) {
	src, err := a.d.FindTeam(ctx, a.cfg.ConfigDir)
	if err != nil || src == nil || !a.teamShown.CompareAndSwap(false, true) {
		return
	}
	a.do(func() {
		if ctx.Err() == nil {
			wait := a.showTeam(ctx, src)
			a.teamMu.Lock()
			a.teamWait = wait
			a.teamMu.Unlock()
		}
	})
}

// startReal starts the wizard over the real keys and browser. On Fyne's
// goroutine.
func (a *App) startReal(ctx context.Context) {
	a.start(ctx, a.d.Keys, a.d.Browser, a.cfg.StorePath, func(wiz *steps.Wizard) {
		a.attach(ctx, wiz)
		a.watchTeam(ctx, wiz)
	})
}

// startSimulated plugs in the simulated keys and starts the wizard over
// them on the simulated progress file. slow is called (on Fyne's
// goroutine) when that takes longer than SlowSimulation, and ready just
// before the wizard or the problem is shown. Off Fyne's goroutine: it
// waits for the keys.
func (a *App) startSimulated(ctx context.Context, slow func(waitingFor string), ready func()) {
	// The note says what the simulation reports it waits for, never a
	// guess: the lock held by another program, or which key pcscd has not
	// shown yet.
	var mu sync.Mutex
	waiting, late := "", false
	tell := func() {
		mu.Lock()
		w := waiting
		mu.Unlock()
		a.do(func() { slow(w) })
	}
	stop := a.d.AfterFunc(SlowSimulation, func() {
		mu.Lock()
		late = true
		mu.Unlock()
		tell()
	})
	s, err := a.d.Simulate(ctx, func(what string) {
		mu.Lock()
		waiting = what
		shown := late
		mu.Unlock()
		if shown {
			tell()
		}
	})
	stop()
	if err != nil {
		// Also on standard error: scripts/simstart.sh reports why a start
		// never reached the first screen, which only the window shows.
		fmt.Fprintf(os.Stderr, "keywizard: starting the simulated keys: %v\n", err)
		if ctx.Err() != nil {
			return // the window closed while the keys were being plugged in
		}
		a.do(func() {
			ready()
			a.screen.ShowStartupProblem(fmt.Errorf("starting the simulated keys: %w", err), nil)
		})
		return
	}
	context.AfterFunc(ctx, s.Close)
	var current atomic.Pointer[steps.Wizard]
	br := s.Browser(a.cfg.Catalogue, func() steps.Snapshot { return current.Load().Snapshot() })
	a.do(func() {
		if ctx.Err() != nil {
			return // the window closed meanwhile
		}
		ready()
		a.start(ctx, s.Keys, br, a.cfg.SimulatedStorePath(), func(wiz *steps.Wizard) {
			current.Store(wiz)
			a.attach(ctx, wiz)
		})
	})
}
