//go:build cgo && linux

package mgmt

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

// These tests drive the package through the real pcscd and vsmartcard's
// vpcd (device/pcsc's libpcsclite binding) against a simulated key, and
// check the outcome with Yubico's ykman as an independent client. They need
// pcscd with vpcd (scripts/pcscd.sh) and ykman (Debian yubikey-manager).

// hangGuard bounds every wait so a broken PC/SC path fails instead of
// hanging; it is not a speed assertion.
const hangGuard = 30 * time.Second

// waitState waits, event-driven, until the reader's presence is want.
func waitState(ctx context.Context, pc *pcsc.Context, reader string, want bool) error {
	st := []pcsc.ReaderState{{Reader: reader, CurrentState: pcsc.StateUnaware}}
	for {
		if err := pc.GetStatusChange(ctx, st); err != nil {
			return err
		}
		if st[0].EventState.Present() == want && st[0].EventState&pcsc.StateMute == 0 {
			return nil
		}
		st[0].CurrentState = st[0].EventState
	}
}

// attachSim inserts k into vpcd slot 0 and waits until pcscd sees it.
func attachSim(t *testing.T, pc *pcsc.Context, k *sim.Key) *sim.Attachment {
	t.Helper()
	return attachSimSlot(t, pc, k, 0)
}

// attachSimSlot inserts k into a vpcd slot and waits until pcscd sees it.
func attachSimSlot(t *testing.T, pc *pcsc.Context, k *sim.Key, slot int) *sim.Attachment {
	t.Helper()
	reader := sim.ReaderName(slot)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := waitState(ctx, pc, reader, false); err != nil {
		t.Fatalf("waiting for %s to be empty: %v", reader, err)
	}
	actx, acancel := context.WithCancel(context.Background())
	a, err := sim.Attach(actx, k, slot)
	if err != nil {
		acancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		acancel()
		<-a.Done()
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := waitState(ctx, pc, reader, false); err != nil {
			t.Errorf("waiting for pcscd to see the key removed: %v", err)
		}
	})
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := waitState(ctx, pc, reader, true); err != nil {
		t.Fatalf("waiting for %s to hold the key: %v", reader, err)
	}
	return a
}

// reopener waits until the simulated key has re-enumerated after its reboot
// (connection number want, seen by pcscd) and connects to it again. The
// product's Reopener (device/scan) finds the key by serial through PC/SC
// events; this one knows the simulator, which keeps the test independent of
// that code.
func reopener(pc *pcsc.Context, a *sim.Attachment, want int, calls *int) Reopener {
	return reopenerSlot(pc, a, 0, want, calls)
}

func reopenerSlot(pc *pcsc.Context, a *sim.Attachment, slot, want int, calls *int) Reopener {
	return func(ctx context.Context) (device.Card, error) {
		*calls++
		ctx, cancel := context.WithTimeout(ctx, hangGuard)
		defer cancel()
		if err := a.WaitFor(ctx, func(s sim.AttachState) bool { return s.Connects >= want && s.Ready() }); err != nil {
			return nil, err
		}
		reader := sim.ReaderName(slot)
		for {
			if err := waitState(ctx, pc, reader, true); err != nil {
				return nil, err
			}
			card, err := pc.Connect(ctx, reader, false)
			if err == nil {
				return card, nil
			}
			if !errors.Is(err, device.ErrRemoved) {
				return nil, err
			}
		}
	}
}

// establish opens a PC/SC context released after the test's other
// cleanups (which still wait on it).
func establish(t *testing.T) *pcsc.Context {
	t.Helper()
	pc, err := pcsc.Establish()
	if err != nil {
		t.Fatalf("pcsc.Establish: %v", err)
	}
	t.Cleanup(func() { pc.Release() })
	return pc
}

func connect(t *testing.T, pc *pcsc.Context) *pcsc.Card {
	t.Helper()
	return connectSlot(t, pc, 0)
}

func connectSlot(t *testing.T, pc *pcsc.Context, slot int) *pcsc.Card {
	t.Helper()
	card, err := pc.Connect(context.Background(), sim.ReaderName(slot), false)
	if err != nil {
		t.Fatalf("connecting to %s: %v", sim.ReaderName(slot), err)
	}
	t.Cleanup(func() { card.Close() })
	return card
}

// ykmanInfo runs `ykman --reader "Virtual PCD 00 00" info`.
func ykmanInfo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ykman", "--reader", sim.ReaderName(0), "info")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ykman info (apt-get install yubikey-manager): %v\n%s", err, out)
	}
	return string(out)
}

// ykmanApps parses ykman info's application table: name -> first column.
func ykmanApps(out string) map[string]string {
	apps := map[string]string{}
	re := regexp.MustCompile(`^(OTP|FIDO U2F|FIDO2|OATH|PIV|OpenPGP|YubiHSM Auth)\s+(Enabled|Disabled|Not available)`)
	for _, l := range strings.Split(out, "\n") {
		if m := re.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			apps[m[1]] = m[2]
		}
	}
	return apps
}

