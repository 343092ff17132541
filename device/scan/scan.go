// Package scan finds the YubiKeys that are plugged in and builds keywizard's
// combined model of each ([device.Key]) from its interfaces: the management
// application over PC/SC (serial, model, firmware, enabled applications),
// optionally the PIV state, and the FIDO2 HID device tied to it. It also
// opens a key's smart-card interface by serial, waits for a key to come
// back after it rebooted, and watches keys arriving and leaving.
//
// # Discovery
//
// Every PC/SC reader is probed by selecting the management application, not
// by matching reader names: USB YubiKeys ("Yubico YubiKey OTP+FIDO+CCID 00
// 00"), NFC readers and vsmartcard's virtual readers all work, and any other
// card is skipped. Cards are read in parallel, each on its own PC/SC
// context (pcsc-lite serialises calls per context; the first card reuses
// the context that listed the readers, and empty readers cost none), over
// shared connections, with two commands per key (SELECT, READ CONFIG)
// unless the PIV state is asked for.
//
// # FIDO correlation
//
// A FIDO HID device cannot be tied to a smart-card reader by an exact serial:
// Yubico exposes the serial over FIDO HID only through its vendor CTAPHID
// command 0xC2 (READ CONFIG, docs/yubikey-protocol.md §1.12), which libfido2 and
// go-libfido2 do not expose; the CTAP getInfo response carries no serial.
// So each FIDO device is matched on identity: its AAGUID must be the one
// Yubico lists for the key's model and firmware ([fido.MatchesAAGUID], §3.1)
// and its getInfo firmwareVersion (key 0x0E, 0x00MMmmpp, §3.2) must equal the
// management firmware, and the key must have FIDO enabled over USB. Exactly
// one candidate key for exactly one device is [device.MatchUnique]; when
// several keys could own the same device(s) — two identical keys — none of
// them gets FIDO state and each says [device.MatchAmbiguous]. Nothing is
// guessed.
//
// # Events
//
// [Scanner.Watch] is event-driven through SCardGetStatusChange (including the
// PnP pseudo-reader for readers appearing and disappearing): no polling, no
// CPU while nothing changes. Where the platform has no PnP pseudo-reader
// (macOS; Windows while its Smart Card service is stopped) it blocks on the
// readers it knows and lists the readers every [Scanner.ListInterval]
// instead (docs/pcsc-platforms.md).
//
// # Other programs
//
// A card is probed once, when it arrives (or its reader appears), inside a
// transaction; a change of its state word because another program connected
// to it (SCARD_STATE_INUSE, SCARD_STATE_EXCLUSIVE) never makes the watcher
// select an application on it, which would pull that program's session out
// from under it. A card another program holds exclusively is reported as
// [Unreadable] with an error matching [device.ErrInUse], and probed again
// once the hold ends.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/mgmt"
	"github.com/keywizard/keywizard/device/pcsc"
)

// PCSC is what the scanner needs from PC/SC: a way to open contexts. Each
// goroutine probing a reader, and each waiter, gets its own [Context], because
// PC/SC serialises calls on one context. [System] is the real one; tests use
// fakes.
type PCSC interface {
	Establish() (Context, error)
}

// Context is one PC/SC context: the subset of [*pcsc.Context] the scanner
// uses, with Connect returning a [device.Card].
type Context interface {
	Readers() ([]string, error)
	Connect(ctx context.Context, reader string, exclusive bool) (device.Card, error)
	GetStatusChange(ctx context.Context, states []pcsc.ReaderState) error
	GetStatusChangeTimeout(ctx context.Context, states []pcsc.ReaderState, timeout time.Duration) error
	Release() error
}

// Clock is the time source, injected so tests control timeouts.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SystemClock is the real clock.
var SystemClock Clock = systemClock{}

// DefaultReopenTimeout is how long [Scanner.Reopener] waits for a rebooted
// key to come back.
const DefaultReopenTimeout = 10 * time.Second

