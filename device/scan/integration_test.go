//go:build cgo && linux

package scan_test

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/mgmt"
	"github.com/keywizard/keywizard/device/pcsc/vpcdtest"
	"github.com/keywizard/keywizard/device/piv"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/device/scan/scanbench"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

var fw571 = device.Version{Major: 5, Minor: 7, Patch: 1}

func attach(t *testing.T, slot int, cfg sim.Config) *scanbench.Attached {
	t.Helper()
	a, err := scanbench.Attach(context.Background(), slot, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Remove(); err != nil {
			t.Error(err)
		}
	})
	return a
}

// TestThroughPCSCD runs the scanner against simulated keys in the real
// pcscd through vpcd, under one hold of the machine-wide vpcd lock.
func TestThroughPCSCD(t *testing.T) {
	testenv.LockVPCD(t)
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"OneKey", testOneKey},
		{"TwoKeys", testTwoKeys},
		{"OtherCardSkipped", testOtherCardSkipped},
		{"PulledMidProbe", testPulledMidProbe},
		{"Watch", testWatch},
		{"RebootThroughReopener", testRebootThroughReopener},
	} {
		t.Run(tc.name, tc.f)
	}
}

// ykmanInfo runs Yubico's ykman against a vpcd slot: an independent reading
// of the same key.
func ykmanInfo(t *testing.T, slot int) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ykman", "--reader", sim.ReaderName(slot), "info").CombinedOutput()
	if err != nil {
		t.Fatalf("ykman info: %v\n%s", err, out)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return fields
}

func testOneKey(t *testing.T) {
	a := attach(t, 0, sim.Config{Serial: 10000001, Model: "5c-nano", Firmware: fw571})
	s := &scan.Scanner{PCSC: scan.System, FIDO: sim.NewRegistry(a.Key), ReadPIV: piv.ReadState, WithPIV: true}
	keys, err := s.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("keys %+v", keys)
	}
	k := keys[0]
	if k.Serial != 10000001 || k.Model != "YubiKey 5C Nano" || k.Reader != vpcdtest.ReaderName(0) || k.Info.Version != fw571 {
		t.Errorf("key %+v", k)
	}
	if k.FIDOMatch != device.MatchUnique || k.FIDO == nil || k.FIDO.Path != a.Key.FIDO().Path() {
		t.Errorf("FIDO %q %+v", k.FIDOMatch, k.FIDO)
	}
	if k.PIV == nil || k.PIV.PINRetries != 3 || k.PIV.DefaultPIN == nil || !*k.PIV.DefaultPIN {
		t.Errorf("PIV %+v", k.PIV)
	}
	// ykman reads the same key the same way.
	y := ykmanInfo(t, 0)
	if y["Serial number"] != "10000001" || y["Firmware version"] != "5.7.1" || y["Device type"] != k.Model {
		t.Errorf("ykman sees %q / %q / %q, scan %d / %s / %q", y["Serial number"], y["Firmware version"], y["Device type"], k.Serial, k.Info.Version, k.Model)
	}
}

func testTwoKeys(t *testing.T) {
	a := attach(t, 0, sim.Config{Serial: 20000001, Model: "5c-nano", Firmware: fw571})
	b := attach(t, 1, sim.Config{Serial: 20000002, Model: "5c-nfc", Firmware: fw571})
	s := &scan.Scanner{PCSC: scan.System, FIDO: sim.NewRegistry(a.Key, b.Key)}
	ctx := context.Background()
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Serial != 20000001 || keys[1].Serial != 20000002 {
		t.Fatalf("keys %+v", keys)
	}
	if keys[0].Reader != vpcdtest.ReaderName(0) || keys[1].Reader != vpcdtest.ReaderName(1) ||
		keys[1].Model != "YubiKey 5C NFC" {
		t.Errorf("keys %+v", keys)
	}
	for _, k := range keys {
		if k.FIDOMatch != device.MatchUnique {
			t.Errorf("serial %d match %q", k.Serial, k.FIDOMatch)
		}
	}
	if _, err := s.Find(ctx, 0); !errors.Is(err, device.ErrAmbiguous) {
		t.Errorf("Find(0): %v", err)
	}
	card, reader, err := s.OpenCard(ctx, 20000002)
	if err != nil || reader != vpcdtest.ReaderName(1) {
		t.Fatalf("OpenCard: %q %v", reader, err)
	}
	sess, err := mgmt.Open(ctx, card)
	if err == nil {
		info, err := sess.ReadInfo(ctx)
		if err != nil || info.Serial != 20000002 {
			t.Errorf("opened card reads %+v %v", info, err)
		}
	}
	card.Close()
}

