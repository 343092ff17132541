package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/pkg/browser"

	"github.com/keywizard/keywizard/device/hub"
	"github.com/keywizard/keywizard/internal/install"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/maclogin"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/probe"
	"github.com/keywizard/keywizard/ui/team"
)

// systemBrowser opens pages with pkg/browser.
type systemBrowser struct{}

func (systemBrowser) Open(url string) error { return browser.OpenURL(url) }

func runGUI(simulate bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	a := app.NewWithID("io.keywizard.app")
	// The icon is not set here: ui.New sets it on the app and the window.
	// With simulated keys that is just after the first frame, so decoding
	// the 512 px icon and handing it to the window system does not hold
	// back the window's first paint.
	w := a.NewWindow("keywizard")
	if simulate {
		w.SetTitle("keywizard (simulated keys)")
	}
	w.Resize(ui.DefaultSize)
	w.SetOnClosed(cancel)
	// The start-up benchmark's first-frame mark fires once, for whichever
	// screen paints first (the simulation's "plugging in" note, or the UI).
	var firstFrame func()
	if mark := probe.FromEnv(); mark != nil {
		var once sync.Once
		firstFrame = func() { once.Do(mark) }
	}
	// Once the first wizard screen is up and start-up has settled (key
	// detection, the first render), the memory start-up used is given back
	// to the system: about half of the Go heap then is garbage from parsing
	// fonts and building screens, which the collector would otherwise keep
	// resident as headroom while the person reads (issue 3 measures the
	// window's memory on a step; this took the heap from ~29 to ~16 MB).
	screenMark := probe.ScreenFromEnv()
	firstScreen := func() {
		if screenMark != nil {
			screenMark()
		}
		time.AfterFunc(2*time.Second, debug.FreeOSMemory)
	}
	uiOpts := ui.Options{OnFirstFrame: firstFrame, OnFirstScreen: firstScreen}

	// With simulated keys the window shows a note at once; the keys are
	// plugged in behind it (that waits for vpcd's readers, which a test run
	// may hold), and the settings are read after it is set.
	painted := make(chan struct{})
	note := container.NewVBox()
	if simulate {
		var paintOnce sync.Once
		// The note is drawn in the theme's own font, which has every glyph
		// of its text: a Label would first make Fyne read fontconfig's
		// files and font index and parse a system fallback font (for
		// glyphs the theme's font lacks, such as in people's names), about
		// 50 ms before the first frame (issue 3). The wizard's screens,
		// built behind this frame, use Labels as usual.
		text := canvas.NewText("Plugging in two simulated YubiKeys…", theme.Color(theme.ColorNameForeground))
		text.TextSize = theme.TextSize()
		text.Alignment = fyne.TextAlignCenter
		text.FontSource = theme.DefaultTextFont()
		note.Add(text)
		w.SetContent(container.NewStack(container.NewCenter(note), probe.FirstFrame(func() {
			paintOnce.Do(func() { close(painted) })
			if firstFrame != nil {
				firstFrame()
			}
		})))
	}

	cfg, err := loadSettings(ctx, simulate)
	if err != nil {
		// Shown in the window, where someone who started keywizard from the
		// Dock or a launcher looks, and returned for a terminal's stderr.
		u := ui.New(a, w, uiOpts)
		u.ShowStartupProblem(err, nil)
		w.ShowAndRun()
		return err
	}
	// u is built on Fyne's goroutine: here for real keys, and behind the
	// first frame for simulated ones (building every screen's widgets is most
	// of the start-up time).
	var u *ui.UI

	// newWizard builds the wizard over h.
	newWizard := func(h *hub.Hub, br steps.Browser, storePath string) (*steps.Wizard, error) {
		wiz, err := steps.New(ctx, steps.Options{
			Catalogue:  cfg.catalogue,
			Keys:       &keys.Keys{Hub: h},
			Browser:    br,
			Prompter:   u,
			Reporter:   cfg.reporter,
			Store:      &steps.FileStore{Path: storePath},
			SmartCard:  maclogin.SCAuth{},
			Tracker:    cfg.tracker,
			OSUser:     cfg.osUser,
			AppVersion: appVersion(),
		})
		if err != nil {
			return nil, fmt.Errorf("starting the wizard: %w", err)
		}
		return wiz, nil
	}
	// attach shows wiz; on the Fyne goroutine.
	attach := func(wiz *steps.Wizard) {
		u.Attach(ctx, wiz)
		if st, ok := wiz.Snapshot().Step(steps.StepReport); ok && st.Status == steps.StatusNeedsAttention {
			// A report that could not be sent last time is sent again now.
			u.Go(wiz.Report)
		}
	}
	// start builds the wizard over h on the progress file at storePath and
	// calls begin with it, or shows why it cannot start; a damaged progress
	// file can be set aside there to start over. On the Fyne goroutine.
	start := func(h *hub.Hub, br steps.Browser, storePath string, begin func(*steps.Wizard)) {
		wiz, err := newWizard(h, br, storePath)
		if err == nil {
			begin(wiz)
			return
		}
		var startOver func() error
		if errors.Is(err, steps.ErrDamagedProgress) {
			startOver = func() error {
				if _, err := (&steps.FileStore{Path: storePath}).SetAside(time.Now()); err != nil {
					return err
				}
				wiz, err := newWizard(h, br, storePath)
				if err != nil {
					return err
				}
				begin(wiz)
				return nil
			}
		}
		u.ShowStartupProblem(err, startOver)
	}

	if simulate {
		var main fyne.CanvasObject
		go func() {
			select {
			case <-painted:
			case <-ctx.Done():
				return
			}
			// Loaded here, off Fyne's goroutine, so building the screens
			// below does not hold the window still while fonts load.
			ui.PreloadFonts()
			fyne.DoAndWait(func() {
				note := w.Content()
				u = ui.New(a, w, uiOpts)
				main = w.Content()
				w.SetContent(note)
			})
			// Plugging in takes well under a second unless another program
			// holds vpcd's two readers (another --simulate, a test run); then
			// StartSimulation waits for them (at most 30 s) and the note
			// says why instead of looking stuck.
			slow := time.AfterFunc(3*time.Second, func() {
				fyne.Do(func() {
					slowText := widget.NewLabel("Plugging in two simulated YubiKeys…\n\n" +
						"This is taking longer than usual: another program is using the virtual card readers\n" +
						"(another keywizard --simulate, or a test run). keywizard waits until they are free.")
					slowText.Alignment = fyne.TextAlignCenter
					note.Objects = []fyne.CanvasObject{slowText}
					note.Refresh()
				})
			})
			s, err := startSimulation(ctx)
			slow.Stop()
			if err != nil {
				fyne.Do(func() {
					w.SetContent(main)
					u.ShowStartupProblem(fmt.Errorf("starting the simulated keys: %w", err), nil)
				})
				return
			}
			context.AfterFunc(ctx, s.Close)
			var current atomic.Pointer[steps.Wizard]
			br := &simulation.Browser{Sim: s, Catalogue: cfg.catalogue, Snapshot: func() steps.Snapshot { return current.Load().Snapshot() }}
			fyne.Do(func() {
				w.SetContent(main)
				// A simulated run keeps its own progress, apart from the real one.
				start(s.Hub, br, filepath.Join(filepath.Dir(cfg.storePath), "progress-simulated.json"), func(wiz *steps.Wizard) {
					current.Store(wiz)
					attach(wiz)
				})
			})
		}()
	} else {
		u = ui.New(a, w, uiOpts)
		start(keys.SystemHub(), systemBrowser{}, cfg.storePath, func(wiz *steps.Wizard) {
			attach(wiz)
			// A manager or IT sees their team from the tracker next to
			// their own wizard; no tracker, not joined or no reports: the
			// wizard alone. It is looked for at start (and, while the
			// tracker cannot be reached, again with growing waits) and
			// when this computer joins the tracker from the Tell IT step.
			var teamShown atomic.Bool
			showTeam := func() {
				src, err := trackerlink.FindTeam(ctx, cfg.configDir, appVersion(), time.After)
				if err != nil || src == nil || !teamShown.CompareAndSwap(false, true) {
					return
				}
				fyne.Do(func() {
					tv := team.New(w, src, team.Options{})
					tv.InTabs(w)
					tv.Start(ctx)
				})
			}
			go showTeam()
			var wasConnected atomic.Bool
			wasConnected.Store(wiz.Snapshot().Tracker.Connected)
			wiz.OnChange(func(s steps.Snapshot) {
				if s.Tracker.Connected && wasConnected.CompareAndSwap(false, true) {
					go showTeam()
				}
			})
		})
	}
	w.ShowAndRun()
	return nil
}

