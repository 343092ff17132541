package ui

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/assets"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/ui/probe"
)

// DefaultSize is the window size keywizard opens at; the layout also works
// at 1024x768 exactly and on large screens (goldens at both).
var DefaultSize = fyne.NewSize(1024, 768)

// Options configure the UI.
type Options struct {
	// Theme replaces keywizard's theme (NewTheme, following the system's
	// light or dark setting) when set.
	Theme fyne.Theme
	// OnFirstFrame, when set, is called once when the window first paints
	// (the start-up benchmark: probe.FromEnv()).
	OnFirstFrame func()
	// OnFirstScreen, when set, is called once, from Fyne's painter, when
	// the window first paints a wizard step: the first frame after Attach's
	// first snapshot is rendered. With simulated keys that is seconds after
	// the first frame when vpcd's readers are busy (a note shows while the
	// keys are plugged in). The benchmark measures memory and idle CPU from
	// there (probe.ScreenFromEnv). Key detection (Watch) may still be
	// running behind that frame. It must return quickly.
	OnFirstScreen func()
	// Simulated says the keys are simulated (--simulate): the header
	// shows "Simulated keys" on every screen.
	Simulated bool
	// NoWatch stops Attach from following keys being plugged in and out
	// (Wizard.Watch) and from resending a report that waits to be sent;
	// tests that script key events themselves set it.
	NoWatch bool
	// Recheck makes Attach read the person's keys again when the wizard
	// resumes saved progress (Wizard.RecheckAll: PIN set, passkeys, OTP,
	// macOS pairing), so nothing is shown as done that no longer is.
	// keywizard-gui sets it; tests of a resumed window set it to see it.
	Recheck bool
	// ResendEvery is how often a report waiting to be sent (the tracker
	// did not answer) is sent again (Wizard.ResendPending); 0 means every
	// minute.
	ResendEvery time.Duration
	// SaveSummary, when set, replaces the file dialog of "Save summary…":
	// it gets a suggested file name and the text, and calls done once with
	// nil, steps.ErrCancelled, or what went wrong. Tests set it.
	SaveSummary func(name, text string, done func(error))
	// Diagnostics, when set, gives the recent trace of what was said to the
	// keys (device/trace, secrets as lengths only); an error's message then
	// offers "Copy diagnostics" to put it on the clipboard for IT.
	Diagnostics func() string
}

