package scan

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
)

// guard bounds waits for events so a broken watcher fails instead of
// hanging; it is not a speed assertion.
const guard = 10 * time.Second

func next(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return e
	case <-time.After(guard):
		t.Fatal("no event")
	}
	return Event{}
}

func expect(t *testing.T, ch <-chan Event, kind EventKind, serial uint32, reader string) Event {
	t.Helper()
	e := next(t, ch)
	if e.Kind != kind || e.Key.Serial != serial || e.Reader != reader {
		t.Fatalf("event %v serial %d reader %q (err %v), want %v serial %d reader %q", e.Kind, e.Key.Serial, e.Reader, e.Err, kind, serial, reader)
	}
	return e
}

// quiet checks no event is pending once the watcher is blocked again.
func quiet(t *testing.T, f *fakePCSC, ch <-chan Event) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for f.waiters() == 0 {
		select {
		case e := <-ch:
			t.Fatalf("unexpected event %v serial %d reader %q err %v", e.Kind, e.Key.Serial, e.Reader, e.Err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("watcher never went back to waiting")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case e := <-ch:
		t.Fatalf("unexpected event %v serial %d", e.Kind, e.Key.Serial)
	default:
	}
}

func TestWatch(t *testing.T) {
	f := newFakePCSC()
	clock := newFakeClock()
	a := newKey(t, 501, "5c-nano", fw571)
	f.insertKey("Slot 0", a)
	f.addReader("Slot 1")
	f.insert("Other", func() (device.Card, error) { return &scriptedCard{resp: []byte{0x6A, 0x82}}, nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f, Clock: clock}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Keys already in are reported first; other cards never.
	e := expect(t, ch, Arrived, 501, "Slot 0")
	if e.Key.Model != "YubiKey 5C Nano" || !e.Time.Equal(clock.Now()) {
		t.Errorf("arrival %+v", e)
	}
	quiet(t, f, ch)

	b := newKey(t, 502, "5c-nfc", fw571)
	f.insertKey("Slot 1", b)
	expect(t, ch, Arrived, 502, "Slot 1")
	quiet(t, f, ch)

	f.remove("Slot 0")
	expect(t, ch, Left, 501, "Slot 0")
	quiet(t, f, ch)

	// A reboot seen as one change: the card left and came back between
	// two waits (the event counter moved by two, presence did not change).
	f.mu.Lock()
	f.slots["Slot 1"].counter += 2
	f.notify()
	f.mu.Unlock()
	expect(t, ch, Left, 502, "Slot 1")
	expect(t, ch, Arrived, 502, "Slot 1")
	quiet(t, f, ch)

	// A USB key's reader goes away with it, and comes back under another
	// name after a reboot that changed its interfaces.
	f.insertKey("Yubico YubiKey OTP+FIDO+CCID 00 00", a)
	expect(t, ch, Arrived, 501, "Yubico YubiKey OTP+FIDO+CCID 00 00")
	quiet(t, f, ch)
	f.removeReader("Yubico YubiKey OTP+FIDO+CCID 00 00")
	expect(t, ch, Left, 501, "Yubico YubiKey OTP+FIDO+CCID 00 00")
	f.insertKey("Yubico YubiKey FIDO+CCID 00 00", a)
	expect(t, ch, Arrived, 501, "Yubico YubiKey FIDO+CCID 00 00")
	quiet(t, f, ch)

	// A card pulled while being probed is not reported at all.
	c := newKey(t, 503, "5ci", fw571)
	c.RemoveAfter(1)
	f.insert("Slot 0", func() (device.Card, error) { return c.Card(), nil })
	quiet(t, f, ch)
	f.remove("Slot 0")
	quiet(t, f, ch)

	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("event after cancel")
		}
	case <-time.After(guard):
		t.Fatal("channel not closed after cancel")
	}
	waitFor(t, func() bool { return f.contexts == 0 && f.waiters() == 0 })
}

func TestWatchUnreadable(t *testing.T) {
	f := newFakePCSC()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// With no reader at all, only the PnP pseudo-reader is followed, and
	// pcsc-lite 1.9.9 only notices readers added during a call: let the
	// watcher block first (see waiter.wait).
	waitFor(t, func() bool { return f.waiters() > 0 })
	f.insert("Busy", func() (device.Card, error) { return nil, errInUse() })
	e := next(t, ch)
	if e.Kind != Unreadable || e.Reader != "Busy" || !errors.Is(e.Err, pcsc.ErrInUse) {
		t.Fatalf("event %+v", e)
	}
	quiet(t, f, ch)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReopener(t *testing.T) {
	f := newFakePCSC()
	k := newKey(t, 900, "5c-nano", fw571)
	f.insertKey("R", k)
	f.insertKey("Other", newKey(t, 901, "5c-nfc", fw571))
	s := &Scanner{PCSC: f}
	reopen := s.Reopener(900)

	// The key reboots while the caller waits: it leaves, then comes back
	// under another reader name.
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitFor(t, func() bool { return f.waiters() > 0 })
		f.removeReader("R")
		k.Unplug()
		waitFor(t, func() bool { return f.waiters() > 0 })
		f.insertKey("R after reboot", k)
	}()
	card, err := reopen(context.Background())
	<-done
	if err != nil {
		t.Fatal(err)
	}
	kk, ok, err := readKey(context.Background(), card, "")
	if err != nil || !ok || kk.Serial != 900 {
		t.Fatalf("reopened card reads %+v %v", kk, err)
	}
	card.Close()
	waitFor(t, func() bool { return f.contexts == 0 })
}

