package desktop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/ui/team"
)

// fakeScreen records what the app shows; Go runs the action at once.
type fakeScreen struct {
	*stepstest.Prompter
	mu        sync.Mutex
	attached  []*steps.Wizard
	problems  []error
	startOver func() error
	goErrs    []error
}

func (s *fakeScreen) Attach(ctx context.Context, wiz *steps.Wizard) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attached = append(s.attached, wiz)
}

func (s *fakeScreen) Go(f func(ctx context.Context) error) {
	err := f(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.goErrs = append(s.goErrs, err)
}

func (s *fakeScreen) Close() {}

func (s *fakeScreen) ShowStartupProblem(err error, startOver func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, err)
	s.startOver = startOver
}

// fakeSource is a team view's data.
type fakeSource struct{}

func (fakeSource) Team(ctx context.Context) (tracker.TeamView, error) { return tracker.TeamView{}, nil }

// newApp is an App over fakes with progress in a temporary directory; do
// runs at once, as if on Fyne's goroutine.
func newApp(t *testing.T) (*App, *fakeScreen, *stepstest.FakeKeys) {
	t.Helper()
	dir := t.TempDir()
	keys := stepstest.NewFakeKeys(stepstest.NewKey(stepstest.HarnessEveryday, true), stepstest.NewKey(stepstest.HarnessBackup, false))
	scr := &fakeScreen{Prompter: stepstest.FlowPrompter()}
	a := &App{
		d: Deps{
			Version: "test", Keys: keys, Browser: &stepstest.Browser{}, SmartCard: &stepstest.SmartCard{},
			Now:      func() time.Time { return time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC) },
			FindTeam: func(context.Context, string) (team.Source, error) { return nil, nil },
		},
		cfg: Settings{
			ConfigDir: dir, StorePath: filepath.Join(dir, "keywizard", "progress.json"),
			Reporter: &stepstest.Reporter{}, OSUser: "alice",
		},
		screen:   scr,
		do:       func(f func()) { f() },
		showTeam: func(context.Context, team.Source) func() { t.Error("team view shown"); return nil },
	}
	return a, scr, keys
}

func TestStartShowsTheWizard(t *testing.T) {
	a, scr, _ := newApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.startReal(ctx)
	if len(scr.attached) != 1 || len(scr.problems) != 0 {
		t.Fatalf("attached %d wizards, problems %v; want the wizard and no problem", len(scr.attached), scr.problems)
	}
	if len(scr.goErrs) != 0 {
		t.Errorf("a fresh wizard ran %d actions at start, want none", len(scr.goErrs))
	}
}

