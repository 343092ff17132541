package simulation_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/testenv"
)

// TestSimulationProcesses plugs the two simulated keys in as `keywizard sim`
// processes, as `keywizard --simulate` does: the hub sees both through pcscd
// with their FIDO2 side from this process, a configuration write reboots the
// other process's card and reads back, and Close unplugs them.
func TestSimulationProcesses(t *testing.T) {
	testenv.LockVPCD(t)
	cli := filepath.Join(t.TempDir(), "keywizard")
	build := exec.Command("go", "build", "-tags", "migrated_fynedo", "-o", cli, "../../cmd/keywizard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building keywizard: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := simulation.StartProcesses(ctx, simulation.DefaultKeys, cli, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	keys, err := s.Hub.Keys(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("found %d keys, want 2: %+v", len(keys), keys)
	}
	for i, k := range keys {
		if want := simulation.DefaultKeys[i].Serial; k.Serial != want || k.FIDO == nil {
			t.Errorf("key %d: serial %d, FIDO %+v; want serial %d with its FIDO2 side", i, k.Serial, k.FIDO, want)
		}
	}
	// The cards answer from their own processes, not from this one.
	for _, k := range s.Keys {
		if n := k.Commands(); n != 0 {
			t.Errorf("the in-process key %d answered %d card commands", k.Serial(), n)
		}
	}
	res, err := s.Hub.DisableOTP(ctx, simulation.DefaultKeys[0].Serial, false, nil)
	if err != nil {
		t.Fatalf("disabling OTP on the other process's card: %v", err)
	}
	if res.After.USBEnabled&device.CapOTP != 0 {
		t.Errorf("OTP still enabled after the reboot: %v", res.After.USBEnabled)
	}

	s.Close()
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	for {
		keys, _ := s.Hub.Keys(cctx, false)
		if len(keys) == 0 {
			break
		}
		if cctx.Err() != nil {
			t.Fatalf("after Close pcscd still shows %d simulated keys", len(keys))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