// UI is keywizard's window. It renders the wizard's snapshots and calls its
// methods; it implements steps.Prompter with dialogs. Create it with New,
// pass it to steps.New as the Prompter, then Attach the wizard:
//
//	u := ui.New(a, w, ui.Options{OnFirstFrame: probe.FromEnv()})
//	wiz, err := steps.New(ctx, steps.Options{Prompter: u, ...})
//	u.Attach(ctx, wiz)
//	w.ShowAndRun()
type UI struct {
	app  fyne.App
	win  fyne.Window
	opts Options

	ctx    context.Context
	cancel context.CancelFunc
	wiz    *steps.Wizard

	// snap is the last snapshot rendered: a cache of the wizard's state for
	// drawing, never changed by the UI.
	snap     steps.Snapshot
	haveSnap bool

	// View-only state: the message from the last failed action (cleared by
	// the next action or a step change) and the role choices being made on
	// the keys screen before they are saved.
	msg        *Message
	msgStep    steps.StepID
	roleChoice map[uint32]steps.Role

	// screenMark holds the OnFirstScreen probe once the first snapshot is
	// rendered; nil without OnFirstScreen.
	screenMark *fyne.Container

	// Widgets, kept so tests can tap and type (calculator's loadUI style).
	stepButtons map[steps.StepID]*Button
	rowButtons  map[uint32][]*Button // the current step's buttons on each key's row
	// lossButtons are the lost-key checklist's buttons per service;
	// secondaryButtons the current step's actions under its content.
	lossButtons      map[string][]*Button
	secondaryButtons []*Button
	sidebar          *fyne.Container
	heading          *widget.Label
	person           *widget.Label
	simulated        *widget.Label
	deadline         *widget.Label
	body             *fyne.Container
	banner           *fyne.Container
	mainScroll       *container.Scroll
	sideScroll       *container.Scroll
	busy             *widget.Label
	primary          *Button
	back, next       *Button

	// Persistent inputs (a re-render must not drop what is being typed).
	name, email, start *Entry
	accounts           map[string]*Entry
	join               *joinInputs // the report step's tracker form (join.go)

	// Prompts (prompt.go).
	dlg *activeDialog
	// pinKept is a PIN dialog answered and kept on screen while its action
	// runs; pinNote ("Wrong PIN. 7 tries left.") goes into the next PIN
	// dialog for key pinNoteKey (wrongPINAgain).
	pinKept    *activeDialog
	pinNote    string
	pinNoteKey uint32
	touch      *widget.PopUp
	touchOn    map[uint32]bool

	// roleButton takes the person to Your keys to give an arriving key a
	// role (nil when no such key is plugged in).
	roleButton *Button

	// problemPrimary is the primary action of ShowStartupProblem's screen
	// while it is shown (Enter taps it), else nil.
	problemPrimary *Button

	// unsubscribe stops the wizard's snapshots coming (Close).
	unsubscribe func()
	// actions are the wizard actions running; background the key watch
	// and the resend loop. Close waits for both: the UI owns every
	// goroutine it starts, and none outlives the window.
	actions    sync.WaitGroup
	background sync.WaitGroup
	idle       idleState
}

// idleState says whether the window waits for the person: no action is
// running, or one waits for an answer in a dialog. Settle waits on it.
type idleState struct {
	mu      sync.Mutex
	running int
	dialog  bool
	changed chan struct{} // closed and replaced on every change
}

