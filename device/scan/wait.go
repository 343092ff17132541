package scan

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
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
// waits is not lost.
func (c change) replaced() bool {
	return c.Old != pcsc.StateUnaware && present(c.Old) && present(c.New) && c.Old.Count() != c.New.Count()
}

// waiter follows every reader's state (plus the PnP pseudo-reader) on a
// PC/SC context of its own and reports transitions. It never polls: wait
// blocks in SCardGetStatusChange.
type waiter struct {
	pc     Context
	states []pcsc.ReaderState // readers, then PnP last
}

func newWaiter(p PCSC) (*waiter, error) {
	if p == nil {
		return nil, fmt.Errorf("waiting for keys: no PC/SC service configured: %w", device.ErrInvalidArgument)
	}
	pc, err := p.Establish()
	if err != nil {
		return nil, fmt.Errorf("waiting for keys: %w", err)
	}
	w := &waiter{pc: pc, states: []pcsc.ReaderState{{Reader: pcsc.PnPNotification}}}
	if _, err := w.sync(); err != nil {
		pc.Release()
		return nil, err
	}
	return w, nil
}

func (w *waiter) close() { w.pc.Release() }

// readers is the number of real readers followed.
func (w *waiter) readers() int { return len(w.states) - 1 }

// sync re-lists readers: new ones start unaware (the next wait reports their
// state at once), vanished ones are dropped and reported Gone.
func (w *waiter) sync() ([]change, error) {
	names, err := w.pc.Readers()
	if err != nil {
		return nil, fmt.Errorf("listing readers: %w", err)
	}
	known := map[string]pcsc.State{}
	for _, st := range w.states[:w.readers()] {
		known[st.Reader] = st.CurrentState
	}
	pnp := w.states[w.readers()]
	var states []pcsc.ReaderState
	for _, n := range names {
		if n == pcsc.PnPNotification {
			continue
		}
		states = append(states, pcsc.ReaderState{Reader: n, CurrentState: known[n]})
		delete(known, n)
	}
	var out []change
	for _, st := range w.states[:w.readers()] {
		if old, ok := known[st.Reader]; ok {
			out = append(out, change{Reader: st.Reader, Old: old, Gone: true})
		}
	}
	w.states = append(states, pnp)
	return out, nil
}

// wait blocks until at least one reader changes and returns the changes.
// The first call reports every reader's state (from "unaware").
//
// Readers appearing are seen through the PnP pseudo-reader. pcsc-lite 1.9.9
// (Debian 12) only compares the reader count at the start and during a call,
// so a reader added between the listing and the call is noticed at the next
// wake; pcsc-lite >= 2.3 also keeps a reader-event counter in the upper 16
// bits, which wait feeds back, closing that gap
// (https://blog.apdu.fr/posts/2024/08/improved-scardgetstatuschange-for-pnpnotification-special-reader/).
func (w *waiter) wait(ctx context.Context) ([]change, error) {
	for {
		err := w.pc.GetStatusChange(ctx, w.states)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
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
		var out []change
		resync := false
		for i := range w.states {
			st := &w.states[i]
			if st.Reader == pcsc.PnPNotification {
				resync = resync || st.EventState&pcsc.StateChanged != 0
				st.CurrentState = st.EventState &^ pcsc.StateChanged
				continue
			}
			if st.EventState&pcsc.StateUnknown != 0 {
				resync = true // the reader went away; sync reports it
				continue
			}
			if st.EventState&pcsc.StateChanged != 0 || st.CurrentState == pcsc.StateUnaware {
				out = append(out, change{Reader: st.Reader, Old: st.CurrentState, New: st.EventState &^ pcsc.StateChanged})
			}
			st.CurrentState = st.EventState &^ pcsc.StateChanged
		}
		if resync {
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
