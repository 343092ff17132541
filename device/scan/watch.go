package scan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
)

// EventKind says what happened to a key.
type EventKind int

// Event kinds. Unreadable and Stopped carry Err.
const (
	// Arrived: a key was plugged in (or was already in at the start).
	Arrived EventKind = iota + 1
	// Left: the key that was in Reader was pulled out, rebooted, or its
	// reader disappeared. Key is the key as it was last read.
	Left
	// Unreadable: a card arrived in Reader but could not be read (for
	// example another program holds it exclusively: errors.Is
	// pcsc.ErrInUse). The watch goes on.
	Unreadable
	// Stopped: the watch failed (for example pcscd stopped:
	// errors.Is pcsc.ErrNoService); the channel is closed after it.
	Stopped
)

func (k EventKind) String() string {
	switch k {
	case Arrived:
		return "arrived"
	case Left:
		return "left"
	case Unreadable:
		return "unreadable"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change in the set of keys plugged in.
type Event struct {
	Kind   EventKind
	Key    device.Key // management info only (no FIDO or PIV state)
	Reader string
	Time   time.Time
	Err    error
}

// Watch reports keys arriving and leaving until ctx is done, then closes
// the channel. Keys already plugged in are reported as Arrived first. It
// blocks in SCardGetStatusChange (with the PnP pseudo-reader, so readers
// appearing and disappearing wake it too) and uses no CPU while nothing
// changes; without the PnP pseudo-reader (macOS) it lists the readers every
// ListInterval between such waits.
//
// A reboot (the key leaves and comes back, as after disabling OTP) is
// reported as Left then Arrived, in that order, even when both happened
// between two wakeups: pcsc-lite's per-reader event counter shows the card
// was replaced. On a card's arrival Watch reads its management info with
// a shared connection; Event.Key carries no FIDO or PIV state (use Find).
//
// The caller must keep receiving until the channel is closed, or cancel ctx.
func (s *Scanner) Watch(ctx context.Context) (<-chan Event, error) {
	w, err := newWaiter(ctx, s.PCSC, s.ListInterval)
	if err != nil {
		return nil, err
	}
	ch := make(chan Event)
	go s.watch(ctx, w, ch)
	return ch, nil
}

func (s *Scanner) watch(ctx context.Context, w *waiter, ch chan<- Event) {
	defer close(ch)
	defer w.close()
	send := func(e Event) bool {
		e.Time = s.clock().Now()
		select {
		case ch <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// inReader: reader → the key read there (nil: a card that is not a
	// YubiKey, remembered so it is not probed again).
	inReader := map[string]*device.Key{}
	// busy: readers whose card another program held exclusively when it
	// arrived; probed again once the exclusive hold ends.
	busy := map[string]bool{}
	for {
		w.recheck = len(busy) > 0
		changes, err := w.wait(ctx)
		if err != nil {
			if ctx.Err() == nil {
				send(Event{Kind: Stopped, Err: fmt.Errorf("watching for keys: %w", err)})
			}
			return
		}
		for _, c := range changes {
			now := !c.Gone && present(c.New)
			old, had := inReader[c.Reader]
			if had && (!now || c.replaced()) {
				delete(inReader, c.Reader)
				if old != nil && !send(Event{Kind: Left, Key: *old, Reader: c.Reader}) {
					return
				}
			}
			if !now {
				delete(busy, c.Reader)
				continue
			}
			if _, still := inReader[c.Reader]; still {
				continue // same card, other flags changed (in use, powered)
			}
			if busy[c.Reader] && c.New&pcsc.StateExclusive != 0 && !c.replaced() {
				continue
			}
			key, ok, err := s.probeOne(ctx, w, c.Reader)
			switch {
			case err != nil && gone(err):
				// Pulled out while being read: the next wait sees it gone.
			case err != nil:
				if ctx.Err() != nil {
					return
				}
				if errors.Is(err, pcsc.ErrInUse) {
					if busy[c.Reader] {
						continue // already reported
					}
					busy[c.Reader] = true
				} else {
					// Not retried until the card is re-inserted: probing
					// changes the reader's state, which would wake us again.
					inReader[c.Reader] = nil
				}
				if !send(Event{Kind: Unreadable, Reader: c.Reader, Err: err}) {
					return
				}
			case !ok:
				inReader[c.Reader] = nil
			default:
				delete(busy, c.Reader)
				inReader[c.Reader] = &key
				if !send(Event{Kind: Arrived, Key: key, Reader: c.Reader}) {
					return
				}
			}
		}
	}
}

// probeOne reads the key in one reader on the waiter's context (which is
// idle between waits).
func (s *Scanner) probeOne(ctx context.Context, w *waiter, reader string) (device.Key, bool, error) {
	card, err := w.connect(ctx, reader)
	if err != nil {
		return device.Key{}, false, fmt.Errorf("reader %q: %w", reader, err)
	}
	defer card.Close()
	key, ok, err := readKey(ctx, card, reader)
	if err != nil {
		return device.Key{}, false, fmt.Errorf("reader %q: %w", reader, err)
	}
	return key, ok, nil
}
