//go:build cgo && linux

package keys_test

import (
	"context"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/hub"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/device/scan/macpcsc"
	"github.com/keywizard/keywizard/device/scan/scanbench"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/testenv"
)

// macHub is the production hub over the real pcscd made to behave as macOS's
// PC/SC does (device/scan/macpcsc): no PnP notification reader, the key's
// reader named after its USB interfaces and gone while it reboots.
func macHub(t *testing.T, serial uint32) (*hub.Hub, *scanbench.Attached) {
	t.Helper()
	a, err := scanbench.Attach(context.Background(), 0, sim.Config{Serial: serial, Model: "5c-nano"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Remove(); err != nil {
			t.Error(err)
		}
	})
	h := keys.NewHub(sim.NewRegistry(a.Key))
	layer := macpcsc.ForSims(scan.System, a.Key)
	t.Cleanup(layer.Close)
	h.Scanner.PCSC = layer
	return h, a
}

// TestMacPCSCOTPStep runs the wizard's OTP step adapter: OTP is disabled,
// the key reboots and comes back as "Yubico YubiKey FIDO+CCID", found by
// listing readers, and the result is read back from it.
func TestMacPCSCOTPStep(t *testing.T) {
	testenv.LockVPCD(t)
	h, a := macHub(t, 62000001)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := (&keys.Keys{Hub: h}).DisableOTP(ctx, 62000001, true)
	if err != nil {
		t.Fatalf("the OTP step failed after a change that worked: %v", err)
	}
	if res.USBEnabled&device.CapOTP != 0 || a.Key.Info().USBEnabled&device.CapOTP != 0 {
		t.Fatalf("OTP still enabled: step says %v, key has %v", res.USBEnabled, a.Key.Info().USBEnabled)
	}
	k, err := h.Find(ctx, 62000001)
	if err != nil || k.Reader != "Yubico YubiKey FIDO+CCID" {
		t.Fatalf("after the reboot the key is in %q (%v), want the renamed reader", k.Reader, err)
	}
}

// TestMacPCSCWipeReplugWait runs the wipe's wait for the person to replug the
// key through the reader-list watcher.
func TestMacPCSCWipeReplugWait(t *testing.T) {
	testenv.LockVPCD(t)
	h, a := macHub(t, 62000011)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	told := 0
	err := (&keys.Devices{Hub: h}).WaitReplug(ctx, 62000011, func() {
		told++
		// The person pulls the key out and plugs it back in; the
		// attachment keeps it out long enough for pcscd to notice.
		go func() { a.Key.Unplug(); a.Key.Plug() }()
	})
	if err != nil {
		t.Fatalf("waiting for the replug: %v", err)
	}
	if told != 1 {
		t.Errorf("told to replug %d times, want once", told)
	}
	if a.Att.State().Connects < 2 {
		t.Errorf("returned before the key was replugged (state %+v)", a.Att.State())
	}
}
