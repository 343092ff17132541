package desktop

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/probe"
	"github.com/keywizard/keywizard/ui/team"
)

// Open sets the window up and starts the app in it; the caller then runs
// the window (w.ShowAndRun). It returns the error that stopped the wizard
// from starting, if any, after showing it in the window, where someone who
// started keywizard from the Dock or a launcher looks (the caller prints it
// for a terminal's stderr). ctx bounds the window's life; the window's
// closing (SetOnClosed, which Open sets) ends it too, and returns once
// everything the app started has stopped.
func Open(ctx context.Context, fa fyne.App, w fyne.Window, simulate bool, d Deps) error {
	ctx, cancel := context.WithCancel(ctx)
	// The icon is not set here: ui.New sets it on the app and the window.
	// With simulated keys that is just after the first frame, so decoding
	// the 512 px icon and handing it to the window system does not hold
	// back the window's first paint.
	if simulate {
		w.SetTitle("keywizard (simulated keys)")
	}
	w.Resize(ui.DefaultSize)
	uiOpts := startupMarks()
	uiOpts.Diagnostics = d.Diagnostics
	uiOpts.Simulated = simulate
	a := &App{d: d, do: fyne.Do, showTeam: func(ctx context.Context, src team.Source) func() {
		tv := team.New(w, src, team.Options{})
		tv.InTabs(w)
		tv.Start(ctx)
		return tv.Wait
	}}
	w.SetOnClosed(func() {
		cancel()
		a.close()
	})

	// With simulated keys the window shows a note at once; the keys are
	// plugged in behind it (that waits for vpcd's readers, which a test run
	// may hold), and the settings are read after it is set.
	var painted chan struct{}
	var note *fyne.Container
	if simulate {
		painted = make(chan struct{})
		note = showPluggingIn(w, painted, uiOpts.OnFirstFrame)
	}

	cfg, err := d.LoadSettings(ctx, simulate)
	if err != nil {
		u := ui.New(fa, w, uiOpts)
		u.ShowStartupProblem(err, nil)
		return err
	}
	a.cfg = cfg
	if !simulate {
		u := ui.New(fa, w, uiOpts)
		a.screen = u
		a.startReal(ctx)
		return nil
	}
	a.goroutines.Add(1)
	go func() {
		defer a.goroutines.Done()
		select {
		case <-painted:
		case <-ctx.Done():
			return
		}
		// Loaded here, off Fyne's goroutine, so building the screens
		// below does not hold the window still while fonts load.
		ui.PreloadFonts(ctx)
		// The UI is built behind the note (building every screen's widgets
		// is most of the start-up time), then the note is put back.
		var main fyne.CanvasObject
		if !ui.DoAndWait(ctx, func() {
			shown := w.Content()
			a.screen = ui.New(fa, w, uiOpts)
			main = w.Content()
			w.SetContent(shown)
		}) {
			return
		}
		a.startSimulated(ctx, func(waitingFor string) {
			text := "Plugging in two simulated YubiKeys…"
			if waitingFor != "" {
				text += "\n\n" + waitingFor + "…"
			}
			slowText := widget.NewLabel(text)
			slowText.Alignment = fyne.TextAlignCenter
			note.Objects = []fyne.CanvasObject{slowText}
			note.Refresh()
		}, func() { w.SetContent(main) })
	}()
	return nil
}

// startupMarks are the start-up benchmark's marks (make bench,
// BENCHMARKS.md) and the memory hand-back after the first screen.
func startupMarks() ui.Options {
	// The first-frame mark fires once, for whichever screen paints first
	// (the simulation's "plugging in" note, or the UI).
	var firstFrame func()
	if mark := probe.FromEnv(); mark != nil {
		var once sync.Once
		firstFrame = func() { once.Do(mark) }
	}
	// Once the first wizard screen is up and start-up has settled (key
	// detection, the first render), the memory start-up used is given back
	// to the system: about half of the Go heap then is garbage from parsing
	// fonts and building screens, which the collector would otherwise keep
	// resident as headroom while the person reads (BENCHMARKS.md measures
	// the window's memory on a step; this took the heap from ~29 to ~16 MB).
	screenMark := probe.ScreenFromEnv()
	firstScreen := func() {
		if screenMark != nil {
			screenMark()
		}
		time.AfterFunc(2*time.Second, debug.FreeOSMemory)
	}
	// Recheck: a resumed wizard reads the keys again before showing anything
	// as done that may have been undone since.
	return ui.Options{OnFirstFrame: firstFrame, OnFirstScreen: firstScreen, Recheck: true}
}

// showPluggingIn shows the simulation's note and closes painted once it is
// drawn; it returns the note's container, where a later note replaces it.
func showPluggingIn(w fyne.Window, painted chan struct{}, firstFrame func()) *fyne.Container {
	var paintOnce sync.Once
	note := container.NewVBox()
	// The note is drawn in the theme's own font, which has every glyph of
	// its text: a Label would first make Fyne read fontconfig's files and
	// font index and parse a system fallback font (for glyphs the theme's
	// font lacks, such as in people's names), about 50 ms before the first
	// frame. The wizard's screens, built behind this frame, use Labels as
	// usual.
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
	return note
}
