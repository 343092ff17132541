package steps

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// Options are the wizard's collaborators and settings. Keys, Browser,
// Prompter, Reporter and Store are required.
type Options struct {
	Catalogue *catalogue.Catalogue // nil: catalogue.Default()
	Keys      Keys
	Browser   Browser
	Prompter  Prompter
	Reporter  Reporter
	Store     Store
	Clock     Clock          // nil: the system clock
	SmartCard SmartCardLogin // nil: macOS smart-card login not available
	// GOOS decides which services apply; "" means runtime.GOOS.
	GOOS string
	// OSUser is the login name sc_auth pairs keys with.
	OSUser string
	// AppVersion goes into the report.
	AppVersion string
	// LossReporter tells the tracker about a lost key at once (nil: the
	// Reporter, when it is one; else no tracker is told, and the lost-key
	// step says so).
	LossReporter LossReporter
	// Tracker connects this computer to the onboarding tracker with an
	// invite code (nil: the report step offers no way to connect).
	Tracker Tracker
	// KeepNFCOTP leaves OTP on over NFC (Yubico Authenticator for Android's
	// "on NFC tap" needs it, docs/services.md §6); by default it is turned off
	// over both USB and NFC.
	KeepNFCOTP bool
}

// Wizard is the enrollment state machine. Its methods are safe to call from
// any goroutine; actions run one at a time.
type Wizard struct {
	o Options

	act sync.Mutex // one action at a time (held across prompts and key calls)

	mu        sync.Mutex // guards everything below
	p         *Progress
	connected map[uint32]device.Key
	attention map[StepID]map[uint32]error
	// byHand holds, per step and key, the address the person was shown to
	// open themselves after the browser failed; like attention it lasts
	// for this run only (a later run tries the browser again).
	byHand   map[StepID]map[uint32]string
	stepNote map[StepID]string
	// replug holds keys that refuse every FIDO2 PIN until they are
	// replugged (ReplugNeededError); a key leaving clears it.
	replug map[uint32]bool
	// restarting holds keys keywizard is reconfiguring (turning OTP off
	// reboots the key): their leaving is a restart, not an unplug. Cleared
	// when the key is back.
	restarting map[uint32]bool
	// passkeysRead holds keys whose passkeys were read with the PIN in
	// this run, so reporting need not ask for the PIN again.
	passkeysRead map[uint32]bool
	// lossNote holds, per service ID, the last problem with the lost
	// key's checklist item (this run only).
	lossNote map[string]error
	busy     string
	tracker  TrackerState
	seq      uint64
	subs     map[int]func(Snapshot)
	nextSub  int

	notify sync.Mutex // serialises deliveries to subscribers
}

// New creates a wizard, resuming saved progress from the Store if there is
// any. A damaged progress file is an error matching ErrDamagedProgress.
func New(ctx context.Context, o Options) (*Wizard, error) {
	if o.Keys == nil || o.Browser == nil || o.Prompter == nil || o.Reporter == nil || o.Store == nil {
		return nil, fmt.Errorf("steps.New needs Keys, Browser, Prompter, Reporter and Store: %w", device.ErrInvalidArgument)
	}
	if o.Catalogue == nil {
		o.Catalogue = catalogue.Default()
	} else {
		o.Catalogue = o.Catalogue.Clone()
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
	p, err := o.Store.Load(ctx)
	switch {
	case errors.Is(err, ErrNoProgress):
		p = newProgress()
	case err != nil:
		return nil, fmt.Errorf("loading your progress: %w", err)
	}
	w := &Wizard{
		o: o, p: p,
		connected: map[uint32]device.Key{},
		attention: map[StepID]map[uint32]error{},
		byHand:    map[StepID]map[uint32]string{},
		stepNote:  map[StepID]string{},
		subs:      map[int]func(Snapshot){},

		replug:       map[uint32]bool{},
		restarting:   map[uint32]bool{},
		passkeysRead: map[uint32]bool{},
		lossNote:     map[string]error{},
	}
	w.initTracker()
	if !w.hasStep(p.Current) {
		// The organisation's catalogue changed since the last run (a
		// service was dropped): carry on at the first step still to do.
		p.Current = StepWelcome
		if p.Person != nil {
			p.Current = w.nextLocked(StepWelcome)
		}
	}
	return w, nil
}

// OnChange subscribes f to snapshots; f is called at once with the current
// state and then after every change, never concurrently with itself. f runs
// on the goroutine that made the change and must not call the wizard's
// actions itself (hand the snapshot to the UI goroutine, e.g. with fyne.Do);
// Snapshot is fine. The returned function unsubscribes.
func (w *Wizard) OnChange(f func(Snapshot)) (cancel func()) {
	w.mu.Lock()
	id := w.nextSub
	w.nextSub++
	w.subs[id] = f
	w.mu.Unlock()
	w.publish()
	return func() {
		w.mu.Lock()
		delete(w.subs, id)
		w.mu.Unlock()
	}
}

// Snapshot returns the current state.
func (w *Wizard) Snapshot() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.snapshotLocked()
}

func (w *Wizard) publish() {
	w.notify.Lock()
	defer w.notify.Unlock()
	w.mu.Lock()
	w.seq++
	s := w.snapshotLocked()
	subs := make([]func(Snapshot), 0, len(w.subs))
	for _, id := range sortedInts(w.subs) {
		subs = append(subs, w.subs[id])
	}
	w.mu.Unlock()
	for _, f := range subs {
		f(s)
	}
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// begin starts an action: one at a time, shown as Busy.
func (w *Wizard) begin(what string) func() {
	w.act.Lock()
	w.mu.Lock()
	w.busy = what
	w.mu.Unlock()
	w.publish()
	return func() {
		w.mu.Lock()
		w.busy = ""
		w.mu.Unlock()
		w.act.Unlock()
		w.publish()
	}
}

// saveLocked writes progress; the caller holds w.mu.
func (w *Wizard) saveLocked(ctx context.Context) error {
	w.p.UpdatedAt = w.o.Clock.Now()
	if err := w.o.Store.Save(ctx, w.p.clone()); err != nil {
		return fmt.Errorf("saving your progress (what you did is still on screen; try again): %w", err)
	}
	return nil
}

// update applies f to the progress under the lock and saves it.
func (w *Wizard) update(ctx context.Context, f func(p *Progress)) error {
	w.mu.Lock()
	f(w.p)
	err := w.saveLocked(ctx)
	w.mu.Unlock()
	return err
}

// --- steps and prerequisites -------------------------------------------

func (w *Wizard) service(id StepID) (catalogue.Service, bool) {
	return w.o.Catalogue.Service(string(id))
}

// notApplicable says why a service does not apply here, or "".
func (w *Wizard) notApplicable(s catalogue.Service) string {
	if !s.AppliesOn(w.o.GOOS) {
		return fmt.Sprintf("%s applies only on %s; this computer runs %s", s.Name, osNames(s.Platforms), osName(w.o.GOOS))
	}
	if s.Verification.Kind == catalogue.KindSCAuth {
		if w.o.SmartCard == nil {
			return "smart-card login cannot be set up by this build of keywizard"
		}
		if ok, why := w.o.SmartCard.Supported(); !ok {
			return why
		}
		if w.o.OSUser == "" {
			return "keywizard could not tell which macOS user to pair the key with"
		}
	}
	return ""
}

func osName(goos string) string {
	switch goos {
	case "darwin":
		return "macOS"
	case "linux":
		return "Linux"
	case "windows":
		return "Windows"
	}
	return goos
}

func osNames(goos []string) string {
	n := make([]string, len(goos))
	for i, g := range goos {
		n[i] = osName(g)
	}
	return strings.Join(n, " or ")
}

// checkReachable enforces the only hard prerequisites: who you are, then at
// least one key.
func (w *Wizard) checkReachableLocked(id StepID) error {
	e, ok := w.entry(id)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownStep, id)
	}
	if e.def.needs >= needsPerson && w.p.Person == nil {
		return ErrNotStarted
	}
	if e.def.needs >= needsKeys && len(w.p.Keys) == 0 {
		return ErrNoKeys
	}
	return nil
}

