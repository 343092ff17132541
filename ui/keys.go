package ui

import (
	"fyne.io/fyne/v2"
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
