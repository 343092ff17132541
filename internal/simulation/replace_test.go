package simulation_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/testenv"
)

// TestReplace swaps the key in slot 1 for a new one, as a person handed a
// replacement for a lost key: ykman, through the real pcscd, reads the new
// serial in that reader; the hub finds the new key with its FIDO2 side and
// no longer the old one; the key in slot 0 is untouched.
func TestReplace(t *testing.T) {
	testenv.LockVPCD(t)
	if _, err := exec.LookPath("ykman"); err != nil {
		t.Fatalf("ykman is needed (scripts/deps.sh test): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := simulation.Start(ctx, simulation.DefaultKeys, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	old := simulation.DefaultKeys[1].Serial
	spec := simulation.KeySpec{Serial: 31000003, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}}
	nk, err := s.Replace(ctx, 1, spec)
	if err != nil {
		t.Fatal(err)
	}
	if nk.Serial() != spec.Serial || s.Keys[1] != nk {
		t.Fatalf("Replace returned key %d, slot 1 has %d", nk.Serial(), s.Keys[1].Serial())
	}

	out, err := exec.CommandContext(ctx, "ykman", "--reader", sim.ReaderName(1), "info").CombinedOutput()
	t.Logf("ykman --reader %q info:\n%s", sim.ReaderName(1), out)
	if err != nil {
		t.Fatalf("ykman info: %v", err)
	}
	if !strings.Contains(string(out), "Serial number: 31000003") {
		t.Fatalf("ykman does not show the new key's serial in %s", sim.ReaderName(1))
	}

	k, err := s.Hub.Find(ctx, spec.Serial)
	if err != nil {
		t.Fatalf("the hub does not find the new key: %v", err)
	}
	if k.FIDO == nil {
		t.Fatalf("the new key's FIDO2 side is not tied to it: %+v", k)
	}
	if _, ok := s.FIDO[spec.Serial]; !ok {
		t.Fatal("the new key's authenticator is not in FIDO")
	}
	if _, ok := s.FIDO[old]; ok {
		t.Fatal("the old key's authenticator is still in FIDO")
	}
	if _, err := s.Hub.Find(ctx, old); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("finding the replaced key: %v, want not found", err)
	}
	if k, err := s.Hub.Find(ctx, simulation.DefaultKeys[0].Serial); err != nil || k.FIDO == nil {
		t.Fatalf("the key in slot 0 after the swap: %+v, %v", k, err)
	}

	if _, err := s.Replace(ctx, 1, simulation.DefaultKeys[0]); !errors.Is(err, device.ErrInvalidArgument) {
		t.Fatalf("replacing with the serial of the key in slot 0: %v, want ErrInvalidArgument", err)
	}
}