// keyRefLocked names an assigned key, or fails with ErrNotYourKey.
func (w *Wizard) keyRefLocked(serial uint32) (KeyRef, AssignedKey, error) {
	k, ok := w.p.key(serial)
	if !ok {
		return KeyRef{}, AssignedKey{}, fmt.Errorf("serial %d: %w", serial, ErrNotYourKey)
	}
	return KeyRef{Serial: k.Serial, Model: k.Model, Role: k.Role, Label: Label(k.Role, k.Model, k.Serial)}, k, nil
}

// prepare checks an action on (step, serial) may run and names the key.
func (w *Wizard) prepare(id StepID, serial uint32) (KeyRef, AssignedKey, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkReachableLocked(id); err != nil {
		return KeyRef{}, AssignedKey{}, err
	}
	return w.keyRefLocked(serial)
}

// setAttention records (or with nil clears) a step's problem on a key.
func (w *Wizard) setAttention(id StepID, serial uint32, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.attention[id]
	if m == nil {
		m = map[uint32]error{}
		w.attention[id] = m
	}
	if err == nil {
		delete(m, serial)
	} else {
		m[serial] = err
	}
}

// fail records err against the step and key and returns it. Wrong-key and
// not-found errors from Keys are turned into *WrongKeyError when another
// key is plugged in.
func (w *Wizard) fail(ctx context.Context, id StepID, ref KeyRef, err error) error {
	switch {
	case errors.Is(err, device.ErrAmbiguous):
		// Two plugged-in keys could own the FIDO interface the operation
		// reached (device/scan correlates by AAGUID and firmware and says
		// so rather than guess); with one key plugged in it cannot happen.
		err = fmt.Errorf("keywizard cannot tell which plugged-in key answered; unplug every key except %s and try again: %w", ref.Label, err)
	case errors.Is(err, device.ErrNotFound) && !errors.Is(err, ErrNotVerified):
		err = w.whichKey(ctx, ref, err)
	}
	var pe *device.PINError
	switch {
	case errors.As(err, &pe) && pe.Which == device.FIDO2PIN:
		w.noteRetries(ref.Serial, pe.Retries)
	case errors.As(err, &pe):
	case errors.Is(err, device.ErrBlocked) && !errors.Is(err, ErrReplugNeeded):
		// A temporary FIDO2 block (replug needed): ask the key for the
		// tries left rather than guess; getPINRetries still answers. No
		// PIN is asked of this key until it has been replugged.
		_, _ = w.fidoState(ctx, ref.Serial)
		w.mu.Lock()
		w.replug[ref.Serial] = true
		w.mu.Unlock()
	}
	w.setAttention(id, ref.Serial, err)
	return err
}

// whichKey turns "serial X not connected" into a *WrongKeyError naming the
// key that is there, if any.
func (w *Wizard) whichKey(ctx context.Context, ref KeyRef, orig error) error {
	keys, err := w.o.Keys.List(ctx)
	if err != nil {
		return orig
	}
	w.setConnected(keys)
	var present []uint32
	for _, k := range keys {
		if k.Serial == ref.Serial {
			return orig // it is there; the error was about something else
		}
		present = append(present, k.Serial)
	}
	w.mu.Lock()
	var mine []string
	for _, s := range present {
		if k, ok := w.p.key(s); ok {
			mine = append(mine, "Your "+k.Role.Words())
		}
	}
	w.mu.Unlock()
	if len(mine) == len(present) {
		// Nothing but the person's own keys (or nothing) is plugged in:
		// the advice is the missing key, never "swap", since the other
		// key may stay.
		return &KeyUnpluggedError{Serial: ref.Serial, Label: ref.Label, Others: strings.Join(mine, " and ")}
	}
	w.mu.Lock()
	got := present[0]
	for _, s := range present {
		if _, ok := w.p.key(s); !ok {
			got = s // the stranger is the one to name
			break
		}
	}
	gotLabel := fmt.Sprintf("serial %d", got)
	if k, ok := w.p.key(got); ok {
		gotLabel = Label(k.Role, k.Model, k.Serial)
	} else if k, ok := w.connected[got]; ok {
		gotLabel = fmt.Sprintf("%s · serial %d, which is not one of your keys", k.Model, got)
	}
	w.mu.Unlock()
	return &WrongKeyError{Want: ref.Serial, Got: got, WantLabel: ref.Label, GotLabel: gotLabel}
}

// requirePresent checks the key is plugged in, for steps that need it but
// make no key call of their own (opening a registration page).
func (w *Wizard) requirePresent(ctx context.Context, ref KeyRef) error {
	keys, err := w.o.Keys.List(ctx)
	if err != nil {
		return fmt.Errorf("looking for your keys: %w", err)
	}
	w.setConnected(keys)
	for _, k := range keys {
		if k.Serial == ref.Serial {
			return nil
		}
	}
	return w.whichKey(ctx, ref, &device.KeyNotFoundError{Serial: ref.Serial})
}

// record stores evidence for a step on a key and moves on when the step is
// complete.
func (w *Wizard) record(ctx context.Context, id StepID, serial uint32, e Evidence) error {
	w.setAttention(id, serial, nil)
	w.mu.Lock()
	defer w.mu.Unlock()
	it := w.p.item(id, serial)
	e.CheckedAt = e.At
	it.Evidence = &e
	it.Lost = ""
	if w.p.Current == id && w.stepDoneLocked(id) {
		w.p.Current = w.nextLocked(id)
	}
	return w.saveLocked(ctx)
}

// withTouch runs op with a context through which the Keys implementation
// says when the key waits for a touch (NotifyTouch); the person is told
// then, and only then. A timer here could not tell a slow key from one
// blinking for a touch, and would show a misleading prompt.
func (w *Wizard) withTouch(ctx context.Context, ref KeyRef, op func(ctx context.Context) error) error {
	var (
		mu      sync.Mutex
		waiting bool
	)
	notify := func(on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on != waiting {
			waiting = on
			w.o.Prompter.TouchKey(ref, on)
		}
	}
	err := op(context.WithValue(ctx, touchKey{}, notify))
	notify(false)
	return err
}

type touchKey struct{}

// NotifyTouch is for Keys implementations: called with true when the key
// starts waiting for a touch (device/fido's Options.OnTouch, a PIV key with
// a touch policy) and false when it stops, it shows or hides the person's
// "touch your key" prompt for the operation ctx belongs to. Request-scoped
// hooks in a context follow net/http/httptrace. Without a wizard
// operation in ctx it does nothing.
func NotifyTouch(ctx context.Context, waiting bool) {
	if f, ok := ctx.Value(touchKey{}).(func(bool)); ok {
		f(waiting)
	}
}

