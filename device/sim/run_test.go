package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/internal/testenv"
)

func TestRunRejects(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{
		{Serial: 1, Model: "5c-nano", Slot: 2},
		{Serial: 0, Model: "5c-nano"},
		{Serial: 1, Model: "6c"},
	} {
		if err := Run(ctx, o); !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("Run(%+v) = %v, want ErrInvalidArgument", o, err)
		}
	}
}

// syncBuffer is an io.Writer safe to read while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Run in slot 1 with ykman changing the config: one line for the first
// attachment, one for the re-attachment after the reboot.
func TestRun(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Serial: 24681357, Model: "5-nano", Firmware: fw543, Slot: 1, Out: &out})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after cancel", err)
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; output:\n%s", what, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("attachment", func() bool { return strings.Count(out.String(), "\n") >= 1 })
	// ykman retries nothing: wait until pcscd has the card (its poll).
	var info string
	waitFor("ykman info", func() bool {
		o, err := ykman(t, 1, "info")
		info = o
		return err == nil
	})
	lines(t, info, "Device type: YubiKey 5 Nano", "Serial number: 24681357", "Firmware version: 5.4.3", "Form factor: Nano (USB-A)")
	mustYkman(t, 1, "config", "usb", "--disable", "OTP", "-f")
	waitFor("re-attachment", func() bool { return strings.Count(out.String(), "\n") >= 2 })
	want := `YubiKey 5 Nano (serial 24681357, firmware 5.4.3) attached to "Virtual PCD 00 01"` + "\n" +
		`YubiKey 5 Nano (serial 24681357, firmware 5.4.3) re-attached to "Virtual PCD 00 01"` + "\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// A vpcd that drops the connection: the attachment reconnects.
func TestAttachReconnectsAfterDrop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	k := newKey(t, Config{Serial: 5, Model: "5c-nano"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := AttachWith(ctx, k, AttachConfig{Addr: ln.Addr().String(), RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// Get ATR, then drop.
	fake := &fakeVPCD{t: t, c: c1}
	if got := fake.roundTrip([]byte{ctrlATR}); !bytes.Equal(got, ATR) {
		t.Fatalf("ATR %x", got)
	}
	c1.Close()
	c2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fake = &fakeVPCD{t: t, c: c2}
	fake.send([]byte{ctrlOn})
	if got := fake.roundTrip(unhex(t, selMgmt)); !bytes.HasSuffix(got, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT after reconnect: %x", got)
	}
	if err := a.WaitFor(ctx, func(s AttachState) bool { return s.Connects == 2 }); err != nil {
		t.Fatal(err)
	}
	// RemoveAfter through vpcd: the next command gets no answer, the
	// connection closes, and nothing reconnects while unplugged.
	k.RemoveAfter(0)
	fake.send(unhex(t, "00 1D 00 00 00"))
	if _, err := fake.recv(); err == nil {
		t.Fatal("answer after removal")
	}
	if err := a.WaitFor(ctx, func(s AttachState) bool { return !s.Connected }); err != nil {
		t.Fatal(err)
	}
	k.Plug()
	c3, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c3.Close()
}

// fakeVPCD is the vpcd side of the framing (§6.2) for unit tests.
type fakeVPCD struct {
	t *testing.T
	c net.Conn
}

func (f *fakeVPCD) send(msg []byte) {
	f.t.Helper()
	if _, err := f.c.Write(append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeVPCD) recv() ([]byte, error) {
	f.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [2]byte
	if _, err := io.ReadFull(f.c, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, int(hdr[0])<<8|int(hdr[1]))
	_, err := io.ReadFull(f.c, b)
	return b, err
}

func (f *fakeVPCD) roundTrip(msg []byte) []byte {
	f.t.Helper()
	f.send(msg)
	b, err := f.recv()
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// The reboot as vpcd sees it: the 90 00 of WRITE CONFIG, then an empty ATR
// at the next presence poll (vpcd: "no card", socket closed), then a new
// connection after RebootDelay, powered off and with fresh session state.
func TestAttachRebootProtocol(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	k := newKey(t, Config{Serial: 6, Model: "5c-nano"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := AttachWith(ctx, k, AttachConfig{Addr: ln.Addr().String(), RebootDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeVPCD{t: t, c: c1}
	f.send([]byte{ctrlOn})
	if got := f.roundTrip([]byte{ctrlATR}); !bytes.Equal(got, ATR) {
		t.Fatalf("ATR %x", got)
	}
	if err := a.WaitFor(ctx, AttachState.Ready); err != nil {
		t.Fatal(err)
	}
	f.roundTrip(unhex(t, selMgmt))
	if got := f.roundTrip(unhex(t, "00 1C 00 00 07 06 0C 00 03 02 03 3E")); !bytes.Equal(got, []byte{0x90, 0x00}) {
		t.Fatalf("WRITE CONFIG: %x", got)
	}
	f.send([]byte{ctrlOff}) // the client disconnecting: no answer, no effect
	if got := f.roundTrip([]byte{ctrlATR}); len(got) != 0 {
		t.Fatalf("presence poll during reboot answered %x, want an empty ATR", got)
	}
	if _, err := f.recv(); err == nil {
		t.Fatal("connection still open after the reboot")
	}
	c1.Close()
	c2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	f = &fakeVPCD{t: t, c: c2}
	if got := f.roundTrip([]byte{ctrlATR}); !bytes.Equal(got, ATR) {
		t.Fatalf("ATR after reboot %x", got)
	}
	if got := f.roundTrip(unhex(t, "00 1D 00 00 00")); !bytes.Equal(got, []byte{0x6D, 0x00}) {
		t.Fatalf("session state survived the reboot: %x", got)
	}
	if k.Info().USBEnabled != 0x033E {
		t.Fatal("configuration not applied")
	}
	if s := a.State(); s.Connects != 2 {
		t.Fatalf("state %+v", s)
	}
}

// An APDU sent after the reboot's 90 00 finds the card gone.
func TestAttachRebootAPDU(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	k := newKey(t, Config{Serial: 7, Model: "5c-nano"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := AttachWith(ctx, k, AttachConfig{Addr: ln.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	c1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	f := &fakeVPCD{t: t, c: c1}
	f.roundTrip(unhex(t, selMgmt))
	f.roundTrip(unhex(t, "00 1C 00 00 07 06 0C 00 03 02 03 3E"))
	f.send(unhex(t, selMgmt))
	if got, err := f.recv(); err == nil {
		t.Fatalf("answer %x from a rebooting key", got)
	}
}
