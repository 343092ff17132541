// Package macpcsc makes the machine's PC/SC service (pcscd, with simulated
// keys behind vpcd) behave as macOS's does, so the scanner, the wizard's OTP
// step and the wipe's replug wait are tested on Linux against the platform
// most new hires use. It is a [scan.PCSC] over another one (usually
// [scan.System]); every call still reaches the real pcscd.
//
// What it changes, each as macOS does it (docs/pcsc-platforms.md has the
// sources):
//
//   - No PnP notification reader: a wait that includes
//     `\\?PnP?\Notification` reports it SCARD_STATE_UNKNOWN|CHANGED at once,
//     as for any reader name the service does not know (Apple's
//     SmartcardServices winscard_clnt.c SCardGetStatusChange; blog.apdu.fr
//     2015/12 "OS X El Capitan missing feature").
//   - No event counter in the upper 16 bits of a reader's state (blog.apdu.fr
//     2015/12 "OS X El Capitan missing feature: SCardGetStatusChange() and
//     number of card events").
//   - A USB key's reader exists only while the key is plugged in, and is
//     named after the key's USB interfaces ("Yubico YubiKey OTP+FIDO+CCID");
//     a key rebooted with other interfaces (after OTP is disabled) comes back
//     as a new reader with a new name ("Yubico YubiKey FIDO+CCID"), which is
//     how ykman tells the interfaces from the name (ykman/pcsc/__init__.py,
//     _pid_from_name). A reader's card being replaced (pcscd's event counter
//     moved) is that reader going away.
//
// A sharing violation is the real one: a test holds a card exclusively
// through pcscd, as another program can (an agent, possibly a macOS token
// driver), and pcscd answers SCARD_E_SHARING_VIOLATION.
package macpcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/device/sim"
)

// ReaderName is the name macOS gives a USB YubiKey's reader with these
// interfaces enabled: "Yubico YubiKey " and ykman's spelling of the
// interfaces ("OTP+FIDO+CCID", ykman/pcsc/__init__.py _pid_from_name reads
// them back from it).
func ReaderName(usb device.Capability) string {
	return "Yubico YubiKey " + usb.Interfaces().String()
}

// Layer is a macOS-like PC/SC service over Under.
type Layer struct {
	// Under is the real service.
	Under scan.PCSC
	// Name names the reader of the card now in the underlying reader
	// (for a simulated key: ReaderName of its USB interfaces). It is asked
	// once per card insertion, when the reader "appears".
	Name func(underlying string) string

	mu       sync.Mutex
	cards    map[string]*instance // underlying reader → the card in it now
	byName   map[string]string    // reader name → underlying, as last listed
	pnpAsked int                  // waits that included the PnP reader

	// follow keeps under, the underlying readers' states, current from a
	// wait of its own on pcscd (with the PnP reader, which pcscd has), so
	// listing costs pcscd one SCardListReaders, as on a Mac.
	follow sync.Once
	under  map[string]pcsc.State
	ferr   error
	stop   context.CancelFunc
	done   chan struct{}
	// nudge counts changes of the cards in the underlying readers: the
	// readers this layer lists change only then (see WaitReadersChange).
	nudge pcsc.Nudge
}

// Close stops following the underlying readers. Contexts established from
// the layer must be released first.
func (l *Layer) Close() {
	l.mu.Lock()
	stop, done := l.stop, l.done
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// start begins following the underlying readers; the first states are in
// before it returns.
func (l *Layer) start() error {
	l.follow.Do(func() {
		pc, err := l.Under.Establish()
		if err != nil {
			l.ferr = err
			return
		}
		states := []pcsc.ReaderState{{Reader: pcsc.PnPNotification}}
		relist := func() error {
			names, err := pc.Readers()
			if err != nil {
				return err
			}
			next := []pcsc.ReaderState{states[len(states)-1]}
			for _, n := range names {
				next = append([]pcsc.ReaderState{{Reader: n}}, next...)
			}
			states = next
			return nil
		}
		observe := func() {
			l.mu.Lock()
			old := l.under
			l.under = map[string]pcsc.State{}
			moved := len(old) != len(states)-1
			for _, st := range states[:len(states)-1] {
				ev := st.EventState &^ pcsc.StateChanged
				l.under[st.Reader] = ev
				was, ok := old[st.Reader]
				moved = moved || !ok || cardIn(was) != cardIn(ev) || was.Count() != ev.Count()
			}
			l.mu.Unlock()
			if moved {
				l.nudge.Nudge()
			}
		}
		if err := relist(); err != nil {
			pc.Release()
			l.ferr = err
			return
		}
		if err := pc.GetStatusChangeTimeout(context.Background(), states, 0); err != nil && !isTimeout(err) {
			pc.Release()
			l.ferr = err
			return
		}
		observe()
		ctx, stop := context.WithCancel(context.Background())
		l.stop, l.done = stop, make(chan struct{})
		go func() {
			defer close(l.done)
			defer pc.Release()
			for ctx.Err() == nil {
				for i := range states {
					states[i].CurrentState = states[i].EventState &^ pcsc.StateChanged
				}
				err := pc.GetStatusChange(ctx, states)
				if ctx.Err() != nil {
					return
				}
				if err != nil || states[len(states)-1].EventState&pcsc.StateChanged != 0 {
					// The reader list changed (or a reader vanished
					// between listing and waiting): list again.
					if relist() != nil {
						return
					}
					pc.GetStatusChangeTimeout(ctx, states, 0)
				}
				observe()
			}
		}()
	})
	return l.ferr
}

// PnPAsked counts the waits that included the PnP notification reader. A
// caller that keeps waiting on it here spins (every such wait returns at
// once), so tests check it was asked about only once per watcher.
func (l *Layer) PnPAsked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pnpAsked
}

