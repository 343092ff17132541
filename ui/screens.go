package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/assets"
	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// action is one thing a screen offers: a label and the wizard call it makes.
type action struct {
	label string
	icon  fyne.Resource
	do    func(ctx context.Context) error
	// local actions (copy to clipboard) run on Fyne's goroutine, not as a
	// wizard action.
	local func()
}

// screen is what a step shows: its body, one primary action and secondary
// ones.
type screen struct {
	body      []fyne.CanvasObject
	primary   *action
	secondary []*action
	// noNext hides "Skip for now"/"Next" (the primary already moves on).
	noNext bool
}

func (u *UI) currentStep() (steps.Step, int) {
	for i, st := range u.snap.Steps {
		if st.ID == u.snap.Current {
			return st, i
		}
	}
	return steps.Step{ID: u.snap.Current, Title: string(u.snap.Current)}, -1
}

func (u *UI) renderStep() {
	s := u.snap
	st, idx := u.currentStep()
	u.heading.SetText(st.Title)
	u.rowButtons = map[uint32][]*Button{}
	u.secondaryButtons = nil
	var scr screen
	switch st.Kind {
	case steps.KindWelcome:
		scr = u.welcomeScreen()
	case steps.KindKeys:
		scr = u.keysScreen()
	case steps.KindLost:
		scr = u.lostScreen(st)
	case steps.KindFIDOPIN:
		scr = u.pinScreen(st)
	case steps.KindService:
		scr = u.serviceScreen(st)
	case steps.KindMacOS:
		scr = u.macScreen(st)
	case steps.KindOTP:
		scr = u.otpScreen(st)
	case steps.KindReport:
		scr = u.reportScreen(st)
	case steps.KindSummary:
		scr = u.summaryScreen()
	}
	if st.Status == steps.StatusNotApplicable && st.Kind != steps.KindMacOS {
		scr.body = append([]fyne.CanvasObject{u.messageBox(Message{Severity: Info, Title: "Does not apply here", Text: st.Reason})}, scr.body...)
	}
	busy := s.Busy != ""
	u.setAction(u.primary, st.ID, scr.primary, busy)
	// Secondary actions sit under the step's content, one per line (their
	// labels can be long), so the footer keeps one primary button.
	if len(scr.secondary) > 0 {
		more := container.NewVBox()
		for _, a := range scr.secondary {
			b := newButton("", nil)
			u.setAction(b, st.ID, a, busy)
			more.Add(container.NewHBox(b))
			u.secondaryButtons = append(u.secondaryButtons, b)
		}
		scr.body = append(scr.body, more)
	}
	u.body.Objects = scr.body
	u.body.Refresh()

	u.back.Hidden = idx <= 0
	if idx > 0 {
		prev := s.Steps[idx-1].ID
		u.back.OnTapped = func() { u.run(st.ID, func(ctx context.Context) error { return u.wiz.GoTo(ctx, prev) }) }
	}
	u.next.Hidden = scr.noNext || st.Kind == steps.KindSummary || !s.Started
	u.next.Text = "Skip for now"
	if st.Status == steps.StatusDone || st.Status == steps.StatusNotApplicable {
		u.next.Text = "Next"
	}
	u.next.OnTapped = func() { u.run(st.ID, func(ctx context.Context) error { return u.wiz.Next(ctx) }) }
	for _, b := range []*Button{u.back, u.next} {
		b.OnEscape = u.escape
		if busy {
			b.Disable()
		} else {
			b.Enable()
		}
		b.Refresh()
	}
}

func (u *UI) setAction(b *Button, step steps.StepID, a *action, busy bool) {
	b.OnEscape = u.escape
	if a == nil {
		b.Hide()
		b.OnTapped = nil
		return
	}
	b.Show()
	b.Text, b.Icon = a.label, a.icon
	switch {
	case a.local != nil:
		b.OnTapped = a.local
	default:
		do := a.do
		b.OnTapped = func() { u.run(step, do) }
	}
	if busy && a.local == nil {
		b.Disable()
	} else {
		b.Enable()
	}
	b.Refresh()
}

