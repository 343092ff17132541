package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/internal/tcpquick"
)

// VPCDPort is vpcd's TCP port for slot 0; slot n listens on VPCDPort+n
// (vsmartcard vpcd.h VPCDPORT; docs/yubikey-protocol.md §6.1).
const VPCDPort = 35963

// ATR is the USB (CCID) ATR of a YubiKey 5 (§2.4). Its T0 high nibble F
// makes ykman treat the connection as USB.
var ATR = []byte{0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40}

// ATRNFC is a YubiKey 5 NFC's ATR through an NFC reader (§2.4): ykman
// treats the connection as NFC.
var ATRNFC = []byte{0x3B, 0x8D, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0xF9}

// vpcd control messages: one byte after the length (§6.2).
const (
	ctrlOff   = 0x00
	ctrlOn    = 0x01
	ctrlReset = 0x02
	ctrlATR   = 0x04
)

// VPCD control messages a card answers or acts on (docs/yubikey-protocol.md
// §6.2): power on, and get ATR (answered with the ATR; an empty one means no
// card). Power off and reset need no answer either.
const (
	VPCDPowerOn = ctrlOn
	VPCDGetATR  = ctrlATR
)

// ReadVPCD reads one message from vpcd: a 2-byte big-endian length and that
// many bytes; one byte is a control message, more is a command APDU
// (§6.2). It acknowledges at once what it reads (TCP_QUICKACK), so vpcd's
// next message is not held back by delayed ACKs.
func ReadVPCD(conn net.Conn) ([]byte, error) {
	var hdr [2]byte
	tcpquick.QuickAck(conn)
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	tcpquick.QuickAck(conn)
	if _, err := io.ReadFull(conn, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// WriteVPCD sends one answer to vpcd, framed as ReadVPCD reads: a response
// APDU, an ATR, or nothing (an empty ATR: no card).
func WriteVPCD(w io.Writer, b []byte) error {
	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(b)), uint16(len(b)))
	_, err := w.Write(append(out, b...))
	return err
}

// ReaderName is the PC/SC reader name pcscd gives vpcd slot n with the
// Debian reader.conf (FRIENDLYNAME "Virtual PCD"; §6.4).
func ReaderName(slot int) string { return fmt.Sprintf("Virtual PCD 00 %02d", slot) }

// AttachConfig tunes an attachment; zero values take the defaults.
type AttachConfig struct {
	// Addr is vpcd's address, default 127.0.0.1:35963 (slot 0).
	Addr string
	// RebootDelay is how long the key stays away after a WRITE CONFIG
	// with REBOOT, default 200 ms, but never less than the one-second
	// minimum absence pcscd needs to register a removal (minAbsence). How
	// long real keys take to re-enumerate is [UNCONFIRMED] (§1.9); about a
	// second is typical of USB re-enumeration.
	RebootDelay time.Duration
	// RetryDelay is the wait before reconnecting when vpcd is unreachable
	// or drops the connection, default 200 ms.
	RetryDelay time.Duration
	// NFC presents the key as tapped on an NFC reader instead of plugged
	// into USB: NFC ATR, NFC enabled applications, FIDO2 over ISO 7816.
	// Only for models with NFC.
	NFC bool
	// OnConnect, if set, is called after every successful connection with
	// its sequence number (1 for the first, then 2, 3, ... for
	// re-insertions after reboot, unplug or a dropped connection).
	OnConnect func(n int)
}

// AttachState is what an attachment has seen so far.
type AttachState struct {
	// Connects counts successful connections to vpcd.
	Connects int
	// Connected says whether the key is connected right now.
	Connected bool
	// Polls counts vpcd's Get ATR requests on the current connection:
	// pcscd polls card presence with them (§6.3).
	Polls int
	// PoweredOn says pcscd has powered the card on this connection.
	PoweredOn bool
	// Seen says pcscd has powered the card and then read its ATR: it
	// does that when it registers an insertion (IFDHPowerICC), and only
	// then can clients connect.
	Seen bool
	// Err is the last connection error, if any.
	Err error
}

// Ready reports that pcscd has registered the card on the current
// connection. Observed with pcscd 1.9.9: vpcd polls Get ATR twice (accept,
// presence), then pcscd powers the card on and reads the ATR again; a
// client connecting before that gets "no smart card in the device".
func (s AttachState) Ready() bool { return s.Connected && s.Seen }

// Attachment is a key inserted in a vpcd slot. It keeps the key connected,
// and reconnects after reboots, re-plugs and dropped connections, until its
// context is cancelled.
type Attachment struct {
	k    *Key
	cfg  AttachConfig
	done chan struct{}

	mu      sync.Mutex
	state   AttachState
	changed chan struct{}
}

