// Package pcsc is keywizard's own small PC/SC binding: list readers, connect
// to a card (shared or exclusive, T=1 or T=0), transmit raw APDUs, hold
// transactions, and wait for reader and card events.
//
// It exists because piv-go's binding is internal and holds cards exclusively
// for the life of a handle, and github.com/ebfe/scard is not available from
// the module proxy. Three implementations share this file's types:
//
//   - Linux, the BSDs and macOS: cgo against libpcsclite (pkg-config
//     libpcsclite) or the PCSC framework. DWORD and LONG are 64-bit "unsigned
//     long"/"long" in pcsc-lite on LP64 Linux but 32-bit on macOS; the cgo code
//     only ever converts through the C types, and return codes are compared as
//     uint32 (a 32-bit LONG holding 0x8010xxxx is negative; see
//     https://github.com/go-piv/piv-go/issues/53).
//   - Windows: pure Go through syscall.NewLazyDLL("winscard.dll"), so Windows
//     builds need no C toolchain.
//   - Anything else, or CGO_ENABLED=0 off Windows: a stub whose functions
//     return an error matching [device.ErrUnsupported].
//
// # Errors
//
// PC/SC return codes become a [*Error] carrying the code. Callers branch with
// errors.Is: a card that was pulled, reset by someone else, or whose reader
// vanished matches [device.ErrRemoved]; pcscd (or the Windows Smart Card
// service) not running matches [ErrNoService]; a card held exclusively by
// another program matches [ErrInUse]; cancelled waits return ctx.Err().
//
// # Concurrency
//
// A [Context] may be used from several goroutines, but PC/SC serialises calls
// per context: pcsc-lite locks the context for the whole of
// SCardGetStatusChange and every SCardTransmit on a card connected through it
// (winscard_clnt.c, SCardGetAndLockContext). Code that probes several readers
// in parallel, or waits for events while talking to a card, therefore uses
// one Context per goroutine.
package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/keywizard/keywizard/device"
)

// PnPNotification is the pseudo-reader name that, passed to
// GetStatusChange, reports readers appearing and disappearing (pcsc-lite
// and Windows; macOS has no equivalent and reports it as unknown).
const PnPNotification = `\\?PnP?\Notification`

// State is a reader's state as SCardGetStatusChange reports it
// (dwCurrentState / dwEventState). The upper 16 bits carry pcsc-lite's event
// counter: it increases on every card insertion and removal, so a caller
// that passes back the state it last saw also learns of a removal followed
// by an insertion that both happened between two calls.
type State uint32

// Reader state bits (pcsclite.h SCARD_STATE_*, same values on Windows).
const (
	StateUnaware     State = 0x0000
	StateIgnore      State = 0x0001
	StateChanged     State = 0x0002
	StateUnknown     State = 0x0004
	StateUnavailable State = 0x0008
	StateEmpty       State = 0x0010
	StatePresent     State = 0x0020
	StateATRMatch    State = 0x0040
	StateExclusive   State = 0x0080
	StateInUse       State = 0x0100
	StateMute        State = 0x0200
	StateUnpowered   State = 0x0400
)

// Flags is the state without the event counter.
func (s State) Flags() State { return s & 0xFFFF }

// Count is the event counter in the upper 16 bits (for the PnP
// pseudo-reader, pcsc-lite >= 2.3 puts its reader-event counter there).
func (s State) Count() uint16 { return uint16(s >> 16) }

// Present reports whether a card is in the reader.
func (s State) Present() bool { return s&StatePresent != 0 }

// ReaderState is one entry of a GetStatusChange call. The caller sets Reader
// and CurrentState (what it believes, usually the EventState it last saw;
// StateUnaware to get the current state immediately); GetStatusChange fills
// EventState and ATR.
type ReaderState struct {
	Reader       string
	CurrentState State
	EventState   State
	ATR          []byte
}

// Protocol is the transmission protocol a card was connected with.
type Protocol uint32

// Protocols (SCARD_PROTOCOL_*; the same values on every platform).
const (
	ProtocolT0 Protocol = 0x0001
	ProtocolT1 Protocol = 0x0002
)

func (p Protocol) String() string {
	switch p {
	case ProtocolT0:
		return "T=0"
	case ProtocolT1:
		return "T=1"
	}
	return fmt.Sprintf("protocol 0x%x", uint32(p))
}

// Code is a PC/SC return code (SCARD_E_*, SCARD_W_*), the same numbers on
// pcsc-lite, macOS and Windows.
type Code uint32