func (u *UI) escape() {
	if u.dlg != nil {
		u.dlg.cancel()
	}
}

func para(text string) *widget.Label {
	return &widget.Label{Text: text, Wrapping: fyne.TextWrapWord}
}

func picture(res fyne.Resource, w, h float32) fyne.CanvasObject {
	img := canvas.NewImageFromResource(res)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(w, h))
	return container.NewCenter(img)
}

// --- welcome -----------------------------------------------------------

func (u *UI) welcomeScreen() screen {
	s := u.snap
	if s.Started {
		fill := func(e *Entry, v string) {
			if e.Text == "" {
				e.SetText(v)
			}
		}
		fill(u.name, s.Person.Name)
		fill(u.email, s.Person.Email)
		if !s.Person.StartDate.IsZero() {
			fill(u.start, s.Person.StartDate.Format(time.DateOnly))
		}
	}
	label := "Start"
	if s.Started {
		label = "Save and continue"
	}
	submit := func() { u.tapIfEnabled(u.primary) }
	for _, e := range []*Entry{u.name, u.email, u.start} {
		e.OnSubmitted = func(string) { submit() }
		e.OnEscape = u.escape
	}
	form := widget.NewForm(
		widget.NewFormItem("Name", u.name),
		widget.NewFormItem("Work e-mail", u.email),
		widget.NewFormItem("Start date", u.start),
	)
	form.Items[2].HintText = "Your first working day. Your keys should be set up within 30 days of it."
	return screen{
		body: []fyne.CanvasObject{
			para("keywizard sets up your two security keys for work: the small one that stays in your laptop, and the one for your keyring that also works with your phone and is your backup."),
			picture(assets.TwoKeys(), 320, 200),
			para("It registers both keys with each work service, checks what can be checked, and tells IT when you are done. It takes about half an hour; you can stop at any time and carry on later."),
			form,
		},
		primary: &action{label: label, icon: theme.NavigateNextIcon(), do: func(ctx context.Context) error {
			var p steps.Person
			var dateText string
			if !u.onMain(func() { p.Name, p.Email, dateText = u.name.Text, u.email.Text, strings.TrimSpace(u.start.Text) }) {
				return ctx.Err()
			}
			// Every field's problem at once, the date's included: fixing
			// one to meet the next is a round trip per field.
			dateProblem := ""
			if start, err := time.Parse(time.DateOnly, dateText); err == nil {
				p.StartDate = start
			} else if dateText != "" {
				dateProblem = "enter your start date as year-month-day, like 2026-11-23"
			}
			if err := steps.CheckPerson(p, dateProblem); err != nil {
				return err
			}
			if err := u.wiz.Start(ctx, p); err != nil {
				return err
			}
			// The next screen is the keys: look for them now rather than
			// leave a "Look for keys" click between the person and their
			// keys (the watch lists them too, when it is on and done). None
			// found is what that screen says, with Look for keys.
			if len(u.wiz.Snapshot().Detected) == 0 {
				if err := u.wiz.DetectKeys(ctx); err != nil && !errors.Is(err, device.ErrNotFound) {
					return err
				}
			}
			return nil
		}},
		noNext: true,
	}
}

// --- keys --------------------------------------------------------------

var roleOptions = []string{"Everyday key (stays in the laptop)", "Backup key (keyring and phone)", "Not one of my keys"}

func roleOption(r steps.Role) string {
	switch r {
	case steps.RoleEveryday:
		return roleOptions[0]
	case steps.RoleBackup:
		return roleOptions[1]
	}
	return roleOptions[2]
}

func optionRole(o string) steps.Role {
	switch o {
	case roleOptions[0]:
		return steps.RoleEveryday
	case roleOptions[1]:
		return steps.RoleBackup
	}
	return ""
}

