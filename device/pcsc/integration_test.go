//go:build cgo && linux

package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/pcsc/vpcdtest"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

// hangGuard bounds every wait so a broken PC/SC path fails the test instead
// of hanging it; it is not a speed assertion.
const hangGuard = 20 * time.Second

var selectMgmt = []byte{0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}

// echo answers every command with its INS byte and 90 00, so a test can
// check each response belongs to its command.
func echo(cmd []byte) []byte { return []byte{cmd[1], 0x90, 0x00} }

func establish(t *testing.T) *pcsc.Context {
	t.Helper()
	c, err := pcsc.Establish()
	if err != nil {
		t.Fatalf("Establish: %v", err)
	}
	t.Cleanup(func() { c.Release() })
	return c
}

// waitPresent waits, event-driven, until reader's card presence is want.
func waitPresent(t *testing.T, c *pcsc.Context, reader string, want bool) pcsc.ReaderState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	st := []pcsc.ReaderState{{Reader: reader, CurrentState: pcsc.StateUnaware}}
	for {
		if err := c.GetStatusChange(ctx, st); err != nil {
			t.Fatalf("waiting for %q present=%v: %v", reader, want, err)
		}
		if st[0].EventState.Present() == want && st[0].EventState&pcsc.StateMute == 0 {
			return st[0]
		}
		st[0].CurrentState = st[0].EventState
	}
}

// attach puts a scripted card into slot once pcscd sees the slot empty
// (a card removed just before may not have been noticed yet: vpcd only
// learns of a closed connection at pcscd's next presence poll), waits until
// pcscd reports it present, and on cleanup removes it and waits until pcscd
// has seen the removal.
func attach(t *testing.T, slot int, h vpcdtest.Handler) *vpcdtest.Card {
	t.Helper()
	c := establish(t)
	reader := vpcdtest.ReaderName(slot)
	waitPresent(t, c, reader, false)
	card, err := vpcdtest.Attach(context.Background(), slot, vpcdtest.YubiKeyATR, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		card.Remove()
		waitPresent(t, c, reader, false)
	})
	waitPresent(t, c, reader, true)
	return card
}

// TestThroughPCSCD runs the integration tests through the real pcscd and
// vpcd under one hold of the machine-wide vpcd lock: other packages' test
// processes share the two slots, and taking the lock once keeps this
// package from queueing behind them a dozen times.
func TestThroughPCSCD(t *testing.T) {
	testenv.LockVPCD(t)
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"Readers", testReaders},
		{"ConnectEmptyReaderIsRemoved", testConnectEmptyReaderIsRemoved},
		{"ConnectUnknownReader", testConnectUnknownReader},
		{"TransmitThroughPCSCD", testTransmitThroughPCSCD},
		{"SharedAndExclusive", testSharedAndExclusive},
		{"Transaction", testTransaction},
		{"RemovedMidSession", testRemovedMidSession},
		{"PulledDuringCommand", testPulledDuringCommand},
		{"GetStatusChangeArrivalAndRemoval", testGetStatusChangeArrivalAndRemoval},
		{"GetStatusChangeCancel", testGetStatusChangeCancel},
		{"GetStatusChangeCancelWhileBlocked", testGetStatusChangeCancelWhileBlocked},
		{"GetStatusChangeUnknownReader", testGetStatusChangeUnknownReader},
		{"SimulatedYubiKey", testSimulatedYubiKey},
	} {
		t.Run(tc.name, tc.f)
	}
}

func testReaders(t *testing.T) {
	c := establish(t)
	readers, err := c.Readers()
	if err != nil {
		t.Fatal(err)
	}
	for slot := range 2 {
		if !slices.Contains(readers, vpcdtest.ReaderName(slot)) {
			t.Errorf("Readers() = %q, missing %q", readers, vpcdtest.ReaderName(slot))
		}
	}
}

func testConnectEmptyReaderIsRemoved(t *testing.T) {
	c := establish(t)
	waitPresent(t, c, vpcdtest.ReaderName(1), false)
	_, err := c.Connect(context.Background(), vpcdtest.ReaderName(1), false)
	if !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("Connect to empty reader: %v, want ErrRemoved", err)
	}
}