// Attach inserts k into vpcd slot 0 or 1 ("Virtual PCD 00 00" / "00 01")
// with default settings. It returns once the first connection is made, or
// an error if vpcd cannot be reached (start pcscd with scripts/pcscd.sh).
func Attach(ctx context.Context, k *Key, slot int) (*Attachment, error) {
	if slot < 0 || slot > 1 {
		return nil, fmt.Errorf("attaching to vpcd: slot %d does not exist (vpcd has slots 0 and 1): %w", slot, device.ErrInvalidArgument)
	}
	return AttachWith(ctx, k, AttachConfig{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(VPCDPort+slot))})
}

// AttachWith is Attach with explicit settings.
func AttachWith(ctx context.Context, k *Key, cfg AttachConfig) (*Attachment, error) {
	if cfg.Addr == "" {
		cfg.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(VPCDPort))
	}
	if cfg.RebootDelay <= 0 {
		cfg.RebootDelay = 200 * time.Millisecond
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 200 * time.Millisecond
	}
	if cfg.NFC && !k.preset.NFC {
		return nil, fmt.Errorf("attaching %s over NFC: the model has no NFC: %w", k, device.ErrUnsupported)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("attaching %s to vpcd at %s: %w (is pcscd running with vsmartcard-vpcd? run scripts/pcscd.sh)", k, cfg.Addr, err)
	}
	a := &Attachment{k: k, cfg: cfg, done: make(chan struct{}), changed: make(chan struct{})}
	go a.run(ctx, conn)
	return a, nil
}

// Key is the attached key.
func (a *Attachment) Key() *Key { return a.k }

// Detach unplugs the key: the connection closes and pcscd sees the card
// removed. The attachment stays alive, waiting for Reattach.
func (a *Attachment) Detach() { a.k.Unplug() }

// Reattach plugs the key back in; it reconnects to vpcd.
func (a *Attachment) Reattach() { a.k.Plug() }

// Done is closed when the attachment has stopped (its context ended).
func (a *Attachment) Done() <-chan struct{} { return a.done }

// State is a snapshot of what the attachment has seen.
func (a *Attachment) State() AttachState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// WaitFor blocks until cond holds for the attachment's state, or ctx ends.
func (a *Attachment) WaitFor(ctx context.Context, cond func(AttachState) bool) error {
	for {
		a.mu.Lock()
		st, ch := a.state, a.changed
		a.mu.Unlock()
		if cond(st) {
			return nil
		}
		select {
		case <-ch:
		case <-a.done:
			return fmt.Errorf("waiting for the simulated key: attachment stopped: %w", device.ErrRemoved)
		case <-ctx.Done():
			return fmt.Errorf("waiting for the simulated key (state %+v): %w", st, ctx.Err())
		}
	}
}

// Ready waits until pcscd has seen the key on the current connection, so a
// PC/SC client started now finds the card.
func (a *Attachment) Ready(ctx context.Context) error {
	return a.WaitFor(ctx, AttachState.Ready)
}