// TestDamagedProgressStartOver: a progress file that cannot be read stops
// the wizard with a problem offering to start over; starting over sets the
// file aside (named by the injected clock) and shows a fresh wizard.
func TestDamagedProgressStartOver(t *testing.T) {
	a, scr, _ := newApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(a.cfg.StorePath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.cfg.StorePath, []byte("{damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.startReal(ctx)
	if len(scr.attached) != 0 || len(scr.problems) != 1 || !errors.Is(scr.problems[0], steps.ErrDamagedProgress) {
		t.Fatalf("attached %d, problems %v; want only a damaged-progress problem", len(scr.attached), scr.problems)
	}
	if scr.startOver == nil {
		t.Fatal("a damaged progress file offers no way to start over")
	}
	if err := scr.startOver(); err != nil {
		t.Fatalf("start over: %v", err)
	}
	if len(scr.attached) != 1 {
		t.Fatalf("after starting over %d wizards attached, want 1", len(scr.attached))
	}
	aside := a.cfg.StorePath + ".damaged-20260302-093000"
	if b, err := os.ReadFile(aside); err != nil || string(b) != "{damaged" {
		t.Errorf("the damaged file was not kept at %s: %q, %v", aside, b, err)
	}
}

// TestOtherStartupProblemsCannotStartOver: only a damaged progress file
// can be set aside; any other reason the wizard cannot start offers none.
func TestOtherStartupProblemsCannotStartOver(t *testing.T) {
	a, scr, _ := newApp(t)
	// The progress file's directory is a file: the store cannot be read.
	if err := os.WriteFile(filepath.Dir(a.cfg.StorePath), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a.startReal(context.Background())
	if len(scr.problems) != 1 || errors.Is(scr.problems[0], steps.ErrDamagedProgress) || scr.startOver != nil {
		t.Fatalf("problems %v, start over offered %v; want one problem without start over", scr.problems, scr.startOver != nil)
	}
}

// TestPendingReportSentAgain: a report saved because the network was down
// is sent again when the app starts, as if the person asked for it.
func TestPendingReportSentAgain(t *testing.T) {
	h := stepstest.NewHarness(t, runtime.GOOS)
	h.Reporter.Err = steps.ErrReportQueued
	h.AdvanceTo(t, steps.StepReport)
	if err := h.W.Report(context.Background()); !errors.Is(err, steps.ErrReportQueued) {
		t.Fatalf("first report: %v, want it queued", err)
	}
	a, scr, _ := newApp(t)
	a.d.Keys = h.Options.Keys
	a.cfg.StorePath = h.Store.Path
	rep := &stepstest.Reporter{}
	a.cfg.Reporter = rep
	a.startReal(context.Background())
	if len(scr.attached) != 1 {
		t.Fatalf("attached %d wizards, problems %v", len(scr.attached), scr.problems)
	}
	if len(scr.goErrs) != 1 || scr.goErrs[0] != nil {
		t.Fatalf("actions run at start: %v; want the report, sent", scr.goErrs)
	}
	if n := len(rep.Sent()); n != 1 {
		t.Errorf("reporter got %d reports, want 1", n)
	}
	if st, _ := scr.attached[0].Snapshot().Step(steps.StepReport); st.Status != steps.StatusDone {
		t.Errorf("report step %v after sending, want done", st.Status)
	}
}

// TestTeamViewFoundAtStart: a manager's team view is shown beside the
// wizard when the tracker has one, and only once.
func TestTeamViewFoundAtStart(t *testing.T) {
	a, _, _ := newApp(t)
	shown := make(chan team.Source, 2)
	a.showTeam = func(_ context.Context, src team.Source) func() { shown <- src; return nil }
	var dirs []string
	var mu sync.Mutex
	a.d.FindTeam = func(_ context.Context, configDir string) (team.Source, error) {
		mu.Lock()
		dirs = append(dirs, configDir)
		mu.Unlock()
		return fakeSource{}, nil
	}
	a.startReal(context.Background())
	select {
	case src := <-shown:
		if _, ok := src.(fakeSource); !ok {
			t.Errorf("shown %T, want the source FindTeam found", src)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("no team view shown")
	}
	a.findTeam(context.Background()) // found again: not shown twice
	if len(shown) != 0 {
		t.Error("team view shown twice")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dirs) == 0 || dirs[0] != a.cfg.ConfigDir {
		t.Errorf("FindTeam asked with %q, want the settings' config dir %q", dirs, a.cfg.ConfigDir)
	}
}

// TestCloseWaitsForTheTeamView: when the window closes, the app waits for
// the team view's fetches (what showTeam returned) before closing the
// wizard's screen, as it waits for its own goroutines.
func TestCloseWaitsForTheTeamView(t *testing.T) {
	a, _, _ := newApp(t)
	a.d.FindTeam = func(context.Context, string) (team.Source, error) { return fakeSource{}, nil }
	var waited atomic.Bool
	shown := make(chan struct{}, 1)
	a.showTeam = func(context.Context, team.Source) func() {
		shown <- struct{}{}
		return func() { waited.Store(true) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.startReal(ctx)
	select {
	case <-shown:
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("no team view shown")
	}
	cancel()
	a.close()
	if !waited.Load() {
		t.Error("the window closed without waiting for the team view's fetches")
	}
}

// TestTeamViewAfterJoining: someone with no team view at start (not joined
// yet) gets it when this computer joins the tracker from the Tell IT step.
func TestTeamViewAfterJoining(t *testing.T) {
	a, scr, _ := newApp(t)
	tr := &stepstest.Tracker{Codes: map[string]steps.JoinResult{"kwi_code": {Name: "Ada", Email: "ada@example.com"}}}
	a.cfg.Tracker = tr
	joined := make(chan struct{})
	calls := make(chan struct{}, 4)
	a.d.FindTeam = func(ctx context.Context, _ string) (team.Source, error) {
		calls <- struct{}{}
		select {
		case <-joined:
			return fakeSource{}, nil
		default:
			return nil, errors.New("not joined")
		}
	}
	shown := make(chan struct{}, 2)
	a.showTeam = func(context.Context, team.Source) func() { shown <- struct{}{}; return nil }
	a.startReal(context.Background())
	<-calls // the look at start, before joining
	close(joined)
	if err := scr.attached[0].Join(context.Background(), "https://t.example.com", "kwi_code"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-shown:
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("no team view after joining")
	}
}

// fakeSimulation counts how the simulated keys are used.
type fakeSimulation struct {
	keys     *stepstest.FakeKeys
	closed   chan struct{}
	snapshot func() steps.Snapshot // what the simulated browser was given
}

func (f *fakeSimulation) simulated() *Simulated {
	return &Simulated{
		Keys: f.keys,
		Browser: func(_ *catalogue.Catalogue, snapshot func() steps.Snapshot) steps.Browser {
			f.snapshot = snapshot
			return &stepstest.Browser{}
		},
		Close: func() { close(f.closed) },
	}
}

// TestSimulationStartsOnItsOwnProgress: --simulate plugs the simulated keys
// in, shows the wizard over them with progress kept apart from the real
// one, gives the simulated browser the wizard's state, and unplugs the keys
// when the window closes.
func TestSimulationStartsOnItsOwnProgress(t *testing.T) {
	a, scr, _ := newApp(t)
	sim := &fakeSimulation{keys: stepstest.NewFakeKeys(stepstest.NewKey(31000001, true)), closed: make(chan struct{})}
	a.d.Simulate = func(context.Context, func(string)) (*Simulated, error) { return sim.simulated(), nil }
	a.d.AfterFunc = func(time.Duration, func()) func() bool { return func() bool { return true } }
	ctx, cancel := context.WithCancel(context.Background())
	ready := 0
	a.startSimulated(ctx, func(string) { t.Error("slow note shown") }, func() { ready++ })
	if ready != 1 || len(scr.attached) != 1 || len(scr.problems) != 0 {
		t.Fatalf("ready %d, attached %d, problems %v", ready, len(scr.attached), scr.problems)
	}
	wiz := scr.attached[0]
	if err := wiz.Start(ctx, stepstest.FlowPerson()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.cfg.SimulatedStorePath()); err != nil {
		t.Errorf("no simulated progress file: %v", err)
	}
	if _, err := os.Stat(a.cfg.StorePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the real progress file was touched: %v", err)
	}
	if got := sim.snapshot().Person.Email; got != stepstest.FlowPerson().Email {
		t.Errorf("the simulated browser sees person %q, want the wizard's %q", got, stepstest.FlowPerson().Email)
	}
	cancel()
	select {
	case <-sim.closed:
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("the simulated keys were not unplugged when the window closed")
	}
}

// TestSimulationSlowAndFailing: plugging in that takes long says why (the
// timer fires while Simulate waits), and a failure is shown as a start-up
// problem with nothing to start over.
func TestSimulationSlowAndFailing(t *testing.T) {
	a, scr, _ := newApp(t)
	fire := make(chan func(), 1)
	var stopped bool
	a.d.AfterFunc = func(d time.Duration, f func()) func() bool {
		if d != SlowSimulation {
			t.Errorf("slow note after %v, want %v", d, SlowSimulation)
		}
		fire <- f
		return func() bool { stopped = true; return true }
	}
	boom := errors.New("vpcd readers busy")
	a.d.Simulate = func(context.Context, func(string)) (*Simulated, error) {
		(<-fire)() // the wait outlasts the timer
		return nil, boom
	}
	slow, ready := 0, 0
	a.startSimulated(context.Background(), func(string) { slow++ }, func() { ready++ })
	if slow != 1 || ready != 1 || !stopped {
		t.Errorf("slow note %d, ready %d, timer stopped %v; want 1, 1, true", slow, ready, stopped)
	}
	if len(scr.attached) != 0 || len(scr.problems) != 1 || !errors.Is(scr.problems[0], boom) || scr.startOver != nil {
		t.Fatalf("attached %d, problems %v; want the simulation's failure, without start over", len(scr.attached), scr.problems)
	}
	if !strings.Contains(scr.problems[0].Error(), "starting the simulated keys") {
		t.Errorf("problem %q does not say what failed", scr.problems[0])
	}
}
