package main

import (
	"context"
	"time"

	"fyne.io/fyne/v2/app"
	"github.com/pkg/browser"

	"github.com/keywizard/keywizard/device/trace"
	"github.com/keywizard/keywizard/internal/desktop"
	"github.com/keywizard/keywizard/internal/install"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/maclogin"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// systemBrowser opens pages with pkg/browser.
type systemBrowser struct{}

func (systemBrowser) Open(url string) error { return browser.OpenURL(url) }

// runGUI creates the Fyne app and runs internal/desktop in its window over
// the real adapters: the machine's keys (or, simulated, the simulator's),
// the system browser, sc_auth, the settings and the tracker.
func runGUI(simulate bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := app.NewWithID("io.keywizard.app")
	w := a.NewWindow("keywizard")
	d := desktop.Deps{
		Version:     appVersion(),
		Diagnostics: trace.Default().Recent,
		LoadSettings: func(ctx context.Context, simulate bool) (desktop.Settings, error) {
			return desktop.LoadSettings(ctx, simulate, appVersion())
		},
		SmartCard: maclogin.SCAuth{},
		Simulate:  startSimulation,
		FindTeam:  desktop.TrackerTeam(appVersion(), time.After),
		Now:       time.Now,
		AfterFunc: func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop },
	}
	if !simulate {
		d.Keys, d.Browser = &keys.Keys{Hub: keys.SystemHub()}, systemBrowser{}
	}
	err := desktop.Open(ctx, a, w, simulate, d)
	w.ShowAndRun()
	return err
}

// startSimulation plugs in the two simulated keys: as `keywizard sim`
// processes when the command-line tool is installed beside this executable
// (as real keys are hardware of their own, their answers to pcscd's polls
// then cost the window nothing while idle), else, run from a checkout with
// `go run`, inside this process.
func startSimulation(ctx context.Context, progress func(string)) (*desktop.Simulated, error) {
	var s *simulation.Simulation
	var err error
	opts := simulation.Options{Lock: true, Progress: progress}
	if cli, _, ierr := install.Sibling("keywizard"); ierr == nil {
		s, err = simulation.StartProcessesWith(ctx, simulation.DefaultKeys, cli, opts)
	} else {
		s, err = simulation.StartWith(ctx, simulation.DefaultKeys, opts)
	}
	if err != nil {
		return nil, err
	}
	// The person remembers the FIDO2 PINs they type into the wizard and
	// types them again at the simulated browser's PIN prompt.
	person := &simulation.Person{}
	return &desktop.Simulated{
		Keys: person.Keys(&keys.Keys{Hub: s.Hub}),
		Browser: func(cat *catalogue.Catalogue, snapshot func() steps.Snapshot) steps.Browser {
			return &simulation.Browser{Sim: s, Catalogue: cat, Snapshot: snapshot, PIN: person.FIDOPIN}
		},
		Close: s.Close,
	}, nil
}