func TestPCSCDisableOTP(t *testing.T) {
	testenv.LockVPCD(t)
	pc := establish(t)
	k, err := sim.New(sim.Config{Serial: 32000001, Model: "5c-nano"})
	if err != nil {
		t.Fatal(err)
	}
	a := attachSim(t, pc, k)

	// Read through pcscd first, and compare with ykman's view.
	s, err := Open(context.Background(), connect(t, pc))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.ReadInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := ykmanInfo(t)
	for _, l := range []string{"Device type: " + info.Model(), "Serial number: 32000001", "Firmware version: " + info.Version.String()} {
		if !strings.Contains(out, l) {
			t.Errorf("ykman info lacks %q:\n%s", l, out)
		}
	}
	if apps := ykmanApps(out); apps["OTP"] != "Enabled" || apps["PIV"] != "Enabled" {
		t.Fatalf("before: ykman applications %v", apps)
	}

	calls := 0
	res, err := ChangeApplications(context.Background(), connect(t, pc), Request{USBDisable: device.CapOTP}, reopener(pc, a, 2, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rebooted || calls != 1 || res.After.USBEnabled != info.USBEnabled&^device.CapOTP {
		t.Fatalf("result %+v (reopens %d)", res, calls)
	}
	if got := k.Info().USBEnabled; got != res.After.USBEnabled {
		t.Errorf("sim USB enabled %#04x, read back %#04x", got, res.After.USBEnabled)
	}
	apps := ykmanApps(ykmanInfo(t))
	for name, want := range map[string]string{"OTP": "Disabled", "FIDO U2F": "Enabled", "FIDO2": "Enabled", "OATH": "Enabled", "PIV": "Enabled", "OpenPGP": "Enabled", "YubiHSM Auth": "Enabled"} {
		if apps[name] != want {
			t.Errorf("after: ykman says %s is %q, want %q (all: %v)", name, apps[name], want, apps)
		}
	}
}

func TestPCSCLockedKey(t *testing.T) {
	testenv.LockVPCD(t)
	pc := establish(t)
	code := []byte("0123456789abcdef")
	k, err := sim.New(sim.Config{Serial: 32000002, Model: "5c-nfc", LockCode: code})
	if err != nil {
		t.Fatal(err)
	}
	a := attachSim(t, pc, k)
	before := k.Info()
	calls := 0
	_, err = ChangeApplications(context.Background(), connect(t, pc), Request{USBDisable: device.CapOTP, LockCode: []byte("fedcba9876543210")}, reopener(pc, a, 2, &calls))
	if !errors.Is(err, device.ErrLocked) || !errors.Is(err, device.ErrWrongPIN) || calls != 0 {
		t.Fatalf("wrong code through pcscd: %v (reopens %d); want ErrLocked + ErrWrongPIN", err, calls)
	}
	if k.Info() != before {
		t.Fatal("the refused write changed the key")
	}
	// An NFC-only change needs no reboot and is read back on the same card.
	res, err := ChangeApplications(context.Background(), connect(t, pc), Request{NFCDisable: device.CapOTP, LockCode: code}, nil)
	if err != nil || res.Rebooted || res.After.NFCEnabled != before.NFCEnabled&^device.CapOTP {
		t.Fatalf("NFC change with the right code: %+v, %v", res, err)
	}
}

// TestPCSCTwoKeys changes the two keys a new hire gets, at the same time,
// each in its own vpcd slot: neither change may touch the other key.
func TestPCSCTwoKeys(t *testing.T) {
	testenv.LockVPCD(t)
	pc := establish(t)
	nano, err := sim.New(sim.Config{Serial: 32000003, Model: "5c-nano"})
	if err != nil {
		t.Fatal(err)
	}
	mobile, err := sim.New(sim.Config{Serial: 32000004, Model: "5c-nfc"})
	if err != nil {
		t.Fatal(err)
	}
	keys := []*sim.Key{nano, mobile}
	atts := []*sim.Attachment{attachSimSlot(t, pc, nano, 0), attachSimSlot(t, pc, mobile, 1)}
	befores := []device.Info{nano.Info(), mobile.Info()}
	cards := []*pcsc.Card{connectSlot(t, pc, 0), connectSlot(t, pc, 1)}

	type outcome struct {
		res Result
		err error
	}
	done := make([]chan outcome, 2)
	calls := make([]int, 2)
	for i := range keys {
		done[i] = make(chan outcome, 1)
		go func() {
			res, err := ChangeApplications(context.Background(), cards[i], Request{USBDisable: device.CapOTP}, reopenerSlot(pc, atts[i], i, 2, &calls[i]))
			done[i] <- outcome{res, err}
		}()
	}
	for i, k := range keys {
		o := <-done[i]
		if o.err != nil {
			t.Fatalf("key %d: %v", k.Serial(), o.err)
		}
		if o.res.Serial != k.Serial() || !o.res.Rebooted || calls[i] != 1 {
			t.Errorf("key %d: result %+v (reopens %d)", k.Serial(), o.res, calls[i])
		}
		want := befores[i].USBEnabled &^ device.CapOTP
		if got := k.Info().USBEnabled; got != want || o.res.After.USBEnabled != want {
			t.Errorf("key %d: sim %#04x, read back %#04x; want %#04x", k.Serial(), got, o.res.After.USBEnabled, want)
		}
		if k.Info().NFCEnabled != befores[i].NFCEnabled {
			t.Errorf("key %d: NFC changed", k.Serial())
		}
	}
}

// TestPCSCRemovedMidWrite pulls the key while WRITE CONFIG is in flight:
// pcscd reports the card gone, and nothing else is attempted.
func TestPCSCRemovedMidWrite(t *testing.T) {
	testenv.LockVPCD(t)
	pc := establish(t)
	k, err := sim.New(sim.Config{Serial: 32000005, Model: "5c-nano"})
	if err != nil {
		t.Fatal(err)
	}
	a := attachSim(t, pc, k)
	before := k.Info()
	card := connect(t, pc)
	k.RemoveAfter(2) // SELECT and READ CONFIG answered, then pulled
	calls := 0
	_, err = ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, reopener(pc, a, 2, &calls))
	if !errors.Is(err, device.ErrRemoved) || calls != 0 {
		t.Fatalf("err = %v, reopens %d; want ErrRemoved and no reopen", err, calls)
	}
	k.Plug()
	if k.Info() != before {
		t.Errorf("the key changed although the write never arrived")
	}
}
