package ui

import (
	"image/color"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Button is a widget.Button that Enter also activates when it has the
// keyboard focus (Fyne's button answers only Space), so a person who tabs
// to a button can press either key, as on every desktop.
type Button struct {
	widget.Button
	// OnEscape runs when Escape is pressed on the focused button (the UI
	// closes its open dialog).
	OnEscape func()

	focused bool
}

// FocusGained implements fyne.Focusable: the ring is drawn and the button
// scrolled into view (Tab reaches buttons below the fold).
func (b *Button) FocusGained() {
	b.focused = true
	b.Button.FocusGained()
	revealFocused(b)
}

// FocusLost implements fyne.Focusable.
func (b *Button) FocusLost() {
	b.focused = false
	b.Button.FocusLost()
}

// CreateRenderer adds a focus ring to Fyne's button. Fyne shows focus by
// blending the focus colour into the button's background, which on the
// primary button (primary colour under a primary tint) changes nothing you
// can see; a ring in the text colour just outside the button shows on
// every importance and in both themes (WCAG 2.2 §2.4.7, focus visible).
func (b *Button) CreateRenderer() fyne.WidgetRenderer {
	inner := b.Button.CreateRenderer()
	ring := canvas.NewRectangle(color.Transparent)
	ring.StrokeWidth = 2
	ring.Hidden = true
	// Hidden until the first focus; Refresh colours and shows it.
	return &ringRenderer{WidgetRenderer: inner, ring: ring, focused: func() bool { return b.focused }, objects: append(inner.Objects(), ring)}
}

// ringRenderer draws a focus ring over a widget's own renderer.
type ringRenderer struct {
	fyne.WidgetRenderer
	ring    *canvas.Rectangle
	focused func() bool
	objects []fyne.CanvasObject
}

func (r *ringRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *ringRenderer) Layout(s fyne.Size) {
	r.WidgetRenderer.Layout(s)
	// Outside the button by the ring's width: inside the theme's padding
	// between neighbours, never over the label.
	r.ring.Move(fyne.NewPos(-3, -3))
	r.ring.Resize(s.AddWidthHeight(6, 6))
}

func (r *ringRenderer) Refresh() {
	r.WidgetRenderer.Refresh()
	if !r.focused() {
		if !r.ring.Hidden {
			r.ring.Hide()
		}
		return
	}
	th := fyne.CurrentApp().Settings().Theme()
	r.ring.StrokeColor = th.Color(theme.ColorNameForeground, fyne.CurrentApp().Settings().ThemeVariant())
	r.ring.CornerRadius = th.Size(theme.SizeNameInputRadius) + 3
	r.ring.Hidden = !r.focused()
	r.ring.Refresh()
}

// revealers maps a window's canvas to what scrolls a focused object of it
// into view (UI.reveal), for the widgets here, which know only their canvas.
var revealers sync.Map // fyne.Canvas → func(fyne.CanvasObject)

func revealFocused(o fyne.CanvasObject) {
	app := fyne.CurrentApp()
	if app == nil {
		return
	}
	c := app.Driver().CanvasForObject(o)
	if c == nil {
		return
	}
	if f, ok := revealers.Load(c); ok {
		f.(func(fyne.CanvasObject))(o)
	}
}

func newButton(label string, tapped func()) *Button {
	b := &Button{}
	b.Text = label
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey implements fyne.Focusable.
func (b *Button) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if !b.Disabled() && b.OnTapped != nil {
			b.OnTapped()
		}
		return
	case fyne.KeyEscape:
		if b.OnEscape != nil {
			b.OnEscape()
		}
		return
	}
	b.Button.TypedKey(ev)
}

// Entry is a widget.Entry that reports Escape (Fyne's entry swallows it) so
// a dialog can close from the keyboard while its entry has the focus.
type Entry struct {
	widget.Entry
	// OnEscape runs when Escape is pressed in the entry.
	OnEscape func()
}

func newEntry(placeholder string) *Entry {
	e := &Entry{}
	e.PlaceHolder = placeholder
	e.Wrapping = fyne.TextWrapOff
	e.ExtendBaseWidget(e)
	return e
}

func newPasswordEntry() *Entry {
	e := newEntry("")
	e.Password = true
	return e
}

// FocusGained implements fyne.Focusable: the entry is scrolled into view.
func (e *Entry) FocusGained() {
	e.Entry.FocusGained()
	revealFocused(e)
}

// TypedKey implements fyne.Focusable.
func (e *Entry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape {
		if e.OnEscape != nil {
			e.OnEscape()
		}
		return
	}
	e.Entry.TypedKey(ev)
}
