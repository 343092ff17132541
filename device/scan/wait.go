package scan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
)

// DefaultListInterval is how often a waiter lists the readers where the
// platform cannot report readers appearing (no PnP notification reader:
// macOS, or Windows while its Smart Card service is stopped), once nothing
// has changed for a while. Meanwhile it blocks in SCardGetStatusChange on
// the readers it knows, so a card or reader leaving wakes it at once; a new
// reader is seen within this interval. Each listing costs CPU, so the
// interval leaves room within a second for the platform to show the reader
// after the key is plugged in (docs/pcsc-platforms.md §1.1 has the
// platforms' behaviour and the cost; BENCHMARKS.md measures both).
const DefaultListInterval = 750 * time.Millisecond

// Just after a change the waiter lists three times as often (every 250 ms),
// for hotListIntervals intervals (3 s): a key that was just pulled, or
// rebooted by a configuration change, tends to come back within seconds
// (the OTP change's reboot, the wipe's replug), and is then seen sooner.
const (
	hotListDivisor   = 3
	hotListIntervals = 4
)

// change is one reader's transition as a waiter saw it.
type change struct {
	Reader   string
	Old, New pcsc.State
	// Gone: the reader itself disappeared (a USB YubiKey's reader goes with
	// the key, and comes back under a new name after a reboot that changes
	// its USB interfaces: docs/yubikey-protocol.md §1.9, §2.3).
	Gone bool
}

// present reports whether a state means "a card is in the reader".
func present(s pcsc.State) bool {
	return s.Present() && s&(pcsc.StateUnknown|pcsc.StateUnavailable) == 0
}

// replaced reports whether the card in a reader was removed and inserted
// again between two observations: the state says present both times but
// pcsc-lite's event counter (upper 16 bits, bumped on every insertion and
// removal) moved. This is how a reboot that pcscd saw completely between two
// waits is not lost. macOS keeps no such counter (docs/pcsc-platforms.md):
// there a USB key's reboot shows as its reader leaving instead.
func (c change) replaced() bool {
	return c.Old != pcsc.StateUnaware && present(c.Old) && present(c.New) && c.Old.Count() != c.New.Count()
}

// stopsWithoutReaders is implemented by a PCSC whose service stops when its
// last reader is removed and starts again when one is plugged in (the
// Windows Smart Card service since Windows 8: docs/pcsc-platforms.md). A
// waiter on it treats "no service" as "no readers" and keeps looking.
type stopsWithoutReaders interface {
	StopsWithoutReaders() bool
}

// waiter follows every reader's state on a PC/SC context of its own and
// reports transitions. Where the platform has the PnP notification reader
// it blocks in SCardGetStatusChange with it and never polls; where it has
// not, it blocks on the readers it knows for up to interval at a time and
// lists the readers in between.
type waiter struct {
	p        PCSC
	pc       Context // nil while the service is stopped (Windows)
	lister   Context // without the PnP reader: lists readers while pc waits
	states   []pcsc.ReaderState
	pnp      bool             // the PnP pseudo-reader works here
	pnpState pcsc.ReaderState // its state, when pnp
	interval time.Duration
	// hotUntil ends the while after a change when listings come
	// hotListDivisor times as often.
	hotUntil time.Time
	restarts bool // the service stops without readers (see stopsWithoutReaders)
	// recheck makes waits end every interval: pcscd wakes no waiter when
	// another program's exclusive hold on a card ends (only card and
	// reader events do), so while the watcher waits for such a card it
	// asks again, each new wait comparing the state afresh.
	recheck bool
}

func newWaiter(ctx context.Context, p PCSC, interval time.Duration) (*waiter, error) {
	if p == nil {
		return nil, fmt.Errorf("waiting for keys: no PC/SC service configured: %w", device.ErrInvalidArgument)
	}
	if interval <= 0 {
		interval = DefaultListInterval
	}
	w := &waiter{p: p, interval: interval, pnpState: pcsc.ReaderState{Reader: pcsc.PnPNotification}}
	w.changed()
	if s, ok := p.(stopsWithoutReaders); ok {
		w.restarts = s.StopsWithoutReaders()
	}
	if err := w.establish(ctx); err != nil {
		if !w.stopped(err) {
			return nil, fmt.Errorf("waiting for keys: %w", err)
		}
		return w, nil // no readers yet; the service starts with the first
	}
	if _, err := w.sync(); err != nil {
		w.close()
		if !w.stopped(err) {
			return nil, err
		}
	}
	return w, nil
}

