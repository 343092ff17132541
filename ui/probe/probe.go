// Package probe reports when a Fyne window has painted its first frame, for
// the start-up benchmark (scripts/guibench.sh). keywizard and the empty
// reference window (internal/emptywindow) use the same probe, so the
// comparison measures the UI and not the measuring.
//
// Fyne has no "frame presented" callback. A canvas.Raster's generator runs
// inside the painter while the frame is drawn (gl painter: texture creation
// for the raster, just before the buffer swap), so a 1x1 raster placed in the
// window marks the first paint without timers or polling.
package probe

import (
	"fmt"
	"image"
	"io"
	"os"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
)

// EnvFirstFrame names the environment variable that turns the report on:
// when it is "1", Wrap prints "firstframe <unix nanoseconds>" on standard
// output once the first frame is painted.
const EnvFirstFrame = "KEYWIZARD_BENCH_FIRSTFRAME"

// FirstFrame returns a 1x1 transparent object that calls f once, the first
// time it is painted.
func FirstFrame(f func()) fyne.CanvasObject {
	var once sync.Once
	transparent := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	r := canvas.NewRaster(func(int, int) image.Image {
		once.Do(f)
		return transparent
	})
	r.SetMinSize(fyne.NewSize(1, 1))
	return r
}

// Wrap returns content unchanged unless the benchmark asked for the
// first-frame report (EnvFirstFrame=1 in the environment); then it returns
// content with a FirstFrame probe stacked behind it that prints the
// timestamp to w.
func Wrap(content fyne.CanvasObject, getenv func(string) string, w io.Writer, now func() time.Time) fyne.CanvasObject {
	if getenv(EnvFirstFrame) != "1" {
		return content
	}
	p := FirstFrame(func() { fmt.Fprintf(w, "firstframe %d\n", now().UnixNano()) })
	return &fyne.Container{Layout: stackLayout{}, Objects: []fyne.CanvasObject{p, content}}
}

// FromEnv returns the report function when the benchmark asked for it
// (EnvFirstFrame=1), else nil: for ui.Options.OnFirstFrame in cmd/keywizard-gui.
func FromEnv() func() {
	if os.Getenv(EnvFirstFrame) != "1" {
		return nil
	}
	return func() { fmt.Fprintf(os.Stdout, "firstframe %d\n", time.Now().UnixNano()) }
}

// ScreenFromEnv returns, when the benchmark asked for it (EnvFirstFrame=1),
// a function that prints "firstscreen <unix nanoseconds>" to standard
// output, else nil: for ui.Options.OnFirstScreen in cmd/keywizard-gui.
// scripts/guibench.sh -screen waits for it before measuring memory and idle
// CPU, so that start-up still running behind the first frame (plugging in
// simulated keys) is not measured as idle.
func ScreenFromEnv() func() {
	if os.Getenv(EnvFirstFrame) != "1" {
		return nil
	}
	return func() { fmt.Fprintf(os.Stdout, "firstscreen %d\n", time.Now().UnixNano()) }
}

// WrapFromEnv is Wrap with the process environment, standard output and the
// wall clock, for main packages.
func WrapFromEnv(content fyne.CanvasObject) fyne.CanvasObject {
	return Wrap(content, os.Getenv, os.Stdout, time.Now)
}

// stackLayout gives every object the whole area except the probe, which
// keeps its 1x1 size in the corner (container.NewStack would stretch it and
// make the raster regenerate on every resize).
type stackLayout struct{}

func (stackLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for i, o := range objs {
		if i == 0 {
			o.Resize(fyne.NewSize(1, 1))
			o.Move(fyne.NewPos(0, 0))
			continue
		}
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (stackLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var min fyne.Size
	for _, o := range objs[1:] {
		min = min.Max(o.MinSize())
	}
	return min
}
