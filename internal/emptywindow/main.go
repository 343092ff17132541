// Command emptywindow opens an empty Fyne window built exactly as keywizard
// is (same Fyne version, build tags, window size and first-frame probe). It is
// the floor scripts/guibench.sh measures keywizard against: start-up time,
// resident memory and idle CPU that any Fyne window costs on this machine.
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"

	"github.com/keywizard/keywizard/ui/probe"
)

func main() {
	a := app.NewWithID("io.keywizard.emptywindow")
	w := a.NewWindow("empty")
	w.SetContent(probe.WrapFromEnv(canvas.NewRectangle(nil)))
	w.Resize(fyne.NewSize(1024, 768)) // ui.DefaultSize
	w.ShowAndRun()
}