// Scanner discovers keys. The zero value is not usable: PCSC must be set
// (use [System] for the machine's PC/SC service).
type Scanner struct {
	// PCSC opens PC/SC contexts.
	PCSC PCSC
	// FIDO lists FIDO HID devices to correlate with keys; nil = no FIDO.
	FIDO fido.Provider
	// ReadPIV reads a key's PIV state (device/piv.ReadState); used only
	// when WithPIV is set.
	ReadPIV func(ctx context.Context, card device.Card) (*device.PIVState, error)
	// WithPIV makes Keys, Scan and Find also read the PIV state (two to five
	// more commands per key). Off by default: `keywizard keys` must be fast.
	WithPIV bool
	// Clock is the time source; nil = SystemClock.
	Clock Clock
	// ReopenTimeout bounds Reopener; 0 = DefaultReopenTimeout.
	ReopenTimeout time.Duration
	// ListInterval is how often Watch and Reopener list the readers where
	// the platform cannot report new readers (macOS; Windows while its
	// Smart Card service is stopped); 0 = DefaultListInterval.
	ListInterval time.Duration
}

func (s *Scanner) clock() Clock {
	if s.Clock == nil {
		return SystemClock
	}
	return s.Clock
}

// Result is what one scan found.
type Result struct {
	// Keys are the YubiKeys found over PC/SC, sorted by serial.
	Keys []device.Key
	// UnmatchedFIDO are FIDO devices not tied to exactly one key: a key
	// whose smart-card interface is off, a non-Yubico authenticator, or a
	// device several keys could own.
	UnmatchedFIDO []device.FIDOState
}

// Keys lists the YubiKeys plugged in. It returns every key it could read;
// a non-nil error reports the readers or FIDO devices it could not read
// (for example a key held exclusively by another program: errors.Is
// pcsc.ErrInUse) and may come with keys. Keys pulled out while being
// probed and cards that are not YubiKeys are left out without an error.
func (s *Scanner) Keys(ctx context.Context) ([]device.Key, error) {
	r, err := s.Scan(ctx)
	return r.Keys, err
}

// Scan is Keys plus the FIDO devices that could not be tied to one key.
func (s *Scanner) Scan(ctx context.Context) (Result, error) {
	var (
		wg       sync.WaitGroup
		fidoDevs []fidoDevice
		fidoErr  error
	)
	if s.FIDO != nil {
		// FIDO HID and PC/SC are independent: probe both at once.
		wg.Add(1)
		go func() {
			defer wg.Done()
			fidoDevs, fidoErr = s.readFIDO(ctx)
		}()
	}
	probes, err := s.probeAll(ctx, nil)
	wg.Wait()
	if err != nil {
		return Result{}, err
	}
	var keys []device.Key
	var errs []error
	for _, p := range probes {
		p.close()
		if p.err != nil {
			errs = append(errs, p.err)
		}
		if p.ok {
			keys = append(keys, p.key)
		}
	}
	slices.SortFunc(keys, func(a, b device.Key) int {
		return cmp.Or(cmp.Compare(a.Serial, b.Serial), cmp.Compare(a.Reader, b.Reader))
	})
	res := Result{Keys: keys}
	if fidoErr != nil {
		errs = append(errs, fidoErr)
	}
	if s.FIDO != nil {
		res.UnmatchedFIDO = correlate(res.Keys, fidoDevs)
	}
	return res, errors.Join(errs...)
}

// probe is one reader's outcome. When ok, key is a YubiKey; card and pc
// stay open until close (so OpenCard can hand the card out).
type probe struct {
	reader string
	key    device.Key
	ok     bool
	err    error
	card   device.Card
	pc     Context
	ownPC  bool
}

func (p *probe) close() {
	if p.card != nil {
		p.card.Close()
		p.card = nil
	}
	if p.pc != nil && p.ownPC {
		p.pc.Release()
	}
	p.pc = nil
}