// The return codes keywizard interprets (pcsclite.h; MSDN "Smart Card Return
// Values").
const (
	CodeSuccess           Code = 0x00000000
	CodeInternalError     Code = 0x80100001
	CodeCancelled         Code = 0x80100002
	CodeInvalidHandle     Code = 0x80100003
	CodeInvalidParameter  Code = 0x80100004
	CodeNoMemory          Code = 0x80100006
	CodeInsufficientBuf   Code = 0x80100008
	CodeUnknownReader     Code = 0x80100009
	CodeTimeout           Code = 0x8010000A
	CodeSharingViolation  Code = 0x8010000B
	CodeNoSmartcard       Code = 0x8010000C
	CodeProtoMismatch     Code = 0x8010000F
	CodeNotReady          Code = 0x80100010
	CodeInvalidValue      Code = 0x80100011
	CodeSystemCancelled   Code = 0x80100012
	CodeNotTransacted     Code = 0x80100016
	CodeReaderUnavailable Code = 0x80100017
	CodeNoService         Code = 0x8010001D
	CodeServiceStopped    Code = 0x8010001E
	CodeNoReaders         Code = 0x8010002E
	CodeCommDataLost      Code = 0x8010002F
	CodeUnsupportedCard   Code = 0x80100065
	CodeUnresponsiveCard  Code = 0x80100066
	CodeUnpoweredCard     Code = 0x80100067
	CodeResetCard         Code = 0x80100068
	CodeRemovedCard       Code = 0x80100069
)

// codeText is hand-written for the codes that matter; messages are for
// people and say what to do where there is something to do.
var codeText = map[Code]string{
	CodeInternalError:     "internal error in the smart card service",
	CodeCancelled:         "the operation was cancelled",
	CodeInvalidHandle:     "invalid PC/SC handle (the connection was already closed)",
	CodeInvalidParameter:  "invalid parameter passed to PC/SC",
	CodeNoMemory:          "the smart card service is out of memory",
	CodeInsufficientBuf:   "response buffer too small",
	CodeUnknownReader:     "the reader is not known to the smart card service (it was unplugged)",
	CodeTimeout:           "timed out waiting for the smart card service",
	CodeSharingViolation:  "the key is in use by another program (for example yubikey-agent or a browser); close it and try again",
	CodeNoSmartcard:       "no card in the reader",
	CodeProtoMismatch:     "the card does not speak the requested protocol",
	CodeNotReady:          "the reader or card is not ready",
	CodeInvalidValue:      "invalid value passed to PC/SC",
	CodeSystemCancelled:   "the operation was cancelled by the system",
	CodeNotTransacted:     "no transaction is open",
	CodeReaderUnavailable: "the reader is not available (it was unplugged)",
	CodeNoService:         "the smart card service is not running; start pcscd (Linux: `sudo systemctl start pcscd` or scripts/pcscd.sh) or the Smart Card service (Windows)",
	CodeServiceStopped:    "the smart card service stopped; start pcscd (Linux) or the Smart Card service (Windows) again",
	CodeNoReaders:         "no smart card readers are connected",
	CodeCommDataLost:      "communication with the card failed; try again",
	CodeUnsupportedCard:   "the reader cannot talk to this card",
	CodeUnresponsiveCard:  "the card does not respond",
	CodeUnpoweredCard:     "the card was powered down",
	CodeResetCard:         "the card was reset by another program",
	CodeRemovedCard:       "the card was removed",
}

// Sentinels a [*Error] matches (besides the device package's ErrRemoved,
// ErrNotFound, ErrInvalidArgument).
var (
	// ErrNoService: pcscd / the Smart Card service is not running.
	ErrNoService = errors.New("the smart card service is not running; start pcscd (Linux) or the Smart Card service (Windows)")
	// ErrInUse: another program holds the card exclusively
	// (SCARD_E_SHARING_VIOLATION). It is [device.ErrInUse], so layers that
	// must not import this package (ui) can explain it.
	ErrInUse = device.ErrInUse
	// ErrTimeout: a PC/SC wait with a finite timeout expired.
	ErrTimeout = errors.New("timed out waiting for a smart card event")
	// ErrCancelled: a wait was cancelled by SCardCancel without the caller's
	// context being done (another party cancelled it).
	ErrCancelled = errors.New("smart card wait cancelled")
)

// Error is a PC/SC return code. Use errors.Is with [ErrNoService],
// [ErrInUse], [ErrTimeout], [ErrCancelled], [device.ErrRemoved] or
// [device.ErrNotFound]; errors.As to read the code.
type Error struct {
	Code Code
}

func (e *Error) Error() string {
	if t, ok := codeText[e.Code]; ok {
		return fmt.Sprintf("pcsc: %s (0x%08X)", t, uint32(e.Code))
	}
	return fmt.Sprintf("pcsc: error 0x%08X", uint32(e.Code))
}

// Is maps codes to the sentinels callers branch on.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNoService:
		return e.Code == CodeNoService || e.Code == CodeServiceStopped
	case ErrInUse:
		return e.Code == CodeSharingViolation
	case ErrTimeout:
		return e.Code == CodeTimeout
	case ErrCancelled:
		return e.Code == CodeCancelled || e.Code == CodeSystemCancelled
	case device.ErrRemoved:
		// A key that is unplugged shows as a removed card, a reader that
		// is unavailable (USB readers vanish with the key) or an empty
		// reader; a card reset by another program has lost its session
		// state (selected applet, verified PIN) just as if it had been
		// re-inserted.
		switch e.Code {
		case CodeRemovedCard, CodeResetCard, CodeReaderUnavailable, CodeNoSmartcard,
			CodeUnpoweredCard:
			return true
		}
	case device.ErrNotFound:
		return e.Code == CodeUnknownReader
	case device.ErrInvalidArgument:
		return e.Code == CodeInvalidParameter || e.Code == CodeInvalidValue
	}
	return false
}