// --- actions -----------------------------------------------------------

// Start records who the person is (welcome step) and moves to the keys.
// Calling it again updates the person and keeps all progress.
func (w *Wizard) Start(ctx context.Context, person Person) error {
	defer w.begin("Saving who you are")()
	person.Name = strings.TrimSpace(person.Name)
	// The tracker keys people on their lower-case address (tracker
	// checkEmail); passkey user names are matched ignoring case anyway.
	person.Email = strings.ToLower(strings.TrimSpace(person.Email))
	if err := CheckPerson(person, ""); err != nil {
		return err
	}
	y, m, d := person.StartDate.Date()
	person.StartDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if person.Accounts != nil {
		// Our own copy: the caller may reuse its map.
		accounts := make(map[string]string, len(person.Accounts))
		for k, v := range person.Accounts {
			if v = strings.TrimSpace(v); v != "" {
				accounts[k] = v
			}
		}
		person.Accounts = accounts
	}
	return w.update(ctx, func(p *Progress) {
		if p.Person != nil && person.Accounts == nil {
			person.Accounts = p.Person.Accounts
		}
		p.Person = &person
		if p.Current == StepWelcome {
			p.Current = StepKeys
		}
	})
}

// CheckPerson returns a *PersonError listing every problem with person (as
// Start cleans it: trimmed, lower-case e-mail), or nil. dateProblem, when
// not empty, replaces the missing-date problem: the window says how to
// write a date it could not read.
func CheckPerson(person Person, dateProblem string) error {
	var problems []string
	if strings.TrimSpace(person.Name) == "" {
		problems = append(problems, "enter your name")
	}
	email := strings.ToLower(strings.TrimSpace(person.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		problems = append(problems, "enter your work e-mail address (like name@company.com)")
	}
	switch {
	case dateProblem != "":
		problems = append(problems, dateProblem)
	case person.StartDate.IsZero():
		problems = append(problems, "enter your start date")
	}
	if len(problems) > 0 {
		return &PersonError{Problems: problems}
	}
	return nil
}

// SetAccount records the person's account name for a service that matches
// passkeys by it (catalogue user "account", e.g. the GitHub username).
func (w *Wizard) SetAccount(ctx context.Context, serviceID, account string) error {
	defer w.begin("Saving your account name")()
	s, ok := w.service(StepID(serviceID))
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownStep, serviceID)
	}
	account = strings.TrimSpace(account)
	if account == "" {
		return fmt.Errorf("enter your %s: %w", s.AccountLabel, device.ErrInvalidArgument)
	}
	w.mu.Lock()
	if w.p.Person == nil {
		w.mu.Unlock()
		return ErrNotStarted
	}
	w.mu.Unlock()
	return w.update(ctx, func(p *Progress) {
		if p.Person.Accounts == nil {
			p.Person.Accounts = map[string]string{}
		}
		p.Person.Accounts[serviceID] = account
	})
}

// DetectKeys looks for plugged-in keys; the snapshot's Detected lists them
// with suggested roles.
func (w *Wizard) DetectKeys(ctx context.Context) error {
	defer w.begin("Looking for your keys")()
	keys, err := w.o.Keys.List(ctx)
	if err != nil {
		w.mu.Lock()
		w.stepNote[StepKeys] = "Could not look for keys: " + err.Error()
		w.mu.Unlock()
		return fmt.Errorf("looking for your keys: %w", err)
	}
	w.setConnected(keys)
	w.mu.Lock()
	delete(w.stepNote, StepKeys)
	w.mu.Unlock()
	if len(keys) == 0 {
		return fmt.Errorf("no YubiKey found; plug one in and try again: %w", device.ErrNotFound)
	}
	return nil
}

func (w *Wizard) setConnected(keys []device.Key) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.connected
	w.connected = map[uint32]device.Key{}
	for _, k := range keys {
		w.connected[k.Serial] = k
		if f := old[k.Serial].FIDO; k.FIDO == nil && f != nil {
			k.FIDO = f // keep the PIN state read earlier
			w.connected[k.Serial] = k
		}
	}
	for s := range w.replug {
		if _, ok := w.connected[s]; !ok {
			// Gone since: the replug has happened (or is happening).
			delete(w.replug, s)
		}
	}
}