// probeAll lists readers and probes each in parallel. keep, if not nil,
// chooses probes whose card stays open; all others are closed here.
func (s *Scanner) probeAll(ctx context.Context, keep func(*probe) bool) ([]*probe, error) {
	if s.PCSC == nil {
		return nil, fmt.Errorf("scanning for keys: no PC/SC service configured: %w", device.ErrInvalidArgument)
	}
	lister, err := s.PCSC.Establish()
	if err != nil {
		return nil, fmt.Errorf("scanning for keys: %w", err)
	}
	readers, err := lister.Readers()
	if err != nil {
		lister.Release()
		return nil, fmt.Errorf("scanning for keys: %w", err)
	}
	// Connect to every reader on the listing context first: that is quick
	// (pcscd answers from its own state), and readers without a card fail
	// at once without costing a context of their own.
	probes := make([]*probe, len(readers))
	var present []*probe
	for i, r := range readers {
		p := &probe{reader: r}
		probes[i] = p
		card, err := lister.Connect(ctx, r, false)
		if err != nil {
			if !gone(err) {
				p.err = fmt.Errorf("reader %q: %w", r, err)
			}
			continue
		}
		p.card = card
		present = append(present, p)
	}
	if len(present) == 0 {
		lister.Release()
		return probes, nil
	}
	// The first card keeps the listing context. Every other card is
	// reconnected on a context of its own, because PC/SC serialises
	// transmits per context and the keys are read in parallel.
	var wg sync.WaitGroup
	for i, p := range present {
		if i == 0 {
			p.pc, p.ownPC = lister, true
		} else {
			p.card.Close()
			p.card = nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.probeReader(ctx, p)
			if keep == nil || !keep(p) {
				p.close()
			}
		}()
	}
	wg.Wait()
	return probes, nil
}

// probeReader reads the key in one reader, connecting first (on a context
// of its own) unless p already holds a card. Cards pulled mid-probe and
// cards that are not YubiKeys end with ok=false and no error.
func (s *Scanner) probeReader(ctx context.Context, p *probe) {
	if p.pc == nil {
		pc, err := s.PCSC.Establish()
		if err != nil {
			p.err = fmt.Errorf("reader %q: %w", p.reader, err)
			return
		}
		p.pc, p.ownPC = pc, true
	}
	if p.card == nil {
		card, err := p.pc.Connect(ctx, p.reader, false)
		if err != nil {
			if !gone(err) {
				p.err = fmt.Errorf("reader %q: %w", p.reader, err)
			}
			return
		}
		p.card = card
	}
	card := p.card
	key, ok, err := readKey(ctx, card, p.reader)
	if err != nil || !ok {
		if err != nil && !gone(err) {
			p.err = fmt.Errorf("reader %q: %w", p.reader, err)
		}
		return
	}
	if s.WithPIV && s.ReadPIV != nil {
		st, err := s.ReadPIV(ctx, card)
		switch {
		case err == nil:
			key.PIV = st
		case gone(err):
			return // pulled out while reading PIV
		case errors.Is(err, device.ErrNotFound):
			// No PIV application (disabled): nothing to report.
		default:
			// The key is still listed (its management info is good);
			// the error says what is missing.
			p.err = fmt.Errorf("reader %q: serial %d: reading PIV state: %w", p.reader, key.Serial, err)
		}
	}
	p.key, p.ok = key, true
}

// readKey reads a key's management info: SELECT + READ CONFIG. ok is false
// for cards that are not YubiKeys.
func readKey(ctx context.Context, card device.Card, reader string) (device.Key, bool, error) {
	sess, err := mgmt.Open(ctx, card)
	if err != nil {
		if notYubiKey(err) {
			return device.Key{}, false, nil
		}
		return device.Key{}, false, err
	}
	info, err := sess.ReadInfo(ctx)
	if err != nil && !(errors.Is(err, device.ErrUnsupported) && info.Version != (device.Version{})) {
		// Firmware before 4.1 cannot READ CONFIG: the version is all
		// that is known, and the key is still listed.
		return device.Key{}, false, fmt.Errorf("reading device info: %w", err)
	}
	return device.Key{Serial: info.Serial, Model: info.Model(), Info: info, Reader: reader}, true, nil
}

// notYubiKey reports errors from selecting the management application that
// mean "some other card": any status word refusing the SELECT, or an answer
// that is not a YubiKey's version string.
func notYubiKey(err error) bool {
	if gone(err) {
		return false
	}
	var se *apdu.StatusError
	return errors.As(err, &se) || errors.Is(err, device.ErrNotFound) ||
		errors.Is(err, device.ErrUnsupported) || errors.Is(err, device.ErrInvalidResponse)
}

// gone reports errors meaning the card or its reader went away.
func gone(err error) bool {
	return errors.Is(err, device.ErrRemoved) || errors.Is(err, device.ErrNotFound) && isPCSC(err)
}

func isPCSC(err error) bool {
	var pe *pcsc.Error
	return errors.As(err, &pe)
}
