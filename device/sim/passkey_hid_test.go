//go:build linux && cgo

package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido/libfido2"
	"github.com/keywizard/keywizard/internal/testenv"
)

// fido2Tool runs one of Yubico's fido2-tools (Debian fido2-tools, installed
// by scripts/deps.sh test) and returns its standard output; pin, when
// set, is what the person types at its PIN prompt. The tools read the PIN
// with readpassphrase(3) (libfido2 tools/util.c, tools/cred_make.c),
// which reads /dev/tty, and standard input when the process has no
// controlling terminal (libfido2 openbsd-compat/readpassphrase.c): the
// tool runs in a session of its own (setsid), so it has none, and the PIN
// is its standard input. It runs as a child of a shell that leads that
// session, not as the leader itself: the simulated HID node is a pty
// (device/sim/simhid), and a session leader without a controlling
// terminal that opens a terminal acquires it as one (open(2), O_NOCTTY),
// after which /dev/tty would be the HID node (docs/fido-hid.md). A
// failure is returned with standard error.
func fido2Tool(t *testing.T, pin, name string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is missing (scripts/deps.sh test installs fido2-tools): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// "exit" after the command keeps the shell from exec'ing it.
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `"$@"; exit $?`, "sh", name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin = strings.NewReader("")
	if pin != "" {
		cmd.Stdin = strings.NewReader(pin + "\n")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), &toolError{name: name, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type toolError struct {
	name   string
	err    error
	stderr string
}

func (e *toolError) Error() string { return e.name + ": " + e.err.Error() + ": " + e.stderr }

func mustFido2Tool(t *testing.T, pin, name string, args ...string) string {
	t.Helper()
	out, err := fido2Tool(t, pin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func writeLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRunPasskeyFIDO2Tools registers a passkey on `keywizard sim --hid PATH
// --state FILE` with Yubico's own tools on the real libfido2, as a browser
// would on a USB key, and checks it with tools that share no code with the
// simulator: fido2-cred -M makes a discoverable credential with the PIN
// (and without it the key answers PIN required), fido2-cred -V verifies
// its attestation, fido2-assert -G signs in with it (PIN, touch) and
// fido2-assert -V verifies the signature with the public key from the
// registration (a changed signature fails). fido2-token -L lists it over
// HID and ykman over CCID, the same key; after the simulator restarts from
// its state file, the same credential still signs.
func TestRunPasskeyFIDO2Tools(t *testing.T) {
	testenv.LockVPCD(t)
	ctx := context.Background()
	dir := t.TempDir()
	hid, state := filepath.Join(dir, "fido-hid"), filepath.Join(dir, "key.json")
	o := Options{Serial: 31000012, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}, Slot: 0, HIDPath: hid, StatePath: state}
	r := startRun(t, o)
	const pin = "24681357"
	if err := hidClient(t, libfido2.NewProvider(hid), hid).SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}

	cdh := make([]byte, 32)
	rand.Read(cdh)
	userID := []byte("user-handle-ana-lima")
	b64 := base64.StdEncoding.EncodeToString
	mcIn, cred, pub := filepath.Join(dir, "mc.in"), filepath.Join(dir, "cred"), filepath.Join(dir, "pub")
	writeLines(t, mcIn, b64(cdh), "example.org", "ana.lima", b64(userID))

	// -q: do not ask for the PIN; the key refuses a registration without.
	if _, err := fido2Tool(t, "", "fido2-cred", "-M", "-q", "-r", "-i", mcIn, hid, "es256"); err == nil || !strings.Contains(err.Error(), "FIDO_ERR_PIN_REQUIRED") {
		t.Fatalf("fido2-cred -M without the PIN = %v, want FIDO_ERR_PIN_REQUIRED", err)
	}
	mustFido2Tool(t, pin, "fido2-cred", "-M", "-r", "-i", mcIn, "-o", cred, hid, "es256")
	// -v: the attestation must say the user was verified (the PIN).
	mustFido2Tool(t, "", "fido2-cred", "-V", "-v", "-i", cred, "-o", pub, "es256")
	out, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	credID, pem, _ := strings.Cut(string(out), "\n")
	if !strings.Contains(pem, "BEGIN PUBLIC KEY") {
		t.Fatalf("fido2-cred -V output has no public key:\n%s", out)
	}
	pemFile := filepath.Join(dir, "pub.pem")
	writeLines(t, pemFile, strings.TrimSpace(pem))

	assertSigns := func(when string) {
		t.Helper()
		gaIn, ga := filepath.Join(dir, "ga.in"), filepath.Join(dir, "ga")
		c := make([]byte, 32)
		rand.Read(c)
		writeLines(t, gaIn, b64(c), "example.org")
		// -r: the key finds the credential itself (no credential ID given),
		// as passkey sign-in does; -v: with the PIN.
		mustFido2Tool(t, pin, "fido2-assert", "-G", "-r", "-v", "-i", gaIn, "-o", ga, hid)
		res, err := os.ReadFile(ga)
		if err != nil {
			t.Fatal(err)
		}
		l := strings.Split(strings.TrimSpace(string(res)), "\n")
		if len(l) != 5 || l[4] != b64(userID) {
			t.Fatalf("%s: fido2-assert -G -r output %q, want 5 lines ending in the user ID %s", when, l, b64(userID))
		}
		// -p -v: user presence (the touch) and verification must be set.
		mustFido2Tool(t, "", "fido2-assert", "-V", "-p", "-v", "-i", ga, pemFile, "es256")
		sig, _ := base64.StdEncoding.DecodeString(l[3])
		sig[len(sig)-1] ^= 1
		l[3] = b64(sig)
		writeLines(t, ga, l[:4]...)
		if _, err := fido2Tool(t, "", "fido2-assert", "-V", "-i", ga, pemFile, "es256"); err == nil {
			t.Fatalf("%s: fido2-assert -V accepted a changed signature", when)
		}
	}
	assertSigns("after registration")

	// Listed through both transports: libfido2's credential management
	// over HID, ykman's over CCID.
	if o := mustFido2Tool(t, pin, "fido2-token", "-L", "-r", hid); !strings.Contains(o, "example.org") {
		t.Errorf("fido2-token -L -r does not list example.org:\n%s", o)
	}
	// "00: <credential ID> <display name> <user ID> <type> <credProtect>"
	// (libfido2 tools/credman.c print_rk); fido2-cred sets no display name.
	if o := mustFido2Tool(t, pin, "fido2-token", "-L", "-k", "example.org", hid); !strings.HasPrefix(o, "00: "+credID+" (null) "+b64(userID)+" es256 uvopt") {
		t.Errorf("fido2-token -L -k example.org does not list the credential %s of user %s:\n%s", credID, b64(userID), o)
	}
	if o := mustYkman(t, 0, "fido", "credentials", "list", "--pin", pin); !strings.Contains(o, "example.org") || !strings.Contains(o, "ana.lima") {
		t.Errorf("ykman fido credentials list does not list the credential:\n%s", o)
	}

	// A restart from the state file (an unplugged and re-inserted key):
	// the credential is still there and still signs.
	r.stop()
	startRun(t, o)
	if o := mustYkman(t, 0, "fido", "credentials", "list", "--pin", pin); !strings.Contains(o, "example.org") {
		t.Errorf("after the restart ykman does not list the credential:\n%s", o)
	}
	assertSigns("after the restart")
}
