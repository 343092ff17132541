package keys_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/cli"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/testenv"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/server/servertest"
)

// person is the one at the keyboard during a wipe: told to replug the key,
// they pull it out and plug it back in (the simulator's FIDO side powers up
// again, which opens its reset window); pullDuringPIV makes them pull the
// key out a few commands into the PIV reset instead, and leave it out;
// pullDuringOpenPGP pulls it between OpenPGP's TERMINATE and ACTIVATE.
type person struct {
	*keys.Devices
	key               *sim.Key
	pullDuringPIV     bool
	pullDuringOpenPGP bool
	replugs           int
}

func (p *person) ResetPIV(ctx context.Context, c cli.WipeConfirmation) error {
	if p.pullDuringPIV {
		// piv-go's reset first spends the PIN and PUK tries: the key
		// goes while the applet is half-way.
		p.key.RemoveAfter(6)
	}
	return p.Devices.ResetPIV(ctx, c)
}

func (p *person) ResetApp(ctx context.Context, c cli.WipeConfirmation, app string) (cli.AppContents, error) {
	if p.pullDuringOpenPGP && app == cli.AppOpenPGP {
		p.key.RemoveAtINS(0x44) // ACTIVATE
	}
	return p.Devices.ResetApp(ctx, c, app)
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

// wipeTracker is a real onboarding tracker (server + SQLite) on httptest
// where Alice has enrolled the key with serial as her everyday key. It
// returns the recorder key wipe --tracker opens with IT's token, and a
// way to read the key's record as IT.
func wipeTracker(t *testing.T, serial uint32) (cli.WipeRecorder, func() tracker.KeyRecord) {
	t.Helper()
	ctx := context.Background()
	tr := servertest.Start(t, servertest.Options{})
	now := time.Now()
	alice := tr.AddPerson(t, tracker.CreatePerson{Email: "alice@example.com", Name: "Alice Example", Team: "Eng", StartDate: now.Format(time.DateOnly)})
	code := tr.Invite(t, alice.ID)
	cl, err := client.New(client.Config{BaseURL: tr.URL, Dir: t.TempDir(), Tokens: &client.MemoryStore{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Exchange(ctx, code, "laptop"); err != nil {
		t.Fatal(err)
	}
	rep := tracker.Report{IdempotencyKey: "alice-everyday-1", Serial: serial, Model: "YubiKey 5C Nano", Role: tracker.RoleEveryday, AppVersion: "1.0.0",
		Items: []tracker.ReportItem{{Service: "github", Evidence: tracker.EvidenceOnKey, At: now}}}
	if err := cl.Record(ctx, rep); err != nil {
		t.Fatal(err)
	}
	rec, err := trackerlink.OpenWipeRecorder(ctx, t.TempDir(), tr.URL, &client.MemoryStore{Value: tr.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	return rec, func() tracker.KeyRecord {
		k, err := rec.Client.FindKey(ctx, serial)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

func wipeCmd(t *testing.T, ctx context.Context, devs cli.Devices, rec cli.WipeRecorder, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.Env{Out: &out, Err: &errb, In: strings.NewReader(stdin),
		OpenDevices: func(context.Context) (cli.Devices, error) { return devs, nil }}
	if rec != nil {
		env.OpenWipeRecorder = func(context.Context, string) (cli.WipeRecorder, error) { return rec, nil }
	}
	root := cli.NewRoot(env, "test", func(bool) error { return errors.New("no gui in tests") })
	code := cli.Execute(ctx, root, append([]string{"key", "wipe"}, args...))
	return out.String(), errb.String(), code
}

// ykman runs Yubico's ykman against the simulated key in vpcd slot 0, the
// independent judge of what is on it. A key that has just restarted may
// not be seen by pcscd yet; ykman is run again then.
func ykman(t *testing.T, args ...string) string {
	t.Helper()
	var out []byte
	var err error
	for try := 0; try < 20; try++ {
		out, err = exec.Command("ykman", append([]string{"--reader", sim.ReaderName(0)}, args...)...).CombinedOutput()
		if err == nil || !notSeenYet(string(out)) {
			break
		}
		testenv.WaitCardPresent(t, sim.ReaderName(0))
	}
	if err != nil {
		t.Fatalf("ykman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func notSeenYet(out string) bool {
	for _, s := range []string{"No YubiKey", "Failed connecting", "No smart card inserted", "Failed to connect"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

func ykmanPIV(t *testing.T) string { t.Helper(); return ykman(t, "piv", "info") }

// hasLines checks that out has every wanted line, spaces collapsed.
func hasLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		have[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// rawAPDUs sends hex commands to the key in process (for what ykman 4.0.9
// cannot do: YubiHSM Auth, generating an OpenPGP key).
func rawAPDUs(t *testing.T, k *sim.Key, cmds ...string) {
	t.Helper()
	c := k.Card()
	defer c.Close()
	for _, h := range cmds {
		b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := apdu.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apdu.Transmit(context.Background(), c, cmd); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
	}
}

// provisionOthers puts a former owner's secrets in OATH, OpenPGP, YubiHSM
// Auth and OTP, through ykman where ykman 4.0.9 can, and checks with
// ykman that they are there.
func provisionOthers(t *testing.T, k *sim.Key) {
	t.Helper()
	ykman(t, "oath", "accounts", "add", "-f", "-i", "GitHub", "alice", "JBSWY3DPEHPK3PXP")
	ykman(t, "oath", "accounts", "add", "-f", "-i", "AWS", "alice@corp", "JBSWY3DPEHPK3PXQ")
	hasLines(t, "ykman oath accounts list", ykman(t, "oath", "accounts", "list"), "GitHub:alice", "AWS:alice@corp")

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "att.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	// ykman 4.0.9 imports only into the attestation slot; the signature
	// key is generated on the key (GENERATE ASYMMETRIC KEY PAIR) with
	// its fingerprint, as GnuPG would.
	ykman(t, "openpgp", "keys", "import", "-a", "12345678", "att", keyFile)
	ykman(t, "openpgp", "keys", "set-touch", "-f", "-a", "12345678", "sig", "on")
	rawAPDUs(t, k, "00A4040006D27600012401", "0020008308 3132333435363738", "0047800002B600",
		"00DA00C714"+strings.Repeat("5A", 20))
	ykman(t, "openpgp", "access", "set-retries", "-f", "-a", "12345678", "5", "4", "6")
	hasLines(t, "ykman openpgp info", ykman(t, "openpgp", "info"),
		"PIN tries remaining: 5", "Reset code tries remaining: 4", "Admin PIN tries remaining: 6", "Signature key On")
	if n := k.OpenPGPKeys(); n != 2 {
		t.Fatalf("%d OpenPGP keys on the key, want 2", n)
	}

	// YubiHSM Auth: PUT with the default management key, label "ci".
	rawAPDUs(t, k, "00A4040008A000000527210701",
		"000100003F 7B10"+strings.Repeat("00", 16)+"7101 63 7401 26 7510"+strings.Repeat("11", 16)+"7610"+strings.Repeat("22", 16)+"7A01 00")
	if got := k.HSMAuthCredentials(); len(got) != 1 {
		t.Fatalf("YubiHSM Auth credentials: %q", got)
	}

	ykman(t, "otp", "static", "-f", "2", "ccbbddeeffcc")
	hasLines(t, "ykman otp info", ykman(t, "otp", "info"), "Slot 1: programmed", "Slot 2: programmed")
}

// TestWipeOnSimulatedKey sets a simulated key up as a person's would be (a
// FIDO2 PIN and passkeys, PIV provisioned for macOS login, OATH accounts,
// OpenPGP keys, a YubiHSM Auth credential, an OTP slot, and OTP then
// disabled as keywizard does), wipes it with keywizard key wipe --tracker
// through the production adapters over the real pcscd, and checks with
// ykman that each application is back to factory settings and that the
// tracker was told. Two wipes are cut short first, by pulling the key out
// during the PIV reset and between OpenPGP's TERMINATE and ACTIVATE: each
// must say which parts were erased and how to finish, and exit 6. It takes
// 30-70 s: about twenty ykman runs of some 2 s each (Python start-up and a
// PC/SC connection) provision and judge the key.
func TestWipeOnSimulatedKey(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const serial = 31000201
	s, err := simulation.Start(ctx, []simulation.KeySpec{{Serial: serial, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}, FIDOOverCCID: true}}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := s.Keys[0]
	wk := &keys.Keys{Hub: s.Hub}
	if err := wk.SetFIDOPIN(ctx, serial, "246813"); err != nil {
		t.Fatal(err)
	}
	for _, rp := range []string{"example.com", "github.com"} {
		if err := s.FIDO[serial].AddCredential(rp, "Example", "alice@"+rp, "Alice"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := wk.ProvisionPIV(ctx, serial, steps.PIVParams{NewPIN: "135790", NewPUK: "97531246"}); err != nil {
		t.Fatal(err)
	}
	before := ykmanPIV(t)
	if strings.Contains(before, "Using default PIN") || !strings.Contains(before, "Slot 9a:") {
		t.Fatalf("the key was not provisioned:\n%s", before)
	}
	if !strings.Contains(ykman(t, "fido", "info"), "PIN is set") {
		t.Fatal("ykman does not see the FIDO2 PIN")
	}
	provisionOthers(t, k)
	if _, err := wk.DisableOTP(ctx, serial, false); err != nil {
		t.Fatal(err)
	}
	testenv.WaitCardPresent(t, sim.ReaderName(0))

	rec, trackerKey := wipeTracker(t, serial)
	retired := func() bool { return trackerKey().Status == tracker.KeyRetired }

	// A wrong answer changes nothing.
	p := &person{Devices: &keys.Devices{Hub: s.Hub}, key: k}
	_, stderr, code := wipeCmd(t, ctx, p, rec, "31000202\n", "--serial", "31000201", "--tracker", rec.Destination())
	if code != cli.ExitError || !strings.Contains(stderr, "not confirmed") || p.replugs != 0 || retired() {
		t.Fatalf("wrong serial typed: exit %d, %d replugs, retired %v, %q", code, p.replugs, retired(), stderr)
	}
	if after := ykmanPIV(t); after != before {
		t.Fatalf("a refused wipe changed PIV:\n%s", after)
	}

	// Pulled out during the PIV reset.
	p.pullDuringPIV = true
	out, stderr, code := wipeCmd(t, ctx, p, rec, "31000201\n", "--serial", "31000201", "--tracker", rec.Destination())
	if code != cli.ExitRemoved || !strings.Contains(stderr, "PIV: may be partly erased") || !strings.Contains(stderr, "FIDO2: not erased") ||
		!strings.Contains(stderr, "OATH: not erased") || retired() {
		t.Fatalf("pulled during PIV: exit %d, retired %v\n%s%s", code, retired(), out, stderr)
	}
	if !strings.Contains(out, "Enabling OTP over USB") {
		t.Errorf("the disabled OTP was not enabled first:\n%s", out)
	}
	if st, err := wk.FIDOState(ctx, serial); err == nil || errors.Is(err, device.ErrAmbiguous) {
		t.Fatalf("the key is still reachable after being pulled out: %+v %v", st, err)
	}
	p.pullDuringPIV = false
	replug := func() {
		// pcscd notices the removal at its next presence poll; plugging
		// the key back in before that would go unseen.
		testenv.WaitReadersEmpty(t)
		k.Plug()
		testenv.WaitCardPresent(t, sim.ReaderName(0))
	}
	replug()

	// Pulled out between OpenPGP's TERMINATE and ACTIVATE.
	p.pullDuringOpenPGP = true
	out, stderr, code = wipeCmd(t, ctx, p, rec, "", "--serial", "31000201", "--confirm-serial", "31000201", "--tracker", rec.Destination())
	for _, want := range []string{"PIV: erased", "OATH: erased", "OpenPGP: may be partly erased (the key was removed while OpenPGP was being erased; its PINs may be blocked until the wipe is finished)",
		"YubiHSM Auth: not erased", "OTP: not erased", "FIDO2: not erased", "run 'keywizard key wipe --serial 31000201' again"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("pulled during OpenPGP: stderr lacks %q", want)
		}
	}
	if code != cli.ExitRemoved || retired() {
		t.Fatalf("pulled during OpenPGP: exit %d, retired %v\n%s%s", code, retired(), out, stderr)
	}
	p.pullDuringOpenPGP = false
	replug()

	out, stderr, code = wipeCmd(t, ctx, p, rec, "", "--serial", "31000201", "--confirm-serial", "31000201", "--tracker", rec.Destination())
	if code != 0 {
		t.Fatalf("wipe: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"YubiKey 5C Nano, serial 31000201 (firmware 5.7.2, Nano (USB-C))",
		"its FIDO2 PIN is set", "OpenPGP: keys, certificates, PINs and retry counters (now: terminated by a reset that did not finish)",
		"unplug the key", "PIV erased.", "OATH erased (no accounts).", "OpenPGP erased (no keys; PIN tries 3, reset code 0, admin PIN 3).",
		"YubiHSM Auth erased (no credentials).", "OTP erased (both slots empty).", "FIDO2 erased.",
		"  PIV: no certificates; PIN tries 3, PUK tries 3; default PIN, PUK and management key\n",
		"  FIDO2: no FIDO2 PIN set\n",
		"is erased (PIV, OATH, OpenPGP, YubiHSM Auth, OTP and FIDO2 back to factory settings)",
		`: serial 31000201 (former owner Alice Example) is retired, reason "wiped", erased PIV, OATH, OpenPGP, YubiHSM Auth, OTP, FIDO2.`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if p.replugs != 1 {
		t.Errorf("%d replugs asked for, want 1", p.replugs)
	}
	// The tracker has the key retired by IT, reason "wiped", with what was erased.
	tk := trackerKey()
	last := tk.History[len(tk.History)-1]
	if tk.Status != tracker.KeyRetired || last.Reason != "wiped" || strings.Join(last.Erased, ",") != "piv,oath,openpgp,hsmauth,otp,fido2" || tk.OwnerName != "Alice Example" {
		t.Fatalf("the tracker's record of the key: %+v, last event %+v", tk.Key, last)
	}

	// ykman, reading the key afresh, sees every application at factory settings.
	after := ykmanPIV(t)
	for _, want := range []string{"WARNING: Using default PIN!", "PIN tries remaining: 3/3", "WARNING: Using default Management key!", "CHUID:\tNo data available."} {
		if !strings.Contains(after, want) {
			t.Errorf("ykman piv info after the wipe lacks %q:\n%s", want, after)
		}
	}
	if strings.Contains(after, "Slot 9a:") || strings.Contains(after, "Slot 9d:") {
		t.Errorf("certificates survived the wipe:\n%s", after)
	}
	if out := ykman(t, "oath", "accounts", "list"); strings.TrimSpace(out) != "" {
		t.Errorf("ykman oath accounts list after the wipe:\n%s", out)
	}
	hasLines(t, "ykman openpgp info", ykman(t, "openpgp", "info"), "PIN tries remaining: 3", "Reset code tries remaining: 0",
		"Admin PIN tries remaining: 3", "Signature key Off", "Attestation key Off")
	hasLines(t, "ykman otp info", ykman(t, "otp", "info"), "Slot 1: empty", "Slot 2: empty")
	if out := ykman(t, "fido", "info"); !strings.Contains(out, "PIN is not set") {
		t.Errorf("ykman fido info after the wipe:\n%s", out)
	}
	// What ykman 4.0.9 cannot show: keys in OpenPGP slots and YubiHSM
	// Auth credentials, read from the simulated key's own state.
	if n, hsm := k.OpenPGPKeys(), k.HSMAuthCredentials(); n != 0 || len(hsm) != 0 {
		t.Errorf("left after the wipe: %d OpenPGP keys, YubiHSM Auth %q", n, hsm)
	}
	// The FIDO2 client sees no PIN, and with a new one no passkey.
	st, err := wk.FIDOState(ctx, serial)
	if err != nil || st.PINSet {
		t.Fatalf("FIDO2 after the wipe: %+v, %v", st, err)
	}
	if err := wk.SetFIDOPIN(ctx, serial, "864213"); err != nil {
		t.Fatal(err)
	}
	for _, rp := range []string{"example.com", "github.com"} {
		if has, err := wk.HasCredential(ctx, serial, "864213", rp, ""); err != nil || has {
			t.Fatalf("passkey for %s after the wipe: %v, %v", rp, has, err)
		}
	}
}
