// Command screens opens keywizard's window for every scenario of package
// screens (each screen, each error state, the dialogs, large and dark
// variants) in a real Fyne window, lets it paint, and writes what the
// window shows to OUT/<scenario>.png. scripts/screenshots.sh runs it under
// Xvfb (`make screenshots`).
//
//	screens [-out screenshots] [-only welcome,keys]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/probe"
)

func main() {
	out := flag.String("out", "screenshots", "directory for the PNGs")
	only := flag.String("only", "", "comma-separated scenario names (default: all)")
	settle := flag.Duration("settle", 800*time.Millisecond, "time the window gets to paint before it is captured")
	hold := flag.String("hold", "", "open this scenario and keep it on screen (no capture): the UI alone, on fakes, for scripts/guibench.sh")
	flag.Parse()
	if *hold != "" {
		if err := holdScenario(*hold); err != nil {
			fmt.Fprintln(os.Stderr, "screens:", err)
			os.Exit(1)
		}
		return
	}

	a := app.NewWithID("io.keywizard.screens")
	// One window for every scenario: closing the last window would end the
	// app's loop.
	w := a.NewWindow("keywizard")
	failed := false
	a.Lifecycle().SetOnStarted(func() {
		go func() {
			if err := shoot(a, w, *out, *only, *settle); err != nil {
				fmt.Fprintln(os.Stderr, "screens:", err)
				failed = true
			}
			fyne.Do(a.Quit)
		}()
	})
	w.Show()
	a.Run()
	if failed {
		os.Exit(1)
	}
}

// holdScenario shows one scenario until the window is closed, with the
// first-frame probe when the benchmark asks for it.
func holdScenario(name string) error {
	i := slices.IndexFunc(screens.All(), func(sc screens.Scenario) bool { return sc.Name == name })
	if i < 0 {
		return fmt.Errorf("no scenario %q", name)
	}
	sc := screens.All()[i]
	dir, err := os.MkdirTemp("", "keywizard-screens-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	a := app.NewWithID("io.keywizard.screens")
	w := a.NewWindow("keywizard")
	var openErr error
	a.Lifecycle().SetOnStarted(func() {
		go func() {
			if _, openErr = sc.OpenWith(a, w, dir, ui.Options{OnFirstFrame: probe.FromEnv()}); openErr != nil {
				fyne.Do(a.Quit)
			}
		}()
	})
	w.Resize(sc.Size)
	w.ShowAndRun()
	return openErr
}

func shoot(a fyne.App, w fyne.Window, out, only string, settle time.Duration) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	want := strings.Split(only, ",")
	n := 0
	for _, sc := range screens.All() {
		if only != "" && !slices.Contains(want, sc.Name) {
			continue
		}
		dir, err := os.MkdirTemp("", "keywizard-screens-")
		if err != nil {
			return err
		}
		e, err := sc.Open(a, w, dir)
		if err != nil {
			os.RemoveAll(dir)
			return err
		}
		title := "keywizard screens: " + sc.Name
		fyne.DoAndWait(func() { w.SetTitle(title) })
		time.Sleep(settle) // the GL window lays out and paints on its own frames
		path := filepath.Join(out, sc.Name+".png")
		if err := capture(title, path); err != nil {
			return fmt.Errorf("capturing %s: %w", sc.Name, err)
		}
		fmt.Println(path)
		e.UI.Close()
		os.RemoveAll(dir)
		n++
	}
	if n == 0 {
		return fmt.Errorf("no scenario matched %q", only)
	}
	return nil
}

// capture writes what the window shows on the X display to path, with
// ImageMagick's import (the window as the X server has it, decorations
// aside). Reading the GL canvas back (Canvas.Capture) gives an empty image
// under Xvfb's software GL once the frame is swapped, so the X server is
// asked instead.
func capture(title, path string) error {
	cmd := exec.Command("import", "-window", title, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("import: %v: %s", err, out)
	}
	return nil
}
