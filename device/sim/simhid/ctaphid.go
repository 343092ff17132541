package simhid

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device/apdu"
)

// CTAPHID constants (CTAP 2.1 §11.2.4-§11.2.9; libfido2 src/fido/param.h
// CTAP_CMD_*, CTAP_FRAME_INIT, CTAP_CID_BROADCAST). docs/fido-hid.md
// lists them with their sources.
const (
	// ReportLen is the size of a FIDO HID report in both directions.
	ReportLen = 64

	cidBroadcast = 0xFFFFFFFF
	frameInit    = 0x80

	cmdPing      = 0x81
	cmdMsg       = 0x83
	cmdLock      = 0x84
	cmdInit      = 0x86
	cmdWink      = 0x88
	cmdCBOR      = 0x90
	cmdCancel    = 0x91
	cmdKeepalive = 0xBB
	cmdError     = 0xBF

	errInvalidCmd     = 0x01
	errInvalidLen     = 0x03
	errInvalidSeq     = 0x04
	errChannelBusy    = 0x06
	errInvalidChannel = 0x0B

	// Keep-alive status (CTAP 2.1 §11.2.9.1.7).
	keepaliveProcessing = 0x01
	keepaliveUPNeeded   = 0x02

	// capabilities of CTAPHID_INIT's response (CTAP 2.1 §11.2.9.1.3):
	// WINK and CBOR, MSG supported (NMSG clear), as a YubiKey 5 reports.
	capWink = 0x01
	capCBOR = 0x04

	// maxMessage is the largest message the framing can carry: 57 bytes
	// in the initialization packet and 128 continuation packets of 59
	// (CTAP 2.1 §11.2.4).
	maxMessage = ReportLen - 7 + 128*(ReportLen-5)

	// ctapKeepaliveCancel is CTAP2_ERR_KEEPALIVE_CANCEL: the answer to a
	// request cancelled with CTAPHID_CANCEL (CTAP 2.1 §11.2.9.1.5).
	ctapKeepaliveCancel = 0x2D
	ctapReset           = 0x07
	ctapMakeCredential  = 0x01
	ctapGetAssertion    = 0x02
)

// KeepaliveInterval is how often a request that is still running sends
// CTAPHID_KEEPALIVE (CTAP 2.1 §11.2.9.1.7: at least every 100 ms).
const KeepaliveInterval = 100 * time.Millisecond

// Authenticator is what answers the messages: simfido.Authenticator
// implements it. HandleCTAP runs a CTAP2 message (command byte + CBOR) and
// returns status byte + CBOR; HandleAPDU answers a U2F (CTAP1) APDU, which
// CTAPHID_MSG carries. An error means no answer can be given (the key was
// removed, or ctx ended).
type Authenticator interface {
	HandleCTAP(ctx context.Context, msg []byte) ([]byte, error)
	HandleAPDU(ctx context.Context, cmd apdu.Command) (data []byte, sw uint16, err error)
}

// Version is the device version CTAPHID_INIT reports (major, minor,
// build): a YubiKey reports its firmware there.
type Version struct{ Major, Minor, Build uint8 }

// Device is the CTAPHID layer of one FIDO HID device: it reads output
// reports (what the host writes), reassembles messages per channel,
// runs them on its Authenticator and writes input reports (what the host
// reads), with keep-alives while a request runs and CTAPHID_CANCEL
// cancelling it. It is transport-free: [Node] connects it to a device node.
type Device struct {
	auth    Authenticator
	version Version
	send    func(report []byte) error

	mu      sync.Mutex
	nextCID uint32
	cids    map[uint32]bool
	asm     *assembly     // message being received, if any
	busy    uint32        // channel of the running request; 0 = idle
	cancel  func()        // cancels the running request
	closed  chan struct{} // closed by Close
	wg      sync.WaitGroup

	sendMu sync.Mutex
}

// assembly is a message arriving in several packets.
type assembly struct {
	cid  uint32
	cmd  byte
	want int
	data []byte
	seq  byte
}

// NewDevice returns a device answering with auth. send writes one input
// report of [ReportLen] bytes to the host; it is called from one goroutine
// at a time.
func NewDevice(auth Authenticator, v Version, send func(report []byte) error) *Device {
	return &Device{auth: auth, version: v, send: send, nextCID: 1, cids: map[uint32]bool{}, closed: make(chan struct{})}
}

