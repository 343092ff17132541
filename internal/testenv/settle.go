package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/pcsc"
)

// vpcdReaders are the two readers vsmartcard's vpcd gives pcscd.
var vpcdReaders = []string{"Virtual PCD 00 00", "Virtual PCD 00 01"}

// WaitReadersEmpty blocks until pcscd reports no card in either vpcd reader.
//
// pcscd learns of a virtual card leaving only at its next presence poll
// (docs/yubikey-protocol.md §6.3). A test that attaches a card right after the
// previous test detached one can land between two polls: pcscd then never
// sees a removal and a new insertion, and does not power the new card up as
// it does on insertion. Waiting for the readers to be empty, event-driven
// through SCardGetStatusChange, hands every test a clean slate.
func WaitReadersEmpty(tb testing.TB) {
	tb.Helper()
	c, err := pcsc.Establish()
	if err != nil {
		tb.Fatalf("connecting to pcscd: %v", err)
	}
	defer c.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	states := make([]pcsc.ReaderState, len(vpcdReaders))
	for i, r := range vpcdReaders {
		states[i] = pcsc.ReaderState{Reader: r, CurrentState: pcsc.StateUnaware}
	}
	for {
		if err := c.GetStatusChange(ctx, states); err != nil {
			tb.Fatalf("waiting for pcscd to see the vpcd readers empty (a card left attached by an earlier test?): %v", err)
		}
		busy := false
		for i := range states {
			if states[i].EventState.Present() {
				busy = true
			}
			states[i].CurrentState = states[i].EventState
		}
		if !busy {
			return
		}
	}
}

// WaitCardPresent blocks until pcscd reports a card in reader: a process
// that says it attached a key may do so before pcscd's next presence poll.
func WaitCardPresent(tb testing.TB, reader string) {
	tb.Helper()
	c, err := pcsc.Establish()
	if err != nil {
		tb.Fatalf("connecting to pcscd: %v", err)
	}
	defer c.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	states := []pcsc.ReaderState{{Reader: reader, CurrentState: pcsc.StateUnaware}}
	for {
		if err := c.GetStatusChange(ctx, states); err != nil {
			tb.Fatalf("waiting for pcscd to see a card in %q: %v", reader, err)
		}
		if states[0].EventState.Present() {
			return
		}
		states[0].CurrentState = states[0].EventState
	}
}
