package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/assets"
	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
)

// activeDialog is the prompt on screen: Enter submits it, Escape cancels it.
type activeDialog struct {
	d      dialog.Dialog
	submit func()
	cancel func()
	// Fields for tests.
	pin, repeat *Entry
	errLabel    *widget.Label
	ok, no      *Button
	title       string
	text        string
	// serial is the key a PIN dialog asks about; retried is set once the
	// action is run again after this dialog's PIN was wrong (never twice
	// for one answer).
	serial  uint32
	retried bool
}

// DialogNote returns the line the open dialog shows under its fields (a wrong
// PIN, a PIN that breaks the rules), or "". Tests use it.
func (u *UI) DialogNote() string {
	if u.dlg == nil || u.dlg.errLabel == nil || u.dlg.errLabel.Hidden {
		return ""
	}
	return u.dlg.errLabel.Text
}

// Dialog describes the prompt on screen, for tests: its title, text and
// whether one is open.
func (u *UI) Dialog() (title, text string, open bool) {
	if u.dlg == nil {
		return "", "", false
	}
	return u.dlg.title, u.dlg.text, true
}

// AnswerPIN types pin into the open PIN dialog (and its repeat field) and
// submits it, as a person would with the keyboard. Tests use it.
func (u *UI) AnswerPIN(pin string) bool {
	d := u.dlg
	if d == nil || d.pin == nil {
		return false
	}
	d.pin.SetText(pin)
	if d.repeat != nil {
		d.repeat.SetText(pin)
	}
	d.submit()
	return true
}

// AnswerConfirm presses the confirm (yes) or cancel (no) button of the open
// dialog. Tests use it.
func (u *UI) AnswerConfirm(yes bool) bool {
	d := u.dlg
	if d == nil || d.ok == nil {
		return false
	}
	if yes {
		d.ok.OnTapped()
	} else {
		d.no.OnTapped()
	}
	return true
}

type pinAnswer struct {
	pin string
	err error
}

func pinTitle(p steps.PINPurpose) string {
	switch p {
	case steps.PurposeNewFIDOPIN:
		return "Choose a FIDO2 PIN"
	case steps.PurposeCurrentFIDOPIN, steps.PurposeUnlockFIDO:
		return "Enter your FIDO2 PIN"
	case steps.PurposeNewPIVPIN:
		return "Choose a smart-card PIN"
	case steps.PurposeNewPIVPUK:
		return "Choose a PUK"
	case steps.PurposeCurrentPIVPIN:
		return "Enter your smart-card PIN"
	}
	return "Enter the PIN"
}

func isNewPIN(p steps.PINPurpose) bool {
	return p == steps.PurposeNewFIDOPIN || p == steps.PurposeNewPIVPIN || p == steps.PurposeNewPIVPUK
}

// pinRules describes a new PIN's rules in words.
func pinRules(r steps.PINRequest) string {
	var b strings.Builder
	switch {
	case r.MinLen > 0 && r.MaxLen > 0 && r.MaxLen < 63:
		fmt.Fprintf(&b, "%d to %d", r.MinLen, r.MaxLen)
	case r.MinLen > 0:
		fmt.Fprintf(&b, "At least %d", r.MinLen)
	default:
		return ""
	}
	if r.DigitsOnly {
		b.WriteString(" digits.")
	} else {
		b.WriteString(" characters.")
	}
	return b.String()
}

// checkNewPIN applies the request's rules before the key sees the PIN, so a
// typo costs nothing. Lengths count characters, as CTAP 2.1 §6.5.5 does.
func checkNewPIN(r steps.PINRequest, pin, repeat string) string {
	n := utf8.RuneCountInString(pin)
	switch {
	case pin == "":
		return "Type a PIN."
	case r.MinLen > 0 && n < r.MinLen, r.MaxLen > 0 && n > r.MaxLen:
		return "The PIN must be " + strings.ToLower(pinRules(r)[:1]) + pinRules(r)[1:]
	case r.DigitsOnly && strings.Trim(pin, "0123456789") != "":
		return "Use digits only."
	case pin != repeat:
		return "The two entries differ; type the same PIN twice."
	}
	return ""
}

// PIN asks for a PIN or PUK in a dialog that names the key and shows the
// retries left. It implements steps.Prompter; it blocks until the person
// answers, cancels (steps.ErrCancelled) or ctx ends. The PIN is handed to
// the wizard and cleared from the dialog: it is never stored or logged.
func (u *UI) PIN(ctx context.Context, r steps.PINRequest) (string, error) {
	answer := make(chan pinAnswer, 1)
	fyne.Do(func() { u.showPIN(r, answer) })
	select {
	case a := <-answer:
		return a.pin, a.err
	case <-ctx.Done():
		fyne.Do(u.closeDialog)
		return "", ctx.Err()
	}
}

func (u *UI) closeDialog() {
	if u.dlg != nil {
		d := u.dlg
		u.setDialog(nil)
		d.d.Hide()
	}
	u.closeKeptPIN()
}