// Close cancels a running request and waits for it to end.
func (d *Device) Close() {
	d.mu.Lock()
	select {
	case <-d.closed:
	default:
		close(d.closed)
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.mu.Unlock()
	d.wg.Wait()
}

// HandleReport takes one output report from the host: [ReportLen] bytes
// (a leading report ID, if the transport has one, already removed).
// Shorter reports are padded with zeros, as a HID report is.
func (d *Device) HandleReport(report []byte) {
	var pkt [ReportLen]byte
	copy(pkt[:], report)
	cid := binary.BigEndian.Uint32(pkt[0:4])
	d.mu.Lock()
	defer d.mu.Unlock()

	if pkt[4]&frameInit == 0 {
		d.continuation(cid, pkt)
		return
	}
	cmd := pkt[4]
	n := int(binary.BigEndian.Uint16(pkt[5:7]))
	switch {
	case cid == 0:
		d.errorLocked(cid, errInvalidChannel)
		return
	case cmd == cmdInit:
		// INIT is answered at once, even while a request runs on
		// another channel, and resynchronises its own channel (CTAP 2.1
		// §11.2.9.1.3).
		d.initLocked(cid, pkt[7:7+min(n, ReportLen-7)], n)
		return
	case cid == cidBroadcast || !d.cids[cid]:
		d.errorLocked(cid, errInvalidChannel)
		return
	case cmd == cmdCancel:
		// CANCEL has no answer of its own: the cancelled request answers
		// KEEPALIVE_CANCEL (CTAP 2.1 §11.2.9.1.5).
		if d.busy == cid && d.cancel != nil {
			d.cancel()
		}
		return
	case d.busy != 0:
		d.errorLocked(cid, errChannelBusy)
		return
	case d.asm != nil && d.asm.cid != cid:
		d.errorLocked(cid, errChannelBusy)
		return
	case n > maxMessage:
		d.asm = nil
		d.errorLocked(cid, errInvalidLen)
		return
	}
	first := pkt[7:]
	if n <= len(first) {
		d.asm = nil
		d.runLocked(cid, cmd, append([]byte(nil), first[:n]...))
		return
	}
	d.asm = &assembly{cid: cid, cmd: cmd, want: n, data: append(make([]byte, 0, n), first...)}
}

func (d *Device) continuation(cid uint32, pkt [ReportLen]byte) {
	a := d.asm
	if a == nil || a.cid != cid {
		// A continuation with nothing to continue is ignored (CTAP 2.1
		// §11.2.4: a continuation packet without an initialization packet
		// before it is ignored).
		return
	}
	if pkt[4] != a.seq {
		d.asm = nil
		d.errorLocked(cid, errInvalidSeq)
		return
	}
	a.seq++
	a.data = append(a.data, pkt[5:min(ReportLen, 5+a.want-len(a.data))]...)
	if len(a.data) == a.want {
		d.asm = nil
		d.runLocked(cid, a.cmd, a.data)
	}
}

// initLocked answers CTAPHID_INIT: on the broadcast channel it allocates a
// channel, on an allocated one it resynchronises (abandons a message being
// received there).
func (d *Device) initLocked(cid uint32, nonce []byte, n int) {
	if n != 8 {
		d.errorLocked(cid, errInvalidLen)
		return
	}
	newCID := cid
	if cid == cidBroadcast {
		newCID = d.nextCID
		d.nextCID++
		if d.nextCID == cidBroadcast {
			d.nextCID = 1
		}
		d.cids[newCID] = true
	} else if !d.cids[cid] {
		d.errorLocked(cid, errInvalidChannel)
		return
	}
	if d.asm != nil && d.asm.cid == cid {
		d.asm = nil
	}
	resp := make([]byte, 0, 17)
	resp = append(resp, nonce...)
	resp = binary.BigEndian.AppendUint32(resp, newCID)
	resp = append(resp, 2, d.version.Major, d.version.Minor, d.version.Build, capWink|capCBOR)
	d.writeLocked(cid, cmdInit, resp)
}

// runLocked starts a complete message. PING, WINK and LOCK are answered
// at once; CBOR and MSG run in a goroutine so that CANCEL, INIT and
// requests on other channels (answered CHANNEL_BUSY) are read meanwhile.
func (d *Device) runLocked(cid uint32, cmd byte, data []byte) {
	switch cmd {
	case cmdPing:
		d.writeLocked(cid, cmdPing, data)
	case cmdWink:
		d.writeLocked(cid, cmdWink, nil)
	case cmdCBOR, cmdMsg:
		if len(data) == 0 {
			d.errorLocked(cid, errInvalidLen)
			return
		}
		select {
		case <-d.closed:
			return
		default:
		}
		ctx, cancel := context.WithCancel(context.Background())
		d.busy, d.cancel = cid, cancel
		d.wg.Add(1)
		go d.run(ctx, cid, cmd, data)
	default:
		// LOCK is optional (CTAP 2.1 §11.2.9.2.2) and not simulated.
		d.errorLocked(cid, errInvalidCmd)
	}
}

// run answers one CBOR or MSG request, sending keep-alives while it runs:
// UPNEEDED for the commands that wait for a touch (authenticatorReset,
// makeCredential, getAssertion), PROCESSING otherwise.
func (d *Device) run(ctx context.Context, cid uint32, cmd byte, data []byte) {
	defer d.wg.Done()
	done := make(chan struct{})
	var resp []byte
	var err error
	go func() {
		defer close(done)
		if cmd == cmdCBOR {
			resp, err = d.auth.HandleCTAP(ctx, data)
			return
		}
		var c apdu.Command
		if c, err = apdu.Parse(data); err != nil {
			resp, err = binary.BigEndian.AppendUint16(nil, apdu.SWWrongLength), nil
			return
		}
		var sw uint16
		resp, sw, err = d.auth.HandleAPDU(ctx, c)
		resp = append(resp, byte(sw>>8), byte(sw))
	}()
	status := byte(keepaliveProcessing)
	if cmd == cmdCBOR && (data[0] == ctapReset || data[0] == ctapMakeCredential || data[0] == ctapGetAssertion) {
		status = keepaliveUPNeeded
	}
	t := time.NewTicker(KeepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			d.finish(ctx, cid, cmd, resp, err)
			return
		case <-t.C:
			d.mu.Lock()
			d.writeLocked(cid, cmdKeepalive, []byte{status})
			d.mu.Unlock()
		}
	}
}

