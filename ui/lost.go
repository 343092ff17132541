package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/steps"
)

// lostActions are "I lost my … key" for each of the person's keys, offered
// on the keys screen and the summary. The key need not be plugged in; the
// wizard asks to confirm, naming it by model and serial.
func (u *UI) lostActions() []*action {
	s := u.snap
	if !s.Started {
		return nil
	}
	var out []*action
	for _, k := range s.Keys {
		serial := k.Serial
		out = append(out, &action{label: fmt.Sprintf("I lost my %s (serial %d)…", k.Role.Words(), k.Serial), icon: theme.NewWarningThemedResource(theme.WarningIcon()),
			do: func(ctx context.Context) error { return told(u.wiz.ReportLost(ctx, serial, "")) }})
	}
	return out
}

// told hides the tracker's "not sent" and "waiting to send" outcomes of a
// loss report: the lost-key step says them where they stay visible, and
// they are not failures of what the person did.
func told(err error) error {
	if errors.Is(err, steps.ErrKeptLocally) || errors.Is(err, steps.ErrReportQueued) {
		return nil
	}
	return err
}

// lostScreen is the lost key's checklist: whether IT was told, one card per
// service with the page, the steps and what IT can do instead, then the
// replacement.
func (u *UI) lostScreen(st steps.Step) screen {
	l := st.Loss
	if l == nil {
		return screen{primary: u.nextAction(), noNext: true}
	}
	u.lossButtons = map[string][]*Button{}
	busy := u.snap.Busy != ""
	body := []fyne.CanvasObject{
		para(fmt.Sprintf("You reported %s lost on %s. Remove it from every service below, signed in with your other key, so nobody who finds it can use it. Then set up a new key in its place.",
			l.Label, l.ReportedAt.Format("2 January 2006 at 15:04"))),
	}
	note := Message{Severity: Warning, Text: l.TrackerText}
	switch l.Told {
	case steps.ToldSent:
		note = Message{Severity: Info, Title: "IT has been told", Text: l.TrackerText}
	case steps.ToldWaiting:
		note.Title = "IT has not received it yet"
	default:
		note.Title = "IT has not been told"
	}
	body = append(body, u.messageBox(note))
	var next *action
	for _, it := range l.Items {
		card, first := u.removalCard(st.ID, it, busy)
		body = append(body, card)
		if next == nil && first != nil {
			next = first
		}
	}
	scr := screen{body: body, primary: next}
	if l.Told != steps.ToldSent {
		scr.secondary = append(scr.secondary, &action{label: "Tell IT again", icon: theme.MailSendIcon(),
			do: func(ctx context.Context) error { return told(u.wiz.ResendLoss(ctx)) }})
	}
	switch {
	case next != nil:
	case !l.Replaced:
		scr.primary = &action{label: "Set up a new " + l.Role.Words(), icon: theme.ContentAddIcon(),
			do: func(ctx context.Context) error { return u.wiz.GoTo(ctx, steps.StepKeys) }}
		scr.noNext = true
	default:
		scr.primary, scr.noNext = u.nextAction(), true
	}
	return scr
}

// removalCard draws one service of the checklist and returns its next
// action (nil when done or not applicable).
func (u *UI) removalCard(step steps.StepID, it steps.RemovalItem, busy bool) (fyne.CanvasObject, *action) {
	id := it.Service
	lines := []fyne.CanvasObject{&widget.Label{Text: it.Name, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}}
	var as []*action
	var next *action
	switch {
	case it.NotApplicable != "":
		lines = append(lines, para("Nothing to remove: "+sentence(it.NotApplicable)))
	default:
		list := container.NewVBox()
		for i, s := range it.Removal.Steps {
			list.Add(para(fmt.Sprintf("%d. %s", i+1, s)))
		}
		lines = append(lines, list)
		if it.Removal.URL != "" {
			lines = append(lines, &widget.Label{Text: "Page: " + it.Removal.URL, TextStyle: fyne.TextStyle{Italic: true}, Wrapping: fyne.TextWrapBreak})
		}
		if len(it.Identities) > 0 {
			lines = append(lines, &widget.Label{Text: "Pairings to undo: " + strings.Join(it.Identities, ", "), TextStyle: fyne.TextStyle{Monospace: true}, Wrapping: fyne.TextWrapBreak})
		}
		lines = append(lines, para("If you cannot: "+it.Removal.Admin))
		switch {
		case it.Evidence != nil:
			lines = append(lines, &widget.Label{Text: fmt.Sprintf("Removed · %s · %s", it.Evidence.Level.Words(), timeText(it.Evidence.At)),
				Importance: widget.SuccessImportance, Wrapping: fyne.TextWrapWord},
				&widget.Label{Text: sentence(it.Evidence.Detail), TextStyle: fyne.TextStyle{Italic: true}, Wrapping: fyne.TextWrapWord})
		case it.Problem != nil:
			lines = append(lines, problemLines(it.Problem)...)
		}
		if it.ByKeywizard {
			unpair := &action{label: "Unpair from this Mac", icon: theme.LogoutIcon(), do: func(ctx context.Context) error { return u.wiz.UnpairLost(ctx, id) }}
			as = append(as, unpair)
			if it.Evidence == nil {
				next = &action{label: "Unpair the lost key from this Mac", icon: unpair.icon, do: unpair.do}
			}
		} else {
			if it.Removal.URL != "" {
				as = append(as, &action{label: "Open page", icon: theme.ComputerIcon(), do: func(ctx context.Context) error { return u.wiz.OpenRemoval(ctx, id) }})
			}
			if it.Evidence == nil {
				confirm := &action{label: "I removed it", icon: theme.ConfirmIcon(), do: func(ctx context.Context) error { return u.wiz.ConfirmRemoved(ctx, id) }}
				as = append(as, confirm)
				next = &action{label: "I removed it from " + it.Name, icon: confirm.icon, do: confirm.do}
			}
		}
	}
	buttons := container.NewHBox()
	for _, a := range as {
		b := newButton("", nil)
		u.setAction(b, step, a, busy)
		buttons.Add(b)
		u.lossButtons[id] = append(u.lossButtons[id], b)
	}
	row := container.NewBorder(nil, nil, container.NewVBox(widget.NewIcon(statusIcon(it.Status))), container.NewVBox(buttons), container.NewVBox(lines...))
	return widget.NewCard("", "", row), next
}