// update changes the state and wakes whoever waits in Settle.
func (s *idleState) update(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

// idle reports whether the window waits for the person, and a channel
// closed at the next change.
func (s *idleState) idle() (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.running == 0 || s.dialog, s.changed
}

var _ steps.Prompter = (*UI)(nil)

// New builds the window's content for a, w. Nothing is shown until Attach.
// It sets the theme, the icon and the keyboard shortcuts.
func New(a fyne.App, w fyne.Window, opts Options) *UI {
	u := &UI{app: a, win: w, opts: opts, roleChoice: map[uint32]steps.Role{}, accounts: map[string]*Entry{}, touchOn: map[uint32]bool{}}
	th := opts.Theme
	if th == nil {
		th = NewTheme()
	}
	a.Settings().SetTheme(th)
	// A window shows the app's icon from its creation (Fyne's glfw driver
	// sets it in NewWindow), so a window made after the app icon was set
	// already has ours. Setting it again decodes the 512-pixel PNG and
	// sends the X server a 2 MB _NET_WM_ICON property once more, and the C
	// heap keeps that buffer: about 2 MB of resident memory (BENCHMARKS.md,
	// "Enrollment window": the window's memory target; measured under Xvfb
	// with scripts/guibench.sh's method).
	if w.Icon() != assets.Icon() {
		w.SetIcon(assets.Icon())
	}
	a.SetIcon(assets.Icon())
	w.SetTitle("keywizard")
	u.build()
	w.Resize(DefaultSize)
	return u
}

// Attach connects the wizard: the UI subscribes to its snapshots, starts
// following keys being plugged in and out, and shows the current step.
// ctx bounds every action the UI starts; Close ends them and everything
// else the UI started. Call it on Fyne's goroutine.
func (u *UI) Attach(ctx context.Context, wiz *steps.Wizard) {
	u.ctx, u.cancel = context.WithCancel(ctx)
	u.wiz = wiz
	// OnChange calls back at once and then from whichever goroutine changed
	// the state: hop to Fyne's goroutine (Fyne 2.6 threading).
	u.unsubscribe = wiz.OnChange(func(s steps.Snapshot) { fyne.Do(func() { u.render(s) }) })
	if s := wiz.Snapshot(); u.opts.Recheck && len(s.Keys) > 0 {
		// Resuming: what was done may have been undone meanwhile (a key
		// reset, a passkey deleted).
		u.run(s.Current, func(ctx context.Context) error { return wiz.RecheckAll(ctx) })
	}
	if !u.opts.NoWatch {
		// Watch first lists the keys, which can take seconds on real
		// hardware (PC/SC and HID scans): never before the first frame.
		u.background.Add(2)
		go func() {
			defer u.background.Done()
			done, err := wiz.Watch(u.ctx)
			if err != nil {
				fyne.Do(func() { u.showMessage(steps.StepKeys, err) })
				return
			}
			<-done
		}()
		go func() {
			defer u.background.Done()
			u.resendLoop(u.ctx)
		}()
	}
}

// Close ends everything the UI started, and returns once it has: the
// actions running (an open prompt answers cancelled), the key watch with
// the re-checks it started, and the resend loop. Snapshots published
// afterwards are not drawn. Call it when the window closes, on Fyne's
// goroutine or any other; tests call it when they end, so nothing of
// theirs draws while the next test starts.
func (u *UI) Close() {
	if u.cancel != nil {
		u.cancel()
	}
	if u.unsubscribe != nil {
		u.unsubscribe()
	}
	u.actions.Wait()
	u.background.Wait()
	fyne.Do(func() {
		u.closeDialog()
		if u.touch != nil {
			u.touch.Hide()
			u.touch = nil
		}
	})
}

// onMain runs f on Fyne's goroutine and waits for it, unless the window
// closes first (DoAndWait with the UI's context).
func (u *UI) onMain(f func()) bool { return DoAndWait(u.ctx, f) }

// DoAndWait runs f on Fyne's goroutine and waits for it, unless ctx ends
// first; it reports whether f ran, and when it did not, f never will. A
// goroutine that a window waits for when it closes uses it instead of
// fyne.DoAndWait: the window may wait on Fyne's goroutine (Close from
// SetOnClosed), which then never runs what the goroutine waits for.
func DoAndWait(ctx context.Context, f func()) bool {
	done := make(chan bool, 1)
	fyne.Do(func() {
		ran := ctx.Err() == nil
		if ran {
			f()
		}
		done <- ran
	})
	select {
	case ran := <-done:
		return ran
	case <-ctx.Done():
		return false
	}
}

// resendLoop sends a report that waits to be sent now and then, so
// "Waiting to send" turns into "Sent" once the tracker answers (and only
// then).
func (u *UI) resendLoop(ctx context.Context) {
	every := u.opts.ResendEvery
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if u.wiz.Snapshot().Busy == "" {
				_ = u.wiz.ResendPending(ctx)
			}
		}
	}
}