func testConnectUnknownReader(t *testing.T) {
	c := establish(t)
	_, err := c.Connect(context.Background(), "No Such Reader 00 00", false)
	if !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("Connect to unknown reader: %v, want ErrNotFound", err)
	}
}

func testTransmitThroughPCSCD(t *testing.T) {
	reader := vpcdtest.ReaderName(0)
	fake := attach(t, 0, func(cmd []byte) []byte {
		if bytes.Equal(cmd, selectMgmt) {
			return append([]byte("Virtual mgr - FW version 5.7.2"), 0x90, 0x00)
		}
		return []byte{0x6D, 0x00}
	})
	c := establish(t)
	st := waitPresent(t, c, reader, true)
	if !bytes.Equal(st.ATR, vpcdtest.YubiKeyATR) {
		t.Errorf("ATR = % X, want % X", st.ATR, vpcdtest.YubiKeyATR)
	}
	card, err := c.Connect(context.Background(), reader, false)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if card.Protocol() != pcsc.ProtocolT1 || card.Reader() != reader {
		t.Errorf("protocol %v reader %q", card.Protocol(), card.Reader())
	}
	resp, err := card.Transmit(context.Background(), selectMgmt)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("Virtual mgr - FW version 5.7.2"), 0x90, 0x00); !bytes.Equal(resp, want) {
		t.Errorf("response % X, want % X", resp, want)
	}
	resp, err = card.Transmit(context.Background(), []byte{0x00, 0x1D, 0x00, 0x00})
	if err != nil || !bytes.Equal(resp, []byte{0x6D, 0x00}) {
		t.Errorf("second command: % X, %v", resp, err)
	}
	if got := fake.Commands(); len(got) != 2 || !bytes.Equal(got[0], selectMgmt) || !bytes.Equal(got[1], []byte{0x00, 0x1D, 0x00, 0x00}) {
		t.Errorf("card saw % X", got)
	}
	// A cancelled context stops before anything is sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := card.Transmit(ctx, selectMgmt); !errors.Is(err, context.Canceled) {
		t.Errorf("Transmit with cancelled ctx: %v", err)
	}
	if n := len(fake.Commands()); n != 2 {
		t.Errorf("card saw %d commands after a cancelled Transmit, want 2", n)
	}
	if err := card.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := card.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := card.Transmit(context.Background(), selectMgmt); err == nil {
		t.Error("Transmit after Close succeeded")
	}
}

