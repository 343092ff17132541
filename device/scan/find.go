package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/mgmt"
)

// Find returns the key with serial, or with serial 0 the only key plugged
// in. It fails with a *device.KeyNotFoundError listing the serials present
// (matches device.ErrNotFound), or with serial 0 and several keys a
// *device.AmbiguousError (matches device.ErrAmbiguous).
func (s *Scanner) Find(ctx context.Context, serial uint32) (device.Key, error) {
	keys, err := s.Keys(ctx)
	k, ferr := pick(keys, serial)
	if ferr != nil && err != nil {
		// Some reader could not be read: it may hold the key asked for.
		return device.Key{}, fmt.Errorf("%w (and some keys could not be read: %w)", ferr, err)
	}
	return k, ferr
}

// pick chooses the key with serial (0 = the only one).
func pick(keys []device.Key, serial uint32) (device.Key, error) {
	serials := make([]uint32, 0, len(keys))
	for _, k := range keys {
		serials = append(serials, k.Serial)
	}
	if serial == 0 {
		switch len(keys) {
		case 1:
			return keys[0], nil
		case 0:
			return device.Key{}, &device.KeyNotFoundError{}
		}
		return device.Key{}, &device.AmbiguousError{Serials: serials}
	}
	var found []device.Key
	for _, k := range keys {
		if k.Serial == serial {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return device.Key{}, &device.KeyNotFoundError{Serial: serial, Present: serials}
	}
	// Two readers reporting one serial: the same key over USB and an NFC
	// reader at once, or a cloned simulator. Refuse to choose.
	return device.Key{}, &device.AmbiguousError{Serials: []uint32{serial, serial}}
}

// OpenCard opens a shared connection to the smart-card interface of the key
// with serial (0 = the only key) and returns it with its reader's name. The
// card comes from the probe that identified the key, so it is the key that
// was asked for even if readers were renumbered meanwhile. Close it when
// done; that also releases its PC/SC context.
func (s *Scanner) OpenCard(ctx context.Context, serial uint32) (device.Card, string, error) {
	card, k, err := s.OpenKey(ctx, serial)
	return card, k.Reader, err
}

// OpenKey is OpenCard returning the key as the probe read it (serial,
// model, device info, reader), so a caller that asked for "the only key"
// learns which key it holds from the card it holds. The card is inside a
// PC/SC transaction until it is closed: opening the same key again from
// this process (Find, Keys, OpenCard) before then would wait for that
// transaction forever.
func (s *Scanner) OpenKey(ctx context.Context, serial uint32) (device.Card, device.Key, error) {
	probes, err := s.probeAll(ctx, func(p *probe) bool {
		return p.ok && (serial == 0 || p.key.Serial == serial)
	})
	if err != nil {
		return nil, device.Key{}, err
	}
	var keys []device.Key
	var errs []error
	var kept []*probe
	for _, p := range probes {
		if p.err != nil {
			errs = append(errs, p.err)
		}
		if p.ok {
			keys = append(keys, p.key)
			if p.card != nil {
				kept = append(kept, p)
			}
		}
	}
	slices.SortFunc(keys, func(a, b device.Key) int { return cmp.Compare(a.Serial, b.Serial) })
	if _, perr := pick(keys, serial); perr != nil {
		for _, p := range kept {
			p.close()
		}
		if err := errors.Join(errs...); err != nil {
			return nil, device.Key{}, fmt.Errorf("%w (and some keys could not be read: %w)", perr, err)
		}
		return nil, device.Key{}, perr
	}
	p := kept[0]
	card := &ownedCard{Card: p.card, pc: p.pc, own: p.ownPC}
	p.card, p.pc = nil, nil
	return card, p.key, nil
}

// ownedCard is a card that releases its PC/SC context when closed.
type ownedCard struct {
	device.Card
	pc  Context
	own bool
}

func (c *ownedCard) Close() error {
	err := c.Card.Close()
	if c.own && c.pc != nil {
		c.pc.Release()
		c.pc = nil
	}
	return err
}

// leaveWindow is how long Reopener waits to see the key go away when it
// still answers at the start. pcscd notices a vpcd card's disconnection at
// its next presence poll (PCSCLITE_STATUS_POLL_RATE, 400 ms); a USB key's
// reader disappears within about 100 ms of the reboot (§1.9).
const leaveWindow = 1500 * time.Millisecond

// Reopener returns a mgmt.Reopener that waits for the key with serial to
// come back after a reboot (WRITE CONFIG with REBOOT) and returns a fresh
// card for it. Waiting is event-driven (SCardGetStatusChange) and bounded by
// ReopenTimeout. The key's reader may come back under another name (a real
// key re-enumerates with different USB interfaces); on vpcd it stays the
// same.
//
// It is called right after the write, when the key may not have dropped off
// yet: a key that still answers is only trusted once no reader has seen a
// removal for leaveWindow, so a connection from before the reboot is never
// handed out.
func (s *Scanner) Reopener(serial uint32) mgmt.Reopener {
	return func(ctx context.Context) (device.Card, error) { return s.reopen(ctx, serial) }
}

func (s *Scanner) reopen(ctx context.Context, serial uint32) (device.Card, error) {
	timeout := s.ReopenTimeout
	if timeout <= 0 {
		timeout = DefaultReopenTimeout
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errTimeout := fmt.Errorf("key %d did not come back within %s after rebooting: %w", serial, timeout, device.ErrRemoved)
	stopTimer := s.afterFunc(timeout, func() { cancel(errTimeout) })
	defer stopTimer()
	fail := func(err error) (device.Card, error) {
		if c := context.Cause(ctx); c == errTimeout {
			return nil, errTimeout
		}
		return nil, err
	}

	w, err := newWaiter(ctx, s.PCSC, s.ListInterval)
	if err != nil {
		return nil, err
	}
	defer w.close()
	if w.readers() > 0 {
		if _, err := w.wait(ctx); err != nil { // learn the current states
			return fail(err)
		}
	}

	card, _, err := s.OpenCard(ctx, serial)
	switch {
	case err == nil:
		left, err := s.waitLeave(ctx, w)
		if err != nil {
			card.Close()
			return fail(err)
		}
		if !left {
			if k, ok, err := readKey(ctx, card, ""); err == nil && ok && k.Serial == serial {
				return card, nil
			}
		}
		card.Close()
	case !errors.Is(err, device.ErrNotFound) && !gone(err):
		return fail(err)
	}
	for {
		card, _, err := s.OpenCard(ctx, serial)
		if err == nil {
			return card, nil
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		if !errors.Is(err, device.ErrNotFound) && !gone(err) {
			return fail(err)
		}
		if _, err := w.wait(ctx); err != nil {
			return fail(err)
		}
	}
}

// waitLeave reports whether any card leaves (removed, replaced, or its
// reader gone) within leaveWindow.
func (s *Scanner) waitLeave(ctx context.Context, w *waiter) (bool, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := s.afterFunc(leaveWindow, cancel)
	defer stop()
	for {
		changes, err := w.wait(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if wctx.Err() != nil {
				return false, nil // the window passed quietly
			}
			return false, err
		}
		for _, c := range changes {
			if c.Gone && present(c.Old) || present(c.Old) && !present(c.New) || c.replaced() {
				return true, nil
			}
		}
	}
}

// afterFunc runs f after d on the scanner's clock; stop cancels it.
func (s *Scanner) afterFunc(d time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	ch := s.clock().After(d)
	go func() {
		select {
		case <-ch:
			f()
		case <-done:
		}
	}()
	return func() { close(done) }
}