func (u *UI) build() {
	u.heading = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameHeadingText, Wrapping: fyne.TextWrapWord}
	u.person = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}}
	u.deadline = &widget.Label{Alignment: fyne.TextAlignTrailing}
	u.busy = &widget.Label{TextStyle: fyne.TextStyle{Italic: true}, Truncation: fyne.TextTruncateEllipsis, Alignment: fyne.TextAlignTrailing}
	u.body = container.NewVBox()
	u.banner = container.NewVBox()
	u.sidebar = container.NewVBox()
	u.stepButtons = map[steps.StepID]*Button{}
	u.primary = newButton("", nil)
	u.primary.Importance = widget.HighImportance
	u.back = newButton("Back", nil)
	u.back.Icon = theme.NavigateBackIcon()
	u.next = newButton("Skip for now", nil)
	u.next.Icon = theme.NavigateNextIcon()
	u.next.IconPlacement = widget.ButtonIconTrailingText
	u.name = newEntry("Your full name")
	u.email = newEntry("name@company.com")
	u.start = newEntry("YYYY-MM-DD")

	u.mainScroll = container.NewVScroll(container.New(maxWidth(readable), container.NewPadded(u.body)))
	u.simulated = &widget.Label{Text: "Simulated keys", TextStyle: fyne.TextStyle{Bold: true}, Importance: widget.WarningImportance}
	u.simulated.Hidden = !u.opts.Simulated
	logo := canvas.NewImageFromResource(assets.IconSVG())
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSize(28, 28))
	brand := container.NewHBox(container.NewCenter(logo), &widget.Label{Text: "keywizard", TextStyle: fyne.TextStyle{Bold: true}})
	// In simulation the header says so on every screen: nothing done here
	// reaches a real key.
	header := container.NewBorder(nil, widget.NewSeparator(), container.NewHBox(brand, u.simulated), container.NewHBox(u.person, u.deadline))
	u.sideScroll = container.NewVScroll(container.NewPadded(u.sidebar))
	side := container.NewBorder(nil, nil, nil, widget.NewSeparator(), u.sideScroll)
	footer := container.NewBorder(widget.NewSeparator(), nil, nil, nil, container.New(maxWidth(readable),
		container.NewBorder(nil, nil, container.NewHBox(u.back, u.next), u.primary, u.busy)))
	// On a large screen lines would run across the whole window: the
	// step's heading, content and buttons share one column of a readable
	// measure, centred in the space beside the step list, so the primary
	// button stays at the form's edge however wide the window is.
	main := container.NewBorder(container.New(maxWidth(readable), container.NewVBox(u.heading, u.banner)), footer, nil, nil,
		u.mainScroll)
	split := container.NewBorder(nil, nil, sideWidth{side}.object(), nil, container.NewPadded(main))
	var content fyne.CanvasObject = container.NewBorder(container.NewPadded(header), nil, nil, nil, split)
	if u.opts.OnFirstFrame != nil {
		content = container.NewStack(probe.FirstFrame(u.opts.OnFirstFrame), content)
	}
	if u.opts.OnFirstScreen != nil {
		// No layout: the probe keeps its 1x1 size behind the content.
		u.screenMark = container.NewWithoutLayout()
		content = container.NewStack(u.screenMark, content)
	}
	u.win.SetContent(content)

	c := u.win.Canvas()
	revealers.Store(c, u.reveal)
	c.SetOnTypedKey(u.typedKey)
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) { u.tapIfEnabled(u.back) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyRight, Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) { u.tapIfEnabled(u.next) })
}

// readable is the widest the step's column gets: body text of about 110
// characters a line, two key cards side by side, the buttons under them.
const readable = 1040

// maxWidth lays its objects out at most that wide, centred.
type maxWidth float32

func (m maxWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w := min(size.Width, float32(m))
	for _, o := range objs {
		o.Resize(fyne.NewSize(w, size.Height))
		o.Move(fyne.NewPos((size.Width-w)/2, 0))
	}
}

