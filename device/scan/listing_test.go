package scan

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
)

// These tests follow readers on a service without the PnP notification
// reader (macOS, docs/pcsc-platforms.md) and on one that stops with its last
// reader (Windows): readers are found by listing them, every ListInterval.

const testInterval = 20 * time.Millisecond

func TestWatchWithoutPnP(t *testing.T) {
	f := newFakePCSC()
	f.noPnP = true
	a := newKey(t, 601, "5c-nano", fw571)
	f.insertKey("Yubico YubiKey OTP+FIDO+CCID", a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f, ListInterval: testInterval}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, Arrived, 601, "Yubico YubiKey OTP+FIDO+CCID")

	// A reader plugged in while the watcher waits on the known ones is
	// found at the next listing.
	b := newKey(t, 602, "5c-nfc", fw571)
	f.insertKey("Yubico YubiKey OTP+FIDO+CCID 01", b)
	expect(t, ch, Arrived, 602, "Yubico YubiKey OTP+FIDO+CCID 01")

	// A USB key rebooting after OTP was disabled: its reader goes away and
	// comes back under a name without OTP.
	f.removeReader("Yubico YubiKey OTP+FIDO+CCID")
	expect(t, ch, Left, 601, "Yubico YubiKey OTP+FIDO+CCID")
	f.insertKey("Yubico YubiKey FIDO+CCID", a)
	expect(t, ch, Arrived, 601, "Yubico YubiKey FIDO+CCID")

	// A reader that comes back under the same name (a replug with nothing
	// changed) is a new arrival: its wait reported it unknown, and it is
	// followed afresh.
	f.removeReader("Yubico YubiKey OTP+FIDO+CCID 01")
	expect(t, ch, Left, 602, "Yubico YubiKey OTP+FIDO+CCID 01")
	f.insertKey("Yubico YubiKey OTP+FIDO+CCID 01", b)
	expect(t, ch, Arrived, 602, "Yubico YubiKey OTP+FIDO+CCID 01")

	// The refused PnP reader was asked about once, when the watch
	// started, and never waited on (it would wake every wait at once).
	f.mu.Lock()
	pnp := f.pnpCalls
	f.mu.Unlock()
	if pnp != 1 {
		t.Errorf("GetStatusChange was called with the PnP reader %d times, want once", pnp)
	}
	select {
	case e := <-ch:
		t.Fatalf("unexpected event %v serial %d reader %q", e.Kind, e.Key.Serial, e.Reader)
	default:
	}
}

func TestWatchServiceStopsWithoutReaders(t *testing.T) {
	f := newFakePCSC()
	f.stops = true
	k := newKey(t, 611, "5c-nano", fw571)
	f.insertKey("Yubico YubiKey OTP+FIDO+CCID 0", k)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f, ListInterval: testInterval}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ch, Arrived, 611, "Yubico YubiKey OTP+FIDO+CCID 0")

	// The last reader goes and the service stops with it: the key left,
	// and the watch goes on.
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	f.removeReader("Yubico YubiKey OTP+FIDO+CCID 0")
	expect(t, ch, Left, 611, "Yubico YubiKey OTP+FIDO+CCID 0")

	// The service starts again with the next reader.
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.contexts == 0 })
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	f.insertKey("Yubico YubiKey FIDO+CCID 0", k)
	expect(t, ch, Arrived, 611, "Yubico YubiKey FIDO+CCID 0")

	cancel()
	for e := range ch {
		if e.Kind == Stopped {
			t.Fatalf("the watch stopped: %v", e.Err)
		}
	}
}