func TestReopenerKeyAlreadyBack(t *testing.T) {
	// The key rebooted before Reopener ran and nothing leaves afterwards:
	// the key is trusted once the leave window passes quietly.
	f := newFakePCSC()
	clock := newFakeClock()
	k := newKey(t, 900, "5c-nano", fw571)
	f.insertKey("R", k)
	s := &Scanner{PCSC: f, Clock: clock}
	go func() {
		// Two timers: the overall timeout, then the leave window.
		<-clock.added
		<-clock.added
		waitFor(t, func() bool { return f.waiters() > 0 })
		clock.mu.Lock()
		leave := clock.pending[1]
		clock.mu.Unlock()
		leave <- clock.Now()
	}()
	card, err := s.Reopener(900)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	card.Close()
}

func TestReopenerTimeout(t *testing.T) {
	f := newFakePCSC()
	clock := newFakeClock()
	f.addReader("R")
	s := &Scanner{PCSC: f, Clock: clock, ReopenTimeout: 3 * time.Second}
	go func() {
		<-clock.added
		waitFor(t, func() bool { return f.waiters() > 0 })
		clock.fireAll()
	}()
	_, err := s.Reopener(900)(context.Background())
	if !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("timeout: %v, want ErrRemoved", err)
	}
	waitFor(t, func() bool { return f.contexts == 0 && f.waiters() == 0 })
}

func TestReopenerCancelled(t *testing.T) {
	f := newFakePCSC()
	f.addReader("R")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, func() bool { return f.waiters() > 0 })
		cancel()
	}()
	_, err := (&Scanner{PCSC: f}).Reopener(900)(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestWatchDoesNotPoll: once the watcher has handled a change it makes one
// GetStatusChange call and stays in it while nothing changes.
func TestWatchDoesNotPoll(t *testing.T) {
	f := newFakePCSC()
	f.insertKey("R", newKey(t, 1, "5c-nano", fw571))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, Arrived, 1, "R")
	quiet(t, f, ch)
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	time.Sleep(200 * time.Millisecond) // nothing happens meanwhile
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls != calls || f.waiting != 1 {
		t.Fatalf("idle watcher made %d more GetStatusChange calls (%d waiting)", f.calls-calls, f.waiting)
	}
}

func TestWatchStopsWhenServiceGoes(t *testing.T) {
	f := newFakePCSC()
	f.addReader("R")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.waiters() > 0 })
	f.mu.Lock()
	f.waitErr = &pcsc.Error{Code: pcsc.CodeServiceStopped}
	f.notify()
	f.mu.Unlock()
	e := next(t, ch)
	if e.Kind != Stopped || !errors.Is(e.Err, pcsc.ErrNoService) {
		t.Fatalf("event %v %v, want Stopped matching ErrNoService", e.Kind, e.Err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("channel still open after Stopped")
	}
	waitFor(t, func() bool { return f.contexts == 0 })
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{Arrived: "arrived", Left: "left", Unreadable: "unreadable", Stopped: "stopped", 9: "EventKind(9)"} {
		if k.String() != want {
			t.Errorf("%d: %q", int(k), k.String())
		}
	}
}

// TestWatchLeavesOtherProgramsAlone: another program connecting to a key
// changes its reader's state word (in use, exclusive, back to idle), and
// another reader's events wake the watcher meanwhile. None of it makes the
// watcher connect to the key again: selecting the management application
// would pull the other program's session (say ykman's PIV) out from under
// it.
func TestWatchLeavesOtherProgramsAlone(t *testing.T) {
	f := newFakePCSC()
	k := newKey(t, 701, "5c-nano", fw571)
	opens := 0
	k.Plug()
	f.insert("Key", func() (device.Card, error) { opens++; return k.Card(), nil })
	f.addReader("Other")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, Arrived, 701, "Key")
	quiet(t, f, ch)
	probes := opens
	for _, others := range []pcsc.State{pcsc.StateInUse, pcsc.StateExclusive, pcsc.StateInUse, 0} {
		f.mu.Lock()
		f.slots["Key"].others = others
		f.notify()
		f.mu.Unlock()
		quiet(t, f, ch)
		b := newKey(t, 702, "5c-nfc", fw571)
		f.insertKey("Other", b)
		expect(t, ch, Arrived, 702, "Other")
		f.remove("Other")
		expect(t, ch, Left, 702, "Other")
		quiet(t, f, ch)
	}
	if opens != probes {
		t.Errorf("the watcher connected to the key %d more times while another program used it", opens-probes)
	}
}
