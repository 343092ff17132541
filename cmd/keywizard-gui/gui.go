package main

import (
	"context"
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
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
	"github.com/pkg/browser"

	"github.com/keywizard/keywizard/device/hub"
	"github.com/keywizard/keywizard/internal/install"
	"github.com/keywizard/keywizard/internal/wire"
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

	configDir, err := os.UserConfigDir()
	if err != nil {
		return fmt.Errorf("finding the user config directory: %w", err)
	}
	cat, _, err := catalogue.LoadFirst(catalogue.OrgPaths(runtime.GOOS, configDir, os.Getenv))
	if err != nil {
		return fmt.Errorf("loading the organisation's service catalogue: %w", err)
	}
	storePath, err := steps.DefaultStorePath()
	if err != nil {
		return err
	}

	a := app.NewWithID("io.keywizard.app")
	// The icon is not set here: ui.New sets it on the app and the window.
	// With simulated keys that is just after the first frame, so decoding
	// the 512 px icon and handing it to the window system does not hold
	// back the window's first paint.
	w := a.NewWindow("keywizard")
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
	// u is built on Fyne's goroutine: here for real keys, and behind the
	// first frame for simulated ones (building every screen's widgets is most
	// of the start-up time).
	var u *ui.UI

	osUser := ""
	if cu, err := user.Current(); err == nil {
		osUser = cu.Username
	}
	// A simulated run never reports to the organisation's tracker (its
	// keys are not real) and cannot join one (that would spend a real
	// invite code): its record stays on this computer, apart.
	var reporter steps.Reporter
	var tracker steps.Tracker
	if simulate {
		reporter = &steps.LocalReporter{Path: filepath.Join(configDir, "keywizard", "record-simulated.jsonl")}
	} else {
		ar, err := wire.NewAppReporter(ctx, configDir, appVersion())
		if err != nil {
			return err
		}
		reporter, tracker = ar, &wire.TrackerLink{ConfigDir: configDir}
	}
	// newWizard builds the wizard over h.
	newWizard := func(h *hub.Hub, br steps.Browser, storePath string) (*steps.Wizard, error) {
		wiz, err := steps.New(ctx, steps.Options{
			Catalogue:  cat,
			Keys:       &wire.Keys{Hub: h},
			Browser:    br,
			Prompter:   u,
			Reporter:   reporter,
			Store:      &steps.FileStore{Path: storePath},
			SmartCard:  wire.SCAuth{},
			Tracker:    tracker,
			OSUser:     osUser,
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

	if simulate {
		// The window shows at once; the simulated keys are plugged in behind
		// it (that waits for vpcd's readers, which a test run may hold).
		w.SetTitle("keywizard (simulated keys)")
		painted := make(chan struct{})
		var paintOnce sync.Once
		noteText := widget.NewLabel("Plugging in two simulated YubiKeys…")
		noteText.Alignment = fyne.TextAlignCenter
		note := container.NewCenter(noteText)
		w.SetContent(container.NewStack(note, probe.FirstFrame(func() {
			paintOnce.Do(func() { close(painted) })
			if firstFrame != nil {
				firstFrame()
			}
		})))
		var main fyne.CanvasObject
		go func() {
			select {
			case <-painted:
			case <-ctx.Done():
				return
			}
			fyne.DoAndWait(func() {
				note := w.Content()
				u = ui.New(a, w, ui.Options{OnFirstFrame: firstFrame, OnFirstScreen: firstScreen})
				main = w.Content()
				w.SetContent(note)
			})
			// Plugging in takes well under a second unless another program
			// holds vpcd's two readers (another --simulate, a test run); then
			// StartSimulation waits for them (at most 30 s) and the note
			// says why instead of looking stuck.
			slow := time.AfterFunc(3*time.Second, func() {
				fyne.Do(func() {
					noteText.SetText("Plugging in two simulated YubiKeys…\n\n" +
						"This is taking longer than usual: another program is using the virtual card readers\n" +
						"(another keywizard --simulate, or a test run). keywizard waits until they are free.")
				})
			})
			s, err := startSimulation(ctx)
			slow.Stop()
			if err != nil {
				fyne.Do(func() {
					w.SetContent(main)
					u.ShowError(fmt.Errorf("starting the simulated keys: %w", err))
				})
				return
			}
			context.AfterFunc(ctx, s.Close)
			var current atomic.Pointer[steps.Wizard]
			br := &wire.Browser{Sim: s, Catalogue: cat, Snapshot: func() steps.Snapshot { return current.Load().Snapshot() }}
			// A simulated run keeps its own progress, apart from the real one.
			wiz, err := newWizard(s.Hub, br, filepath.Join(filepath.Dir(storePath), "progress-simulated.json"))
			if err != nil {
				fyne.Do(func() {
					w.SetContent(main)
					u.ShowError(err)
				})
				return
			}
			current.Store(wiz)
			fyne.Do(func() {
				w.SetContent(main)
				attach(wiz)
			})
		}()
	} else {
		u = ui.New(a, w, ui.Options{OnFirstFrame: firstFrame, OnFirstScreen: firstScreen})
		wiz, err := newWizard(wire.SystemHub(), systemBrowser{}, storePath)
		if err != nil {
			return err
		}
		attach(wiz)
		// A manager or IT sees their team from the tracker next to their own
		// wizard; no tracker, not joined, no reports or offline: the wizard
		// alone. It is looked for at start and again when this computer
		// joins the tracker from the Tell IT step.
		var teamShown atomic.Bool
		showTeam := func() {
			src, _, err := wire.TrackerTeam(ctx, configDir, appVersion())
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
	}
	w.Resize(ui.DefaultSize)
	w.SetOnClosed(cancel)
	w.ShowAndRun()
	return nil
}

// startSimulation plugs in the two simulated keys: as `keywizard sim`
// processes when the command-line tool is installed beside this executable
// (as real keys are hardware of their own, their answers to pcscd's polls
// then cost the window nothing while idle), else, run from a checkout with
// `go run`, inside this process.
func startSimulation(ctx context.Context) (*wire.Simulation, error) {
	if cli, _, err := install.Sibling("keywizard"); err == nil {
		return wire.StartSimulationProcesses(ctx, wire.DefaultSimKeys, cli, true)
	}
	return wire.StartSimulation(ctx, wire.DefaultSimKeys, true)
}
