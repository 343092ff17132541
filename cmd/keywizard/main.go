// Command keywizard is keywizard's command-line tool, and how people start
// the app: with no command (or with --simulate) it runs the window,
// cmd/keywizard-gui, installed beside it. It does not link Fyne, so a
// command such as `keywizard keys --json` starts as fast as a minimal PC/SC
// client (BENCHMARKS.md, "Listing keys"). It only wires: real devices (PC/SC, libfido2), the
// simulator and the OS keychain are chosen here and handed to packages that
// declare what they need (internal/cli, tracker/cli).
package main

import (
	"context"
	"os"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/cli"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/internal/version"
	trackercli "github.com/keywizard/keywizard/tracker/cli"
)

func appVersion() string { return version.String() }

func main() {
	env := cli.Env{
		Out: os.Stdout, Err: os.Stderr, In: os.Stdin,
		OpenDevices: func(ctx context.Context) (cli.Devices, error) {
			return &keys.Devices{Hub: keys.SystemHub()}, nil
		},
		RunSim: runSim,
		OpenWipeRecorder: func(ctx context.Context, url string) (cli.WipeRecorder, error) {
			dir, err := os.UserConfigDir()
			if err != nil {
				return nil, err
			}
			// IT's token: the one `keywizard tracker join` keeps in the OS
			// keychain for this tracker.
			return trackerlink.OpenWipeRecorder(ctx, dir, url, nil)
		},
	}
	root := cli.NewRoot(env, appVersion(), runGUI, trackercli.Command())
	os.Exit(cli.Execute(context.Background(), root, os.Args[1:]))
}

func runSim(ctx context.Context, o cli.SimOptions) error {
	var fw device.Version // zero: the model's own firmware (sim.Presets)
	if o.Firmware != "" {
		var err error
		if fw, err = device.ParseVersion(o.Firmware); err != nil {
			return err
		}
	}
	return sim.Run(ctx, sim.Options{Serial: o.Serial, Model: o.Model, Firmware: fw, Slot: o.Slot, HIDPath: o.HID, StatePath: o.State, NoFIDOOverCCID: o.NoFIDOCCID, Out: os.Stdout})
}
