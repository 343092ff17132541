package mgmt

import (
	"context"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
)

// These tests run the package against the project's simulated YubiKey
// in-process (device/sim, written independently from the reference), with no
// pcscd.

func newSimKey(t *testing.T, cfg sim.Config) *sim.Key {
	t.Helper()
	k, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("sim.New(%+v): %v", cfg, err)
	}
	return k
}

// simReopen finds the simulated key again after its reboot, as a PC/SC
// Reopener would.
func simReopen(k *sim.Key, calls *int) Reopener {
	return func(context.Context) (device.Card, error) {
		*calls++
		return k.Card(), nil
	}
}

func TestSimReadInfoEveryPreset(t *testing.T) {
	for _, name := range sim.PresetNames() {
		t.Run(name, func(t *testing.T) {
			k := newSimKey(t, sim.Config{Serial: 31000001, Model: name})
			card := k.Card()
			defer card.Close()
			s, err := Open(context.Background(), card)
			if err != nil {
				t.Fatal(err)
			}
			if s.Version() != k.Firmware() {
				t.Errorf("Version() = %v, sim firmware %v", s.Version(), k.Firmware())
			}
			info, err := s.ReadInfo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := k.Info()
			if k.Firmware().Major < 5 {
				want.USBEnabled = 0 // not reported reliably before 5.0 (ykman)
			}
			if k.Preset().NFCTags {
				// ykman read_info: "Known to not have NFC, remove capabilities".
				want.HasNFC, want.NFCSupported, want.NFCEnabled, want.NFCMisreported = false, 0, 0, true
			}
			if info != want {
				t.Errorf("ReadInfo =\n %+v\nsim state\n %+v", info, want)
			}
			if info.Model() != k.Preset().Product {
				t.Errorf("Model() = %q, sim preset product %q", info.Model(), k.Preset().Product)
			}
		})
	}
}

func TestSimDisableOTP(t *testing.T) {
	for _, name := range []string{"5c-nano", "5c-nfc", "5ci", "5-nfc", "5-nano", "5c"} {
		t.Run(name, func(t *testing.T) {
			k := newSimKey(t, sim.Config{Serial: 31000002, Model: name})
			before := k.Info()
			calls := 0
			res, err := ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP}, simReopen(k, &calls))
			if err != nil {
				t.Fatal(err)
			}
			if calls != 1 || !res.Rebooted {
				t.Errorf("reopen calls %d, Rebooted %v; want 1, true", calls, res.Rebooted)
			}
			want := before.USBEnabled &^ device.CapOTP
			if got := k.Info().USBEnabled; got != want || res.After.USBEnabled != want {
				t.Errorf("sim USB enabled %#04x, read back %#04x; want %#04x", got, res.After.USBEnabled, want)
			}
			if k.Info().NFCEnabled != before.NFCEnabled {
				t.Errorf("NFC changed: %#04x -> %#04x", before.NFCEnabled, k.Info().NFCEnabled)
			}
			// Again: nothing to do, nothing sent beyond SELECT + READ CONFIG.
			n := k.Commands()
			res, err = ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP}, simReopen(k, &calls))
			if err != nil || len(res.Changed) != 0 || k.Commands()-n != 2 || calls != 1 {
				t.Errorf("second run: %v, %v, %d commands, %d reopens", res, err, k.Commands()-n, calls)
			}
		})
	}
}

