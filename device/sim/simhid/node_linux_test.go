//go:build linux

package simhid

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/sim/simfido"
)

func newNode(t *testing.T, model string, fw device.Version) (*simfido.Authenticator, *Node) {
	t.Helper()
	a := simfido.New(simfido.Config{Serial: 31000001, Model: model, Firmware: fw})
	n, err := Create(filepath.Join(t.TempDir(), "fido-hid"), a, Version{fw.Major, fw.Minor, fw.Patch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return a, n
}

// fido2Token runs Yubico's fido2-token (Debian fido2-tools, installed by
// scripts/deps.sh test) on the node: libfido2's own command-line tool.
func fido2Token(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("fido2-token"); err != nil {
		t.Fatalf("fido2-token is missing (scripts/deps.sh test installs fido2-tools): %v", err)
	}
	out, err := exec.Command("fido2-token", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("fido2-token %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func hasLines(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || strings.TrimSpace(l) == w
		}
		if !found {
			t.Errorf("fido2-token output lacks the line %q:\n%s", w, out)
		}
	}
}

// TestFido2TokenInfo: `fido2-token -I PATH` describes the simulated key as
// libfido2 sees it: CTAPHID version and capabilities, and getInfo.
func TestFido2TokenInfo(t *testing.T) {
	fw := device.Version{Major: 5, Minor: 7, Patch: 2}
	a, n := newNode(t, "YubiKey 5C NFC", fw)
	aaguid, _ := fido.AAGUIDFor("YubiKey 5C NFC", fw)
	out := fido2Token(t, "-I", n.Path())
	hasLines(t, out,
		"proto: 0x02", "major: 0x05", "minor: 0x07", "build: 0x02",
		"caps: 0x05 (wink, cbor, msg)",
		"version strings: U2F_V2, FIDO_2_0, FIDO_2_1_PRE, FIDO_2_1",
		"aaguid: "+strings.ReplaceAll(aaguid, "-", ""),
		"options: rk, up, noplat, credMgmt, noclientPin, pinUvAuthToken, setMinPINLength, credentialMgmtPreview",
		"fwversion: 0x50702",
		"remaining rk(s): 100",
		"minpinlen: 4",
		"pin protocols: 2, 1",
		"pin retries: 8",
		"pin change required: false",
		"transport strings: nfc, usb",
	)
	if err := a.SetPIN(context.Background(), "123456"); err != nil {
		t.Fatal(err)
	}
	if err := a.ChangePIN(context.Background(), "000000", "654321"); err == nil {
		t.Fatal("a wrong PIN was accepted")
	}
	a.SetForcePINChange(true)
	hasLines(t, fido2Token(t, "-I", n.Path()),
		"options: rk, up, noplat, credMgmt, clientPin, pinUvAuthToken, setMinPINLength, credentialMgmtPreview",
		"pin retries: 7",
		"pin change required: true",
	)

	// A 5.2 key: CTAP 2.1 preview, no firmware or minimum PIN length in
	// getInfo.
	_, n52 := newNode(t, "YubiKey 5 Nano", device.Version{Major: 5, Minor: 2, Patch: 7})
	out = fido2Token(t, "-I", n52.Path())
	hasLines(t, out, "version strings: U2F_V2, FIDO_2_0, FIDO_2_1_PRE", "pin protocols: 1", "fwversion: 0x0")
	if strings.Contains(out, "minpinlen") || strings.Contains(out, "remaining rk") {
		t.Errorf("a 5.2 key reports a minimum PIN length or remaining credentials:\n%s", out)
	}
}

// TestNodeLifetime: the node appears at its path, refuses to replace
// something that is not a simulator's link, replaces a link left behind,
// and goes when closed.
func TestNodeLifetime(t *testing.T) {
	dir := t.TempDir()
	a := simfido.New(simfido.Config{Serial: 1, Model: "YubiKey 5C", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}})
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(file, a, Version{}); !errors.Is(err, device.ErrInvalidArgument) {
		t.Fatalf("Create over a regular file = %v, want ErrInvalidArgument", err)
	}
	path := filepath.Join(dir, "hid")
	if err := os.Symlink("/dev/pts/does-not-exist", path); err != nil {
		t.Fatal(err)
	}
	n, err := Create(path, a, Version{})
	if err != nil {
		t.Fatalf("Create over a dangling link: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("the node is %v, %v; want a character device", fi, err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Close the path is still there: %v", err)
	}
}