// AssignRoles gives keys their roles: everyday (the Nano in the laptop) and
// backup (mobile + backup). A serial of 0 leaves that role without a key
// (one key only: its steps wait). Keys must be plugged in, or already be
// the person's. Progress recorded for a key stays with its serial.
func (w *Wizard) AssignRoles(ctx context.Context, everyday, backup uint32) error {
	defer w.begin("Saving your keys")()
	if everyday == 0 && backup == 0 {
		return fmt.Errorf("choose at least one key: %w", ErrNoKeys)
	}
	if everyday == backup {
		return fmt.Errorf("one key cannot be both the everyday and the backup key; choose two different keys: %w", device.ErrInvalidArgument)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.p.Person == nil {
		return ErrNotStarted
	}
	var keys []AssignedKey
	for _, a := range []struct {
		serial uint32
		role   Role
	}{{everyday, RoleEveryday}, {backup, RoleBackup}} {
		if a.serial == 0 {
			continue
		}
		var k AssignedKey
		if c, ok := w.connected[a.serial]; ok {
			if err := device.SetupSupported(c.Info, c.Serial); err != nil {
				return err
			}
			k = AssignedKey{Serial: c.Serial, Model: c.Model, FormFactor: c.Info.FormFactor.String(), HasNFC: c.Info.HasNFC}
			if c.Info.Version != (device.Version{}) {
				k.Firmware = c.Info.Version.String()
			}
		} else if old, ok := w.p.key(a.serial); ok {
			k = old
		} else {
			return fmt.Errorf("plug in the key with serial %d first: %w", a.serial, &device.KeyNotFoundError{Serial: a.serial, Present: sortedSerials(w.connected)})
		}
		k.Role = a.role
		keys = append(keys, k)
	}
	w.p.Keys = keys
	w.p.Ignored = slices.DeleteFunc(w.p.Ignored, func(s uint32) bool { return s == everyday || s == backup })
	if w.p.Current == StepKeys || w.p.Current == StepWelcome {
		w.p.Current = w.nextLocked(StepKeys)
	}
	return w.saveLocked(ctx)
}

// IgnoreKey stops the wizard from asking about a plugged-in key that is not
// the person's (a colleague's key, a spare).
func (w *Wizard) IgnoreKey(ctx context.Context, serial uint32) error {
	defer w.begin("")()
	return w.update(ctx, func(p *Progress) {
		if !slices.Contains(p.Ignored, serial) {
			p.Ignored = append(p.Ignored, serial)
		}
	})
}

// Watch follows keys arriving and leaving until ctx ends, keeping the
// snapshot's Detected, Unknown and Connected up to date. It returns once
// the keys plugged in now are listed; the following goes on behind. done
// is closed when it has stopped (ctx ended) and every re-check it started
// has returned, so whoever started it can wait for it: the window does
// before it closes, and nothing it started publishes afterwards.
func (w *Wizard) Watch(ctx context.Context) (done <-chan struct{}, err error) {
	ch, err := w.o.Keys.Watch(ctx)
	if err != nil {
		return nil, fmt.Errorf("watching for keys: %w", err)
	}
	// Start from what is plugged in now; events then keep it current.
	if keys, err := w.o.Keys.List(ctx); err == nil {
		w.setConnected(keys)
		w.publish()
	}
	stopped := make(chan struct{})
	go func() {
		var rechecks sync.WaitGroup
		defer close(stopped)
		defer rechecks.Wait()
		for {
			var ev KeyEvent
			var ok bool
			select {
			case <-ctx.Done():
				return
			case ev, ok = <-ch:
				if !ok {
					return
				}
			}
			serial := ev.Key.Serial
			w.mu.Lock()
			recheck := false
			switch ev.Kind {
			case KeyAdded:
				_, was := w.connected[serial]
				_, mine := w.p.key(serial)
				// A key of the person's that arrives (not the end of a
				// restart keywizard caused) may have been reset or
				// changed elsewhere meanwhile: read what needs no PIN.
				recheck = mine && !was && !w.restarting[serial]
				w.connected[serial] = ev.Key
				delete(w.restarting, serial)
				// Plugged in afresh: a PIN block that needed a replug is
				// gone (CTAP clears it on power-up).
				delete(w.replug, serial)
			case KeyRemoved:
				delete(w.connected, serial)
				delete(w.replug, serial)
			}
			w.mu.Unlock()
			w.publish()
			if recheck {
				rechecks.Add(1)
				go func() {
					defer rechecks.Done()
					_ = w.recheckAction(ctx, serial, false)
				}()
			}
		}
	}()
	return stopped, nil
}

// GoTo makes id the current step. Steps after the welcome need the person,
// and steps after the keys need at least one key.
func (w *Wizard) GoTo(ctx context.Context, id StepID) error {
	defer w.begin("")()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkReachableLocked(id); err != nil {
		return err
	}
	w.p.Current = id
	return w.saveLocked(ctx)
}

// Next moves to the next step that is neither done nor not applicable.
func (w *Wizard) Next(ctx context.Context) error {
	defer w.begin("")()
	w.mu.Lock()
	defer w.mu.Unlock()
	next := w.nextLocked(w.p.Current)
	if err := w.checkReachableLocked(next); err != nil {
		return err
	}
	w.p.Current = next
	return w.saveLocked(ctx)
}

// nextLocked is the first step after id that still needs doing, or the
// summary.
func (w *Wizard) nextLocked(id StepID) StepID {
	ids := w.stepIDs()
	i := slices.Index(ids, id)
	for _, n := range ids[i+1:] {
		st := w.stepStatusLocked(n)
		if st != StatusDone && st != StatusNotApplicable {
			return n
		}
	}
	return StepSummary
}

// Redo clears a step's results (on the given keys, or all) and makes it
// current, so it can be done again. Redoing macOS login also forgets the
// smart-card setup, so ProvisionMac runs again.
func (w *Wizard) Redo(ctx context.Context, id StepID, serials ...uint32) error {
	defer w.begin("")()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkReachableLocked(id); err != nil {
		return err
	}
	match := func(s uint32) bool { return len(serials) == 0 || slices.Contains(serials, s) }
	for s := range w.p.Items[id] {
		if match(s) {
			delete(w.p.Items[id], s)
		}
	}
	for s := range w.attention[id] {
		if match(s) {
			delete(w.attention[id], s)
		}
	}
	for s := range w.byHand[id] {
		if match(s) {
			delete(w.byHand[id], s)
		}
	}
	if s, ok := w.service(id); ok && s.Verification.Kind == catalogue.KindSCAuth {
		for serial := range w.p.PIV {
			if match(serial) {
				delete(w.p.PIV, serial)
			}
		}
	}
	if id == StepReport {
		w.p.Report = ReportRecord{}
	}
	w.p.Current = id
	return w.saveLocked(ctx)
}

// --- FIDO2 PIN ---------------------------------------------------------

// fidoState reads a key's FIDO2 state and keeps it for the snapshot (the
// PIN step shows whether a PIN is set and the tries left).
func (w *Wizard) fidoState(ctx context.Context, serial uint32) (*device.FIDOState, error) {
	st, err := w.o.Keys.FIDOState(ctx, serial)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if k, ok := w.connected[serial]; ok {
		c := *st
		k.FIDO = &c
		w.connected[serial] = k
	}
	w.mu.Unlock()
	return st, nil
}

// noteRetries updates the tries left shown for a key after a wrong PIN.
func (w *Wizard) noteRetries(serial uint32, retries int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if k, ok := w.connected[serial]; ok && k.FIDO != nil {
		c := *k.FIDO
		c.PINRetries = retries
		k.FIDO = &c
		w.connected[serial] = k
	}
}

// checkFIDOPIN applies the one FIDO2 PIN rule (device.FIDO2PINRule: CTAP
// 2.1 §6.5.1 counts code points, minimum from getInfo, at most 63 bytes of
// UTF-8, valid UTF-8 without NUL) with the key's minimum.
func checkFIDOPIN(pin string, minLen int) error {
	return device.FIDO2PINRule(device.Info{}, minLen, 0).Check(pin)
}

// keyInfo is the device info of a connected key (zero when not connected).
func (w *Wizard) keyInfo(serial uint32) device.Info {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.connected[serial].Info
}

// ruleWords is the rule to state before asking for a new PIN, when it says
// more than the prompt's own text: PIN complexity, a FIPS key's length, a
// raised minimum or a shared Bio PIN's maximum.
func ruleWords(r device.PINRule, usual device.PINRule) string {
	if r == usual {
		return ""
	}
	return " " + r.Describe()
}

// SetPIN makes sure the key has a FIDO2 PIN: it asks for a new one (with the
// key's rules) when none is set, or when the key demands a change; a PIN
// already set counts as done. Evidence: the key reports a PIN set.
func (w *Wizard) SetPIN(ctx context.Context, serial uint32) error {
	defer w.begin("Setting the FIDO2 PIN")()
	ref, _, err := w.prepare(StepFIDOPIN, serial)
	if err != nil {
		return err
	}
	st, err := w.fidoState(ctx, serial)
	if err != nil {
		return w.fail(ctx, StepFIDOPIN, ref, fmt.Errorf("reading the FIDO2 state of %s: %w", ref.Label, err))
	}
	if st.PINSet && st.PINRetries == 0 {
		// A PIN that is set but blocked is no PIN at all for passkeys.
		return w.fail(ctx, StepFIDOPIN, ref, blockedFIDO(ref))
	}
	if st.PINSet && st.ForcePINChange {
		return w.changePIN(ctx, ref, st)
	}
	if !st.PINSet {
		rule := device.FIDO2PINRule(w.keyInfo(serial), st.MinPINLength, 0)
		pin, err := w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.FIDO2PIN, Purpose: PurposeNewFIDOPIN, RetriesLeft: -1,
			MinLen: rule.MinLen, MaxLen: rule.MaxLen,
			Text: "Choose a FIDO2 PIN for " + ref.Label + ". Websites ask for it when you sign in with a passkey on this key." + ruleWords(rule, device.FIDO2PINRule(device.Info{}, 0, 0))})
		if err != nil {
			return w.fail(ctx, StepFIDOPIN, ref, cancelled(err))
		}
		if err := rule.Check(pin); err != nil {
			return w.fail(ctx, StepFIDOPIN, ref, err)
		}
		if err := w.withTouch(ctx, ref, func(ctx context.Context) error { return w.o.Keys.SetFIDOPIN(ctx, serial, pin) }); err != nil {
			return w.fail(ctx, StepFIDOPIN, ref, fmt.Errorf("setting the FIDO2 PIN on %s: %w", ref.Label, err))
		}
		if st, err = w.fidoState(ctx, serial); err != nil {
			return w.fail(ctx, StepFIDOPIN, ref, fmt.Errorf("reading the PIN back from %s: %w", ref.Label, err))
		}
		if !st.PINSet {
			return w.fail(ctx, StepFIDOPIN, ref, fmt.Errorf("%s still reports no FIDO2 PIN after setting one; try again: %w", ref.Label, device.ErrInvalidResponse))
		}
		return w.record(ctx, StepFIDOPIN, serial, Evidence{Level: VerifiedOnKey, Detail: "FIDO2 PIN set by keywizard; the key reports a PIN set", At: w.o.Clock.Now()})
	}
	return w.record(ctx, StepFIDOPIN, serial, Evidence{Level: VerifiedOnKey,
		Detail: fmt.Sprintf("the key reports a FIDO2 PIN already set (%s)", triesLeft(st.PINRetries)), At: w.o.Clock.Now()})
}