// closeKeptPIN hides the PIN dialog kept open while its PIN is checked.
func (u *UI) closeKeptPIN() {
	if k := u.pinKept; k != nil {
		u.pinKept = nil
		k.d.Hide()
	}
}

// wrongPINAgain decides, when an action ends with err, whether the PIN
// dialog kept open for it asks again: a wrong PIN with tries left is said
// in the dialog ("Wrong PIN. 7 tries left.") and the action is run again,
// instead of closing the dialog and showing an error behind it. Decided on
// the typed error (device.PINError), never its text. On Fyne's goroutine.
func (u *UI) wrongPINAgain(err error) bool {
	k := u.pinKept
	var pe *device.PINError
	if k == nil || k.retried || !errors.As(err, &pe) || pe.Retries == 0 || errors.Is(err, device.ErrBlocked) {
		u.closeKeptPIN()
		u.pinNote = ""
		return false
	}
	k.retried = true
	u.pinNote = wrongPIN(pe.Retries)
	u.pinNoteKey = k.serial
	return true
}

func (u *UI) showPIN(r steps.PINRequest, answer chan<- pinAnswer) {
	// The dialog kept open while the last PIN was checked is replaced in
	// the same frame: to the person it stays, now saying the PIN was wrong.
	note := ""
	if u.pinNote != "" && u.pinNoteKey == r.Key.Serial && !isNewPIN(r.Purpose) {
		note = u.pinNote
	}
	u.pinNote = ""
	u.closeDialog()
	ad := &activeDialog{title: pinTitle(r.Purpose), text: r.Text, serial: r.Key.Serial}
	ad.pin = newPasswordEntry()
	ad.errLabel = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	ad.errLabel.Hide()
	lines := container.NewVBox(
		&widget.Label{Text: r.Key.Label, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord},
		para(r.Text),
	)
	if note != "" {
		// "Wrong PIN. 7 tries left." already says the tries left.
		ad.errLabel.SetText(note)
		ad.errLabel.Show()
	} else if r.RetriesLeft >= 0 {
		l := &widget.Label{Text: fmt.Sprintf("%s left before this PIN is blocked.", tries(r.RetriesLeft)), Wrapping: fyne.TextWrapWord}
		if r.RetriesLeft <= 3 {
			l.Importance = widget.WarningImportance
		}
		lines.Add(l)
	}
	items := []*widget.FormItem{{Text: string(r.Which), Widget: ad.pin}}
	if isNewPIN(r.Purpose) {
		ad.repeat = newPasswordEntry()
		items[0].HintText = pinRules(r)
		items = append(items, &widget.FormItem{Text: "Repeat", Widget: ad.repeat})
	}
	lines.Add(widget.NewForm(items...))
	lines.Add(ad.errLabel)

	answered := false
	reply := func(a pinAnswer) {
		if answered {
			return
		}
		answered = true
		answer <- a
		ad.pin.SetText("")
		if ad.repeat != nil {
			ad.repeat.SetText("")
		}
		if u.dlg == ad {
			u.setDialog(nil)
		}
		if a.err == nil && !isNewPIN(r.Purpose) {
			// Kept on screen while the key checks the PIN, so that a
			// wrong one is said here (wrongPINAgain), not behind it.
			u.closeKeptPIN()
			u.pinKept = ad
			ad.errLabel.Importance = widget.MediumImportance
			ad.errLabel.SetText("Checking the PIN…")
			ad.errLabel.Show()
			for _, e := range []*Entry{ad.pin, ad.repeat} {
				if e != nil {
					e.Disable()
				}
			}
			ad.ok.Disable()
			ad.no.Disable()
			return
		}
		ad.d.Hide()
	}
	showNote := func(msg string) {
		ad.errLabel.Importance = widget.DangerImportance
		ad.errLabel.SetText(msg)
		ad.errLabel.Show()
	}
	ad.submit = func() {
		pin := ad.pin.Text
		if isNewPIN(r.Purpose) {
			if ad.repeat.Text == "" && pin != "" && checkNewPIN(r, pin, pin) == "" {
				// Enter in the first field: the PIN is fine so far, the
				// repeat is what is missing.
				showNote("Type the same PIN again under Repeat.")
				u.win.Canvas().Focus(ad.repeat)
				return
			}
			if msg := checkNewPIN(r, pin, ad.repeat.Text); msg != "" {
				showNote(msg)
				return
			}
		} else if pin == "" {
			showNote("Type the PIN, or press Cancel.")
			return
		}
		reply(pinAnswer{pin: pin})
	}
	ad.cancel = func() { reply(pinAnswer{err: steps.ErrCancelled}) }
	ad.ok = newButton("Continue", ad.submit)
	ad.ok.Importance = widget.HighImportance
	ad.no = newButton("Cancel", ad.cancel)
	for _, b := range []*Button{ad.ok, ad.no} {
		b.OnEscape = ad.cancel
	}
	for _, e := range []*Entry{ad.pin, ad.repeat} {
		if e == nil {
			continue
		}
		e.OnEscape = ad.cancel
		// Enter submits from any field; a note about the last try goes
		// as soon as the person types again, so it is never stale.
		e.OnSubmitted = func(string) { ad.submit() }
		e.OnChanged = func(string) {
			if !answered && ad.errLabel.Visible() && ad.errLabel.Importance == widget.DangerImportance {
				ad.errLabel.Hide()
			}
		}
	}
	d := dialog.NewCustomWithoutButtons(ad.title, container.New(fixedWidth(440), lines), u.win)
	d.SetButtons([]fyne.CanvasObject{ad.no, ad.ok})
	d.SetOnClosed(ad.cancel)
	ad.d = d
	d.Show()
	u.win.Canvas().Focus(ad.pin)
	// Published last: Settle treats an open dialog as settled, so it must
	// not see the dialog before it is shown with the focus in place.
	u.setDialog(ad)
}