func TestSimKeepsUnknownBits(t *testing.T) {
	// 0x0004 is reported by real keys and kept by the sim; it must survive.
	k := newSimKey(t, sim.Config{Serial: 31000003, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	if k.Info().USBEnabled&device.CapCCID == 0 {
		t.Fatalf("sim preset lost the 0x0004 bit: %#04x", k.Info().USBEnabled)
	}
	calls := 0
	res, err := ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP | device.CapOATH}, simReopen(k, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if res.After.USBEnabled != res.Before.USBEnabled&^(device.CapOTP|device.CapOATH) || res.After.USBEnabled&device.CapCCID == 0 {
		t.Errorf("before %#04x after %#04x", res.Before.USBEnabled, res.After.USBEnabled)
	}
}

func TestSimNFC(t *testing.T) {
	k := newSimKey(t, sim.Config{Serial: 31000004, Model: "5c-nfc"})
	before := k.Info()
	res, err := ChangeApplications(context.Background(), k.Card(), Request{NFCDisable: device.CapOTP | device.CapOpenPGP}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rebooted || k.Info().NFCEnabled != before.NFCEnabled&^(device.CapOTP|device.CapOpenPGP) || k.Info().USBEnabled != before.USBEnabled {
		t.Errorf("result %+v, sim %+v", res, k.Info())
	}
	nano := newSimKey(t, sim.Config{Serial: 31000005, Model: "5c-nano"})
	if _, err := ChangeApplications(context.Background(), nano.Card(), Request{NFCDisable: device.CapOTP}, nil); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("NFC change on a nano: %v; want ErrUnsupported", err)
	}
}

func TestSimLockCode(t *testing.T) {
	code := []byte("0123456789abcdef")
	k := newSimKey(t, sim.Config{Serial: 31000006, Model: "5c-nano", LockCode: code})
	before := k.Info()
	calls := 0
	_, err := ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP}, simReopen(k, &calls))
	if !errors.Is(err, device.ErrLocked) || errors.Is(err, device.ErrWrongPIN) {
		t.Fatalf("no code: %v; want ErrLocked", err)
	}
	_, err = ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP, LockCode: []byte("fedcba9876543210")}, simReopen(k, &calls))
	if !errors.Is(err, device.ErrLocked) || !errors.Is(err, device.ErrWrongPIN) {
		t.Fatalf("wrong code: %v; want ErrLocked and ErrWrongPIN", err)
	}
	if k.Info() != before || calls != 0 {
		t.Fatalf("a refused write changed the key: %+v -> %+v (reopens %d)", before, k.Info(), calls)
	}
	res, err := ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP, LockCode: code}, simReopen(k, &calls))
	if err != nil || res.After.USBEnabled&device.CapOTP != 0 || !res.After.ConfigLocked {
		t.Fatalf("right code: %+v, %v", res, err)
	}
}

func TestSimRefusesAllUSBOff(t *testing.T) {
	k := newSimKey(t, sim.Config{Serial: 31000007, Model: "5c-nano", USBEnabled: device.CapOTP | device.CapPIV})
	n := k.Commands()
	_, err := ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP | device.CapPIV}, nil)
	if !errors.Is(err, device.ErrInvalidArgument) || k.Commands()-n != 2 {
		t.Fatalf("err %v after %d commands; want ErrInvalidArgument after SELECT + READ CONFIG", err, k.Commands()-n)
	}
}

func TestSimRemovedMidWrite(t *testing.T) {
	k := newSimKey(t, sim.Config{Serial: 31000008, Model: "5c-nano"})
	before := k.Info()
	k.RemoveAfter(2) // SELECT and READ CONFIG answered; pulled during WRITE CONFIG
	calls := 0
	_, err := ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP}, simReopen(k, &calls))
	if !errors.Is(err, device.ErrRemoved) || calls != 0 {
		t.Fatalf("err %v, reopens %d; want ErrRemoved and no reopen", err, calls)
	}
	k.Plug()
	if k.Info() != before {
		t.Errorf("the key changed although the write never arrived")
	}
}

func TestSimMalformedInfo(t *testing.T) {
	k := newSimKey(t, sim.Config{Serial: 31000009, Model: "5c-nano"})
	card := k.Card()
	s, err := Open(context.Background(), card)
	if err != nil {
		t.Fatal(err)
	}
	k.TruncateNext()
	if _, err := s.ReadInfo(context.Background()); !errors.Is(err, device.ErrInvalidResponse) {
		t.Fatalf("truncated READ CONFIG: %v; want ErrInvalidResponse", err)
	}
}

func TestSimYubiKey4(t *testing.T) {
	k := newSimKey(t, sim.Config{Serial: 31000010, Model: "4"})
	res, err := ChangeApplications(context.Background(), k.Card(), Request{USBDisable: device.CapOTP}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ReplugRequired || res.Rebooted {
		t.Errorf("result %+v", res)
	}
	// The new mode applies once the key is re-inserted (§1.9-§1.10), as
	// ReplugRequired says; then the sim's own state shows it (the YubiKey 4
	// does not report its mode).
	k.Unplug()
	k.Plug()
	if got := k.Info().USBEnabled; got&device.CapOTP != 0 || got.Interfaces() != device.IfaceFIDO|device.IfaceCCID {
		t.Errorf("sim USB enabled %#04x (%s); want FIDO+CCID without OTP", uint16(got), got)
	}
}
