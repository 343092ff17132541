package ui

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// ShowStartupProblem shows, in place of the wizard, why keywizard could not
// start and what to do about it: a damaged progress file, a mistake in the
// organisation's service catalogue, unreadable settings. Without it the
// window would close before it appeared and the reason would go to a
// terminal that someone who opened the app from the Dock or a launcher
// never sees.
//
// startOver, when not nil, is offered as the primary action ("Start over"):
// it should set the unreadable file aside (steps.FileStore.SetAside) and
// start the wizard; when it succeeds the wizard's screen comes back, and
// when it fails its error is shown here. "Quit" closes the window. It runs
// on Fyne's goroutine.
func (u *UI) ShowStartupProblem(err error, startOver func() error) {
	wizard := u.win.Content()
	title := &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameHeadingText, Wrapping: fyne.TextWrapWord}
	text := para("")
	detail := &widget.Label{TextStyle: fyne.TextStyle{Italic: true}, Wrapping: fyne.TextWrapBreak}
	show := func(err error) {
		m := startupMessage(err, startOver != nil)
		title.SetText(m.Title)
		text.SetText(m.Text)
		detail.SetText(sentence(err.Error()))
	}
	show(err)

	quit := newButton("Quit", func() { u.win.Close() })
	buttons := container.NewHBox(quit)
	u.problemPrimary = quit
	if startOver != nil {
		again := newButton("Start over", nil)
		again.Importance = widget.HighImportance
		again.OnTapped = func() {
			if err := startOver(); err != nil {
				show(err)
				return
			}
			u.problemPrimary = nil
			u.win.SetContent(wizard)
		}
		buttons.Add(again)
		u.problemPrimary = again
	}
	body := container.NewVBox(title, text, detail, container.NewBorder(nil, nil, nil, buttons))
	// Scrolled, so a long detail never makes the window grow past the screen.
	content := container.NewVScroll(container.NewPadded(container.New(maxWidth(readable), container.NewPadded(body))))
	u.win.SetContent(content)
	// Wrapped labels know their height only once they have their width:
	// lay out again now that they have it, or the lines overlap.
	content.Refresh()
	u.win.Canvas().Focus(u.problemPrimary)
}

// startupMessage is the headline and the advice for an error that stopped
// the window from starting, decided on the error's type.
func startupMessage(err error, canStartOver bool) Message {
	m := Message{Severity: Error, Title: "keywizard could not start",
		Text: "The details are below. Quit, and if it happens again, send IT a screenshot of this window."}
	switch {
	case errors.Is(err, steps.ErrDamagedProgress):
		m.Title = "Your saved progress could not be read"
		m.Text = "The file where keywizard keeps your progress is damaged, or was written by a newer keywizard."
		if canStartOver {
			m.Text += " Start over keeps that file beside the new one (so IT, or a newer keywizard, can still read it) " +
				"and begins the setup again; nothing on your keys changes, and steps already done on them are quick to confirm."
		} else {
			m.Text += " Quit, and update keywizard or ask IT for help."
		}
	case errors.Is(err, catalogue.ErrInvalid):
		m.Title = "Your company's list of services has a mistake"
		m.Text = "keywizard reads which services to set up from a file your IT department provides, and that file could not be used. " +
			"Ask IT to correct it (the details below say where and what); until then keywizard cannot tell which services your company uses."
	}
	return m
}
