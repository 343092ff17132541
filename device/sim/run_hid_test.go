//go:build linux && cgo

package sim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/fido/libfido2"
	"github.com/keywizard/keywizard/internal/testenv"
)

// TestRunBothTransports runs `keywizard sim --hid PATH` (Run with
// HIDPath) and drives the one key through both of its FIDO2 transports:
// ykman over CCID ("Virtual PCD 00 00", CTAP over ISO 7816) and
// keywizard's go-libfido2 adapter over the HID node (libfido2's CTAPHID).
// A PIN set through one is the PIN of the other; credentials and retries
// are shared; ending the process removes the node.
func TestRunBothTransports(t *testing.T) {
	testenv.LockVPCD(t)
	hid := filepath.Join(t.TempDir(), "fido-hid")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Serial: 31000009, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}, Slot: 0, HIDPath: hid, Out: &out})
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		}
	}
	defer stop()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; output:\n%s", what, out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("the attachment", func() bool { return strings.Contains(out.String(), "attached to") })
	if !strings.Contains(out.String(), "FIDO HID device at "+hid) {
		t.Errorf("Run does not say where the HID node is:\n%s", out.String())
	}
	var info string
	waitFor("ykman fido info", func() bool {
		o, err := ykman(t, 0, "fido", "info")
		info = o
		return err == nil
	})
	lines(t, info, "PIN is not set.")

	p := libfido2.NewProvider(hid)
	open := func() *fido.Client {
		t.Helper()
		a, err := p.Open(ctx, hid)
		if err != nil {
			t.Fatal(err)
		}
		return fido.NewClient(a, fido.Options{})
	}
	// PIN set over HID → seen over CCID.
	if err := open().SetPIN(ctx, "123456"); err != nil {
		t.Fatalf("SetPIN over HID: %v", err)
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 8 attempt(s) remaining.")
	// PIN changed over CCID → the new PIN works over HID, the old not.
	mustYkman(t, 0, "fido", "access", "change-pin", "--pin", "123456", "--new-pin", "24681357")
	var pe *device.PINError
	if _, err := open().Credentials(ctx, "123456"); !errors.As(err, &pe) || pe.Retries != 7 {
		t.Fatalf("old PIN over HID after ykman changed it = %v, want PINError with 7 retries", err)
	}
	if _, err := open().Credentials(ctx, "24681357"); err != nil {
		t.Fatalf("new PIN over HID: %v", err)
	}
	// A wrong PIN over HID costs a retry ykman sees.
	if _, err := open().Credentials(ctx, "000000"); !errors.As(err, &pe) {
		t.Fatalf("wrong PIN over HID = %v", err)
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 7 attempt(s) remaining.")
	if _, err := open().Credentials(ctx, "24681357"); err != nil {
		t.Fatal(err)
	}
	if o := mustYkman(t, 0, "fido", "credentials", "list", "--pin", "24681357"); strings.TrimSpace(o) != "" {
		t.Errorf("credentials on a fresh key:\n%s", o)
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 8 attempt(s) remaining.")

	// The process ends: the key is pulled, the node goes.
	stop()
	if _, err := os.Lstat(hid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("HID node after the simulator stopped: %v", err)
	}
	if _, err := p.Open(context.Background(), hid); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("Open after the simulator stopped = %v, want ErrNotFound", err)
	}
}
