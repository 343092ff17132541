package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/cli"
	"github.com/keywizard/keywizard/internal/testenv"
)

// These tests run the real keywizard binary against simulated keys attached
// to the real pcscd through vpcd, and use Yubico's ykman as the independent
// check of what the binary changed.

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keywizard-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "keywizard")
	cmd := exec.Command("go", "build", "-tags", "migrated_fynedo", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		panic("building keywizard: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	out, err string
	code     int
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running keywizard %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// plug attaches an in-process simulated key to vpcd slot and unplugs it when
// the test ends.
func plug(t *testing.T, cfg sim.Config, slot int) *sim.Key {
	t.Helper()
	k, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := sim.Attach(ctx, k, slot)
	if err != nil {
		cancel()
		t.Fatalf("attaching to vpcd: %v", err)
	}
	t.Cleanup(func() { a.Detach(); cancel() })
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := a.Ready(rctx); err != nil {
		t.Fatalf("pcscd did not see the simulated key: %v", err)
	}
	return k
}

func keysJSON(t *testing.T) []cli.KeyJSON {
	t.Helper()
	r := run(t, "", "keys", "--json")
	if r.code != 0 {
		t.Fatalf("keys --json: exit %d: %s", r.code, r.err)
	}
	var keys []cli.KeyJSON
	if err := json.Unmarshal([]byte(r.out), &keys); err != nil {
		t.Fatalf("keys --json is not JSON: %v\n%s", err, r.out)
	}
	return keys
}

func ykman(t *testing.T, reader string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ykman", append([]string{"--reader", reader}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ykman %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestKeysOneAndTwo(t *testing.T) {
	testenv.LockVPCD(t)
	if keys := keysJSON(t); len(keys) != 0 {
		t.Fatalf("keys before plugging any: %+v", keys)
	}
	plug(t, sim.Config{Serial: 22000001, Model: "5c-nano"}, 0)
	keys := keysJSON(t)
	if len(keys) != 1 {
		t.Fatalf("one key plugged, %d listed", len(keys))
	}
	k := keys[0]
	if k.Serial != 22000001 || k.Model != "YubiKey 5C Nano" || k.FormFactor != "Nano (USB-C)" || k.Reader != "Virtual PCD 00 00" ||
		!contains(k.USBEnabled, "OTP") || !contains(k.USBEnabled, "FIDO2") || len(k.NFCEnabled) != 0 {
		t.Fatalf("key listed as %+v", k)
	}
	plug(t, sim.Config{Serial: 22000002, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}}, 1)
	keys = keysJSON(t)
	if len(keys) != 2 || keys[1].Serial != 22000002 || keys[1].Model != "YubiKey 5C NFC" || keys[1].Firmware != "5.7.1" ||
		!contains(keys[1].NFCEnabled, "OTP") || keys[1].Reader != "Virtual PCD 00 01" {
		t.Fatalf("two keys listed as %+v", keys)
	}
	table := run(t, "", "keys")
	if table.code != 0 || !strings.Contains(table.out, "22000001") || !strings.Contains(table.out, "YubiKey 5C NFC") {
		t.Fatalf("keys table: %d %s", table.code, table.out)
	}
}

func TestOTPDisableThenYkmanAgrees(t *testing.T) {
	testenv.LockVPCD(t)
	plug(t, sim.Config{Serial: 22000011, Model: "5c-nfc"}, 0)
	r := run(t, "", "otp", "disable", "--serial", "22000011", "--nfc")
	if r.code != 0 || !strings.Contains(r.out, "USB: OTP disabled") || !strings.Contains(r.out, "NFC: OTP disabled") {
		t.Fatalf("otp disable: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// ykman, reading the key afresh, sees OTP off and everything else on.
	info := ykman(t, "Virtual PCD 00 00", "info")
	otpLine := lineWith(info, "OTP")
	if !strings.Contains(otpLine, "Disabled") || !strings.Contains(lineWith(info, "FIDO2"), "Enabled") || !strings.Contains(lineWith(info, "PIV"), "Enabled") {
		t.Fatalf("ykman info after disabling OTP:\n%s", info)
	}
	k := keysJSON(t)[0]
	if contains(k.USBEnabled, "OTP") || contains(k.NFCEnabled, "OTP") || !contains(k.USBEnabled, "PIV") || !contains(k.USBEnabled, "FIDO2") {
		t.Fatalf("after disabling OTP: %+v", k)
	}
	again := run(t, "", "otp", "disable", "--serial", "22000011")
	if again.code != 0 || !strings.Contains(again.out, "already disabled") {
		t.Fatalf("second disable: %d %s", again.code, again.out)
	}
}

// TestOTPDisableOneKeyNoFlags is `keywizard otp disable` as a new user
// types it, with one key plugged in: it must disable OTP on that key, wait
// for the reboot, read the result back and return (it once hung, opening the
// key a second time while holding it in a PC/SC transaction).
func TestOTPDisableOneKeyNoFlags(t *testing.T) {
	testenv.LockVPCD(t)
	k := plug(t, sim.Config{Serial: 22000051, Model: "5c-nano"}, 0)
	r := run(t, "", "otp", "disable")
	if r.code != 0 || !strings.Contains(r.out, "serial 22000051") || !strings.Contains(r.out, "USB: OTP disabled") {
		t.Fatalf("otp disable with one key: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if k.Info().USBEnabled&device.CapOTP != 0 {
		t.Fatal("success reported but the key still has OTP enabled over USB")
	}
	info := ykman(t, "Virtual PCD 00 00", "info")
	if !strings.Contains(lineWith(info, "OTP"), "Disabled") {
		t.Fatalf("ykman info after disabling OTP:\n%s", info)
	}
}

func TestOTPDisableErrorsChangeNothing(t *testing.T) {
	testenv.LockVPCD(t)
	r := run(t, "", "otp", "disable")
	if r.code != cli.ExitNotFound || !strings.Contains(r.err, "keywizard: error:") {
		t.Fatalf("no key: exit %d %q", r.code, r.err)
	}
	a := plug(t, sim.Config{Serial: 22000021, Model: "5c-nano"}, 0)
	r = run(t, "", "otp", "disable", "--serial", "99")
	if r.code != cli.ExitNotFound || !strings.Contains(r.err, "22000021") {
		t.Fatalf("unknown serial: exit %d %q", r.code, r.err)
	}
	b := plug(t, sim.Config{Serial: 22000022, Model: "5c-nfc"}, 1)
	r = run(t, "", "otp", "disable")
	if r.code != cli.ExitAmbiguous || !strings.Contains(r.err, "--serial") {
		t.Fatalf("two keys, no serial: exit %d %q", r.code, r.err)
	}
	for _, k := range []*sim.Key{a, b} {
		if k.Info().USBEnabled&device.CapOTP == 0 {
			t.Fatalf("key %d changed by a refused command", k.Serial())
		}
	}
}

func TestOTPDisableLockedKey(t *testing.T) {
	testenv.LockVPCD(t)
	code := bytes.Repeat([]byte{0x42}, 16)
	k := plug(t, sim.Config{Serial: 22000031, Model: "5c-nano", LockCode: code}, 0)
	r := run(t, "", "otp", "disable", "--serial", "22000031")
	if r.code != cli.ExitLocked || !strings.Contains(r.err, "lock code") {
		t.Fatalf("locked key: exit %d %q", r.code, r.err)
	}
	if k.Info().USBEnabled&device.CapOTP == 0 {
		t.Fatal("a locked key was changed")
	}
	wrong := run(t, strings.Repeat("41", 16)+"\n", "otp", "disable", "--serial", "22000031", "--lock-code-stdin")
	if wrong.code != cli.ExitLocked || strings.Contains(wrong.err, strings.Repeat("41", 16)) {
		t.Fatalf("wrong lock code: exit %d %q", wrong.code, wrong.err)
	}
	ok := run(t, strings.Repeat("42", 16)+"\n", "otp", "disable", "--serial", "22000031", "--lock-code-stdin")
	if ok.code != 0 || k.Info().USBEnabled&device.CapOTP != 0 {
		t.Fatalf("right lock code: exit %d %s %s", ok.code, ok.out, ok.err)
	}
}

func TestOTPDisableKeyPulledMidOperation(t *testing.T) {
	testenv.LockVPCD(t)
	// Pull the key out after n commands, for every n from the first command
	// to past the write: keywizard must never claim a change it did not
	// read back, and a key pulled before the write must be unchanged.
	changedAt := 0
	for n := 1; n <= 12 && changedAt == 0; n++ {
		serial := uint32(22000040 + n)
		k := plug(t, sim.Config{Serial: serial, Model: "5c-nano"}, 0)
		k.RemoveAfter(n)
		r := run(t, "", "otp", "disable", "--serial", fmt.Sprint(serial))
		changed := k.Info().USBEnabled&device.CapOTP == 0
		switch {
		case r.code == 0 && !changed:
			t.Fatalf("pulled after %d commands: success reported but the key is unchanged:\n%s", n, r.out)
		case r.code == 0:
			changedAt = n
		case r.code != cli.ExitRemoved && r.code != cli.ExitNotFound:
			t.Fatalf("pulled after %d commands: exit %d, want %d: %s", n, r.code, cli.ExitRemoved, r.err)
		case !strings.Contains(r.err, "plug"):
			t.Fatalf("pulled after %d commands: the message does not say what to do: %q", n, r.err)
		}
		k.Unplug()
		testenv.WaitReadersEmpty(t)
	}
	if changedAt == 0 {
		t.Fatal("never succeeded: the test did not reach past the write")
	}
}

// TestKeyWipeRefusals runs key wipe's refusals through the real binary:
// each must leave the key as it was, which ykman checks. (The whole wipe
// needs the simulated key's FIDO2 side, which libfido2 cannot reach over
// HID; internal/keys' TestWipeOnSimulatedKey runs it through the same
// adapters.)
func TestKeyWipeRefusals(t *testing.T) {
	testenv.LockVPCD(t)
	plug(t, sim.Config{Serial: 22000061, Model: "5c-nano"}, 0)
	ykman(t, "Virtual PCD 00 00", "piv", "access", "change-pin", "-P", "123456", "-n", "246810")
	before := ykman(t, "Virtual PCD 00 00", "piv", "info")
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		says  string
	}{
		{"22000061\n", []string{"key", "wipe"}, cli.ExitUsage, "--serial is required"},
		{"", []string{"key", "wipe", "--serial", "22000061", "--yes"}, cli.ExitUsage, "--confirm-serial 22000061"},
		{"", []string{"key", "wipe", "--serial", "22000061", "--confirm-serial", "22000062"}, cli.ExitError, "not confirmed"},
		{"22000062\n", []string{"key", "wipe", "--serial", "22000062"}, cli.ExitNotFound, "22000061"},
		// libfido2 finds no FIDO device for the simulated key: its
		// passkeys could not be erased, so nothing is.
		{"22000061\n", []string{"key", "wipe", "--serial", "22000061"}, cli.ExitNotFound, "FIDO2 interface was not found"},
	} {
		r := run(t, tc.stdin, tc.args...)
		if r.code != tc.code || !strings.Contains(r.err, tc.says) {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.args, r.code, tc.code, r.err)
		}
	}
	if after := ykman(t, "Virtual PCD 00 00", "piv", "info"); after != before {
		t.Fatalf("a refused wipe changed PIV:\n%s", after)
	}
}

func TestSimCommand(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sim", "--serial", "22000051", "--model", "5ci", "--slot", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "Virtual PCD 00 01") {
		t.Fatalf("sim did not say it attached: %q %v", line, err)
	}
	testenv.WaitCardPresent(t, "Virtual PCD 00 01")
	info := ykman(t, "Virtual PCD 00 01", "info")
	if !strings.Contains(info, "Device type: YubiKey 5Ci") || !strings.Contains(info, "Serial number: 22000051") {
		t.Fatalf("ykman sees:\n%s", info)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lineWith(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}
