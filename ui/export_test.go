package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// Test-only access to the widgets, as a person would reach them.

func (u *UI) PrimaryButton() *Button                      { return u.primary }
func (u *UI) BackButton() *Button                         { return u.back }
func (u *UI) NextButton() *Button                         { return u.next }
func (u *UI) WelcomeEntries() (name, email, start *Entry) { return u.name, u.email, u.start }
func (u *UI) AccountEntry(service string) *Entry          { return u.accounts[service] }
func (u *UI) StepButton(id string) *Button                { return u.stepButtons[stepID(id)] }

// RowButton returns the button labelled label on a key's row of the
// current step, or nil.
func (u *UI) RowButton(serial uint32, label string) *Button {
	for _, b := range u.rowButtons[serial] {
		if b.Text == label {
			return b
		}
	}
	return nil
}

// DialogWidgets returns the open dialog's PIN entries and buttons.
func (u *UI) DialogWidgets() (pin, repeat *Entry, ok, cancel *Button) {
	if u.dlg == nil {
		return nil, nil, nil, nil
	}
	return u.dlg.pin, u.dlg.repeat, u.dlg.ok, u.dlg.no
}

// JoinWidgets returns the report step's tracker form (nil before it is shown).
func (u *UI) JoinWidgets() (url, code *Entry, connect *Button) {
	if u.join == nil {
		return nil, nil, nil
	}
	return u.join.url, u.join.code, u.join.connect
}

// BannerButton returns the button labelled label in the message banner.
func (u *UI) BannerButton(label string) *Button {
	var found *Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *Button:
			if v.Text == label {
				found = v
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case *widget.Card:
			if v.Content != nil {
				walk(v.Content)
			}
		}
	}
	walk(u.banner)
	return found
}

// RoleButton returns the banner's button that gives an arriving key a role,
// or nil.
func (u *UI) RoleButton() *Button { return u.roleButton }

// PlainHeadline says what is wrong with an error headline, or "".
func PlainHeadline(h string) string { return plainHeadline(h) }

// SecondaryButton returns the current step's action under its content
// labelled label, or nil.
func (u *UI) SecondaryButton(label string) *Button {
	for _, b := range u.secondaryButtons {
		if b.Text == label {
			return b
		}
	}
	return nil
}

// LossButton returns the lost-key checklist's button labelled label on a
// service's card, or nil.
func (u *UI) LossButton(service, label string) *Button {
	for _, b := range u.lossButtons[service] {
		if b.Text == label {
			return b
		}
	}
	return nil
}
