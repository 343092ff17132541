package sim

import (
	"bytes"
	"context"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/internal/testenv"
)

// These tests run the simulator inside the real pcscd through vpcd and
// check it with independent clients: Yubico's ykman 4.0.9 here, piv-go in
// pivgo_test.go. They need pcscd with vsmartcard-vpcd (scripts/pcscd.sh)
// and ykman (Debian yubikey-manager), and take the machine-wide vpcd lock.

// attach inserts k into vpcd slot and waits until pcscd has seen it. The
// caller must hold testenv.LockVPCD.
func attach(t *testing.T, k *Key, slot int) *Attachment {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := AttachWith(ctx, k, AttachConfig{Addr: "127.0.0.1:" + strconv.Itoa(VPCDPort+slot)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	// Detach before testenv's cleanup waits for pcscd to see the readers
	// empty (cleanups run last-in first-out).
	t.Cleanup(func() {
		cancel()
		<-a.Done()
	})
	waitReady(t, a, 1)
	// Ready is the simulator's reading of vpcd's ATR requests; pcscd's own
	// reader state is what clients connect against, and on a freshly
	// started pcscd it lagged behind Ready (piv.Open: "no smart card in the
	// device", seen in CI on a new machine). Wait for both.
	testenv.WaitCardPresent(t, ReaderName(slot))
	return a
}

// waitReady waits for connection number n to be seen by pcscd.
func waitReady(t *testing.T, a *Attachment, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.WaitFor(ctx, func(s AttachState) bool { return s.Connects >= n && s.Ready() }); err != nil {
		t.Fatal(err)
	}
}

// ykman runs Yubico's ykman against a vpcd reader and returns its output.
func ykman(t *testing.T, slot int, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--reader", ReaderName(slot)}, args...)
	cmd := exec.CommandContext(ctx, "ykman", full...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	t.Logf("ykman %s:\n%s", strings.Join(full, " "), out)
	return string(out), err
}

func mustYkman(t *testing.T, slot int, args ...string) string {
	t.Helper()
	out, err := ykman(t, slot, args...)
	if err != nil {
		t.Fatalf("ykman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// lines checks that out has every wanted line (after trimming spaces and
// collapsing the tab ykman puts in its application table).
func lines(t *testing.T, out string, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		have[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("ykman output lacks line %q", w)
		}
	}
}

// ykman 4.0.9 names the simulated keys as it names hardware. The reader is
// not a "Yubico YubiKey" reader, so ykman treats the device as NFC-attached
// (§7.2-7.3): no "Enabled USB interfaces" line, and one Applications column
// whose values are the USB enabled mask (read over a USB ATR).
func TestYkmanInfo(t *testing.T) {
	testenv.LockVPCD(t)
	tests := []struct {
		cfg  Config
		want []string
	}{
		{Config{Serial: 12345678, Model: "5c-nano"}, []string{
			"Device type: YubiKey 5C Nano", "Serial number: 12345678", "Firmware version: 5.7.1", "Form factor: Nano (USB-C)",
			"FIDO2 Enabled", "OTP Enabled", "FIDO U2F Enabled", "OATH Enabled", "YubiHSM Auth Enabled", "OpenPGP Enabled", "PIV Enabled",
		}},
		{Config{Serial: 23456789, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}}, []string{
			"Device type: YubiKey 5C NFC", "Serial number: 23456789", "Firmware version: 5.4.3", "Form factor: Keychain (USB-C)",
			"NFC transport is enabled.", "Applications USB NFC", "OTP Enabled Enabled", "PIV Enabled Enabled",
		}},
		{Config{Serial: 34567890, Model: "5ci", Firmware: device.Version{Major: 5, Minor: 2, Patch: 6}}, []string{
			"Device type: YubiKey 5Ci", "Serial number: 34567890", "Firmware version: 5.2.6", "Form factor: Keychain (USB-C, Lightning)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.cfg.Model, func(t *testing.T) {
			k := newKey(t, tt.cfg)
			attach(t, k, 0)
			lines(t, mustYkman(t, 0, "info"), tt.want...)
		})
	}
}

func TestYkmanPIVInfo(t *testing.T) {
	testenv.LockVPCD(t)
	tests := []struct {
		fw   device.Version
		want []string
	}{
		{device.Version{Major: 5, Minor: 7, Patch: 1}, []string{"PIV version: 5.7.1", "Management key algorithm: AES192"}},
		{device.Version{Major: 5, Minor: 4, Patch: 3}, []string{"PIV version: 5.4.3", "Management key algorithm: TDES"}},
	}
	for _, tt := range tests {
		t.Run(tt.fw.String(), func(t *testing.T) {
			k := newKey(t, Config{Serial: 5550001, Model: "5c-nfc", Firmware: tt.fw})
			attach(t, k, 0)
			out := mustYkman(t, 0, "piv", "info")
			lines(t, out, append(tt.want, "WARNING: Using default PIN!", "PIN tries remaining: 3/3",
				"WARNING: Using default Management key!", "CHUID: No data available.", "CCC: No data available.")...)

			// A wrong PIN costs a try, seen by ykman through GET METADATA.
			if _, err := ykman(t, 0, "piv", "access", "change-pin", "-P", "000000", "-n", "654321"); err == nil {
				t.Fatal("change-pin with a wrong PIN succeeded")
			}
			lines(t, mustYkman(t, 0, "piv", "info"), "PIN tries remaining: 2/3")
			mustYkman(t, 0, "piv", "access", "change-pin", "-P", "123456", "-n", "654321")
			out = mustYkman(t, 0, "piv", "info")
			lines(t, out, "PIN tries remaining: 3/3")
			if strings.Contains(out, "Using default PIN") {
				t.Error("ykman still warns about the default PIN after change-pin")
			}
		})
	}
}

// `ykman config usb --disable OTP -f` writes the config with REBOOT; the sim
// answers, drops off vpcd and comes back. ykman then reads OTP disabled and
// every other application as it was.
func TestYkmanDisableOTP(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 7654321, Model: "5c-nano"})
	before := k.Info().USBEnabled
	a := attach(t, k, 0)
	mustYkman(t, 0, "config", "usb", "--disable", "OTP", "-f")
	waitReady(t, a, 2) // re-inserted after the reboot
	if got, want := k.Info().USBEnabled, before&^device.CapOTP; got != want {
		t.Fatalf("USB enabled after disabling OTP = %04x, want %04x", uint16(got), uint16(want))
	}
	lines(t, mustYkman(t, 0, "info"), "OTP Disabled", "FIDO2 Enabled", "FIDO U2F Enabled", "OATH Enabled",
		"YubiHSM Auth Enabled", "OpenPGP Enabled", "PIV Enabled")
}

// With a configuration lock code ykman cannot change the key without it.
func TestYkmanConfigLocked(t *testing.T) {
	testenv.LockVPCD(t)
	code := bytes.Repeat([]byte{0x5A}, 16)
	k := newKey(t, Config{Serial: 7654322, Model: "5c-nfc", LockCode: code})
	a := attach(t, k, 0)
	lines(t, mustYkman(t, 0, "info"), "Configured capabilities are protected by a lock code.")
	out, err := ykman(t, 0, "config", "usb", "--disable", "OTP", "-f")
	if err == nil {
		t.Fatal("ykman changed a locked key without the lock code")
	}
	lines(t, out, "Error: Configuration is locked - please supply the --lock-code option.")
	// With a wrong code the key itself refuses the write (6F 00).
	out, err = ykman(t, 0, "config", "usb", "--disable", "OTP", "-f", "-L", hex.EncodeToString(bytes.Repeat([]byte{0x11}, 16)))
	if err == nil {
		t.Fatal("ykman changed a locked key with a wrong lock code")
	}
	lines(t, out, "Error: Failed to configure USB applications.")
	if k.Info().USBEnabled&device.CapOTP == 0 {
		t.Fatal("OTP was disabled despite the lock")
	}
	mustYkman(t, 0, "config", "usb", "--disable", "OTP", "-f", "-L", hex.EncodeToString(code))
	waitReady(t, a, 2)
	if k.Info().USBEnabled&device.CapOTP != 0 {
		t.Fatal("OTP still enabled after a write with the right lock code")
	}
}

// Two keys at once, one per vpcd slot, as a new hire's pair.
func TestTwoKeys(t *testing.T) {
	testenv.LockVPCD(t)
	nano := newKey(t, Config{Serial: 11111111, Model: "5c-nano"})
	nfc := newKey(t, Config{Serial: 22222222, Model: "5c-nfc"})
	attach(t, nano, 0)
	attach(t, nfc, 1)
	lines(t, mustYkman(t, 0, "info"), "Device type: YubiKey 5C Nano", "Serial number: 11111111")
	lines(t, mustYkman(t, 1, "info"), "Device type: YubiKey 5C NFC", "Serial number: 22222222")
}

// Unplugging makes the reader empty; plugging back makes it work again.
func TestDetachReattach(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 33333333, Model: "5ci"})
	a := attach(t, k, 0)
	a.Detach()
	if err := a.WaitFor(context.Background(), func(s AttachState) bool { return !s.Connected }); err != nil {
		t.Fatal(err)
	}
	testenv.WaitReadersEmpty(t) // pcscd has seen the card go
	if _, err := ykman(t, 0, "info"); err == nil {
		t.Fatal("ykman found a key in an empty reader")
	}
	a.Reattach()
	waitReady(t, a, 2)
	lines(t, mustYkman(t, 0, "info"), "Serial number: 33333333")
}

