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
// running is a Run in progress.
type running struct {
	t    *testing.T
	out  *syncBuffer
	stop func()
}

// startRun runs o as `keywizard sim` does and waits until ykman reaches
// the key's FIDO2 side through the reader.
func startRun(t *testing.T, o Options) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, out: &syncBuffer{}}
	o.Out = r.out
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	stopped := false
	r.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		}
	}
	t.Cleanup(r.stop)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for ykman to see the key; output:\n%s", r.out.String())
		}
		if !strings.Contains(r.out.String(), "attached to") {
			continue
		}
		if _, err := ykman(t, o.Slot, "fido", "info"); err == nil {
			return r
		}
	}
}

func hidClient(t *testing.T, p *libfido2.Provider, path string) *fido.Client {
	t.Helper()
	a, err := p.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return fido.NewClient(a, fido.Options{})
}

// TestRunBothTransports runs `keywizard sim --hid PATH` (Run with
// HIDPath) and drives the one key through both of its FIDO2 transports:
// ykman over CCID ("Virtual PCD 00 00", CTAP over ISO 7816) and
// keywizard's go-libfido2 adapter over the HID node (libfido2's CTAPHID).
// A PIN set through one is the PIN of the other; retries are shared;
// ending the process removes the node.
func TestRunBothTransports(t *testing.T) {
	testenv.LockVPCD(t)
	ctx := context.Background()
	hid := filepath.Join(t.TempDir(), "fido-hid")
	r := startRun(t, Options{Serial: 31000009, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}, Slot: 0, HIDPath: hid})
	if !strings.Contains(r.out.String(), "FIDO HID device at "+hid) {
		t.Errorf("Run does not say where the HID node is:\n%s", r.out.String())
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is not set.")

	p := libfido2.NewProvider(hid)
	// PIN set over HID → seen over CCID.
	if err := hidClient(t, p, hid).SetPIN(ctx, "123456"); err != nil {
		t.Fatalf("SetPIN over HID: %v", err)
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 8 attempt(s) remaining.")
	// PIN changed over CCID → the new PIN works over HID, the old not.
	mustYkman(t, 0, "fido", "access", "change-pin", "--pin", "123456", "--new-pin", "24681357")
	var pe *device.PINError
	if _, err := hidClient(t, p, hid).Credentials(ctx, "123456"); !errors.As(err, &pe) || pe.Retries != 7 {
		t.Fatalf("old PIN over HID after ykman changed it = %v, want PINError with 7 retries", err)
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 7 attempt(s) remaining.")
	if _, err := hidClient(t, p, hid).Credentials(ctx, "24681357"); err != nil {
		t.Fatalf("new PIN over HID: %v", err)
	}
	if o := mustYkman(t, 0, "fido", "credentials", "list", "--pin", "24681357"); strings.TrimSpace(o) != "" {
		t.Errorf("credentials on a fresh key:\n%s", o)
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 8 attempt(s) remaining.")

	// The process ends: the key is pulled, the node goes.
	r.stop()
	if _, err := os.Lstat(hid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("HID node after the simulator stopped: %v", err)
	}
	if _, err := p.Open(ctx, hid); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("Open after the simulator stopped = %v, want ErrNotFound", err)
	}
}

// TestRunStateAcrossRestarts runs `keywizard sim --state FILE --hid PATH`
// twice: the PIV PIN changed by ykman and the FIDO2 PIN set over HID
// survive the restart, with the FIDO2 retries, while the PIN-auth block
// three wrong PINs caused is gone, as after a replug.
func TestRunStateAcrossRestarts(t *testing.T) {
	testenv.LockVPCD(t)
	ctx := context.Background()
	dir := t.TempDir()
	hid, state := filepath.Join(dir, "fido-hid"), filepath.Join(dir, "key.json")
	o := Options{Serial: 31000010, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}, Slot: 0, HIDPath: hid, StatePath: state}
	r := startRun(t, o)
	mustYkman(t, 0, "piv", "access", "change-pin", "--pin", "123456", "--new-pin", "24681357")
	p := libfido2.NewProvider(hid)
	if err := hidClient(t, p, hid).SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	var pc *fido.PowerCycleError
	for i := 0; i < 3; i++ {
		_, err := hidClient(t, p, hid).Credentials(ctx, "000000")
		if i == 2 && !errors.As(err, &pc) {
			t.Fatalf("third wrong PIN = %v, want PowerCycleError", err)
		}
	}
	if _, err := hidClient(t, p, hid).Credentials(ctx, "123456"); !errors.As(err, &pc) {
		t.Fatalf("right PIN while auth-blocked = %v, want PowerCycleError", err)
	}
	r.stop()
	fi, err := os.Stat(state)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v, %v; want mode 0600", fi, err)
	}

	startRun(t, o)
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 5 attempt(s) remaining.")
	if _, err := hidClient(t, p, hid).Credentials(ctx, "123456"); err != nil {
		t.Fatalf("right PIN after the restart: %v", err)
	}
	// The PIV PIN ykman set is the PIN now (and changing it back works).
	mustYkman(t, 0, "piv", "access", "change-pin", "--pin", "24681357", "--new-pin", "123456")
}

// TestServeHIDFollowsPlug: the node is there while the key is plugged in
// with FIDO enabled; unplugging removes it, plugging back brings it back,
// and libfido2 reaches the same authenticator through it again.
func TestServeHIDFollowsPlug(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, Config{Serial: 31000011, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}})
	path := filepath.Join(t.TempDir(), "fido-hid")
	h, err := k.ServeHID(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	p := libfido2.NewProvider(path)
	if err := hidClient(t, p, path).SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	waitPath := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			_, err := os.Stat(path)
			if (err == nil) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("node present = %v, want %v", err == nil, want)
			}
		}
	}
	k.Unplug()
	waitPath(false)
	if _, err := p.Open(ctx, path); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("Open while unplugged = %v, want ErrNotFound", err)
	}
	k.Plug()
	waitPath(true)
	st, err := hidClient(t, p, path).State(ctx)
	if err != nil || !st.PINSet {
		t.Fatalf("after plugging back in: %+v, %v", st, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("node after Close: %v", err)
	}
	if _, err := newKey(t, Config{Serial: 4, Model: "4", Firmware: device.Version{Major: 4, Minor: 3, Patch: 7}}).ServeHID(path); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("ServeHID on a YubiKey 4 = %v, want ErrUnsupported", err)
	}
}