func (m maxWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

// sideWidth fixes the step list's width so the main area gets the rest at
// 1024x768 and on large screens alike.
type sideWidth struct{ o fyne.CanvasObject }

func (s sideWidth) object() fyne.CanvasObject {
	return container.New(fixedWidth(290), s.o)
}

type fixedWidth float32

func (f fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

// MinSize lays each object out at the fixed width first: word-wrapped
// labels inside know their height only once they have a width.
func (f fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		if o.Size().Width != float32(f) {
			o.Resize(fyne.NewSize(float32(f), o.MinSize().Height))
		}
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(float32(f), h)
}

// reveal scrolls the step's content or the step list so that o, which
// just got the keyboard focus, is in view: Fyne moves the focus with Tab but
// leaves the scroll where it is.
func (u *UI) reveal(o fyne.CanvasObject) {
	d := fyne.CurrentApp().Driver()
	pos, size := d.AbsolutePositionForObject(o), o.Size()
	for _, s := range []*container.Scroll{u.mainScroll, u.sideScroll} {
		if s == nil || s.Content == nil || !s.Visible() {
			continue
		}
		sp := d.AbsolutePositionForObject(s)
		// Inside this scroll's content?
		top := sp.Y - s.Offset.Y
		if pos.X < sp.X || pos.X >= sp.X+s.Size().Width || pos.Y < top || pos.Y >= top+s.Content.Size().Height {
			continue
		}
		y := pos.Y - sp.Y // relative to the visible area
		const margin = 8
		switch {
		case y < 0:
			s.Offset.Y = max(0, s.Offset.Y+y-margin)
		case y+size.Height > s.Size().Height:
			s.Offset.Y = min(s.Content.Size().Height-s.Size().Height, s.Offset.Y+y+size.Height-s.Size().Height+margin)
		default:
			return
		}
		s.Refresh()
		return
	}
}

// typedKey handles keys nothing focused took: Enter is the primary action,
// Escape closes the open dialog.
func (u *UI) typedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if u.problemPrimary != nil { // ShowStartupProblem's screen is up
			u.problemPrimary.OnTapped()
			return
		}
		if u.dlg != nil {
			u.dlg.submit()
			return
		}
		u.tapIfEnabled(u.primary)
	case fyne.KeyEscape:
		if u.dlg != nil {
			u.dlg.cancel()
		}
	}
}

func (u *UI) tapIfEnabled(b *Button) {
	if b.Hidden || b.Disabled() || b.OnTapped == nil || u.dlg != nil {
		return
	}
	b.OnTapped()
}

// run starts a wizard action off Fyne's goroutine (actions may wait for a
// prompt the person answers on Fyne's goroutine) and shows its error, if
// any, on the step it was started from. It runs on Fyne's goroutine.
func (u *UI) run(step steps.StepID, f func(ctx context.Context) error) {
	u.begin()
	u.launch(step, f)
}

// begin counts an action as running from now on (Settle and Close see it).
func (u *UI) begin() {
	u.actions.Add(1)
	u.idle.update(func() { u.idle.running++ })
}

// launch runs an action counted by begin.
func (u *UI) launch(step steps.StepID, f func(ctx context.Context) error) {
	u.msg = nil
	u.renderBanner()
	go func() {
		defer u.actions.Done()
		defer u.idle.update(func() { u.idle.running-- })
		for {
			err := f(u.ctx)
			// Decided and shown before the action counts as finished, so
			// Settle never sees a gap between a wrong PIN and its retry.
			// Once the window closes nothing is shown (Close closes the
			// dialogs).
			again := false
			shown := u.onMain(func() {
				if again = u.wrongPINAgain(err); !again && err != nil {
					u.showMessage(step, err)
				}
			})
			if !shown || !again {
				return
			}
		}
	}()
}

// Wait blocks until the actions the UI started have finished. Tests and the
// screenshot tool use it to reach a settled screen.
func (u *UI) Wait() { u.actions.Wait() }

// Go starts f as a wizard action from the current step, exactly as a
// button does (off Fyne's goroutine; its error shown on the step). It never
// waits for Fyne, so it may be called from any goroutine, Fyne's included;
// the action counts as running (Settle, Close) when Go returns.
func (u *UI) Go(f func(ctx context.Context) error) {
	u.begin()
	fyne.Do(func() { u.launch(u.snap.Current, f) })
}

// Settle waits until no action is running or one is waiting for the person
// in a dialog, for at most limit. Tests and the screenshot tool use it; the
// UI itself never polls.
func (u *UI) Settle(limit time.Duration) bool {
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for {
		idle, changed := u.idle.idle()
		if idle {
			return true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return false
		}
	}
}

