package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/pkg/browser"

	"github.com/keywizard/keywizard/assets"
	"github.com/keywizard/keywizard/device/hub"
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
	a.SetIcon(assets.Icon())
	w := a.NewWindow("keywizard")
	u := ui.New(a, w, ui.Options{OnFirstFrame: probe.FromEnv()})

	var h *hub.Hub
	var br steps.Browser = systemBrowser{}
	var wiz *steps.Wizard
	if simulate {
		s, err := wire.StartSimulation(ctx, wire.DefaultSimKeys, true)
		if err != nil {
			return fmt.Errorf("starting the simulated keys: %w", err)
		}
		defer s.Close()
		h = s.Hub
		// A simulated run keeps its own progress, apart from the real one.
		storePath = filepath.Join(filepath.Dir(storePath), "progress-simulated.json")
		br = &wire.Browser{Sim: s, Catalogue: cat, Snapshot: func() steps.Snapshot { return wiz.Snapshot() }}
		w.SetTitle("keywizard (simulated keys)")
	} else {
		h = wire.SystemHub()
	}

	osUser := ""
	if cu, err := user.Current(); err == nil {
		osUser = cu.Username
	}
	reporter, sendQueued, err := wire.Reporter(configDir, appVersion())
	if err != nil {
		return err
	}
	if sendQueued != nil {
		go sendQueued(ctx)
	}
	wiz, err = steps.New(ctx, steps.Options{
		Catalogue:  cat,
		Keys:       &wire.Keys{Hub: h},
		Browser:    br,
		Prompter:   u,
		Reporter:   reporter,
		Store:      &steps.FileStore{Path: storePath},
		SmartCard:  wire.SCAuth{},
		OSUser:     osUser,
		AppVersion: appVersion(),
	})
	if err != nil {
		return fmt.Errorf("starting the wizard: %w", err)
	}
	u.Attach(ctx, wiz)
	if st, ok := wiz.Snapshot().Step(steps.StepReport); ok && st.Status == steps.StatusNeedsAttention {
		// A report that could not be sent last time is sent again now.
		u.Go(wiz.Report)
	}
	if !simulate {
		// A manager or IT sees their team from the tracker next to their own
		// wizard; no tracker, not joined, no reports or offline: the wizard
		// alone.
		go func() {
			src, _, err := wire.TrackerTeam(ctx, configDir, appVersion())
			if err != nil || src == nil {
				return
			}
			fyne.Do(func() {
				tv := team.New(w, src, team.Options{})
				tv.InTabs(w)
				tv.Start(ctx)
			})
		}()
	}
	w.Resize(ui.DefaultSize)
	w.SetOnClosed(cancel)
	w.ShowAndRun()
	return nil
}
