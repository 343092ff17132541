package simhid

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/apdu"
)

// fakeAuth answers CTAP messages by echoing them after status 00, or waits
// (for the keep-alive and cancel tests) until release is closed or ctx
// ends.
type fakeAuth struct {
	release chan struct{}
	started chan struct{}
}

func (f *fakeAuth) HandleCTAP(ctx context.Context, msg []byte) ([]byte, error) {
	if f.release != nil {
		close(f.started)
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return append([]byte{0}, msg...), nil
}

func (f *fakeAuth) HandleAPDU(ctx context.Context, cmd apdu.Command) ([]byte, uint16, error) {
	if cmd.INS == 0x03 {
		return []byte("U2F_V2"), apdu.SWSuccess, nil
	}
	return nil, apdu.SWInsNotSupported, nil
}

// host drives a Device as a FIDO client would, collecting input reports.
type host struct {
	t   *testing.T
	d   *Device
	out chan []byte
}

func newHost(t *testing.T, auth Authenticator) *host {
	h := &host{t: t, out: make(chan []byte, 1024)}
	h.d = NewDevice(auth, Version{5, 7, 2}, func(r []byte) error {
		if len(r) != ReportLen {
			t.Errorf("input report of %d bytes", len(r))
		}
		h.out <- bytes.Clone(r)
		return nil
	})
	t.Cleanup(h.d.Close)
	return h
}

// send frames one message as a client does (libfido2 src/io.c tx).
func (h *host) send(cid uint32, cmd byte, data []byte) {
	var pkt [ReportLen]byte
	binary.BigEndian.PutUint32(pkt[:], cid)
	pkt[4] = cmd
	binary.BigEndian.PutUint16(pkt[5:], uint16(len(data)))
	n := copy(pkt[7:], data)
	h.d.HandleReport(pkt[:])
	for seq := byte(0); n < len(data); seq++ {
		pkt = [ReportLen]byte{}
		binary.BigEndian.PutUint32(pkt[:], cid)
		pkt[4] = seq
		n += copy(pkt[5:], data[n:])
		h.d.HandleReport(pkt[:])
	}
}

func (h *host) report() []byte {
	h.t.Helper()
	select {
	case r := <-h.out:
		return r
	case <-time.After(10 * time.Second):
		h.t.Fatal("no input report")
		return nil
	}
}

// recv reassembles one response, skipping keep-alives (which it counts).
func (h *host) recv() (cid uint32, cmd byte, data []byte, keepalives []byte) {
	h.t.Helper()
	for {
		r := h.report()
		cid, cmd = binary.BigEndian.Uint32(r), r[4]
		if cmd == cmdKeepalive {
			keepalives = append(keepalives, r[7])
			continue
		}
		n := int(binary.BigEndian.Uint16(r[5:]))
		data = append(data, r[7:min(ReportLen, 7+n)]...)
		for seq := byte(0); len(data) < n; seq++ {
			c := h.report()
			if binary.BigEndian.Uint32(c) != cid || c[4] != seq {
				h.t.Fatalf("continuation %x, want channel %08x seq %d", c[:5], cid, seq)
			}
			data = append(data, c[5:min(ReportLen, 5+n-len(data))]...)
		}
		return cid, cmd, data, keepalives
	}
}

func (h *host) init() uint32 {
	h.t.Helper()
	nonce := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	h.send(cidBroadcast, cmdInit, nonce)
	cid, cmd, data, _ := h.recv()
	if cid != cidBroadcast || cmd != cmdInit || len(data) != 17 || !bytes.Equal(data[:8], nonce) {
		h.t.Fatalf("INIT response %08x %02x %x", cid, cmd, data)
	}
	// Protocol 2, device version = firmware, capabilities WINK|CBOR
	// (CTAP 2.1 §11.2.9.1.3).
	if !bytes.Equal(data[12:], []byte{2, 5, 7, 2, 0x05}) {
		h.t.Errorf("INIT version/capabilities %x", data[12:])
	}
	return binary.BigEndian.Uint32(data[8:12])
}

func (h *host) wantError(code byte) {
	h.t.Helper()
	_, cmd, data, _ := h.recv()
	if cmd != cmdError || !bytes.Equal(data, []byte{code}) {
		h.t.Fatalf("got %02x %x, want ERROR %02x", cmd, data, code)
	}
}

func TestInitAndChannels(t *testing.T) {
	h := newHost(t, &fakeAuth{})
	a, b := h.init(), h.init()
	if a == b || a == 0 || a == cidBroadcast || b == 0 || b == cidBroadcast {
		t.Fatalf("channels %08x %08x", a, b)
	}
	// INIT on an allocated channel resynchronises it and keeps its ID.
	h.send(a, cmdInit, []byte{9, 9, 9, 9, 9, 9, 9, 9})
	if cid, cmd, data, _ := h.recv(); cid != a || cmd != cmdInit || binary.BigEndian.Uint32(data[8:12]) != a {
		t.Fatalf("resync INIT = %08x %02x %x", cid, cmd, data)
	}
	h.send(cidBroadcast, cmdInit, []byte{1, 2, 3}) // nonce must be 8 bytes
	h.wantError(errInvalidLen)
	h.send(0, cmdPing, []byte{1})
	h.wantError(errInvalidChannel)
	h.send(0x12345678, cmdPing, []byte{1}) // never allocated
	h.wantError(errInvalidChannel)
	h.send(cidBroadcast, cmdCBOR, []byte{4})
	h.wantError(errInvalidChannel)
}

func TestPingWinkMsgCBOR(t *testing.T) {
	h := newHost(t, &fakeAuth{})
	cid := h.init()
	// A PING of 300 bytes: one initialization and five continuation
	// packets each way.
	long := make([]byte, 300)
	for i := range long {
		long[i] = byte(i)
	}
	h.send(cid, cmdPing, long)
	if c, cmd, data, _ := h.recv(); c != cid || cmd != cmdPing || !bytes.Equal(data, long) {
		t.Fatalf("PING echo = %08x %02x %d bytes", c, cmd, len(data))
	}
	h.send(cid, cmdWink, nil)
	if _, cmd, data, _ := h.recv(); cmd != cmdWink || len(data) != 0 {
		t.Fatalf("WINK = %02x %x", cmd, data)
	}
	// U2F VERSION over CTAPHID_MSG.
	h.send(cid, cmdMsg, []byte{0x00, 0x03, 0x00, 0x00, 0x00})
	if _, cmd, data, _ := h.recv(); cmd != cmdMsg || !bytes.Equal(data, append([]byte("U2F_V2"), 0x90, 0x00)) {
		t.Fatalf("MSG VERSION = %02x %q", cmd, data)
	}
	h.send(cid, cmdCBOR, []byte{0x04, 0xA0})
	if _, cmd, data, _ := h.recv(); cmd != cmdCBOR || !bytes.Equal(data, []byte{0, 0x04, 0xA0}) {
		t.Fatalf("CBOR = %02x %x", cmd, data)
	}
	h.send(cid, cmdCBOR, nil)
	h.wantError(errInvalidLen)
	h.send(cid, cmdLock, []byte{1})
	h.wantError(errInvalidCmd)
}

func TestContinuationErrors(t *testing.T) {
	h := newHost(t, &fakeAuth{})
	cid := h.init()
	// An initialization packet announcing 100 bytes, then a continuation
	// with sequence 1 instead of 0.
	var pkt [ReportLen]byte
	binary.BigEndian.PutUint32(pkt[:], cid)
	pkt[4] = cmdPing
	binary.BigEndian.PutUint16(pkt[5:], 100)
	h.d.HandleReport(pkt[:])
	pkt[4] = 1
	h.d.HandleReport(pkt[:])
	h.wantError(errInvalidSeq)
	// A continuation with nothing to continue is ignored; the channel
	// still works.
	h.d.HandleReport(pkt[:])
	h.send(cid, cmdPing, []byte{7})
	if _, cmd, data, _ := h.recv(); cmd != cmdPing || !bytes.Equal(data, []byte{7}) {
		t.Fatalf("PING after a stray continuation = %02x %x", cmd, data)
	}
	// A length no sequence of 128 continuation packets can carry.
	pkt = [ReportLen]byte{}
	binary.BigEndian.PutUint32(pkt[:], cid)
	pkt[4] = cmdPing
	binary.BigEndian.PutUint16(pkt[5:], maxMessage+1)
	h.d.HandleReport(pkt[:])
	h.wantError(errInvalidLen)
	select {
	case r := <-h.out:
		t.Fatalf("unexpected report after the refused message: %x", r[:8])
	default:
	}
}

// TestKeepaliveBusyCancel: while a request that waits for a touch runs
// (reset, makeCredential, getAssertion), the device sends UPNEEDED
// keep-alives on its channel, answers other channels CHANNEL_BUSY, and a
// CANCEL ends the request with KEEPALIVE_CANCEL (CTAP 2.1 §11.2.9.1.5,
// §11.2.9.1.7).
func TestKeepaliveBusyCancel(t *testing.T) {
	for _, c := range []struct {
		name string
		cmd  byte
	}{{"reset", ctapReset}, {"makeCredential", ctapMakeCredential}, {"getAssertion", ctapGetAssertion}} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeAuth{release: make(chan struct{}), started: make(chan struct{})}
			h := newHost(t, f)
			a, b := h.init(), h.init()
			h.send(a, cmdCBOR, []byte{c.cmd})
			<-f.started
			h.send(b, cmdPing, []byte{1})
			if cid, cmd, data, _ := h.recv(); cid != b || cmd != cmdError || !bytes.Equal(data, []byte{errChannelBusy}) {
				t.Fatalf("request on another channel = %08x %02x %x, want CHANNEL_BUSY", cid, cmd, data)
			}
			// Wait for two keep-alives, then cancel.
			for n := 0; n < 2; {
				r := h.report()
				if binary.BigEndian.Uint32(r) == a && r[4] == cmdKeepalive {
					if r[7] != keepaliveUPNeeded {
						t.Fatalf("keep-alive status %02x during %s, want UPNEEDED", r[7], c.name)
					}
					n++
				}
			}
			h.send(a, cmdCancel, nil)
			cid, cmd, data, _ := h.recv()
			if cid != a || cmd != cmdCBOR || !bytes.Equal(data, []byte{ctapKeepaliveCancel}) {
				t.Fatalf("after CANCEL = %08x %02x %x, want CBOR 2D", cid, cmd, data)
			}
			// The device is idle again.
			h.send(b, cmdPing, []byte{2})
			if cid, cmd, _, _ := h.recv(); cid != b || cmd != cmdPing {
				t.Fatalf("PING after the cancelled request = %08x %02x", cid, cmd)
			}
		})
	}
}

// TestRemovedAuthenticator: when the authenticator cannot answer (the
// key was removed), nothing is sent, as from a key that is gone.
func TestRemovedAuthenticator(t *testing.T) {
	h := newHost(t, removedAuth{})
	cid := h.init()
	h.send(cid, cmdCBOR, []byte{4})
	h.send(cid, cmdPing, []byte{3}) // answered once the failed request has ended
	for {
		_, cmd, data, _ := h.recv()
		if cmd == cmdError && data[0] == errChannelBusy {
			h.send(cid, cmdPing, []byte{3})
			continue
		}
		if cmd != cmdPing {
			t.Fatalf("got %02x %x, want only the PING answer", cmd, data)
		}
		return
	}
}

type removedAuth struct{}

var errRemoved = errors.New("removed")

func (removedAuth) HandleCTAP(context.Context, []byte) ([]byte, error) { return nil, errRemoved }
func (removedAuth) HandleAPDU(context.Context, apdu.Command) ([]byte, uint16, error) {
	return nil, 0, errRemoved
}