// A truncated READ CONFIG (fault injection) is malformed for ykman too: it
// refuses the length byte (DeviceInfo.parse, §1.2), and the next read works.
func TestYkmanTruncatedReadConfig(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 44444444, Model: "5c-nano"})
	attach(t, k, 0)
	k.TruncateNextINS(0x1D)
	if _, err := ykman(t, 0, "info"); err == nil {
		t.Fatal("ykman accepted a truncated READ CONFIG")
	}
	lines(t, mustYkman(t, 0, "info"), "Serial number: 44444444")
}

// Reboots in a row: every one must be seen by pcscd as a removal and a new
// insertion (the card powered up again). With a 200 ms absence about one
// reboot in thirteen went unnoticed by pcscd (see minAbsence).
func TestYkmanRepeatedReboots(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 55555555, Model: "5c-nano"})
	a := attach(t, k, 0)
	for i := 0; i < 8; i++ {
		op, want := "--disable", device.Capability(0x033E)
		if i%2 == 1 {
			op, want = "--enable", 0x033F
		}
		n := a.State().Connects
		mustYkman(t, 0, "config", "usb", op, "OTP", "-f")
		waitReady(t, a, n+1)
		if got := k.Info().USBEnabled; got != want {
			t.Fatalf("reboot %d: USB enabled %04x, want %04x", i, uint16(got), uint16(want))
		}
	}
}