func TestWatchServiceStopsOnLinuxIsAFailure(t *testing.T) {
	// Where the service does not stop by design (pcscd), its going away is
	// reported, even without the PnP reader.
	f := newFakePCSC()
	f.noPnP = true
	f.addReader("R")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := (&Scanner{PCSC: f, ListInterval: testInterval}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.down = true
	f.notify()
	f.mu.Unlock()
	e := next(t, ch)
	if e.Kind != Stopped || !errors.Is(e.Err, pcsc.ErrNoService) {
		t.Fatalf("event %v %v, want Stopped matching ErrNoService", e.Kind, e.Err)
	}
}

func TestReopenerWithoutPnP(t *testing.T) {
	f := newFakePCSC()
	f.noPnP = true
	k := newKey(t, 620, "5c-nano", fw571)
	f.insertKey("Yubico YubiKey OTP+FIDO+CCID", k)
	s := &Scanner{PCSC: f, ListInterval: testInterval}

	// The key reboots while the caller waits: its reader leaves, and a
	// while later one with another name appears, found by listing.
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitFor(t, func() bool { return f.waiters() > 0 })
		f.removeReader("Yubico YubiKey OTP+FIDO+CCID")
		k.Unplug()
		time.Sleep(5 * testInterval) // longer than one listing
		f.insertKey("Yubico YubiKey FIDO+CCID", k)
	}()
	card, err := s.Reopener(620)(context.Background())
	<-done
	if err != nil {
		t.Fatal(err)
	}
	kk, ok, err := readKey(context.Background(), card, "")
	if err != nil || !ok || kk.Serial != 620 {
		t.Fatalf("reopened card reads %+v %v", kk, err)
	}
	card.Close()
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.contexts == 0 })
}

// TestWatchReadsKeyOnceHoldEnds: a key another program holds exclusively
// is reported unreadable, and read once the hold ends. pcscd wakes no
// waiter when an exclusive hold ends, so the fake does not either: the
// watcher finds out by asking again every ListInterval while a key is held.
func TestWatchReadsKeyOnceHoldEnds(t *testing.T) {
	for _, noPnP := range []bool{false, true} {
		f := newFakePCSC()
		f.noPnP = noPnP
		k := newKey(t, 630, "5c-nano", fw571)
		k.Plug()
		held := true
		f.insert("Key", func() (device.Card, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if held {
				return nil, errInUse()
			}
			return k.Card(), nil
		})
		f.mu.Lock()
		f.slots["Key"].others = pcsc.StateExclusive
		f.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := (&Scanner{PCSC: f, ListInterval: testInterval}).Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e := next(t, ch); e.Kind != Unreadable || !errors.Is(e.Err, device.ErrInUse) {
			t.Fatalf("noPnP %v: event %v %v, want unreadable with device.ErrInUse", noPnP, e.Kind, e.Err)
		}
		f.mu.Lock()
		held = false
		f.slots["Key"].others = 0 // no notify: pcscd does not signal this
		f.mu.Unlock()
		expect(t, ch, Arrived, 630, "Key")
		cancel()
	}
}

// TestListingSchedule: after a change the waiter lists every third of the
// interval for the few intervals after it (12 listings in 3 s at a 750 ms
// interval), then every interval; a wait begun later in that while gets only the quick listings
// left; once it is over, every listing is an interval apart, and a change
// brings the quick ones back.
func TestListingSchedule(t *testing.T) {
	w := &waiter{interval: 750 * time.Millisecond}
	w.changed()
	if s := w.schedule(); s.Often != 250*time.Millisecond || s.Count != 12 || s.Every != 750*time.Millisecond {
		t.Fatalf("schedule after a change = %+v, want 12 listings 250ms apart, then 750ms", s)
	}
	if g := w.gap(); g != 250*time.Millisecond {
		t.Errorf("gap after a change = %v, want 250ms", g)
	}
	w.hotUntil = time.Now().Add(600 * time.Millisecond) // 2.4 s after the change
	if s := w.schedule(); s.Count != 3 {
		t.Errorf("quick listings left 600ms before the while ends = %d, want 3", s.Count)
	}
	w.hotUntil = time.Now().Add(-time.Millisecond) // the while after the change is over
	if s := w.schedule(); s.Count != 0 || s.Every != 750*time.Millisecond {
		t.Errorf("schedule once the while after a change is over = %+v, want every 750ms", s)
	}
	if g := w.gap(); g != 750*time.Millisecond {
		t.Errorf("gap once the while after a change is over = %v, want the interval", g)
	}
	before := time.Now()
	w.changed()
	if s := w.schedule(); s.Count != 12 || w.hotUntil.Before(before.Add(3*time.Second)) {
		t.Errorf("after a new change: %+v, quick listing until %v; want 12 quick listings for 3 intervals", s, w.hotUntil)
	}
}