// instance is one appearance of a reader: the card pcscd counts as inserted
// under counter, shown under name.
type instance struct {
	name    string
	counter uint16
	state   pcsc.State // the last underlying state seen, with its counter
}

// Establish opens a context on the underlying service.
func (l *Layer) Establish() (scan.Context, error) {
	if err := l.start(); err != nil {
		return nil, err
	}
	c, err := l.Under.Establish()
	if err != nil {
		return nil, err
	}
	return &macContext{l: l, under: c}, nil
}

type macContext struct {
	l     *Layer
	under scan.Context
}

func (c *macContext) Release() error { return c.under.Release() }

// refresh brings the reader instances up to date with the cards in the
// underlying readers and returns the underlying reader of every instance
// by its name, and the underlying listing it read. Call with l.mu held.
func (c *macContext) refresh(ctx context.Context) (map[string]string, []string, error) {
	readers, err := c.under.Readers()
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]string{}
	if len(readers) == 0 {
		c.l.cards = nil
		return byName, readers, nil
	}
	if c.l.cards == nil {
		c.l.cards = map[string]*instance{}
	}
	live := map[string]bool{}
	for _, r := range readers {
		ev, ok := c.l.under[r]
		if !ok || !cardIn(ev) {
			continue // no key, no USB reader
		}
		live[r] = true
		in := c.l.cards[r]
		if in == nil || in.counter != ev.Count() {
			in = &instance{name: c.l.Name(r), counter: ev.Count()}
			c.l.cards[r] = in
		}
		in.state = ev
	}
	for u := range c.l.cards {
		if !live[u] {
			delete(c.l.cards, u)
		}
	}
	// Two keys with the same interfaces: the second is told apart by a
	// number, as readers of one kind are.
	for u, in := range c.l.cards {
		name := in.name
		for n := 1; byName[name] != "" && byName[name] != u; n++ {
			name = fmt.Sprintf("%s %02d", in.name, n)
		}
		in.name = name
		byName[name] = u
	}
	c.l.byName = byName
	return byName, readers, nil
}

// lookup maps reader names to underlying readers as last listed, listing
// again only when a name is not known (a reader that appeared since). A
// caller names readers it has listed, so a wait costs pcscd one call, as it
// does on a Mac. Call with l.mu held.
func (c *macContext) lookup(ctx context.Context, names []pcsc.ReaderState) (map[string]string, error) {
	for _, st := range names {
		if _, ok := c.l.byName[st.Reader]; !ok && st.Reader != pcsc.PnPNotification {
			byName, _, err := c.refresh(ctx)
			return byName, err
		}
	}
	return c.l.byName, nil
}

// cardIn reports whether an underlying reader's state shows a card, which
// is when this layer lists the reader.
func cardIn(ev pcsc.State) bool {
	return ev.Present() && ev&(pcsc.StateUnknown|pcsc.StateUnavailable) == 0
}

func isTimeout(err error) bool {
	var pe *pcsc.Error
	return asPCSC(err, &pe) && pe.Code == pcsc.CodeTimeout
}

// Readers lists the readers that have a card, by their macOS names.
func (c *macContext) Readers() ([]string, error) {
	shown, _, err := c.list()
	return shown, err
}

// list is Readers with the underlying service's own listing it came from.
func (c *macContext) list() (shown, under []string, err error) {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	byName, under, err := c.refresh(context.Background())
	if err != nil {
		return nil, nil, err
	}
	shown = make([]string, 0, len(byName))
	for n := range byName {
		shown = append(shown, n)
	}
	return shown, under, nil
}

// WaitReadersChange lists the readers on s's schedule until the readers
// this layer shows differ from known. Each listing is the underlying
// service's (one SCardListReaders to pcscd, made by the same loop in C the
// scanner uses on a Mac), and a key arriving or leaving is reported at the
// first listing after it, as a Mac's listing would show it: the layer's
// follower nudges the wait when a card comes or goes, and the loop looks at
// the nudge only when it lists. So what a watcher costs at rest and how
// soon it sees a key are what they would be on a Mac, give or take the
// service.
func (c *macContext) WaitReadersChange(ctx context.Context, known []string, s pcsc.ListSchedule) ([]string, error) {
	for {
		seen := c.l.nudge.Seen()
		shown, under, err := c.list()
		if err != nil {
			return nil, err
		}
		if !pcsc.SameReaders(shown, known) {
			// Changed before this wait: report it at the first listing.
			seen--
		}
		us := s
		us.Nudge, us.Seen = &c.l.nudge, seen
		if _, err := scan.WaitReadersChange(ctx, c.under, under, us); err != nil {
			return nil, err
		}
		if shown, err = c.Readers(); err != nil || !pcsc.SameReaders(shown, known) {
			return shown, err
		}
	}
}