func testSharedAndExclusive(t *testing.T) {
	reader := vpcdtest.ReaderName(0)
	attach(t, 0, echo)
	c := establish(t)
	waitPresent(t, c, reader, true)
	a, err := c.Connect(context.Background(), reader, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := c.Connect(context.Background(), reader, false)
	if err != nil {
		t.Fatalf("second shared connection: %v", err)
	}
	for i, k := range []*pcsc.Card{a, b} {
		resp, err := k.Transmit(context.Background(), []byte{0, byte(0x10 + i), 0, 0})
		if err != nil || !bytes.Equal(resp, []byte{byte(0x10 + i), 0x90, 0}) {
			t.Errorf("shared card %d: % X %v", i, resp, err)
		}
	}
	b.Close()
	a.Close()

	x, err := c.Connect(context.Background(), reader, true)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := c.Connect(context.Background(), reader, false); !errors.Is(err, pcsc.ErrInUse) {
		t.Errorf("shared connect while held exclusively: %v, want ErrInUse", err)
	}
}

func testTransaction(t *testing.T) {
	reader := vpcdtest.ReaderName(0)
	attach(t, 0, echo)
	c := establish(t)
	waitPresent(t, c, reader, true)
	card, err := c.Connect(context.Background(), reader, false)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if err := card.Begin(); err != nil {
		t.Fatal(err)
	}
	if _, err := card.Transmit(context.Background(), []byte{0, 0x20, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := card.End(); err != nil {
		t.Fatal(err)
	}
	if err := card.End(); err == nil {
		t.Error("End without a transaction succeeded")
	}
}

func testRemovedMidSession(t *testing.T) {
	reader := vpcdtest.ReaderName(0)
	fake := attach(t, 0, echo)
	c := establish(t)
	waitPresent(t, c, reader, true)
	card, err := c.Connect(context.Background(), reader, false)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if _, err := card.Transmit(context.Background(), []byte{0, 0x20, 0, 0}); err != nil {
		t.Fatal(err)
	}
	fake.Remove()
	waitPresent(t, c, reader, false)
	if _, err := card.Transmit(context.Background(), []byte{0, 0x20, 0, 0}); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("Transmit after removal: %v, want ErrRemoved", err)
	}
	if err := card.Close(); err != nil {
		t.Errorf("Close after removal: %v", err)
	}
}

func testPulledDuringCommand(t *testing.T) {
	reader := vpcdtest.ReaderName(0)
	attach(t, 0, func(cmd []byte) []byte { return nil }) // vanishes on the first command
	c := establish(t)
	waitPresent(t, c, reader, true)
	card, err := c.Connect(context.Background(), reader, false)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if resp, err := card.Transmit(context.Background(), selectMgmt); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("Transmit to a card pulled mid-command: % X, %v, want ErrRemoved", resp, err)
	}
}

func testGetStatusChangeArrivalAndRemoval(t *testing.T) {
	reader := vpcdtest.ReaderName(1)
	c := establish(t)
	empty := waitPresent(t, c, reader, false)

	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	st := []pcsc.ReaderState{
		{Reader: reader, CurrentState: empty.EventState},
		{Reader: pcsc.PnPNotification, CurrentState: pcsc.StateUnaware},
	}
	errc := make(chan error, 1)
	go func() { errc <- c.GetStatusChange(ctx, st) }()
	fake, err := vpcdtest.Attach(context.Background(), 1, vpcdtest.YubiKeyATR, echo)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Remove()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// The wait can wake on an intermediate state (present but not yet
	// powered); follow it to "present".
	for !st[0].EventState.Present() {
		st[0].CurrentState = st[0].EventState
		if err := c.GetStatusChange(ctx, st[:1]); err != nil {
			t.Fatal(err)
		}
	}
	if st[0].EventState&pcsc.StateChanged == 0 {
		t.Errorf("event state %#x lacks CHANGED", uint32(st[0].EventState))
	}
	if st[0].EventState.Count() == empty.EventState.Count() {
		t.Errorf("event counter did not move on insertion (%d)", st[0].EventState.Count())
	}
	if st[1].EventState&pcsc.StateChanged != 0 {
		t.Errorf("PnP pseudo-reader reported a change (%#x) though no reader came or went", uint32(st[1].EventState))
	}

	// Removal wakes a waiter that believes the card is present.
	present := st[0]
	st = []pcsc.ReaderState{{Reader: reader, CurrentState: present.EventState}}
	go func() { errc <- c.GetStatusChange(ctx, st) }()
	fake.Remove()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if st[0].EventState.Present() && st[0].EventState.Count() == present.EventState.Count() {
		t.Errorf("removal not seen: %#x", uint32(st[0].EventState))
	}
}

func testGetStatusChangeCancel(t *testing.T) {
	c := establish(t)
	reader := vpcdtest.ReaderName(1)
	empty := waitPresent(t, c, reader, false)
	for _, name := range []string{"reader", "pnp"} {
		t.Run(name, func(t *testing.T) {
			st := []pcsc.ReaderState{{Reader: reader, CurrentState: empty.EventState}}
			if name == "pnp" {
				st = []pcsc.ReaderState{{Reader: pcsc.PnPNotification, CurrentState: pcsc.StateUnaware}}
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- c.GetStatusChange(ctx, st) }()
			// Cancel both before and (most likely) after the wait reached
			// pcscd: either way the call must return context.Canceled.
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("GetStatusChange after cancel: %v, want context.Canceled", err)
				}
			case <-time.After(hangGuard):
				t.Fatal("GetStatusChange did not return after its context was cancelled")
			}
		})
	}
	// The context is still usable afterwards.
	if _, err := c.Readers(); err != nil {
		t.Fatalf("Readers after cancelled waits: %v", err)
	}
}