func (a *Attachment) update(f func(*AttachState)) {
	a.mu.Lock()
	f(&a.state)
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

// endReason says why a connection ended.
type endReason int

const (
	endDropped endReason = iota // vpcd closed it or an I/O error
	endRebooted
	endUnplugged
	endCancelled
)

// minAbsence is how long a key stays disconnected after an unplug, a
// reboot or a dropped connection before it reconnects. pcscd's event thread
// learns about removal only from its own presence poll (about every 0.5 s,
// §6.3). When vpcd instead notices the closed socket while sending a power
// off or an APDU, or a client's status call gets the "no card", and the key
// is already waiting to be accepted again, the event thread's next poll
// finds a card present: pcscd never registers the removal nor powers the
// "new" card up. Observed with ykman config writes in a loop (1 in 13
// reboots failed with a 200 ms absence); two poll periods rule it out. A
// real key takes about as long to re-enumerate.
const minAbsence = time.Second

func (a *Attachment) run(ctx context.Context, conn net.Conn) {
	defer close(a.done)
	var away time.Time // when the last connection ended, for minAbsence
	for {
		if conn == nil {
			// Wait until the key is plugged in and has the interface.
			a.k.mu.Lock()
			present := a.k.present && a.k.hasCCIDLocked()
			if a.cfg.NFC {
				present = a.k.present && a.k.nfcOnLocked()
			}
			ch := a.k.changed
			a.k.mu.Unlock()
			if !present {
				select {
				case <-ch:
					continue
				case <-ctx.Done():
					return
				}
			}
			if wait := minAbsence - time.Since(away); !away.IsZero() && wait > 0 {
				if !sleep(ctx, wait) {
					return
				}
				continue // re-check presence after the wait
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", a.cfg.Addr)
			if err != nil {
				a.update(func(s *AttachState) { s.Err = err })
				if !sleep(ctx, a.cfg.RetryDelay) {
					return
				}
				continue
			}
			conn = c
		}
		var n int
		a.update(func(s *AttachState) {
			s.Connects++
			n = s.Connects
			s.Connected, s.Polls, s.PoweredOn, s.Seen, s.Err = true, 0, false, false, nil
		})
		if a.cfg.OnConnect != nil {
			a.cfg.OnConnect(n)
		}
		reason, err := a.serve(ctx, conn)
		conn.Close()
		conn = nil
		away = time.Now()
		a.update(func(s *AttachState) {
			s.Connected = false
			if err != nil {
				s.Err = err
			}
		})
		switch reason {
		case endCancelled:
			return
		case endRebooted:
			// minAbsence applies too (loop top): the "no card" may have
			// been consumed by a client's status call rather than by
			// pcscd's event thread, which must see the slot empty.
			if !sleep(ctx, a.cfg.RebootDelay) {
				return
			}
		case endDropped:
			if !sleep(ctx, a.cfg.RetryDelay) {
				return
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serve answers vpcd on one connection (framing §6.2) until it ends.
//
// A reboot (WRITE CONFIG with REBOOT) is shown to pcscd deterministically:
// after the 90 00 the key answers nothing more; the next presence poll
// (Get ATR) gets an empty ATR, which vpcd reports as "no card" and then
// closes the socket (vsmartcard vpcd.c vicc_present / vicc_transmit). An
// APDU arriving before that poll finds the card gone (connection closed).
func (a *Attachment) serve(ctx context.Context, conn net.Conn) (endReason, error) {
	k := a.k
	k.mu.Lock()
	gen := k.gen
	// A new insertion starts unpowered with fresh session state.
	k.powerOffLocked()
	k.mu.Unlock()
	// expected is the key generation this connection belongs to; a reboot
	// done here moves it on, anything else changing it means the key was
	// pulled out. Guarded by k.mu.
	expected := gen

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// Unblock the read when the key is pulled or the context ends.
		for {
			k.mu.Lock()
			ch := k.changed
			gone := !k.present || k.gen != expected
			k.mu.Unlock()
			if gone {
				conn.Close()
				return
			}
			select {
			case <-ctx.Done():
				conn.Close()
				return
			case <-stop:
				return
			case <-ch:
			}
		}
	}()

	rebooting := false
	for {
		msg, err := ReadVPCD(conn)
		if err != nil {
			return a.why(ctx, &expected, rebooting, err)
		}
		var resp []byte
		reboot := false
		if len(msg) == 1 {
			switch msg[0] {
			case ctrlOff, ctrlOn, ctrlReset:
				if rebooting {
					continue
				}
				k.mu.Lock()
				k.powerOffLocked()
				k.mu.Unlock()
				if msg[0] == ctrlOn {
					a.update(func(s *AttachState) { s.PoweredOn = true })
				}
				continue
			case ctrlATR:
				if rebooting {
					// Empty ATR: vpcd reports no card and closes.
					WriteVPCD(conn, nil)
					return endRebooted, nil
				}
				a.update(func(s *AttachState) {
					s.Polls++
					s.Seen = s.Seen || s.PoweredOn
				})
				resp = ATR
				if a.cfg.NFC {
					resp = ATRNFC
				}
			default:
				continue // unknown control: vpcd expects no answer
			}
		} else {
			if rebooting {
				return endRebooted, nil
			}
			k.mu.Lock()
			if k.gen != expected || !k.present {
				k.mu.Unlock()
				return endUnplugged, nil
			}
			r, ok := k.transmitLocked(msg, a.cfg.NFC)
			reboot = k.rebootPending
			k.rebootPending = false
			k.mu.Unlock()
			if !ok {
				// Pulled out mid-command (RemoveAfter): no answer.
				return endUnplugged, nil
			}
			resp = r
		}
		if err := WriteVPCD(conn, resp); err != nil {
			return a.why(ctx, &expected, rebooting, err)
		}
		if reboot {
			// The answer is out; the key restarts (§1.9).
			k.mu.Lock()
			k.rebootLocked()
			expected = k.gen
			k.mu.Unlock()
			rebooting = true
		}
	}
}

// why classifies a read/write error on the connection.
func (a *Attachment) why(ctx context.Context, expected *uint64, rebooting bool, err error) (endReason, error) {
	if ctx.Err() != nil {
		return endCancelled, nil
	}
	if rebooting {
		return endRebooted, nil
	}
	a.k.mu.Lock()
	unplugged := a.k.gen != *expected || !a.k.present
	a.k.mu.Unlock()
	if unplugged {
		return endUnplugged, nil
	}
	if errors.Is(err, io.EOF) {
		return endDropped, nil
	}
	return endDropped, err
}
