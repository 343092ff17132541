package keys_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/cli"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/testenv"
	"github.com/keywizard/keywizard/steps"
)

// person is the one at the keyboard during a wipe: told to replug the key,
// they pull it out and plug it back in (the simulator's FIDO side powers up
// again, which opens its reset window); pullDuringPIV makes them pull the
// key out a few commands into the PIV reset instead, and leave it out.
type person struct {
	*keys.Devices
	key           *sim.Key
	pullDuringPIV bool
	replugs       int
}

func (p *person) ResetPIV(ctx context.Context, c cli.WipeConfirmation) error {
	if p.pullDuringPIV {
		// piv-go's reset first spends the PIN and PUK tries: the key
		// goes while the applet is half-way.
		p.key.RemoveAfter(6)
	}
	return p.Devices.ResetPIV(ctx, c)
}

func (p *person) WaitReplug(ctx context.Context, serial uint32, ready func()) error {
	return p.Devices.WaitReplug(ctx, serial, func() {
		ready()
		p.replugs++
		// The attachment keeps the key out long enough for pcscd to see
		// it leave (sim minAbsence), as a person's hand does.
		go func() { p.key.Unplug(); p.key.Plug() }()
	})
}

func wipeCmd(t *testing.T, ctx context.Context, devs cli.Devices, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.Env{Out: &out, Err: &errb, In: strings.NewReader(stdin),
		OpenDevices: func(context.Context) (cli.Devices, error) { return devs, nil }}
	root := cli.NewRoot(env, "test", func(bool) error { return errors.New("no gui in tests") })
	code := cli.Execute(ctx, root, append([]string{"key", "wipe"}, args...))
	return out.String(), errb.String(), code
}

func ykmanPIV(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ykman", "--reader", sim.ReaderName(0), "piv", "info").CombinedOutput()
	if err != nil {
		t.Fatalf("ykman piv info: %v\n%s", err, out)
	}
	return string(out)
}

// TestWipeOnSimulatedKey sets a simulated key up as a person's would be (a
// FIDO2 PIN and a passkey, PIV provisioned for macOS login), wipes it with
// keywizard key wipe through the production adapters over the real pcscd,
// and checks with ykman and the FIDO2 client that it is back to factory
// settings. A first wipe is cut short by pulling the key out during the
// PIV reset: it must say so and exit 6; the second one finishes.
func TestWipeOnSimulatedKey(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const serial = 31000201
	s, err := simulation.Start(ctx, []simulation.KeySpec{{Serial: serial, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wk := &keys.Keys{Hub: s.Hub}
	if err := wk.SetFIDOPIN(ctx, serial, "246813"); err != nil {
		t.Fatal(err)
	}
	if err := s.FIDO[serial].AddCredential("example.com", "Example", "alice@example.com", "Alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := wk.ProvisionPIV(ctx, serial, steps.PIVParams{NewPIN: "135790", NewPUK: "97531246"}); err != nil {
		t.Fatal(err)
	}
	before := ykmanPIV(t)
	if strings.Contains(before, "Using default PIN") || !strings.Contains(before, "Slot 9a:") {
		t.Fatalf("the key was not provisioned:\n%s", before)
	}

	// A wrong answer changes nothing.
	p := &person{Devices: &keys.Devices{Hub: s.Hub}, key: s.Keys[0]}
	_, stderr, code := wipeCmd(t, ctx, p, "31000202\n", "--serial", "31000201")
	if code != cli.ExitError || !strings.Contains(stderr, "not confirmed") || p.replugs != 0 {
		t.Fatalf("wrong serial typed: exit %d, %d replugs, %q", code, p.replugs, stderr)
	}
	if after := ykmanPIV(t); after != before {
		t.Fatalf("a refused wipe changed PIV:\n%s", after)
	}

	// Pulled out during the PIV reset.
	p.pullDuringPIV = true
	out, stderr, code := wipeCmd(t, ctx, p, "31000201\n", "--serial", "31000201")
	if code != cli.ExitRemoved || !strings.Contains(stderr, "PIV: may be partly erased") || !strings.Contains(stderr, "FIDO2: not erased") {
		t.Fatalf("pulled during PIV: exit %d\n%s%s", code, out, stderr)
	}
	if st, err := wk.FIDOState(ctx, serial); err == nil || errors.Is(err, device.ErrAmbiguous) {
		t.Fatalf("the key is still reachable after being pulled out: %+v %v", st, err)
	}
	p.pullDuringPIV = false
	// pcscd notices the removal at its next presence poll; plugging the
	// key back in before that would go unseen.
	testenv.WaitReadersEmpty(t)
	p.key.Plug()
	testenv.WaitCardPresent(t, sim.ReaderName(0))

	out, stderr, code = wipeCmd(t, ctx, p, "", "--serial", "31000201", "--confirm-serial", "31000201")
	if code != 0 {
		t.Fatalf("wipe: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"YubiKey 5C Nano, serial 31000201 (firmware 5.7.2, Nano (USB-C))",
		"its FIDO2 PIN is set", "unplug the key", "PIV erased.", "FIDO2 erased.", "is erased"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if p.replugs != 1 {
		t.Errorf("%d replugs asked for, want 1", p.replugs)
	}

	// ykman, reading the key afresh, sees factory PIV.
	after := ykmanPIV(t)
	for _, want := range []string{"WARNING: Using default PIN!", "PIN tries remaining: 3/3", "WARNING: Using default Management key!", "CHUID:\tNo data available."} {
		if !strings.Contains(after, want) {
			t.Errorf("ykman piv info after the wipe lacks %q:\n%s", want, after)
		}
	}
	if strings.Contains(after, "Slot 9a:") || strings.Contains(after, "Slot 9d:") {
		t.Errorf("certificates survived the wipe:\n%s", after)
	}
	// The FIDO2 client sees no PIN, and with a new one no passkey.
	st, err := wk.FIDOState(ctx, serial)
	if err != nil || st.PINSet {
		t.Fatalf("FIDO2 after the wipe: %+v, %v", st, err)
	}
	if err := wk.SetFIDOPIN(ctx, serial, "864213"); err != nil {
		t.Fatal(err)
	}
	if has, err := wk.HasCredential(ctx, serial, "864213", "example.com", ""); err != nil || has {
		t.Fatalf("passkey for example.com after the wipe: %v, %v", has, err)
	}
}
