//go:build cgo && linux

package scan_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/mgmt"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/device/scan/macpcsc"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

// The TestMacPCSC tests run the scanner over the real pcscd made to behave
// as macOS's PC/SC does (package macpcsc: no PnP notification reader, no
// event counter, a USB key's reader named after its interfaces and gone
// while it reboots).

const (
	otpFIDOCCID = "Yubico YubiKey OTP+FIDO+CCID"
	fidoCCID    = "Yubico YubiKey FIDO+CCID"
)

// TestMacPCSCWatchAndReboot: arrival, removal, and the OTP change's reboot,
// after which the key comes back in a reader with another name, found by
// the reader-list watcher and by the Reopener the change waits with.
func TestMacPCSCWatchAndReboot(t *testing.T) {
	testenv.LockVPCD(t)
	a := attach(t, 0, sim.Config{Serial: 61000001, Model: "5c-nano", Firmware: fw571})
	layer := macpcsc.ForSims(scan.System, a.Key)
	defer layer.Close()
	s := &scan.Scanner{PCSC: layer}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ch, scan.Arrived, 61000001)

	a.Att.Detach()
	if e := expectEvent(t, ch, scan.Left, 61000001); e.Reader != otpFIDOCCID {
		t.Errorf("left from %q, want %q", e.Reader, otpFIDOCCID)
	}
	a.Att.Reattach()
	if e := expectEvent(t, ch, scan.Arrived, 61000001); e.Reader != otpFIDOCCID {
		t.Errorf("arrived in %q, want %q", e.Reader, otpFIDOCCID)
	}

	card, k, err := s.OpenKey(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if k.Reader != otpFIDOCCID {
		t.Errorf("key in %q, want %q", k.Reader, otpFIDOCCID)
	}
	res, err := mgmt.ChangeApplications(ctx, card, mgmt.Request{USBDisable: device.CapOTP}, s.Reopener(k.Serial))
	card.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rebooted || res.After.USBEnabled&device.CapOTP != 0 || res.After.Serial != 61000001 {
		t.Fatalf("result %+v", res)
	}
	if e := expectEvent(t, ch, scan.Left, 61000001); e.Reader != otpFIDOCCID {
		t.Errorf("left from %q, want %q", e.Reader, otpFIDOCCID)
	}
	e := expectEvent(t, ch, scan.Arrived, 61000001)
	if e.Reader != fidoCCID || e.Key.Info.USBEnabled&device.CapOTP != 0 {
		t.Errorf("after the reboot: reader %q, USB enabled %v; want %q without OTP", e.Reader, e.Key.Info.USBEnabled, fidoCCID)
	}
	keys, err := s.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Reader != fidoCCID {
		t.Fatalf("keys after the reboot: %+v %v", keys, err)
	}
	// The watcher and the Reopener each asked once whether the PnP reader
	// works, and never waited on it: macOS answers such a wait at once, so
	// waiting on it would spin.
	if n := layer.PnPAsked(); n != 2 {
		t.Errorf("the PnP reader was in %d waits, want 2 (one question per waiter)", n)
	}
}

// TestMacPCSCSharingViolation: another program (an agent, possibly a Mac's
// PIV token driver) holds the key exclusively. The watcher reports the key
// unreadable with device.ErrInUse and reads it once the hold ends; a scan
// says which error it met.
func TestMacPCSCSharingViolation(t *testing.T) {
	testenv.LockVPCD(t)
	a := attach(t, 0, sim.Config{Serial: 61000011, Model: "5c-nfc", Firmware: fw571})
	other, err := pcsc.Establish()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	held, err := other.Connect(context.Background(), sim.ReaderName(0), true)
	if err != nil {
		t.Fatalf("holding the key exclusively: %v", err)
	}
	layer := macpcsc.ForSims(scan.System, a.Key)
	defer layer.Close()
	s := &scan.Scanner{PCSC: layer}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	keys, err := s.Keys(ctx)
	if len(keys) != 0 || !errors.Is(err, device.ErrInUse) {
		t.Fatalf("keys while held: %+v, error %v; want none and device.ErrInUse", keys, err)
	}
	if _, err := s.Find(ctx, 0); !errors.Is(err, device.ErrInUse) {
		t.Errorf("find while held: %v, want it to name device.ErrInUse", err)
	}

	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, ch)
	if e.Kind != scan.Unreadable || e.Reader != otpFIDOCCID || !errors.Is(e.Err, device.ErrInUse) {
		t.Fatalf("event %v reader %q err %v, want unreadable in %q with device.ErrInUse", e.Kind, e.Reader, e.Err, otpFIDOCCID)
	}
	held.Close()
	expectEvent(t, ch, scan.Arrived, 61000011)
}
