// Command keywizard-gui is keywizard's window: the enrolment wizard, and a
// manager's or IT's team view. People start it as `keywizard` (with no
// command, or with --simulate), which runs this executable from beside
// itself; it is a separate executable so that the command-line tool does not
// link Fyne and starts as fast as a minimal PC/SC client (BENCHMARKS.md,
// "Listing keys"). Like cmd/keywizard it only wires: it parses the flags,
// creates the Fyne app, chooses real devices or the simulator, sc_auth and
// the browser, and hands them to internal/desktop, which runs the app.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/keywizard/keywizard/internal/version"
)

func appVersion() string { return version.String() }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, runGUI))
}

// run parses the GUI's few flags and starts the window; split from main so
// the flag handling is tested without a display.
func run(args []string, stdout, stderr io.Writer, gui func(simulate bool) error) int {
	fs := flag.NewFlagSet("keywizard-gui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	simulate := fs.Bool("simulate", false, "run the wizard against two simulated keys (no hardware needed)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: keywizard-gui [--simulate]\n\n"+
			"The keywizard window. It is usually started as `keywizard` (with no command);\n"+
			"`keywizard --help` lists the command-line tool's commands.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keywizard-gui: unexpected arguments %q; the commands are keywizard's (keywizard --help)\n", fs.Args())
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "keywizard-gui version %s\n", appVersion())
		return 0
	}
	if err := gui(*simulate); err != nil {
		fmt.Fprintf(stderr, "keywizard: error: %v\n", err)
		return 1
	}
	return 0
}