// establish opens the waiter's context and finds out whether the PnP
// notification reader works on it.
func (w *waiter) establish(ctx context.Context) error {
	pc, err := w.p.Establish()
	if err != nil {
		return err
	}
	pnp, err := pnpWorks(ctx, pc)
	if err != nil {
		pc.Release()
		return err
	}
	if !pnp {
		// pcsc-lite holds a context for the whole of a wait, so the
		// listing between waits needs a context of its own.
		lister, err := w.p.Establish()
		if err != nil {
			pc.Release()
			return err
		}
		w.lister = lister
	}
	w.pc, w.pnp, w.states = pc, pnp, nil
	w.pnpState.CurrentState = pcsc.StateUnaware
	return nil
}

// pnpWorks asks the service, without waiting, about the PnP notification
// reader. pcsc-lite and Windows know it (a wait on it times out or reports
// the reader count); Apple's PC/SC never had it and reports it as an unknown
// reader: SCARD_STATE_UNKNOWN in its state (SmartcardServices'
// winscard_clnt.c SCardGetStatusChange; the CryptoTokenKit-based
// implementation since OS X 10.10 behaves the same, blog.apdu.fr 2015/12
// "OS X El Capitan missing feature"), or SCARD_E_UNKNOWN_READER as pcsc-lite
// answers for names it does not know. OpenSC leaves it out on Apple for the
// same reason (src/libopensc/reader-pcsc.c, pcsc_wait_for_event).
func pnpWorks(ctx context.Context, pc Context) (bool, error) {
	st := []pcsc.ReaderState{{Reader: pcsc.PnPNotification}}
	err := pc.GetStatusChangeTimeout(ctx, st, 0)
	switch {
	case err == nil, errors.Is(err, pcsc.ErrTimeout):
		return st[0].EventState&pcsc.StateUnknown == 0, nil
	case errors.Is(err, device.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("asking for reader notifications: %w", err)
}

// stopped reports an error meaning the service stopped, on a platform where
// it does so when its last reader goes (then it is not a failure).
func (w *waiter) stopped(err error) bool {
	return w.restarts && errors.Is(err, pcsc.ErrNoService)
}

func (w *waiter) close() {
	if w.pc != nil {
		w.pc.Release()
		w.pc = nil
	}
	if w.lister != nil {
		w.lister.Release()
		w.lister = nil
	}
}

// connect connects to a reader on the waiter's context (idle between waits).
func (w *waiter) connect(ctx context.Context, reader string) (device.Card, error) {
	if w.pc == nil {
		return nil, &pcsc.Error{Code: pcsc.CodeNoService}
	}
	return w.pc.Connect(ctx, reader, false)
}

// readers is the number of real readers followed.
func (w *waiter) readers() int { return len(w.states) }

// sync re-lists readers: new ones start unaware (the next wait reports their
// state at once), vanished ones are dropped and reported Gone.
func (w *waiter) sync() ([]change, error) {
	if w.pc == nil {
		return w.lose(), nil
	}
	names, err := w.pc.Readers()
	if err != nil {
		if w.stopped(err) {
			return w.lose(), nil
		}
		return nil, fmt.Errorf("listing readers: %w", err)
	}
	known := map[string]pcsc.State{}
	for _, st := range w.states {
		known[st.Reader] = st.CurrentState
	}
	var states []pcsc.ReaderState
	for _, n := range names {
		if n == pcsc.PnPNotification {
			continue
		}
		states = append(states, pcsc.ReaderState{Reader: n, CurrentState: known[n]})
		delete(known, n)
	}
	var out []change
	for _, st := range w.states {
		if old, ok := known[st.Reader]; ok {
			out = append(out, change{Reader: st.Reader, Old: old, Gone: true})
		}
	}
	w.states = states
	return out, nil
}

// lose drops the context of a service that stopped: every reader is gone.
func (w *waiter) lose() []change {
	var out []change
	for _, st := range w.states {
		out = append(out, change{Reader: st.Reader, Old: st.CurrentState, Gone: true})
	}
	w.close()
	w.states = nil
	return out
}

// wait blocks until at least one reader changes and returns the changes.
// The first call reports every reader's state (from "unaware").
func (w *waiter) wait(ctx context.Context) ([]change, error) {
	if w.pnp && w.pc != nil {
		return w.waitPnP(ctx)
	}
	return w.waitListing(ctx)
}

// waitPnP waits with the PnP pseudo-reader, so readers appearing wake it.
//
// pcsc-lite 1.9.9 (Debian 12) only compares the reader count at the start
// and during a call, so a reader added between the listing and the call is
// noticed at the next wake; pcsc-lite >= 2.3 also keeps a reader-event
// counter in the upper 16 bits, which wait feeds back, closing that gap
// (https://blog.apdu.fr/posts/2024/08/improved-scardgetstatuschange-for-pnpnotification-special-reader/).
func (w *waiter) waitPnP(ctx context.Context) ([]change, error) {
	for {
		states := append(w.states, w.pnpState)
		var err error
		if w.recheck {
			err = w.pc.GetStatusChangeTimeout(ctx, states, w.interval)
		} else {
			err = w.pc.GetStatusChange(ctx, states)
		}
		w.pnpState = states[len(states)-1]
		w.states = states[:len(states)-1]
		if errors.Is(err, pcsc.ErrTimeout) && ctx.Err() == nil {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if w.stopped(err) {
				// The Windows Smart Card service stopped with its last
				// reader: follow the reader list until it is back.
				return w.lose(), nil
			}
			if !errors.Is(err, device.ErrNotFound) {
				return nil, err
			}
			// A reader vanished between listing and waiting.
			out, err := w.sync()
			if err != nil {
				return nil, err
			}
			if len(out) > 0 {
				return out, nil
			}
			continue
		}
		pnp := &w.pnpState
		resync := pnp.EventState&pcsc.StateChanged != 0
		pnp.CurrentState = pnp.EventState &^ pcsc.StateChanged
		out, gone := w.collect()
		if resync || gone {
			more, err := w.sync()
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

// changed makes the listings come often for a while (see hotListDivisor).
func (w *waiter) changed() {
	w.hotUntil = time.Now().Add(hotListIntervals * w.interval)
}

// schedule is when to list from now on: often until the while after the
// last change is over, every interval after.
func (w *waiter) schedule() pcsc.ListSchedule {
	s := pcsc.ListSchedule{Often: max(w.interval/hotListDivisor, time.Millisecond), Every: w.interval}
	if left := time.Until(w.hotUntil); left > 0 {
		s.Count = int((left + s.Often - 1) / s.Often)
	}
	return s
}

// gap is the wait before the next listing (see schedule).
func (w *waiter) gap() time.Duration {
	if s := w.schedule(); s.Count > 0 {
		return s.Often
	}
	return w.interval
}

// readersWaiter is a Context that waits for its reader list to change in
// one call ([pcsc.Context.WaitReadersChange]: with cgo, a loop in C that
// wakes only this thread, and only to list).
type readersWaiter interface {
	WaitReadersChange(ctx context.Context, known []string, s pcsc.ListSchedule) ([]string, error)
}

// WaitReadersChange lists c's readers on s's schedule until the list is no
// longer known (or s's nudge moved) and returns that listing: in one call
// where c can ([pcsc.Context.WaitReadersChange]), else from Go
// ([pcsc.PollReaders]). A [Context] that wraps another (as
// device/scan/macpcsc does) waits through it with this.
func WaitReadersChange(ctx context.Context, c Context, known []string, s pcsc.ListSchedule) ([]string, error) {
	if rw, ok := c.(readersWaiter); ok {
		return rw.WaitReadersChange(ctx, known, s)
	}
	return pcsc.PollReaders(ctx, c.Readers, known, s)
}

// waitList lists the readers on the lister context, on the schedule, until
// the list is no longer known, and returns it.
func (w *waiter) waitList(ctx context.Context, known []string) ([]string, error) {
	return WaitReadersChange(ctx, w.lister, known, w.schedule())
}

// waitListing follows readers without the PnP pseudo-reader: it blocks in
// SCardGetStatusChange on the readers it knows (a card or reader leaving
// wakes it at once) while listing the readers on a second context, often
// just after a change and every interval otherwise (see hotListDivisor); a new
// or vanished reader in the list ends the wait (SCardCancel). Idle, that is
// one SCardListReaders per interval, the cheapest call there is, made from
// a loop in C that leaves the Go runtime asleep: a wait with a timeout
// costs pcsc-lite 1.9.9 over a millisecond of this process's CPU each time,
// and a listing from Go wakes the runtime's threads, which costs more than
// the listing (docs/pcsc-platforms.md §1.1, BENCHMARKS.md). With no readers
// it only lists; with no service it tries to start one every interval.
func (w *waiter) waitListing(ctx context.Context) ([]change, error) {
	for {
		var out []change
		switch {
		case w.pc == nil:
			if err := sleepCtx(ctx, w.gap()); err != nil {
				return nil, err
			}
			if err := w.establish(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if w.stopped(err) {
					continue
				}
				return nil, fmt.Errorf("waiting for keys: %w", err)
			}
			// The readers there now start "unaware", so the next wait
			// reports them at once.
			if _, err := w.sync(); err != nil {
				return nil, err
			}
			if w.pnp {
				return w.waitPnP(ctx)
			}
			continue
		case len(w.states) == 0:
			if _, err := w.waitList(ctx, nil); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if !w.stopped(err) {
					return nil, fmt.Errorf("listing readers: %w", err)
				}
				return w.lose(), nil
			}
		default:
			var lost bool
			var err error
			out, lost, err = w.blockAndList(ctx)
			switch {
			case err != nil:
				return nil, err
			case lost:
				return w.lose(), nil
			}
		}
		more, err := w.sync()
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		if len(out) > 0 {
			w.changed()
			return out, nil
		}
	}
}

// blockAndList waits on the known readers until one changes or the reader
// list does. lost reports that the service stopped (Windows).
func (w *waiter) blockAndList(ctx context.Context) (out []change, lost bool, err error) {
	known := make([]string, len(w.states))
	for i, st := range w.states {
		known[i] = st.Reader
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		if w.recheck {
			done <- w.pc.GetStatusChangeTimeout(wctx, w.states, w.interval)
			return
		}
		done <- w.pc.GetStatusChange(wctx, w.states)
	}()
	listed := make(chan error, 1)
	go func() {
		_, err := w.waitList(wctx, known)
		listed <- err
	}()
	finish := func(err error) ([]change, bool, error) {
		switch {
		case ctx.Err() != nil:
			return nil, false, ctx.Err()
		case err == nil:
			out, _ := w.collect()
			return out, false, nil
		case wctx.Err() != nil, errors.Is(err, device.ErrNotFound), errors.Is(err, pcsc.ErrTimeout):
			// Ended for the listing, or a reader vanished between
			// listing and waiting: the listing reports it.
			return nil, false, nil
		case w.stopped(err):
			return nil, true, nil
		}
		return nil, false, err
	}
	select {
	case err := <-done:
		cancel()
		<-listed
		return finish(err)
	case lerr := <-listed:
		// The list changed (the caller lists again and reports it), or
		// listing failed.
		cancel()
		werr := <-done
		if lerr == nil || ctx.Err() != nil {
			return finish(werr)
		}
		if w.stopped(lerr) {
			return nil, true, nil
		}
		if out, lost, ferr := finish(werr); ferr != nil || lost || len(out) > 0 {
			return out, lost, ferr
		}
		return nil, false, fmt.Errorf("listing readers: %w", lerr)
	}
}

// collect turns the event states of the last wait into changes and makes
// them current. A reader reported unknown went away: it is reported Gone
// and dropped, so a reader of the same name listed again later (a key
// replugged at once) starts afresh from "unaware".
func (w *waiter) collect() (out []change, gone bool) {
	kept := w.states[:0]
	for _, st := range w.states {
		if st.EventState&pcsc.StateUnknown != 0 {
			out = append(out, change{Reader: st.Reader, Old: st.CurrentState, Gone: true})
			gone = true
			continue
		}
		if st.EventState&pcsc.StateChanged != 0 || st.CurrentState == pcsc.StateUnaware {
			out = append(out, change{Reader: st.Reader, Old: st.CurrentState, New: st.EventState &^ pcsc.StateChanged})
		}
		st.CurrentState = st.EventState &^ pcsc.StateChanged
		kept = append(kept, st)
	}
	w.states = kept
	return out, gone
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