// check turns a return code into nil or a *Error.
func check(rc uint32) error {
	if Code(rc) == CodeSuccess {
		return nil
	}
	return &Error{Code: Code(rc)}
}

// splitMultiString splits a PC/SC multi-string ("a\0b\0\0").
func splitMultiString(b []byte) []string {
	out := []string{}
	start := 0
	for i, c := range b {
		if c != 0 {
			continue
		}
		if i == start {
			break // the terminating empty string
		}
		out = append(out, string(b[start:i]))
		start = i + 1
	}
	return out
}

// transmitError interprets what SCardTransmit returned. Two outcomes mean
// the card went away mid-command without pcscd saying so:
//
//   - SCARD_E_NOT_TRANSACTED: pcscd's answer to any IFD communication error
//     (winscard.c SCardTransmit, ifdwrapper.c IFDTransmit). A real YubiKey
//     unplugged mid-command gives READER_UNAVAILABLE or REMOVED_CARD, but a
//     card behind vpcd whose connection dropped gives this.
//   - A response without a status word: ifd-vpcd reports success with an
//     empty response when the card closed its connection while the command
//     was in flight (vpcd.c vicc_transmit returns 0 bytes). No working card
//     answers without SW1 SW2 (ISO 7816-4 §5.1).
//
// Both are reported as device.ErrRemoved, keeping the PC/SC code.
func transmitError(n int, err error) error {
	var pe *Error
	switch {
	case err == nil && n < 2:
		return fmt.Errorf("transmitting: the card answered without a status word (it was removed mid-command): %w", device.ErrRemoved)
	case errors.As(err, &pe) && pe.Code == CodeNotTransacted:
		return fmt.Errorf("transmitting: the card stopped responding: %w: %w", device.ErrRemoved, err)
	case err != nil:
		return fmt.Errorf("transmitting: %w", err)
	}
	return nil
}

// ListSchedule says when [Context.WaitReadersChange] lists the readers:
// Often apart for the first Count listings, Every apart after.
type ListSchedule struct {
	Often time.Duration
	Count int
	Every time.Duration
	// Nudge, when set, also ends the wait at a listing once it has been
	// nudged since Seen (its [Nudge.Seen] when the caller last looked).
	Nudge *Nudge
	Seen  uint32
}

// gap is the wait before listing number i (from 0): at least a
// millisecond, so a zero schedule does not spin.
func (s ListSchedule) gap(i int) time.Duration {
	if i < s.Count {
		return max(s.Often, time.Millisecond)
	}
	return max(s.Every, time.Millisecond)
}

// A Nudge tells a [Context.WaitReadersChange] in progress that the caller's
// own view of the readers changed, to be reported at the next listing as a
// change of the list is. It is for a layer over the service that shows
// readers differently from the service's own list (device/scan/macpcsc
// shows a reader only while a card is in it, as macOS does) and must still
// be seen only when a listing happens. The zero value is ready to use.
type Nudge struct {
	// n is read by the C listing loop while it runs (so a plain word, used
	// only through sync/atomic, in memory that holds no Go pointers).
	n uint32
}

// Nudge records a change.
func (n *Nudge) Nudge() { atomic.AddUint32(&n.n, 1) }

// Seen is the count of changes so far, to pass as [ListSchedule.Seen].
func (n *Nudge) Seen() uint32 { return atomic.LoadUint32(&n.n) }

// nudged reports whether s's nudge moved since s.Seen.
func (s ListSchedule) nudged() bool { return s.Nudge != nil && s.Nudge.Seen() != s.Seen }

// PollReaders is [Context.WaitReadersChange] in Go, for a service reached
// without cgo (Windows) or a stand-in for one: list calls the service on
// s's schedule until the list differs from known or s's nudge moved, and
// returns that listing. The Go runtime wakes for every listing, which costs
// more at rest than the cgo binding's loop (BENCHMARKS.md).
func PollReaders(ctx context.Context, list func() ([]string, error), known []string, s ListSchedule) ([]string, error) {
	t := time.NewTimer(s.gap(0))
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		names, err := list()
		if err != nil {
			return nil, err
		}
		if !SameReaders(names, known) || s.nudged() {
			return names, nil
		}
		t.Reset(s.gap(i))
	}
}

// SameReaders reports whether a listing names exactly the readers in known
// (in any order), leaving out the PnP pseudo-reader.
func SameReaders(names, known []string) bool {
	n := 0
	for _, r := range names {
		if r == PnPNotification {
			continue
		}
		if !slices.Contains(known, r) {
			return false
		}
		n++
	}
	m := 0
	for _, r := range known {
		if r != PnPNotification {
			m++
		}
	}
	return n == m
}