func triesLeft(n int) string {
	switch {
	case n < 0:
		return "tries left unknown"
	case n == 1:
		return "1 try left"
	}
	return fmt.Sprintf("%d tries left", n)
}

// ChangePIN changes the key's FIDO2 PIN (asks for the current and a new one).
func (w *Wizard) ChangePIN(ctx context.Context, serial uint32) error {
	defer w.begin("Changing the FIDO2 PIN")()
	ref, _, err := w.prepare(StepFIDOPIN, serial)
	if err != nil {
		return err
	}
	st, err := w.fidoState(ctx, serial)
	if err != nil {
		return w.fail(ctx, StepFIDOPIN, ref, fmt.Errorf("reading the FIDO2 state of %s: %w", ref.Label, err))
	}
	if !st.PINSet {
		return w.fail(ctx, StepFIDOPIN, ref, fmt.Errorf("%s has no FIDO2 PIN to change; set one instead: %w", ref.Label, device.ErrPINNotSet))
	}
	return w.changePIN(ctx, ref, st)
}

func (w *Wizard) changePIN(ctx context.Context, ref KeyRef, st *device.FIDOState) error {
	if st.PINRetries == 0 {
		return w.fail(ctx, StepFIDOPIN, ref, blockedFIDO(ref))
	}
	if err := w.checkReplug(ref); err != nil {
		return w.fail(ctx, StepFIDOPIN, ref, err)
	}
	old, err := w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.FIDO2PIN, Purpose: PurposeCurrentFIDOPIN, RetriesLeft: st.PINRetries,
		Text: "Enter the current FIDO2 PIN of " + ref.Label + "."})
	if err != nil {
		return w.fail(ctx, StepFIDOPIN, ref, cancelled(err))
	}
	rule := device.FIDO2PINRule(w.keyInfo(ref.Serial), st.MinPINLength, 0)
	pin, err := w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.FIDO2PIN, Purpose: PurposeNewFIDOPIN, RetriesLeft: -1,
		MinLen: rule.MinLen, MaxLen: rule.MaxLen, Text: "Choose a new FIDO2 PIN for " + ref.Label + "." + ruleWords(rule, device.FIDO2PINRule(device.Info{}, 0, 0))})
	if err != nil {
		return w.fail(ctx, StepFIDOPIN, ref, cancelled(err))
	}
	if err := rule.Check(pin); err != nil {
		return w.fail(ctx, StepFIDOPIN, ref, err)
	}
	if err := w.withTouch(ctx, ref, func(ctx context.Context) error { return w.o.Keys.ChangeFIDOPIN(ctx, ref.Serial, old, pin) }); err != nil {
		return w.fail(ctx, StepFIDOPIN, ref, pinErr(ref, fmt.Errorf("changing the FIDO2 PIN on %s: %w", ref.Label, err)))
	}
	return w.record(ctx, StepFIDOPIN, ref.Serial, Evidence{Level: VerifiedOnKey, Detail: "FIDO2 PIN changed; the key accepted the current PIN", At: w.o.Clock.Now()})
}

// checkReplug refuses to ask for a FIDO2 PIN the key would refuse: after
// three wrong PINs in a row it refuses every PIN until replugged.
func (w *Wizard) checkReplug(ref KeyRef) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replug[ref.Serial] {
		return &ReplugNeededError{Key: ref.Label}
	}
	return nil
}

func blockedFIDO(ref KeyRef) error {
	return fmt.Errorf("the FIDO2 PIN of %s is blocked; only a FIDO reset (which removes every passkey on it) can clear it, so ask IT: %w",
		ref.Label, &device.PINError{Which: device.FIDO2PIN, Retries: 0})
}

// pinErr adds what to do to a wrong or blocked PIN error. Only a
// *device.PINError with no retries is blocked for good. Three wrong FIDO2
// PINs in a row also match device.ErrBlocked (CTAP2_ERR_PIN_AUTH_BLOCKED,
// device/fido's *PowerCycleError) but clear when the key is replugged, and
// that error already says so: telling the person to ask IT for a reset
// there would cost them every passkey for nothing. (steps does not import
// device/fido, which would bring hardware packages into the ui's import
// graph; the rule "blocked without a PINError of 0 retries" is enough.)
func pinErr(ref KeyRef, err error) error {
	var pe *device.PINError
	switch {
	case errors.As(err, &pe) && pe.Retries == 0:
		if pe.Which != device.FIDO2PIN && pe.Which != "" {
			return fmt.Errorf("%w; ask IT to help unblock it", err)
		}
		return fmt.Errorf("%w; only a FIDO reset (which removes every passkey on %s) can clear it, so ask IT", err, ref.Label)
	case errors.Is(err, device.ErrBlocked):
		return err
	case errors.As(err, &pe):
		return fmt.Errorf("%w; try again", err)
	}
	return err
}

func cancelled(err error) error {
	if errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("nothing was changed: %w", ErrCancelled)
	}
	return fmt.Errorf("asking for a PIN: %w", err)
}

// --- services ----------------------------------------------------------

func (w *Wizard) prepareService(id string, serial uint32) (catalogue.Service, KeyRef, AssignedKey, error) {
	s, ok := w.service(StepID(id))
	if !ok {
		return catalogue.Service{}, KeyRef{}, AssignedKey{}, fmt.Errorf("%w: %q", ErrUnknownStep, id)
	}
	if why := w.notApplicable(s); why != "" {
		return s, KeyRef{}, AssignedKey{}, &NotApplicableError{Step: StepID(id), Reason: why}
	}
	ref, k, err := w.prepare(StepID(id), serial)
	return s, ref, k, err
}

// OpenService opens the service's registration page for a key. The key
// must be plugged in (registering needs it): another key plugged in is a
// *WrongKeyError. A browser that fails gives a *BrowserError with the URL
// to open by hand.
func (w *Wizard) OpenService(ctx context.Context, serviceID string, serial uint32) error {
	s, _, _, err := w.prepareService(serviceID, serial)
	if err != nil {
		return err
	}
	if s.URL == "" {
		return fmt.Errorf("%s has no web page; keywizard sets it up itself: %w", s.Name, device.ErrInvalidArgument)
	}
	if err := w.needAccount(s); err != nil {
		return err
	}
	return w.open(ctx, s, serial, s.URL)
}