func (u *UI) keysScreen() screen {
	s := u.snap
	body := []fyne.CanvasObject{
		para("You have two keys. The everyday key is the small one that stays in your laptop; the backup key goes on your keyring, works with your phone, and lets you in if the other is lost. Plug both in."),
		picture(assets.TwoKeys(), 320, 200),
	}
	look := &action{label: "Look for keys", icon: theme.SearchIcon(), do: func(ctx context.Context) error { return u.wiz.DetectKeys(ctx) }}
	shown := map[uint32]bool{}
	var rows []fyne.CanvasObject
	for _, k := range s.Detected {
		shown[k.Serial] = true
		choice, ok := u.roleChoice[k.Serial]
		if !ok {
			choice = k.SuggestedRole
			if k.Role != "" {
				choice = k.Role
			}
		}
		serial := k.Serial
		radio := widget.NewRadioGroup(roleOptions, nil)
		radio.Horizontal = false
		radio.Required = true
		radio.Selected = roleOption(choice)
		radio.OnChanged = func(o string) { u.roleChoice[serial] = optionRole(o) }
		title := &widget.Label{Text: fmt.Sprintf("%s · serial %d", k.Model, k.Serial), TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
		rows = append(rows, widget.NewCard("", "", container.NewVBox(title, para(formFactorWords(k.FormFactor)), radio)))
	}
	for _, k := range s.Keys {
		if shown[k.Serial] {
			continue
		}
		rows = append(rows, widget.NewCard("", "", container.NewVBox(
			&widget.Label{Text: k.Label, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord},
			para(presenceSentence(k.Presence)+" It keeps its role."))))
	}
	if len(rows) == 0 {
		body = append(body, u.messageBox(Message{Severity: Info, Title: "No keys found yet", Text: "Plug in your keys, then choose Look for keys."}))
		return screen{body: body, primary: look, secondary: u.lostActions()}
	}
	body = append(body, container.NewGridWithColumns(2, rows...))
	scr := screen{body: body, secondary: []*action{{label: "Look again", icon: theme.ViewRefreshIcon(), do: look.do}}}
	for _, k := range s.Unknown {
		serial := k.Serial
		scr.secondary = append(scr.secondary, &action{label: fmt.Sprintf("Ignore serial %d", serial), icon: theme.VisibilityOffIcon(),
			do: func(ctx context.Context) error { return u.wiz.IgnoreKey(ctx, serial) }})
	}
	scr.primary = &action{label: "Use these keys", icon: theme.ConfirmIcon(), do: u.assignRoles}
	scr.secondary = append(scr.secondary, u.lostActions()...)
	return scr
}

// assignRoles saves the roles chosen on the keys screen. It reads the
// radio choices on Fyne's goroutine before calling the wizard.
func (u *UI) assignRoles(ctx context.Context) error {
	var everyday, backup uint32
	var err error
	read := u.onMain(func() {
		for _, k := range u.snap.Detected {
			r, ok := u.roleChoice[k.Serial]
			if !ok {
				r = k.SuggestedRole
				if k.Role != "" {
					r = k.Role
				}
			}
			switch {
			case r == steps.RoleEveryday && everyday != 0, r == steps.RoleBackup && backup != 0:
				err = fmt.Errorf("two keys are marked as the %s; give each key a different role: %w", r, device.ErrInvalidArgument)
			case r == steps.RoleEveryday:
				everyday = k.Serial
			case r == steps.RoleBackup:
				backup = k.Serial
			}
		}
		for _, k := range u.snap.Keys { // keys not plugged in keep their role
			if k.Connected || (k.Role == steps.RoleEveryday && everyday != 0) || (k.Role == steps.RoleBackup && backup != 0) {
				continue
			}
			if k.Role == steps.RoleEveryday {
				everyday = k.Serial
			} else {
				backup = k.Serial
			}
		}
	})
	if !read {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	return u.wiz.AssignRoles(ctx, everyday, backup)
}

func formFactorWords(ff string) string {
	if ff == "" {
		return ""
	}
	return "Form factor: " + ff
}

// --- per-key steps -----------------------------------------------------

// presenceSentence says where a key that is not plugged in is: pulled out,
// or rebooting after a change keywizard made (never "not plugged in" then:
// it comes back by itself).
func presenceSentence(p steps.Presence) string {
	if p == steps.PresenceRestarting {
		return "Restarting after the change; it comes back by itself in a few seconds."
	}
	return "Unplugged."
}

func (u *UI) replugNeeded(serial uint32) bool {
	for _, k := range u.snap.Keys {
		if k.Serial == serial {
			return k.ReplugNeeded
		}
	}
	return false
}

// keyRows draws one row per key of a step: its state and its own actions.
func (u *UI) keyRows(st steps.Step, actions func(k steps.StepKey) []*action) fyne.CanvasObject {
	box := container.NewVBox()
	busy := u.snap.Busy != ""
	for _, k := range st.Keys {
		var lines []fyne.CanvasObject
		title := &widget.Label{Text: k.Label, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
		lines = append(lines, title)
		// Where the key is comes first, the moment it changes: a result
		// below it stays true of the key while it is away.
		switch {
		case k.Missing:
		case k.Presence == steps.PresenceRestarting:
			lines = append(lines, &widget.Label{Text: presenceSentence(k.Presence), TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord})
		case k.Presence == steps.PresenceUnplugged && k.Status != steps.StatusDone:
			lines = append(lines, &widget.Label{Text: "Unplugged. Plug it in to do this step on it.", Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord})
		case k.Presence == steps.PresenceUnplugged:
			lines = append(lines, &widget.Label{Text: "Unplugged.", TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord})
		case u.replugNeeded(k.Serial):
			lines = append(lines, &widget.Label{Text: "Unplug this key and plug it back in: after three wrong PINs it refuses every PIN until then. Nothing is lost.",
				Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord})
		}
		switch {
		case k.Missing:
			lines = append(lines, para("Waiting for this key: plug it in and give it its role in Your keys when you have it."))
		case k.Problem != nil:
			lines = append(lines, problemLines(k.Problem)...)
		case k.Evidence != nil:
			lines = append(lines, &widget.Label{Text: fmt.Sprintf("%s · %s", upperFirst(k.Evidence.Level.Words()), timeText(k.Evidence.At)),
				Importance: widget.SuccessImportance, Wrapping: fyne.TextWrapWord},
				&widget.Label{Text: sentence(k.Evidence.Detail), TextStyle: fyne.TextStyle{Italic: true}, Wrapping: fyne.TextWrapWord})
		case k.Lost != "":
			lines = append(lines, &widget.Label{Text: sentence(k.Lost), Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord})
		case k.Presence != steps.PresencePlugged:
		default:
			lines = append(lines, para(statusSentence(k.Status)))
		}
		buttons := container.NewHBox()
		if !k.Missing {
			for _, a := range actions(k) {
				b := newButton("", nil)
				u.setAction(b, st.ID, a, busy)
				buttons.Add(b)
				u.rowButtons[k.Serial] = append(u.rowButtons[k.Serial], b)
			}
		}
		row := container.NewBorder(nil, nil, container.NewVBox(widget.NewIcon(statusIcon(k.Status))), container.NewVBox(buttons), container.NewVBox(lines...))
		box.Add(widget.NewCard("", "", row))
	}
	return box
}

// problemLines says a key's last problem on its row as a headline and the
// next action, in plain words (Explain); the program's own words are in
// the message above the rows after the action that failed, behind
// Details.
func problemLines(err error) []fyne.CanvasObject {
	m, ok := Explain(err)
	if !ok { // cancelled: nothing went wrong
		return []fyne.CanvasObject{para(statusSentence(steps.StatusTodo))}
	}
	return []fyne.CanvasObject{
		&widget.Label{Text: m.Title, TextStyle: fyne.TextStyle{Bold: true}, Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord},
		&widget.Label{Text: m.Text, Wrapping: fyne.TextWrapWord},
	}
}

func statusSentence(st steps.Status) string {
	if st == steps.StatusDone {
		return "Done."
	}
	return "Not done yet."
}

// otherPlugged returns another of the person's keys that is plugged in
// while k is being done.
func otherPlugged(st steps.Step, k steps.StepKey) (steps.StepKey, bool) {
	for _, o := range st.Keys {
		if o.Serial != k.Serial && !o.Missing && o.Connected {
			return o, true
		}
	}
	return steps.StepKey{}, false
}

// nextKey is the first of the person's keys a step still needs.
func nextKey(st steps.Step) (steps.StepKey, bool) {
	for _, k := range st.Keys {
		if !k.Missing && k.Status != steps.StatusDone {
			return k, true
		}
	}
	return steps.StepKey{}, false
}

func (u *UI) nextAction() *action {
	return &action{label: "Continue", icon: theme.NavigateNextIcon(), do: func(ctx context.Context) error { return u.wiz.Next(ctx) }}
}

func (u *UI) pinScreen(st steps.Step) screen {
	set := func(k steps.StepKey) *action {
		serial := k.Serial
		return &action{label: "Set the PIN on your " + k.Role.Words(), icon: theme.AccountIcon(),
			do: func(ctx context.Context) error { return u.wiz.SetPIN(ctx, serial) }}
	}
	body := []fyne.CanvasObject{
		para("Each key gets a FIDO2 PIN. Websites ask for it when you sign in with a passkey on the key, and without it nobody who finds the key can use it. Choose something you will remember: after 8 wrong tries the key locks its passkeys for good."),
		u.keyRows(st, func(k steps.StepKey) []*action {
			if k.Status == steps.StatusDone {
				serial := k.Serial
				return []*action{{label: "Change PIN", do: func(ctx context.Context) error { return u.wiz.ChangePIN(ctx, serial) }}}
			}
			a := set(k)
			a.label = "Set PIN"
			return []*action{a}
		}),
	}
	scr := screen{body: body}
	if k, ok := nextKey(st); ok {
		scr.primary = set(k)
	} else {
		scr.primary, scr.noNext = u.nextAction(), true
	}
	return scr
}

func (u *UI) serviceScreen(st steps.Step) screen {
	svc := st.Service
	if svc == nil || st.Status == steps.StatusNotApplicable {
		return screen{primary: u.nextAction(), noNext: true}
	}
	id := svc.ID
	open := func(k steps.StepKey) *action {
		serial := k.Serial
		return &action{label: "Open " + svc.Name, icon: theme.ComputerIcon(), do: func(ctx context.Context) error { return u.wiz.OpenService(ctx, id, serial) }}
	}
	check := func(k steps.StepKey) *action {
		serial := k.Serial
		return &action{label: "Verify", icon: theme.SearchIcon(), do: func(ctx context.Context) error { return u.wiz.Verify(ctx, id, serial) }}
	}
	attest := func(k steps.StepKey) *action {
		serial := k.Serial
		label := "I have done it"
		if st.CanVerify {
			// Verify is the way here; confirming by hand is a separate,
			// deliberate statement (the wizard asks to confirm it).
			label = "Confirm myself…"
		}
		return &action{label: label, icon: theme.ConfirmIcon(), do: func(ctx context.Context) error { return u.wiz.Attest(ctx, id, serial) }}
	}
	opened := func(k steps.StepKey) bool { return !k.OpenedAt.IsZero() || k.OpenByHand != "" }
	body := []fyne.CanvasObject{instructions(svc)}
	var saveAccount *action
	if svc.Verification.Kind == catalogue.KindFIDOCredential {
		text := "keywizard checks this by finding the passkey on the key, read with your FIDO2 PIN."
		if svc.PasskeyHint != "" {
			text = svc.PasskeyHint
		}
		body = append(body, u.messageBox(Message{Severity: Info, Title: "Choose the passkey option", Text: text}))
	} else {
		body = append(body, u.messageBox(Message{Severity: Info, Title: "You confirm this one", Text: svc.Name + " does not let keywizard see registered keys, so you confirm it yourself once the key is added."}))
	}
	if svc.Verification.User == catalogue.UserAccount {
		e := u.accounts[id]
		if e == nil {
			e = newEntry(svc.AccountLabel)
			e.OnEscape = u.escape
			u.accounts[id] = e
		}
		if e.Text == "" && u.snap.Person.Accounts[id] != "" {
			e.SetText(u.snap.Person.Accounts[id])
		}
		saveAccount = &action{label: "Save", do: func(ctx context.Context) error {
			var v string
			if !u.onMain(func() { v = e.Text }) {
				return ctx.Err()
			}
			return u.wiz.SetAccount(ctx, id, v)
		}}
		save := newButton("Save", nil)
		u.setAction(save, st.ID, saveAccount, u.snap.Busy != "")
		e.OnSubmitted = func(string) { save.OnTapped() }
		if st.NeedAccount {
			// Said before anything can be opened: the page is opened for
			// the account keywizard then looks for.
			body = append(body, u.messageBox(Message{Severity: Info, Title: "First, your " + svc.AccountLabel,
				Text: fmt.Sprintf("Enter your %s and save it. keywizard opens %s after that, and looks for the passkey made for that account.", svc.AccountLabel, svc.Name)}))
		}
		body = append(body, widget.NewForm(widget.NewFormItem(svc.AccountLabel, container.NewBorder(nil, nil, nil, save, e))))
	}
	if svc.URL != "" {
		body = append(body, &widget.Label{Text: "Page: " + svc.URL, TextStyle: fyne.TextStyle{Italic: true}, Wrapping: fyne.TextWrapBreak})
	}
	body = append(body, u.keyRows(st, func(k steps.StepKey) []*action {
		var as []*action
		if st.NeedAccount {
			return nil // the account name comes first
		}
		if st.CanOpen {
			as = append(as, open(k))
		}
		if st.CanVerify {
			as = append(as, check(k))
		}
		// A done key offers Redo rather than confirming again: the
		// result stands until the person clears it. Where keywizard can
		// verify, confirming by hand is offered once the page was opened.
		if st.CanAttest && k.Evidence == nil && (!st.CanVerify || opened(k)) {
			as = append(as, attest(k))
		}
		if k.Evidence != nil {
			as = append(as, u.redo(st.ID, k))
		}
		return as
	}))
	scr := screen{body: body}
	k, ok := nextKey(st)
	if ok && st.CanOpen {
		if other, plugged := otherPlugged(st, k); plugged {
			// The browser asks every plugged-in key, so both blink: a touch
			// on the Nano that stays in the laptop would register it again
			// instead of this key.
			note := u.messageBox(Message{Severity: Info, Title: "Touch only your " + k.Role.Words(),
				Text: fmt.Sprintf("Your %s is plugged in too, and both keys blink when the browser asks for a key. Touch only %s, or unplug the %s until this one is added.",
					other.Role.Words(), k.Label, other.Role.Words())})
			scr.body = append(scr.body[:len(scr.body)-1], note, scr.body[len(scr.body)-1])
		}
	}
	switch {
	case !ok:
		scr.primary, scr.noNext = u.nextAction(), true
	case st.NeedAccount && saveAccount != nil:
		p := *saveAccount
		p.label = "Save your " + svc.AccountLabel
		scr.primary = &p
	case st.CanOpen && k.OpenedAt.IsZero() && k.OpenByHand == "":
		// Once the browser has failed and the address was shown, Open
		// again would only fail again: the next action is the check (Open
		// stays on the key's row to retry the browser).
		scr.primary = open(k)
		scr.primary.label = fmt.Sprintf("Open %s for your %s", svc.Name, k.Role.Words())
	case st.CanVerify:
		scr.primary = check(k)
		scr.primary.label = "Verify your " + k.Role.Words()
	default:
		scr.primary = attest(k)
		scr.primary.label = "I have added my " + k.Role.Words()
	}
	if ok && len(svc.AlternateURLs) > 0 {
		// Alternate pages have long explanations: the text wraps beside a
		// short button.
		serial := k.Serial
		alt := container.NewVBox(&widget.Label{Text: "Other pages", TextStyle: fyne.TextStyle{Bold: true}})
		for _, l := range svc.AlternateURLs {
			url := l.URL
			b := newButton("", nil)
			u.setAction(b, st.ID, &action{label: "Open", icon: theme.ComputerIcon(),
				do: func(ctx context.Context) error { return u.wiz.OpenLink(ctx, id, serial, url) }}, u.snap.Busy != "")
			alt.Add(container.NewBorder(nil, nil, nil, container.NewVBox(b), para(sentence(l.Label))))
		}
		scr.body = append(scr.body, alt)
	}
	return scr
}

// instructions lists a service's steps, numbered.
func instructions(svc *catalogue.Service) fyne.CanvasObject {
	list := container.NewVBox()
	for i, in := range svc.Instructions {
		list.Add(para(fmt.Sprintf("%d. %s", i+1, in)))
	}
	return list
}

// redo clears a step's result on one key so it can be done again.
func (u *UI) redo(id steps.StepID, k steps.StepKey) *action {
	serial := k.Serial
	return &action{label: "Redo", icon: theme.ViewRefreshIcon(), do: func(ctx context.Context) error { return u.wiz.Redo(ctx, id, serial) }}
}

func (u *UI) macScreen(st steps.Step) screen {
	if st.Status == steps.StatusNotApplicable {
		return screen{body: []fyne.CanvasObject{
			u.messageBox(Message{Severity: Info, Title: "Does not apply on this computer", Text: sentence(st.Reason)}),
			para("Nothing to do here. If you also use a Mac for work, run keywizard there to set up smart-card login."),
		}, primary: u.nextAction(), noNext: true}
	}
	id := st.Service.ID
	setup := func(k steps.StepKey) *action {
		serial := k.Serial
		return &action{label: "Set up for Mac login", icon: theme.LoginIcon(), do: func(ctx context.Context) error { return u.wiz.ProvisionMac(ctx, id, serial) }}
	}
	body := []fyne.CanvasObject{
		para("Your keys become smart cards your Mac accepts at login and for unlocking: keywizard gives each key a new smart-card PIN and PUK, a random management key that only your PIN unlocks, and login certificates. Then macOS pairs the key with your account."),
		// How pairing goes, before the person starts: macOS's own prompt
		// comes after set-up, away from this window.
		instructions(st.Service),
		u.keyRows(st, func(k steps.StepKey) []*action {
			serial := k.Serial
			check := &action{label: "Check pairing", icon: theme.SearchIcon(), do: func(ctx context.Context) error { return u.wiz.Verify(ctx, id, serial) }}
			if k.Evidence != nil {
				// Set up and paired: setting up again is Redo (e.g. after
				// a forgotten smart-card PIN).
				return []*action{check, u.redo(st.ID, k)}
			}
			as := []*action{setup(k), check}
			if k.CanRedo {
				as = append(as, u.redo(st.ID, k))
			}
			return as
		}),
	}
	scr := screen{body: body}
	if k, ok := nextKey(st); ok {
		scr.primary = setup(k)
		scr.primary.label = "Set up your " + k.Role.Words() + " for Mac login"
	} else {
		scr.primary, scr.noNext = u.nextAction(), true
	}
	return scr
}

func (u *UI) otpScreen(st steps.Step) screen {
	off := func(k steps.StepKey) *action {
		serial := k.Serial
		return &action{label: "Turn off OTP", icon: theme.CancelIcon(), do: func(ctx context.Context) error { return u.wiz.DisableOTP(ctx, serial) }}
	}
	body := []fyne.CanvasObject{
		para("Touched briefly, a key types a one-time code as if it were a keyboard. With the everyday key always in the laptop, a brushed key pastes codes into chats and documents. keywizard turns that off; passkeys and smart-card login keep working."),
		u.keyRows(st, func(k steps.StepKey) []*action { return []*action{off(k)} }),
	}
	scr := screen{body: body}
	var todo []uint32
	for _, k := range st.Keys {
		if !k.Missing && k.Status != steps.StatusDone && k.Connected {
			todo = append(todo, k.Serial)
		}
	}
	k, ok := nextKey(st)
	switch {
	case ok && len(todo) > 1:
		// Nothing to choose or type per key: one click turns it off on
		// both, each read back on its own (a touch asked of each in turn);
		// the first that fails stops it, and its row says why.
		scr.primary = &action{label: "Turn off OTP on both keys", icon: theme.CancelIcon(), do: func(ctx context.Context) error {
			for _, serial := range todo {
				if err := u.wiz.DisableOTP(ctx, serial); err != nil {
					return err
				}
			}
			return nil
		}}
	case ok:
		scr.primary = off(k)
		scr.primary.label = "Turn off OTP on your " + k.Role.Words()
	default:
		scr.primary, scr.noNext = u.nextAction(), true
	}
	return scr
}

func (u *UI) reportScreen(st steps.Step) screen {
	s := u.snap
	body := []fyne.CanvasObject{
		para("keywizard tells IT which keys you have (model and serial) and, for each service, how it knows the key is registered: verified on the key, verified by the system, or confirmed by you. No PIN or password is sent."),
		// The proof may write to the key (a new key in a spare slot), so
		// the person is told before sending (docs/genuine-key.md).
		para("To prove each key is a genuine YubiKey, keywizard sends the key's own signed statement (PIV attestation). If the key has no key of its own to attest yet, keywizard makes one in a spare PIV slot; nothing else on the key changes."),
	}
	if st.Reason != "" {
		body = append(body, u.messageBox(Message{Severity: Warning, Text: st.Reason}))
	}
	if t := u.trackerPart(); t != nil {
		body = append(body, t)
	}
	if len(s.Remaining) > 0 {
		list := container.NewVBox(&widget.Label{Text: "Still to do (you can send now and again later):", TextStyle: fyne.TextStyle{Bold: true}})
		for _, r := range s.Remaining {
			list.Add(para("• " + r))
		}
		body = append(body, list)
	}
	send := func(ctx context.Context) error {
		if err := u.wiz.Report(ctx); !errors.Is(err, steps.ErrKeptLocally) {
			return err
		}
		// Kept on this computer: the step says "Not sent" and how to
		// connect; it is not a failure to show as one.
		return nil
	}
	scr := screen{body: body, primary: &action{label: "Send to IT", icon: theme.MailSendIcon(), do: send}}
	if t := s.Tracker; t.CanJoin && !t.Connected {
		// Not connected yet: the report can only be kept here; say so
		// rather than promise IT sees it.
		scr.primary.label, scr.primary.icon = "Keep the report on this computer", theme.DocumentSaveIcon()
	}
	if st.Status == steps.StatusDone {
		scr.primary, scr.noNext = u.nextAction(), true
		scr.secondary = []*action{{label: "Send again", icon: theme.MailSendIcon(), do: send}}
	}
	return scr
}

func (u *UI) summaryScreen() screen {
	text := u.wiz.Summary()
	// The summary writes the address as <name@company.com>, which Markdown
	// would take for an HTML tag and drop; show it plainly.
	shown := text
	if e := u.snap.Person.Email; e != "" {
		shown = strings.ReplaceAll(shown, "<"+e+">", "("+e+")")
	}
	rt := widget.NewRichTextFromMarkdown(shown)
	rt.Wrapping = fyne.TextWrapWord
	return screen{
		body:      []fyne.CanvasObject{rt},
		primary:   &action{label: "Copy summary", icon: theme.ContentCopyIcon(), local: func() { u.app.Clipboard().SetContent(text) }},
		secondary: append([]*action{{label: "Save summary…", icon: theme.DocumentSaveIcon(), local: func() { u.saveSummary(text) }}}, u.lostActions()...),
	}
}

// saveSummary asks where to save the summary and writes it there. The
// steps only provide the text; the file dialog belongs to the window.
func (u *UI) saveSummary(text string) {
	step := u.snap.Current
	done := func(err error) {
		if err != nil {
			// Called on Fyne's goroutine by the dialog, maybe not by a
			// replacement: fyne.Do is safe from both.
			fyne.Do(func() {
				if errors.Is(err, steps.ErrCancelled) {
					return
				}
				u.msg, u.msgStep = &Message{Severity: Error, Title: "The summary was not saved",
					Text: "Choose another folder or file name and save it again, or copy it instead.", Details: "saving the summary: " + err.Error()}, step
				u.renderBanner()
			})
		}
	}
	name := "keywizard-summary.md"
	if u.opts.SaveSummary != nil {
		u.opts.SaveSummary(name, text, done)
		return
	}
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		switch {
		case err != nil:
			done(err)
		case wc == nil:
			done(steps.ErrCancelled)
		default:
			_, werr := wc.Write([]byte(text))
			done(errors.Join(werr, wc.Close()))
		}
	}, u.win)
	d.SetFileName(name)
	d.Show()
}