func testOtherCardSkipped(t *testing.T) {
	attach(t, 0, sim.Config{Serial: 30000001, Model: "5ci", Firmware: fw571})
	if err := scanbench.WaitSlot(context.Background(), 1, false); err != nil {
		t.Fatal(err)
	}
	other, err := vpcdtest.Attach(context.Background(), 1, []byte{0x3B, 0x02, 0x14, 0x50}, func(cmd []byte) []byte { return []byte{0x6A, 0x82} })
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		other.Remove()
		scanbench.WaitSlot(context.Background(), 1, false)
	}()
	if err := scanbench.WaitSlot(context.Background(), 1, true); err != nil {
		t.Fatal(err)
	}
	keys, err := (&scan.Scanner{PCSC: scan.System}).Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Serial != 30000001 {
		t.Fatalf("keys %+v", keys)
	}
	if n := len(other.Commands()); n != 1 {
		t.Errorf("the other card got %d commands, want just the SELECT", n)
	}
}

func testPulledMidProbe(t *testing.T) {
	a := attach(t, 0, sim.Config{Serial: 40000001, Model: "5c-nano", Firmware: fw571})
	b := attach(t, 1, sim.Config{Serial: 40000002, Model: "5c-nfc", Firmware: fw571})
	a.Key.RemoveAfter(1) // answers SELECT, pulled during READ CONFIG
	keys, err := (&scan.Scanner{PCSC: scan.System}).Keys(context.Background())
	if err != nil {
		t.Fatalf("a key pulled mid-probe is not an error: %v", err)
	}
	if len(keys) != 1 || keys[0].Serial != b.Key.Serial() {
		t.Fatalf("keys %+v", keys)
	}
	a.Key.Plug()
}

func nextEvent(t *testing.T, ch <-chan scan.Event) scan.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return e
	case <-time.After(scanbench.Guard):
		t.Fatal("no event")
	}
	return scan.Event{}
}

func expectEvent(t *testing.T, ch <-chan scan.Event, kind scan.EventKind, serial uint32) scan.Event {
	t.Helper()
	e := nextEvent(t, ch)
	if e.Kind != kind || e.Key.Serial != serial {
		t.Fatalf("event %v serial %d reader %q err %v, want %v serial %d", e.Kind, e.Key.Serial, e.Reader, e.Err, kind, serial)
	}
	return e
}

func testWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := attach(t, 0, sim.Config{Serial: 50000001, Model: "5c-nano", Firmware: fw571})
	ch, err := (&scan.Scanner{PCSC: scan.System}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := expectEvent(t, ch, scan.Arrived, 50000001)
	if e.Reader != vpcdtest.ReaderName(0) || e.Key.Model != "YubiKey 5C Nano" {
		t.Errorf("initial arrival %+v", e)
	}

	b := attach(t, 1, sim.Config{Serial: 50000002, Model: "5c-nfc", Firmware: fw571})
	expectEvent(t, ch, scan.Arrived, 50000002)

	a.Att.Detach()
	expectEvent(t, ch, scan.Left, 50000001)
	a.Att.Reattach()
	expectEvent(t, ch, scan.Arrived, 50000001)

	b.Att.Detach()
	if e := expectEvent(t, ch, scan.Left, 50000002); e.Reader != vpcdtest.ReaderName(1) {
		t.Errorf("left from %q", e.Reader)
	}
	b.Att.Reattach()
	expectEvent(t, ch, scan.Arrived, 50000002)

	cancel()
	for range ch { // drains, and ends: the channel is closed
	}
}

// testRebootThroughReopener disables OTP, which reboots the key (the sim
// drops off vpcd and comes back), through mgmt.ChangeApplications with the
// scanner's Reopener, while a watcher reports the reboot as Left then
// Arrived.
func testRebootThroughReopener(t *testing.T) {
	a := attach(t, 0, sim.Config{Serial: 60000001, Model: "5c-nano", Firmware: fw571})
	s := &scan.Scanner{PCSC: scan.System}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ch, scan.Arrived, 60000001)

	card, _, err := s.OpenCard(ctx, 60000001)
	if err != nil {
		t.Fatal(err)
	}
	res, err := mgmt.ChangeApplications(ctx, card, mgmt.Request{USBDisable: device.CapOTP}, s.Reopener(60000001))
	card.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rebooted || res.After.USBEnabled&device.CapOTP != 0 || res.After.Serial != 60000001 {
		t.Fatalf("result %+v", res)
	}
	if a.Att.State().Connects < 2 {
		t.Errorf("the key did not reconnect (state %+v)", a.Att.State())
	}
	expectEvent(t, ch, scan.Left, 60000001)
	e := expectEvent(t, ch, scan.Arrived, 60000001)
	if e.Key.Info.USBEnabled&device.CapOTP != 0 {
		t.Errorf("arrived after reboot with OTP still enabled: %v", e.Key.Info.USBEnabled)
	}

	// ykman agrees OTP is now off over USB.
	out, err := exec.Command("ykman", "--reader", sim.ReaderName(0), "info").CombinedOutput()
	if err != nil {
		t.Fatalf("ykman: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^OTP\s+Disabled`).Match(out) {
		t.Errorf("ykman does not show OTP disabled:\n%s", out)
	}
}