// ShowError shows err on the current step as the UI does when an action
// fails (the screenshot tool and goldens use it to draw error states).
func (u *UI) ShowError(err error) { u.showMessage(u.snap.Current, err) }

func (u *UI) showMessage(step steps.StepID, err error) {
	m, ok := Explain(err)
	if !ok {
		return
	}
	u.msg, u.msgStep = &m, step
	u.renderBanner()
}

// Message returns the message shown for the last failed action, if any.
func (u *UI) Message() (Message, bool) {
	if u.msg == nil {
		return Message{}, false
	}
	return *u.msg, true
}

// Snapshot returns the last snapshot the UI rendered.
func (u *UI) Snapshot() steps.Snapshot { return u.snap }

// render draws a snapshot. It runs on Fyne's goroutine.
func (u *UI) render(s steps.Snapshot) {
	if u.haveSnap && s.Seq < u.snap.Seq {
		return // a late delivery of an older state
	}
	if u.haveSnap && s.Current != u.snap.Current && u.msgStep != s.Current {
		u.msg = nil
	}
	first := !u.haveSnap
	u.snap, u.haveSnap = s, true
	u.renderSidebar()
	u.renderHeader()
	u.renderStep()
	u.renderBanner()
	if first && u.screenMark != nil {
		// Painted in the same frame as the step just rendered.
		p := probe.FirstFrame(u.opts.OnFirstScreen)
		p.Resize(fyne.NewSize(1, 1))
		u.screenMark.Add(p)
	}
}

func (u *UI) renderHeader() {
	s := u.snap
	if s.Started {
		u.person.SetText(s.Person.Name)
	} else {
		u.person.SetText("")
	}
	text, overdue := DeadlineText(s)
	u.deadline.Importance = widget.MediumImportance
	if overdue {
		u.deadline.Importance = widget.WarningImportance
	}
	u.deadline.SetText(text)
	u.deadline.Refresh()
	if s.Busy != "" {
		u.busy.SetText(s.Busy + "…")
	} else {
		u.busy.SetText("")
	}
}

// statusIcon is the side list's icon for a status.
func statusIcon(st steps.Status) fyne.Resource {
	switch st {
	case steps.StatusDone:
		return theme.NewSuccessThemedResource(theme.ConfirmIcon())
	case steps.StatusCurrent:
		return theme.NewPrimaryThemedResource(theme.NavigateNextIcon())
	case steps.StatusNotApplicable:
		return theme.NewDisabledResource(theme.ContentRemoveIcon())
	case steps.StatusNeedsAttention:
		return theme.NewWarningThemedResource(theme.WarningIcon())
	}
	return theme.RadioButtonIcon()
}

func (u *UI) renderSidebar() {
	s := u.snap
	ids := make([]steps.StepID, len(s.Steps))
	for i, st := range s.Steps {
		ids[i] = st.ID
	}
	if len(u.sidebar.Objects) != len(ids) || !slices.EqualFunc(u.sidebar.Objects, ids, func(o fyne.CanvasObject, id steps.StepID) bool { return u.stepButtons[id] == o }) {
		u.stepButtons = map[steps.StepID]*Button{}
		objs := make([]fyne.CanvasObject, len(ids))
		for i, id := range ids {
			b := newButton("", func() { u.run(id, func(ctx context.Context) error { return u.wiz.GoTo(ctx, id) }) })
			b.Alignment = widget.ButtonAlignLeading
			u.stepButtons[id] = b
			objs[i] = b
		}
		u.sidebar.Objects = objs
		u.sidebar.Refresh()
	}
	for _, st := range s.Steps {
		b := u.stepButtons[st.ID]
		b.Icon = statusIcon(st.Status)
		b.Text = st.Title
		b.Importance = widget.LowImportance
		if st.ID == s.Current {
			b.Importance = widget.MediumImportance
		}
		if s.Busy != "" || (!s.Started && st.Kind != steps.KindWelcome) {
			b.Disable()
		} else {
			b.Enable()
		}
		b.Refresh()
	}
}

