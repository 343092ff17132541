//go:build cgo || windows

// Helpers shared by the real bindings (cgo and Windows).

package pcsc

import (
	"context"
	"errors"
	"time"

	"github.com/keywizard/keywizard/device"
)

// cancelRetry is how often SCardCancel is repeated once the caller's context
// is done and the blocked call has not returned yet.
const cancelRetry = 50 * time.Millisecond

// watchCancel arranges for cancel (SCardCancel on the waiting context) to be
// called when ctx is done while a blocking call is in progress; stop ends
// the watch and must be called when the call returns. Nothing runs while
// ctx is not done: the blocked call costs no CPU.
//
// SCardCancel only wakes a wait that pcscd has already registered: if ctx is
// cancelled just before the call reaches the daemon, a single SCardCancel
// is lost and the call would block forever. So, only after cancellation,
// the cancel is repeated until the call returns.
func watchCancel(ctx context.Context, cancel func()) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTicker(cancelRetry)
		defer t.Stop()
		for {
			cancel()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// timeoutMillis converts a wait's timeout to SCardGetStatusChange's
// milliseconds, below INFINITE (0xFFFFFFFF) and never negative.
func timeoutMillis(d time.Duration) uint32 {
	ms := d.Milliseconds()
	switch {
	case ms < 0:
		return 0
	case ms >= 0xFFFFFFFF:
		return 0xFFFFFFFE
	}
	return uint32(ms)
}

// isGone reports errors that mean the card or its reader is no longer there:
// disconnecting from it has nothing left to do.
func isGone(err error) bool {
	return errors.Is(err, device.ErrRemoved) || errors.Is(err, device.ErrNotFound)
}