// needAccount: a service whose passkey is found by account name asks for
// the name before its page is opened, so the person registers the account
// keywizard will look for (Step.NeedAccount says so first).
func (w *Wizard) needAccount(s catalogue.Service) error {
	if s.Verification.User != catalogue.UserAccount {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.p.Person == nil || w.p.Person.Accounts[s.ID] == "" {
		return &NeedAccountError{Service: s.ID, Label: s.AccountLabel}
	}
	return nil
}

// OpenLink opens one of the service's alternate pages (AlternateURLs).
func (w *Wizard) OpenLink(ctx context.Context, serviceID string, serial uint32, url string) error {
	s, _, _, err := w.prepareService(serviceID, serial)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(s.AlternateURLs, func(l catalogue.Link) bool { return l.URL == url }) && url != s.URL {
		return fmt.Errorf("%q is not a page of %s: %w", url, s.Name, device.ErrInvalidArgument)
	}
	return w.open(ctx, s, serial, url)
}

func (w *Wizard) open(ctx context.Context, s catalogue.Service, serial uint32, url string) error {
	defer w.begin("Opening " + s.Name)()
	id := StepID(s.ID)
	ref, _, err := w.prepare(id, serial)
	if err != nil {
		return err
	}
	if err := w.requirePresent(ctx, ref); err != nil {
		return w.fail(ctx, id, ref, err)
	}
	if err := w.o.Browser.Open(url); err != nil {
		// The error shows the address to open by hand; from here the person
		// carries on as if the page had opened (StepKey.OpenByHand), or
		// they would be stuck on a button that cannot work.
		w.mu.Lock()
		if w.byHand[id] == nil {
			w.byHand[id] = map[uint32]string{}
		}
		w.byHand[id][serial] = url
		w.mu.Unlock()
		return w.fail(ctx, id, ref, &BrowserError{URL: url, Err: err})
	}
	w.setAttention(id, serial, nil)
	w.mu.Lock()
	delete(w.byHand[id], serial)
	w.mu.Unlock()
	return w.update(ctx, func(p *Progress) {
		p.item(id, serial).OpenedAt = w.o.Clock.Now()
		p.Current = id
	})
}

// Verify checks a service on a key and records the evidence: a passkey on
// the key (fido-credential, asks for the FIDO2 PIN) or the macOS pairing
// (sc-auth). Self-attested services return ErrCannotVerify: use Attest.
func (w *Wizard) Verify(ctx context.Context, serviceID string, serial uint32) error {
	s, ref, _, err := w.prepareService(serviceID, serial)
	if err != nil {
		return err
	}
	defer w.begin("Checking " + s.Name)()
	switch s.Verification.Kind {
	case catalogue.KindFIDOCredential:
		return w.verifyCredential(ctx, s, ref)
	case catalogue.KindSCAuth:
		return w.verifyPairing(ctx, s, ref)
	}
	return fmt.Errorf("%s: %w", s.Name, ErrCannotVerify)
}

func (w *Wizard) verifyCredential(ctx context.Context, s catalogue.Service, ref KeyRef) error {
	id := StepID(s.ID)
	user := ""
	w.mu.Lock()
	switch s.Verification.User {
	case catalogue.UserEmail:
		user = w.p.Person.Email
	case catalogue.UserAccount:
		user = w.p.Person.Accounts[s.ID]
	}
	w.mu.Unlock()
	if s.Verification.User == catalogue.UserAccount && user == "" {
		return w.fail(ctx, id, ref, &NeedAccountError{Service: s.ID, Label: s.AccountLabel})
	}
	st, err := w.fidoState(ctx, ref.Serial)
	if err != nil {
		return w.fail(ctx, id, ref, fmt.Errorf("reading the FIDO2 state of %s: %w", ref.Label, err))
	}
	if !st.PINSet {
		return w.fail(ctx, id, ref, fmt.Errorf("%s has no FIDO2 PIN yet; set one in the FIDO2 PIN step first (a passkey needs it): %w", ref.Label, device.ErrPINNotSet))
	}
	if st.PINRetries == 0 {
		return w.fail(ctx, id, ref, blockedFIDO(ref))
	}
	if err := w.checkReplug(ref); err != nil {
		return w.fail(ctx, id, ref, err)
	}
	pin, err := w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.FIDO2PIN, Purpose: PurposeUnlockFIDO, RetriesLeft: st.PINRetries,
		Text: "Enter the FIDO2 PIN of " + ref.Label + " so keywizard can look for your " + s.Name + " passkey on it."})
	if err != nil {
		return w.fail(ctx, id, ref, cancelled(err))
	}
	var found bool
	err = w.withTouch(ctx, ref, func(ctx context.Context) error {
		var err error
		found, err = w.o.Keys.HasCredential(ctx, ref.Serial, pin, s.Verification.RPID, user)
		return err
	})
	if err != nil {
		return w.fail(ctx, id, ref, pinErr(ref, fmt.Errorf("reading passkeys from %s: %w", ref.Label, err)))
	}
	w.mu.Lock()
	w.passkeysRead[ref.Serial] = true
	w.mu.Unlock()
	what := "a passkey for " + s.Verification.RPID
	if user != "" {
		what += " (user " + user + ")"
	}
	if !found {
		hint := s.PasskeyHint
		if hint == "" {
			hint = "Register it as a passkey, so it is stored on the key."
		}
		hint += " If you registered it another way, you can confirm it yourself instead."
		return w.fail(ctx, id, ref, &NotVerifiedError{Service: s.Name, Key: ref.Label, What: what, Hint: hint})
	}
	return w.record(ctx, id, ref.Serial, Evidence{Level: VerifiedOnKey, Detail: what + " is on the key", At: w.o.Clock.Now()})
}

// Attest records the person's own confirmation that a service is set up on
// a key: for services nothing can check, and as the fallback for
// passkey-checkable services registered another way (e.g. Google's classic
// security-key link). It never replaces stronger evidence. macOS login is
// always checked by the system, so it cannot be attested.
func (w *Wizard) Attest(ctx context.Context, serviceID string, serial uint32) error {
	s, ref, _, err := w.prepareService(serviceID, serial)
	if err != nil {
		return err
	}
	defer w.begin("Saving")()
	if s.Verification.Kind == catalogue.KindSCAuth {
		return fmt.Errorf("%s is checked by macOS itself; use Verify: %w", s.Name, device.ErrInvalidArgument)
	}
	id := StepID(s.ID)
	w.mu.Lock()
	e := w.p.evidence(id, serial)
	it := w.p.Items[id][serial]
	opened := (it != nil && !it.OpenedAt.IsZero()) || w.byHand[id][serial] != ""
	w.mu.Unlock()
	if e != nil && e.Level != SelfAttested {
		return nil
	}
	if s.Verification.Kind != catalogue.KindSelfAttest {
		// keywizard can check this one on the key (Verify): confirming it
		// by hand instead needs the page opened (here, or by hand after
		// the browser failed), where the key is registered, and is an
		// explicit, separate statement.
		if s.URL != "" && !opened {
			return fmt.Errorf("open %s for %s first and register the key there: %w", s.Name, ref.Label, ErrNotOpened)
		}
		ok, err := w.o.Prompter.Confirm(ctx, ConfirmRequest{Kind: ConfirmSelfAttest, Key: ref,
			Title: fmt.Sprintf("Confirm %s on your %s yourself?", s.Name, ref.Role.Words()),
			Text: fmt.Sprintf("keywizard can check %s on %s with Verify. If you registered the key another way, confirm it yourself: "+
				"it is recorded as \"confirmed by you, not verified\", and IT sees it that way.", s.Name, ref.Label)})
		if err != nil {
			return cancelled(err)
		}
		if !ok {
			return fmt.Errorf("nothing was recorded for %s: %w", ref.Label, ErrCancelled)
		}
	}
	return w.record(ctx, id, serial, Evidence{Level: SelfAttested,
		Detail: "confirmed by you, not verified: you said you registered " + ref.Label + " with " + s.Name, At: w.o.Clock.Now()})
}