func testGetStatusChangeCancelWhileBlocked(t *testing.T) {
	c := establish(t)
	reader := vpcdtest.ReaderName(1)
	empty := waitPresent(t, c, reader, false)
	ctx, cancel := context.WithCancel(context.Background())
	st := []pcsc.ReaderState{{Reader: reader, CurrentState: empty.EventState}}
	errc := make(chan error, 1)
	go func() { errc <- c.GetStatusChange(ctx, st) }()
	select {
	case err := <-errc:
		t.Fatalf("GetStatusChange returned with nothing changing: %v (state %#x)", err, uint32(st[0].EventState))
	case <-time.After(300 * time.Millisecond): // let it block in pcscd
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("blocked GetStatusChange was not woken by cancellation")
	}
}

func testGetStatusChangeUnknownReader(t *testing.T) {
	c := establish(t)
	err := c.GetStatusChange(context.Background(), []pcsc.ReaderState{{Reader: "No Such Reader 00 00"}})
	if !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	if err := c.GetStatusChange(context.Background(), nil); !errors.Is(err, device.ErrInvalidArgument) {
		t.Fatalf("no readers: %v, want ErrInvalidArgument", err)
	}
}

// TestNoService points libpcsclite at a socket nobody listens on
// (PCSCLITE_CSOCK_NAME, read once per process, hence the subprocess) and
// checks the error callers get when pcscd is not running.
func TestNoService(t *testing.T) {
	if os.Getenv("KEYWIZARD_PCSC_NOSERVICE_CHILD") == "1" {
		_, err := pcsc.Establish()
		var pe *pcsc.Error
		if !errors.Is(err, pcsc.ErrNoService) || !errors.As(err, &pe) || pe.Code != pcsc.CodeNoService {
			t.Fatalf("Establish without pcscd: %v, want *Error matching ErrNoService", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoService$", "-test.v")
	cmd.Env = append(os.Environ(), "KEYWIZARD_PCSC_NOSERVICE_CHILD=1",
		"PCSCLITE_CSOCK_NAME="+t.TempDir()+"/no-pcscd.comm")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNoService")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// testSimulatedYubiKey talks to the project's YubiKey simulator through
// pcscd: the management SELECT and READ CONFIG answer as a YubiKey 5 does,
// and unplugging it mid-session surfaces as ErrRemoved.
func testSimulatedYubiKey(t *testing.T) {
	c := establish(t)
	reader := sim.ReaderName(0)
	waitPresent(t, c, reader, false)
	key, err := sim.New(sim.Config{Serial: 31415926, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	att, err := sim.Attach(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		<-att.Done()
		waitPresent(t, c, reader, false)
	}()
	waitPresent(t, c, reader, true)
	card, err := c.Connect(context.Background(), reader, false)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	resp, err := card.Transmit(context.Background(), selectMgmt)
	if err != nil || !bytes.HasSuffix(resp, []byte("FW version 5.7.1\x90\x00")) {
		t.Fatalf("SELECT: %q %v", resp, err)
	}
	resp, err = card.Transmit(context.Background(), []byte{0x00, 0x1D, 0x00, 0x00})
	// Serial 31415926 = 0x01DF5E76 in tag 02 (docs/yubikey-protocol.md §1.3).
	if err != nil || !bytes.Contains(resp, []byte{0x02, 0x04, 0x01, 0xDF, 0x5E, 0x76}) || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
		t.Fatalf("READ CONFIG: % X %v", resp, err)
	}
	att.Detach()
	waitPresent(t, c, reader, false)
	if _, err := card.Transmit(context.Background(), selectMgmt); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("Transmit after unplugging: %v, want ErrRemoved", err)
	}
}