func (d *Device) finish(ctx context.Context, cid uint32, cmd byte, resp []byte, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cancelled := ctx.Err() != nil
	d.cancel()
	d.busy, d.cancel = 0, nil
	select {
	case <-d.closed:
		return // unplugged: nobody to answer
	default:
	}
	switch {
	case err == nil && cancelled && cmd == cmdCBOR && len(resp) == 1:
		// The request ended because of CANCEL: whatever status it ended
		// with, the host is told it was cancelled.
		d.writeLocked(cid, cmd, []byte{ctapKeepaliveCancel})
	case err == nil:
		d.writeLocked(cid, cmd, resp)
	case cancelled && cmd == cmdCBOR:
		d.writeLocked(cid, cmd, []byte{ctapKeepaliveCancel})
	default:
		// The authenticator could not answer (removed): a real key
		// would not answer either; the host times out or sees the
		// device go away.
	}
}

func (d *Device) errorLocked(cid uint32, code byte) {
	d.writeLocked(cid, cmdError, []byte{code})
}

// writeLocked frames a response into an initialization packet and as
// many continuation packets as needed (CTAP 2.1 §11.2.4). A failed write
// (the node is gone) is dropped: there is nobody to tell.
func (d *Device) writeLocked(cid uint32, cmd byte, data []byte) {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	var pkt [ReportLen]byte
	binary.BigEndian.PutUint32(pkt[0:4], cid)
	pkt[4] = cmd
	binary.BigEndian.PutUint16(pkt[5:7], uint16(len(data)))
	n := copy(pkt[7:], data)
	if d.send(pkt[:]) != nil {
		return
	}
	for seq := byte(0); n < len(data); seq++ {
		pkt = [ReportLen]byte{}
		binary.BigEndian.PutUint32(pkt[0:4], cid)
		pkt[4] = seq
		n += copy(pkt[5:], data[n:])
		if d.send(pkt[:]) != nil {
			return
		}
	}
}