// --- macOS smart-card login -------------------------------------------

// ProvisionMac sets a key up for macOS smart-card login: it asks the person
// to confirm (naming the key by serial and model: the key's PIV PIN, PUK,
// management key and 9a/9d keys are replaced), asks for the new PIV PIN and
// PUK, provisions through Keys.ProvisionPIV, then pairs the key with the
// macOS user and checks the pairing with sc_auth. On other systems it is a
// *NotApplicableError with the reason.
func (w *Wizard) ProvisionMac(ctx context.Context, serviceID string, serial uint32) error {
	s, ref, _, err := w.prepareService(serviceID, serial)
	if err != nil {
		return err
	}
	if s.Verification.Kind != catalogue.KindSCAuth {
		return fmt.Errorf("%s is not a smart-card login service: %w", s.Name, device.ErrInvalidArgument)
	}
	defer w.begin("Setting up " + ref.Label + " for macOS login")()
	id := StepID(s.ID)
	w.mu.Lock()
	rec := w.p.PIV[serial]
	person := *w.p.Person
	w.mu.Unlock()
	if rec == nil {
		st, err := w.o.Keys.PIVState(ctx, serial)
		if err != nil {
			return w.fail(ctx, id, ref, fmt.Errorf("reading the smart-card state of %s: %w", ref.Label, err))
		}
		ok, err := w.o.Prompter.Confirm(ctx, ConfirmRequest{Kind: ConfirmProvisionPIV, Key: ref, Destructive: true,
			Title: fmt.Sprintf("Set up %s (serial %d) for macOS login?", ref.Model, ref.Serial),
			Text: fmt.Sprintf("keywizard will replace the smart-card (PIV) PIN, PUK and management key of %s, serial %d, "+
				"and create new login keys in slots 9a and 9d. Anything already in those slots is replaced.", ref.Model, ref.Serial)})
		if err != nil {
			return w.fail(ctx, id, ref, cancelled(err))
		}
		if !ok {
			return w.fail(ctx, id, ref, fmt.Errorf("nothing was changed on %s: %w", ref.Label, ErrCancelled))
		}
		params := PIVParams{Subject: person.Name}
		factoryPIN := st.DefaultPIN == nil || *st.DefaultPIN
		if !factoryPIN {
			if st.PINRetries == 0 {
				return w.fail(ctx, id, ref, fmt.Errorf("the PIV PIN of %s is blocked; ask IT: %w", ref.Label, &device.PINError{Which: device.PIVPIN, Retries: 0}))
			}
			if params.CurrentPIN, err = w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.PIVPIN, Purpose: PurposeCurrentPIVPIN,
				RetriesLeft: st.PINRetries, Text: "This key's smart-card PIN was already changed. Enter it to continue."}); err != nil {
				return w.fail(ctx, id, ref, cancelled(err))
			}
		}
		info := w.keyInfo(serial)
		pinRule, pukRule := device.PIVPINRule(info, device.PIVPIN), device.PIVPINRule(info, device.PIVPUK)
		if params.NewPIN, err = w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.PIVPIN, Purpose: PurposeNewPIVPIN, RetriesLeft: -1,
			MinLen: pinRule.MinLen, MaxLen: pinRule.MaxLen, DigitsOnly: true,
			Text: "Choose a smart-card PIN of " + digitsWords(pinRule) + " for " + ref.Label + ". You type it when you log in to your Mac with the key." +
				ruleWords(pinRule, device.PIVPINRule(device.Info{}, device.PIVPIN))}); err != nil {
			return w.fail(ctx, id, ref, cancelled(err))
		}
		if err := checkPIVPIN(params.NewPIN); err != nil {
			return w.fail(ctx, id, ref, err)
		}
		if err := pinRule.Check(params.NewPIN); err != nil {
			return w.fail(ctx, id, ref, err)
		}
		if st.DefaultPUK == nil || *st.DefaultPUK {
			if params.NewPUK, err = w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.PIVPUK, Purpose: PurposeNewPIVPUK, RetriesLeft: -1,
				MinLen: pukRule.MinLen, MaxLen: pukRule.MaxLen,
				Text: "Choose a PUK of " + pukWords(pukRule) + " for " + ref.Label + ". It unblocks the smart-card PIN; keep it somewhere safe." +
					ruleWords(pukRule, device.PIVPINRule(device.Info{}, device.PIVPUK))}); err != nil {
				return w.fail(ctx, id, ref, cancelled(err))
			}
			if err := checkPUK(params.NewPUK, params.NewPIN); err != nil {
				return w.fail(ctx, id, ref, err)
			}
			if err := pukRule.Check(params.NewPUK); err != nil {
				return w.fail(ctx, id, ref, err)
			}
		}
		var res PIVResult
		err = w.withTouch(ctx, ref, func(ctx context.Context) error {
			var err error
			res, err = w.o.Keys.ProvisionPIV(ctx, serial, params)
			return err
		})
		if err != nil {
			return w.fail(ctx, id, ref, pinErr(ref, fmt.Errorf("setting up %s for smart-card login: %w", ref.Label, err)))
		}
		if !bothIdentities(res.Identities) {
			return w.fail(ctx, id, ref, &IncompleteSmartCardError{Key: ref.Label, Identities: slices.Clone(res.Identities)})
		}
		if err := w.checkPIVReadBack(ctx, ref, res); err != nil {
			return w.fail(ctx, id, ref, err)
		}
		rec = &PIVRecord{Identities: slices.Clone(res.Identities), ProvisionedAt: w.o.Clock.Now()}
		if err := w.update(ctx, func(p *Progress) { p.PIV[serial] = rec }); err != nil {
			return err
		}
	}
	// Pair: macOS normally offers this itself when the key is re-inserted;
	// doing it here (sc_auth pair) saves the person the round trip. If it
	// fails (it may need an administrator), the notification still works.
	if ids, err := w.o.SmartCard.Identities(ctx); err == nil {
		for _, idn := range ids {
			if slices.Contains(rec.Identities, idn.Hash) && !idn.Paired {
				if err := w.o.SmartCard.Pair(ctx, w.o.OSUser, idn.Hash); err != nil {
					break
				}
			}
		}
	}
	return w.checkPairing(ctx, s, ref, rec)
}

// bothIdentities: macOS needs the 9a and the 9d identity (PIVResult lists
// them in slot order), two different non-empty hashes; pairing 9a alone
// would leave login without the keychain key.
func bothIdentities(ids []string) bool {
	return len(ids) >= 2 && ids[0] != "" && ids[1] != "" && ids[0] != ids[1]
}