// settings is what the window needs before the wizard can start.
type settings struct {
	configDir, storePath string
	catalogue            *catalogue.Catalogue
	reporter             steps.Reporter
	tracker              steps.Tracker
	osUser               string
}

// loadSettings reads the organisation's catalogue and this computer's
// settings. A simulated run never reports to the organisation's tracker (its
// keys are not real) and cannot join one (that would spend a real invite
// code): its record stays on this computer, apart.
func loadSettings(ctx context.Context, simulate bool) (settings, error) {
	var c settings
	var err error
	if c.configDir, err = os.UserConfigDir(); err != nil {
		return c, fmt.Errorf("finding the user config directory: %w", err)
	}
	if c.catalogue, _, err = catalogue.LoadFirst(catalogue.OrgPaths(runtime.GOOS, c.configDir, os.Getenv)); err != nil {
		return c, fmt.Errorf("loading the organisation's service catalogue: %w", err)
	}
	if c.storePath, err = steps.DefaultStorePath(); err != nil {
		return c, err
	}
	if cu, err := user.Current(); err == nil {
		c.osUser = cu.Username
	}
	if simulate {
		c.reporter = &steps.LocalReporter{Path: filepath.Join(c.configDir, "keywizard", "record-simulated.jsonl")}
		return c, nil
	}
	ar, err := trackerlink.NewAppReporter(ctx, c.configDir, appVersion())
	if err != nil {
		return c, err
	}
	c.reporter, c.tracker = ar, &trackerlink.Link{ConfigDir: c.configDir}
	return c, nil
}

// startSimulation plugs in the two simulated keys: as `keywizard sim`
// processes when the command-line tool is installed beside this executable
// (as real keys are hardware of their own, their answers to pcscd's polls
// then cost the window nothing while idle), else, run from a checkout with
// `go run`, inside this process.
func startSimulation(ctx context.Context) (*simulation.Simulation, error) {
	if cli, _, err := install.Sibling("keywizard"); err == nil {
		return simulation.StartProcesses(ctx, simulation.DefaultKeys, cli, true)
	}
	return simulation.Start(ctx, simulation.DefaultKeys, true)
}