func (u *UI) renderBanner() {
	var objs []fyne.CanvasObject
	if u.msg != nil && (!u.haveSnap || u.msgStep == u.snap.Current) {
		objs = append(objs, u.messageBox(*u.msg))
	}
	for _, m := range u.snap.Messages {
		objs = append(objs, u.messageBox(Message{Severity: Info, Text: m}))
	}
	if s := u.snap; s.Started && s.Current != steps.StepKeys && len(s.Unknown) > 0 {
		// A key that arrives gets a way to its role, not only a note.
		b := newButton("", nil)
		u.setAction(b, s.Current, &action{label: fmt.Sprintf("Give serial %d a role", s.Unknown[0].Serial), icon: theme.AccountIcon(),
			do: func(ctx context.Context) error { return u.wiz.GoTo(ctx, steps.StepKeys) }}, s.Busy != "")
		u.roleButton = b
		objs = append(objs, container.NewHBox(b))
	} else {
		u.roleButton = nil
	}
	u.banner.Objects = objs
	// The banner's height changes the main area's layout, and word-wrapped
	// labels know their height only once they have a width: lay the window
	// out twice (the GL window would catch up on its next frames; the test
	// canvas and the first frame would not).
	c := u.win.Content()
	c.Refresh()
	c.Refresh()
}

// messageBox draws a message: icon, bold headline, the text, and for a
// failed browser the address with a copy button.
func (u *UI) messageBox(m Message) fyne.CanvasObject {
	icon := theme.InfoIcon()
	imp := widget.MediumImportance
	switch m.Severity {
	case Warning:
		icon = theme.NewWarningThemedResource(theme.WarningIcon())
		imp = widget.WarningImportance
	case Error:
		icon = theme.NewErrorThemedResource(theme.ErrorIcon())
		imp = widget.DangerImportance
	}
	lines := container.NewVBox()
	if m.Title != "" {
		lines.Add(&widget.Label{Text: m.Title, TextStyle: fyne.TextStyle{Bold: true}, Importance: imp, Wrapping: fyne.TextWrapWord})
	}
	lines.Add(&widget.Label{Text: m.Text, Wrapping: fyne.TextWrapWord})
	if m.URL != "" {
		url := m.URL
		copyBtn := newButton("Copy address", func() { u.app.Clipboard().SetContent(url) })
		copyBtn.Icon = theme.ContentCopyIcon()
		lines.Add(container.NewBorder(nil, nil, nil, copyBtn, &widget.Label{Text: url, Selectable: true, Wrapping: fyne.TextWrapBreak}))
	}
	if m.Severity == Error && u.opts.Diagnostics != nil {
		diag := u.opts.Diagnostics
		copyDiag := newButton("Copy diagnostics", func() { u.app.Clipboard().SetContent(diag()) })
		copyDiag.Icon = theme.ContentCopyIcon()
		copyDiag.Importance = widget.LowImportance
		lines.Add(container.NewHBox(copyDiag))
	}
	if m.Details != "" {
		// What went wrong in the program's words, for IT: out of the way,
		// and copied whole with one click.
		details := m.Details
		copyBtn := newButton("Copy details", func() { u.app.Clipboard().SetContent(details) })
		copyBtn.Icon = theme.ContentCopyIcon()
		body := container.NewVBox(&widget.Label{Text: details, Selectable: true, Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Monospace: true}},
			container.NewHBox(copyBtn))
		lines.Add(widget.NewAccordion(widget.NewAccordionItem("Details", body)))
	}
	return widget.NewCard("", "", container.NewBorder(nil, nil, container.NewVBox(widget.NewIcon(icon)), nil, lines))
}

func stepID(s string) steps.StepID { return steps.StepID(s) }