// checkPIVReadBack reads the PIV state after provisioning and refuses a
// setup that left a factory secret in place or the management key
// unprotected: a key still on 123456 / 12345678 / the default management
// key would let anyone who finds it replace its login certificates. The
// Default* flags come from GET METADATA (firmware 5.3+, docs/yubikey-protocol.md
// §4.4); nil means the key cannot tell, which is not held against it.
func (w *Wizard) checkPIVReadBack(ctx context.Context, ref KeyRef, res PIVResult) error {
	st, err := w.o.Keys.PIVState(ctx, ref.Serial)
	if err != nil {
		return fmt.Errorf("reading back the smart-card setup of %s: %w", ref.Label, err)
	}
	var left []string
	if st.DefaultPIN != nil && *st.DefaultPIN {
		left = append(left, "the factory PIN")
	}
	if st.DefaultPUK != nil && *st.DefaultPUK {
		left = append(left, "the factory PUK")
	}
	if st.DefaultMgmtKey != nil && *st.DefaultMgmtKey {
		left = append(left, "the factory management key")
	}
	if !st.MgmtKeyProtected || !res.ManagementKeyProtected {
		left = append(left, "an unprotected management key")
	}
	if len(left) > 0 {
		return &NotVerifiedError{Service: "Smart-card setup", Key: ref.Label, What: "a complete setup",
			Hint: "The key still has " + strings.Join(left, ", ") + ". Redo this step; if it happens again, ask IT."}
	}
	return nil
}

func (w *Wizard) verifyPairing(ctx context.Context, s catalogue.Service, ref KeyRef) error {
	w.mu.Lock()
	rec := w.p.PIV[ref.Serial]
	w.mu.Unlock()
	if rec == nil {
		return w.fail(ctx, StepID(s.ID), ref, fmt.Errorf("set %s up for macOS login first: %w", ref.Label, ErrPrerequisite))
	}
	return w.checkPairing(ctx, s, ref, rec)
}

func (w *Wizard) checkPairing(ctx context.Context, s catalogue.Service, ref KeyRef, rec *PIVRecord) error {
	id := StepID(s.ID)
	paired, err := w.o.SmartCard.Paired(ctx, w.o.OSUser)
	if err != nil {
		return w.fail(ctx, id, ref, fmt.Errorf("asking macOS which keys are paired (sc_auth list): %w", err))
	}
	for _, h := range paired {
		if slices.Contains(rec.Identities, h) {
			return w.record(ctx, id, ref.Serial, Evidence{Level: VerifiedBySystem,
				Detail: fmt.Sprintf("macOS lists the key's login identity %s as paired with user %s (sc_auth list)", h, w.o.OSUser), At: w.o.Clock.Now()})
		}
	}
	return w.fail(ctx, id, ref, &NotVerifiedError{Service: s.Name, Key: ref.Label, What: "a macOS pairing",
		Hint: "Remove the key, plug it back in, click Pair in the notification macOS shows, type your Mac password and smart-card PIN, then check again."})
}

// digitsWords is "6 to 8 digits", or "8 digits" on a FIPS key (the PIV rule's
// minimum, device.PIVPINRule).
func digitsWords(r device.PINRule) string {
	if r.MinLen == r.MaxLen {
		return fmt.Sprintf("%d digits", r.MinLen)
	}
	return fmt.Sprintf("%d to %d digits", r.MinLen, r.MaxLen)
}

// pukWords is "6 to 8 characters", or "8 characters" on a FIPS key.
func pukWords(r device.PINRule) string {
	if r.MinLen == r.MaxLen {
		return fmt.Sprintf("%d characters", r.MinLen)
	}
	return fmt.Sprintf("%d to %d characters", r.MinLen, r.MaxLen)
}

// checkPIVPIN: macOS accepts only numeric PIV PINs of 6-8 digits
// (docs/services.md §2, Yubico "YubiKey for macOS login"); the factory PIN is
// refused because everyone knows it.
func checkPIVPIN(pin string) error {
	if len(pin) < 6 || len(pin) > 8 || strings.Trim(pin, "0123456789") != "" {
		return fmt.Errorf("the smart-card PIN must be 6 to 8 digits (macOS accepts digits only): %w", device.ErrPINPolicy)
	}
	if pin == "123456" {
		return fmt.Errorf("the smart-card PIN must not be the factory PIN; choose another: %w", device.ErrPINPolicy)
	}
	return nil
}

// checkPUK: PIV PUKs are 6-8 bytes (SP 800-73-4 part 2 §3.2.1, yubico-piv-tool
// pads to 8).
func checkPUK(puk, pin string) error {
	if len(puk) < 6 || len(puk) > 8 {
		return fmt.Errorf("the PUK must be 6 to 8 characters: %w", device.ErrPINPolicy)
	}
	if puk == "12345678" || puk == pin {
		return fmt.Errorf("the PUK must differ from the factory PUK and from your PIN: %w", device.ErrPINPolicy)
	}
	return nil
}

// --- OTP ---------------------------------------------------------------

// DisableOTP turns the key's OTP application off (USB, and NFC on NFC keys
// unless Options.KeepNFCOTP) and records the read-back as evidence.
func (w *Wizard) DisableOTP(ctx context.Context, serial uint32) error {
	defer w.begin("Turning off OTP")()
	ref, k, err := w.prepare(StepOTP, serial)
	if err != nil {
		return err
	}
	if err := device.SetupSupported(w.keyInfo(serial), serial); err != nil {
		// A YubiKey 4 takes a new USB mode only on re-insertion and cannot
		// report it over CCID, so this step could never be verified.
		return w.fail(ctx, StepOTP, ref, err)
	}
	nfcToo := k.HasNFC && !w.o.KeepNFCOTP
	var res OTPResult
	// The key reboots after the change and re-enumerates
	// (docs/yubikey-protocol.md §1.9): while it is away it is restarting,
	// not unplugged. The flag goes when it is back (Watch), or here when
	// the call failed.
	w.mu.Lock()
	w.restarting[serial] = true
	w.mu.Unlock()
	err = w.withTouch(ctx, ref, func(ctx context.Context) error {
		var err error
		res, err = w.o.Keys.DisableOTP(ctx, serial, nfcToo)
		return err
	})
	if err != nil {
		w.mu.Lock()
		delete(w.restarting, serial)
		w.mu.Unlock()
	}
	if errors.Is(err, device.ErrLocked) {
		return w.fail(ctx, StepOTP, ref, fmt.Errorf("%s has a configuration lock code, so keywizard cannot change it; ask IT for the code or a new key: %w", ref.Label, err))
	}
	if err != nil {
		return w.fail(ctx, StepOTP, ref, fmt.Errorf("turning off OTP on %s: %w", ref.Label, err))
	}
	if res.USBEnabled&device.CapOTP != 0 || (nfcToo && res.NFCEnabled&device.CapOTP != 0) {
		return w.fail(ctx, StepOTP, ref, &NotVerifiedError{Service: "OTP", Key: ref.Label, What: "OTP turned off",
			Hint: "The key still reports OTP on after the change. Unplug it, plug it back in and try again."})
	}
	detail := "OTP off over USB, read back from the key (USB applications: " + res.USBEnabled.String() + ")"
	if res.HasNFC {
		if res.NFCEnabled&device.CapOTP == 0 {
			detail += "; off over NFC too"
		} else {
			detail += "; left on over NFC as configured"
		}
	}
	return w.record(ctx, StepOTP, serial, Evidence{Level: VerifiedBySystem, Detail: detail, At: w.o.Clock.Now()})
}