// Confirm asks a yes/no question. Destructive questions name the key by
// model and serial, put the focus on Cancel and ignore a stray Enter: the
// person has to choose the red button on purpose.
func (u *UI) Confirm(ctx context.Context, r steps.ConfirmRequest) (bool, error) {
	answer := make(chan bool, 1)
	fyne.Do(func() { u.showConfirm(r, answer) })
	select {
	case ok := <-answer:
		return ok, nil
	case <-ctx.Done():
		fyne.Do(u.closeDialog)
		return false, ctx.Err()
	}
}

func (u *UI) showConfirm(r steps.ConfirmRequest, answer chan<- bool) {
	u.closeDialog()
	ad := &activeDialog{title: r.Title, text: r.Text}
	lines := container.NewVBox(para(r.Text))
	if r.Key.Serial != 0 {
		lines.Add(&widget.Label{Text: fmt.Sprintf("Key: %s · serial %d", r.Key.Model, r.Key.Serial), TextStyle: fyne.TextStyle{Bold: true}})
	}
	answered := false
	reply := func(ok bool) {
		if answered {
			return
		}
		answered = true
		answer <- ok
		if u.dlg == ad {
			u.setDialog(nil)
		}
		ad.d.Hide()
	}
	ad.cancel = func() { reply(false) }
	ad.submit = func() { reply(true) }
	ad.ok = newButton("Continue", ad.submit)
	ad.ok.Importance = widget.HighImportance
	if r.Destructive {
		ad.ok.Text = "Yes, replace"
		if r.Kind == steps.ConfirmLostKey {
			ad.ok.Text = "Yes, it is lost"
		}
		ad.ok.Importance = widget.DangerImportance
		ad.submit = func() {} // Enter alone never confirms a destructive change
	}
	ad.no = newButton("Cancel", ad.cancel)
	for _, b := range []*Button{ad.ok, ad.no} {
		b.OnEscape = ad.cancel
	}
	d := dialog.NewCustomWithoutButtons(r.Title, container.New(fixedWidth(440), lines), u.win)
	d.SetButtons([]fyne.CanvasObject{ad.no, ad.ok})
	d.SetOnClosed(ad.cancel)
	ad.d = d
	d.Show()
	if r.Destructive {
		u.win.Canvas().Focus(ad.no)
	}
	u.setDialog(ad) // last, as in AskPIN
}

// TouchKey shows "touch your key" while a key waits for a touch and hides
// it when the wait is over. It never blocks (steps.Prompter contract).
func (u *UI) TouchKey(key steps.KeyRef, waiting bool) {
	fyne.Do(func() {
		if waiting {
			u.touchOn[key.Serial] = true
		} else {
			delete(u.touchOn, key.Serial)
		}
		if len(u.touchOn) == 0 {
			if u.touch != nil {
				u.touch.Hide()
				u.touch = nil
			}
			return
		}
		if u.touch != nil {
			u.touch.Hide()
		}
		content := container.NewVBox(
			picture(assets.TouchKey(), 320, 200),
			&widget.Label{Text: "Touch the gold contact on your key", TextStyle: fyne.TextStyle{Bold: true}, Alignment: fyne.TextAlignCenter, SizeName: theme.SizeNameSubHeadingText},
			&widget.Label{Text: key.Label, Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord},
			&widget.Label{Text: touchWhere(key.Model), Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord},
			&widget.Label{Text: "It blinks while it waits. This message goes away by itself.", Alignment: fyne.TextAlignCenter, TextStyle: fyne.TextStyle{Italic: true}},
		)
		u.touch = widget.NewModalPopUp(container.NewPadded(content), u.win.Canvas())
		u.touch.Show()
	})
}

// touchWhere says where a model's touch contact is. A Nano has no disc to
// look for: its contact is the gold edge left outside the port.
func touchWhere(model string) string {
	if strings.Contains(strings.ToLower(model), "nano") {
		return "On a Nano it is the small gold edge that sticks out of the laptop."
	}
	return "It is the gold touch contact on the body of the key."
}

// Touching reports whether the "touch your key" notice is on screen.
func (u *UI) Touching() bool { return u.touch != nil }

// setDialog records the prompt on screen (nil: none); Settle counts an
// action waiting in a dialog as settled. On Fyne's goroutine.
func (u *UI) setDialog(ad *activeDialog) {
	u.dlg = ad
	u.idle.update(func() { u.idle.dialog = ad != nil })
}
