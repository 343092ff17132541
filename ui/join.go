package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/steps"
)

// joinInputs are the report step's tracker address and invite code,
// created once so a re-render does not drop what is being typed.
type joinInputs struct {
	url, code *Entry
	connect   *Button
}

// trackerPart is what the report step says about where the report goes:
// the tracker it goes to, or, while this computer is not connected and the
// app can connect it, a form for the invite code IT sent (the wizard
// exchanges the code for a token kept in the OS keychain, package
// tracker/join). Nothing
// when the app cannot join a tracker (a simulated run).
func (u *UI) trackerPart() fyne.CanvasObject {
	t := u.snap.Tracker
	switch {
	case !t.CanJoin:
		return nil
	case t.Connected && t.As != "":
		return para("Connected as " + t.As + ": your report goes to IT's onboarding tracker at " + t.URL + ".")
	case t.Connected:
		return para("Your report goes to IT's onboarding tracker at " + t.URL + ".")
	}
	if u.join == nil {
		j := &joinInputs{url: newEntry("https://tracker.example.com"), code: newPasswordEntry()}
		j.code.PlaceHolder = "from IT's e-mail"
		j.connect = newButton("Connect", func() {
			url, code := j.url.Text, j.code.Text
			u.run(steps.StepReport, func(ctx context.Context) error {
				err := u.wiz.Join(ctx, url, code)
				if err == nil {
					// The code works once; do not leave it in the window.
					fyne.Do(func() { j.code.SetText("") })
				}
				return err
			})
		})
		j.connect.Icon = theme.LoginIcon()
		for _, e := range []*Entry{j.url, j.code} {
			e.OnSubmitted = func(string) { u.tapIfEnabled(j.connect) }
			e.OnEscape = u.escape
		}
		u.join = j
	}
	form := widget.NewForm(
		widget.NewFormItem("Tracker address", u.join.url),
		widget.NewFormItem("Invite code", u.join.code),
	)
	return widget.NewCard("", "", container.NewVBox(
		&widget.Label{Text: "This computer is not connected to IT's onboarding tracker", TextStyle: fyne.TextStyle{Bold: true}},
		para("IT sends each new hire an invite code and the tracker's address. Enter them to connect; the code works once, and keywizard keeps the sign-in it gets for it in this computer's keychain. Without them, your report is kept on this computer and IT does not see it yet."),
		form,
		container.NewHBox(u.join.connect),
	))
}