// Connect connects to the card behind a reader name; a name that is not (or
// no longer) listed is an unknown reader.
func (c *macContext) Connect(ctx context.Context, reader string, exclusive bool) (device.Card, error) {
	c.l.mu.Lock()
	byName, _, err := c.refresh(ctx)
	c.l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	u, ok := byName[reader]
	if !ok {
		return nil, fmt.Errorf("connecting to %q: %w", reader, &pcsc.Error{Code: pcsc.CodeUnknownReader})
	}
	return c.under.Connect(ctx, u, exclusive)
}

// GetStatusChange waits without a timeout.
func (c *macContext) GetStatusChange(ctx context.Context, states []pcsc.ReaderState) error {
	return c.wait(ctx, states, -1)
}

// GetStatusChangeTimeout waits up to timeout.
func (c *macContext) GetStatusChangeTimeout(ctx context.Context, states []pcsc.ReaderState, timeout time.Duration) error {
	return c.wait(ctx, states, timeout)
}

// wait is SCardGetStatusChange as Apple's PC/SC answers it: unknown names
// (the PnP reader among them) are reported UNKNOWN|CHANGED at once; the
// others are waited on in pcscd and their states given back without the
// event counter; a reader whose card left or was replaced is gone.
func (c *macContext) wait(ctx context.Context, states []pcsc.ReaderState, timeout time.Duration) error {
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		c.l.mu.Lock()
		byName, err := c.lookup(ctx, states)
		if err != nil {
			c.l.mu.Unlock()
			return err
		}
		under := make([]pcsc.ReaderState, len(states))
		inst := make([]*instance, len(states))
		unknown := false
		for i := range states {
			st := &states[i]
			if st.Reader == pcsc.PnPNotification {
				c.l.pnpAsked++
			}
			u, ok := byName[st.Reader]
			in := c.l.cards[u]
			if !ok || in == nil || in.name != st.Reader {
				st.EventState = pcsc.StateUnknown
				if st.CurrentState&pcsc.StateUnknown == 0 {
					st.EventState |= pcsc.StateChanged
					unknown = true
				}
				st.ATR = st.ATR[:0]
				continue
			}
			inst[i] = in
			// pcscd is given its own counter back, so only a real
			// change wakes it.
			cur := st.CurrentState.Flags()
			if cur != pcsc.StateUnaware {
				cur |= pcsc.State(uint32(in.counter) << 16)
			}
			under[i] = pcsc.ReaderState{Reader: u, CurrentState: cur}
		}
		c.l.mu.Unlock()
		if unknown {
			return nil
		}
		var active []int
		for i := range under {
			if inst[i] != nil {
				active = append(active, i)
			}
		}
		if len(active) == 0 {
			return nil // only names known to be unknown: nothing to wait for
		}
		sub := make([]pcsc.ReaderState, len(active))
		for j, i := range active {
			sub[j] = under[i]
		}
		if deadline.IsZero() {
			err = c.under.GetStatusChange(ctx, sub)
		} else {
			err = c.under.GetStatusChangeTimeout(ctx, sub, max(time.Until(deadline), 0))
		}
		if err != nil {
			return err
		}
		changed := false
		for j, i := range active {
			st, ev, in := &states[i], sub[j].EventState&^pcsc.StateChanged, inst[i]
			if !ev.Present() || ev.Count() != in.counter {
				// The key left (its USB reader with it), or left and came
				// back: either way this reader is gone.
				st.EventState = pcsc.StateUnknown | pcsc.StateChanged
				st.ATR = st.ATR[:0]
				changed = true
				continue
			}
			st.EventState = ev.Flags()
			st.ATR = append(st.ATR[:0], sub[j].ATR...)
			if st.CurrentState == pcsc.StateUnaware || st.EventState != st.CurrentState.Flags() {
				st.EventState |= pcsc.StateChanged
				changed = true
			}
		}
		if changed {
			return nil
		}
		// pcscd woke for something macOS does not show (the counter):
		// wait on.
	}
}

func asPCSC(err error, target **pcsc.Error) bool { return errors.As(err, target) }

// ForSims is a Layer over under for simulated keys in vpcd's slots: keys[i]
// is the key in slot i (nil for none), and its reader is named after the
// USB interfaces it has enabled when it is plugged in.
func ForSims(under scan.PCSC, keys ...*sim.Key) *Layer {
	return &Layer{Under: under, Name: func(u string) string {
		for i, k := range keys {
			if k != nil && u == sim.ReaderName(i) {
				return ReaderName(k.Info().USBEnabled)
			}
		}
		return u
	}}
}
