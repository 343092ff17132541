//go:build cgo

package piv

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	pivgo "github.com/go-piv/piv-go/v2/piv"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

// Integration tests: the simulator attached to the real pcscd through
// vsmartcard's vpcd, piv-go and keywizard's own PC/SC binding as the
// wizard uses them, and ykman 4.0.9 as the independent judge.

const (
	testPIN = "246810"
	testPUK = "86421357"
)

// attached inserts a fresh simulated key in vpcd slot 0 and returns it
// with a Provisioner for its reader. The caller holds the vpcd lock.
func attached(t *testing.T, ctx context.Context, cfg sim.Config) (*sim.Key, *sim.Attachment, *Provisioner) {
	t.Helper()
	k, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := attach(t, ctx, k)
	pc, err := pcsc.Establish()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Release() })
	p := &Provisioner{
		Reader: sim.ReaderName(0),
		OpenCard: func(ctx context.Context, reader string) (device.Card, error) {
			return pc.Connect(ctx, reader, false)
		},
	}
	waitUsable(t, ctx, p)
	return k, a, p
}

// attach inserts k in vpcd slot 0 (the caller holds the vpcd lock) until
// the test ends, and waits until pcscd has seen it.
func attach(t *testing.T, ctx context.Context, k *sim.Key) *sim.Attachment {
	t.Helper()
	actx, cancel := context.WithCancel(context.Background())
	a, err := sim.Attach(actx, k, 0)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Detach()
		cancel()
		<-a.Done()
		settle()
	})
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// settle gives pcscd a presence poll (sub-second, docs/yubikey-protocol.md §6.3)
// to notice a card went away; inserted sooner, pcscd would not register a
// new insertion (the simulator's tests wait the same way).
func settle() { time.Sleep(600 * time.Millisecond) }

// reinsert plugs k back in after a removal and waits until pcscd has seen
// it again.
func reinsert(t *testing.T, ctx context.Context, a *sim.Attachment) {
	t.Helper()
	if err := a.WaitFor(ctx, func(s sim.AttachState) bool { return !s.Connected }); err != nil {
		t.Fatal(err)
	}
	settle()
	before := a.State().Connects
	a.Reattach()
	if err := a.WaitFor(ctx, func(s sim.AttachState) bool { return s.Connects > before && s.Ready() }); err != nil {
		t.Fatal(err)
	}
}

// waitUsable waits until the reader's card accepts a connection, as the
// wizard's discovery does before offering a key again: right after a
// re-insertion pcscd can still answer "no card" for a moment.
func waitUsable(t *testing.T, ctx context.Context, p *Provisioner) {
	t.Helper()
	for {
		c, err := p.OpenCard(ctx, p.Reader)
		if err == nil {
			c.Close()
			return
		}
		if !errors.Is(err, device.ErrRemoved) {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the re-inserted key never became usable: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ykman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ykman", append([]string{"--reader", sim.ReaderName(0)}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ykman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkYkman asserts what ykman 4.0.9 piv info prints for a provisioned key
// (wording from ykman/piv.py get_piv_info).
func checkYkman(t *testing.T, k *sim.Key) {
	t.Helper()
	serial := k.Serial()
	// Below 5.3 ykman has no metadata: it counts tries with an empty
	// VERIFY and prints no total, and assumes TDES.
	tries, alg := "PIN tries remaining: 3/3", "Management key algorithm: "+wantAlgorithm(k.Firmware()).String()
	if !k.Firmware().AtLeast(5, 3, 0) {
		tries = "PIN tries remaining: 3\n"
	}
	out := ykman(t, "piv", "info")
	for _, want := range []string{
		tries,
		alg,
		"Management key is stored on the YubiKey, protected by PIN.",
		"Slot 9a:",
		fmt.Sprintf("Subject DN:\tCN=keywizard PIV Authentication %d", serial),
		"Slot 9d:",
		fmt.Sprintf("Subject DN:\tCN=keywizard Key Management %d", serial),
		"Algorithm:\tECCP256",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ykman piv info lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"WARNING: Using default PIN!", "WARNING: Using default Management key!", "CHUID:\tNo data", "CCC: \tNo data", "PUK blocked"} {
		if strings.Contains(out, bad) {
			t.Errorf("ykman piv info says %q:\n%s", bad, out)
		}
	}
}

func checkResult(t *testing.T, k *sim.Key, res *Result) {
	t.Helper()
	want := wantAlgorithm(k.Firmware())
	if res.Serial != k.Serial() || res.MgmtKeyAlgorithm != want || res.Firmware != k.Firmware() {
		t.Errorf("result %+v", res)
	}
	st := res.State
	if st == nil || !st.MgmtKeyProtected || st.PINRetries != 3 || st.MgmtKeyAlgorithm != want.String() {
		t.Errorf("state %+v", st)
	}
	if k.Firmware().AtLeast(5, 3, 0) && (*st.DefaultPIN || *st.DefaultPUK || *st.DefaultMgmtKey) {
		t.Errorf("factory values left: %+v", st)
	}
	for _, c := range []struct {
		slot byte
		cert *x509.Certificate
		cn   string
	}{
		{SlotAuthentication, res.Slot9A, "PIV Authentication"},
		{SlotKeyManagement, res.Slot9D, "Key Management"},
	} {
		if c.cert == nil {
			t.Fatalf("no certificate for %02x", c.slot)
		}
		if want := fmt.Sprintf("keywizard %s %d", c.cn, k.Serial()); c.cert.Subject.CommonName != want {
			t.Errorf("%02x: CN %q, want %q", c.slot, c.cert.Subject.CommonName, want)
		}
		if !samePublicKey(c.cert.PublicKey, k.PIVPublicKey(c.slot)) {
			t.Errorf("%02x: certificate is not for the key in the slot", c.slot)
		}
		// Self-signed by the slot's key (not a CA, so CheckSignatureFrom
		// does not apply).
		if err := c.cert.CheckSignature(c.cert.SignatureAlgorithm, c.cert.RawTBSCertificate, c.cert.Signature); err != nil {
			t.Errorf("%02x: self-signature: %v", c.slot, err)
		}
		if years := c.cert.NotAfter.Sub(c.cert.NotBefore).Hours() / 24 / 365; years < 29.9 {
			t.Errorf("%02x: valid %.1f years", c.slot, years)
		}
		stored, _ := k.PIVObject(map[byte]uint32{SlotAuthentication: ObjectCert9A, SlotKeyManagement: ObjectCert9D}[c.slot])
		if !bytes.Contains(stored, c.cert.Raw) {
			t.Errorf("%02x: the key does not hold the returned certificate", c.slot)
		}
	}
}

func TestProvisionVPCD(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k, _, p := attached(t, ctx, sim.Config{Serial: 18000042, Model: "5c-nano"})

	res, err := p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, k, res)
	checkYkman(t, k)
	if pin, puk := k.PIVRetries(); pin != 3 || puk != 3 {
		t.Errorf("retries after provisioning: PIN %d PUK %d", pin, puk)
	}

	// Idempotent: a second run changes nothing and reports the same.
	chuid, _ := k.PIVObject(ObjectCHUID)
	again, err := p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Slot9A.Equal(res.Slot9A) || !again.Slot9D.Equal(res.Slot9D) {
		t.Error("a second run replaced the certificates")
	}
	if now, _ := k.PIVObject(ObjectCHUID); !bytes.Equal(now, chuid) {
		t.Error("a second run rewrote the CHUID")
	}

	// ykman uses the stored key by itself (reads ADMIN DATA, verifies the
	// PIN, reads PRINTED, authenticates): generating in 9C needs it.
	out := ykman(t, "piv", "keys", "generate", "-P", testPIN, "-a", "ECCP256", "9c", "-")
	if !strings.Contains(out, "BEGIN PUBLIC KEY") || k.PIVPublicKey(SlotSignature) == nil {
		t.Errorf("ykman could not use the PIN-protected management key:\n%s", out)
	}

	// Attestation of 9A chains to the simulator's root (piv-go Verifier).
	att, slotCert, err := p.Attestation(ctx, SlotAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(sim.AttestationRoot())
	a, err := (&pivgo.Verifier{Roots: roots}).Verify(att, slotCert)
	if err != nil {
		t.Fatal(err)
	}
	if a.Serial != k.Serial() || a.PINPolicy != pivgo.PINPolicyOnce || a.TouchPolicy != pivgo.TouchPolicyNever || a.Slot != pivgo.SlotAuthentication {
		t.Errorf("attestation %+v", a)
	}
	if !samePublicKey(slotCert.PublicKey, res.Slot9A.PublicKey) {
		t.Error("attested key differs from the 9A certificate's")
	}
	if _, err := pivgo.Verify(att, slotCert); err == nil {
		t.Error("the simulated attestation verified against Yubico's real roots")
	}
	if _, _, err := p.Attestation(ctx, SlotCardAuth); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("attesting an empty slot: %v", err)
	}
	if _, _, err := p.Attestation(ctx, 0x42); !errors.Is(err, device.ErrInvalidArgument) {
		t.Errorf("attesting no slot: %v", err)
	}

	// Wrong PIN: a PINError naming the PIN with the tries left.
	err = p.ChangePIN(ctx, "111111", "135790")
	var pe *device.PINError
	if !errors.As(err, &pe) || pe.Which != device.PIVPIN || pe.Retries != 2 || !errors.Is(err, device.ErrWrongPIN) {
		t.Errorf("wrong PIN: %v", err)
	}
	if strings.Contains(err.Error(), "111111") || strings.Contains(err.Error(), "135790") {
		t.Errorf("error %q contains a PIN", err)
	}
	err = p.ChangePUK(ctx, "00000000", "97531864")
	if !errors.As(err, &pe) || pe.Which != device.PIVPUK || pe.Retries != 2 {
		t.Errorf("wrong PUK: %v", err)
	}
	if err := p.ChangePIN(ctx, testPIN, "12345"); !errors.Is(err, device.ErrPINPolicy) {
		t.Errorf("short PIN: %v", err)
	}
}

// Older firmware: no metadata below 5.3 (keys found through attestation),
// no AES management keys below 5.4.
func TestProvisionFirmwareVPCD(t *testing.T) {
	testenv.LockVPCD(t)
	for i, fw := range []device.Version{{Major: 5, Minor: 2, Patch: 7}, {Major: 5, Minor: 4, Patch: 3}} {
		t.Run(fw.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			k, _, p := attached(t, ctx, sim.Config{Serial: 18000050 + uint32(i), Model: "5-nfc", Firmware: fw})
			res, err := p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, k, res)
			checkYkman(t, k)
			again, err := p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Slot9A.Equal(res.Slot9A) || !again.Slot9D.Equal(res.Slot9D) {
				t.Error("a second run replaced the certificates")
			}
			// The PIN was found without a wrong try (none left behind).
			if pin, puk := k.PIVRetries(); pin != 3 || puk != 3 {
				t.Errorf("retries after a second run: PIN %d PUK %d", pin, puk)
			}
		})
	}
}

func TestProvisionBlockedVPCD(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, _, p := attached(t, ctx, sim.Config{Serial: 18000043, Model: "5c-nfc"})
	k.BlockPIV()
	_, err := p.Provision(ctx, Params{NewPIN: testPIN})
	var pe *device.PINError
	if !errors.Is(err, device.ErrBlocked) || !errors.As(err, &pe) || pe.Which != device.PIVPIN {
		t.Fatalf("blocked PIN: %v", err)
	}
	// piv-go's AuthErr from the card itself maps the same way.
	err = p.ChangePIN(ctx, DefaultPIN, testPIN)
	if !errors.Is(err, device.ErrBlocked) || !errors.As(err, &pe) || pe.Which != device.PIVPIN {
		t.Errorf("changing a blocked PIN: %v", err)
	}
}

func TestResetVPCD(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, _, p := attached(t, ctx, sim.Config{Serial: 18000044, Model: "5ci"})
	if _, err := p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []ResetConfirmation{
		{},
		{Serial: k.Serial()},
		{Serial: k.Serial(), Model: "YubiKey 5C Nano"},
		{Serial: k.Serial() + 1, Model: "YubiKey 5Ci"},
	} {
		if err := p.Reset(ctx, c); !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("Reset(%v) = %v, want ErrInvalidArgument", c, err)
		}
	}
	if k.PIVPublicKey(SlotAuthentication) == nil {
		t.Fatal("a refused reset erased the key")
	}
	if err := p.Reset(ctx, ResetConfirmation{Serial: k.Serial(), Model: "YubiKey 5Ci"}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(ctx, k.Card())
	if err != nil {
		t.Fatal(err)
	}
	if !*st.DefaultPIN || !*st.DefaultPUK || !*st.DefaultMgmtKey || st.MgmtKeyProtected || k.PIVPublicKey(SlotAuthentication) != nil {
		t.Errorf("after reset: %+v", st)
	}
	out := ykman(t, "piv", "info")
	if !strings.Contains(out, "WARNING: Using default PIN!") {
		t.Errorf("ykman after reset:\n%s", out)
	}
}

// TestProvisionResumeVPCD pulls the key out at many points of a Provision
// through pcscd, checks the error says so, re-inserts it and runs Provision
// again: it must complete, with ykman agreeing.
func TestProvisionResumeVPCD(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	k, a, p := attached(t, ctx, sim.Config{Serial: 18000045, Model: "5c-nano"})
	start := k.Commands()
	if _, err := p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK}); err != nil {
		t.Fatal(err)
	}
	total := int(k.Commands() - start)
	t.Logf("a full provisioning takes %d commands", total)
	a.Detach()
	if err := a.WaitFor(ctx, func(s sim.AttachState) bool { return !s.Connected }); err != nil {
		t.Fatal(err)
	}
	settle()

	// Removal points spread over the run, including the management key
	// change and certificate writes.
	for n := 1; n < total; n += total/9 + 1 {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			k2, err := sim.New(sim.Config{Serial: 18000100 + uint32(n), Model: "5c-nano"})
			if err != nil {
				t.Fatal(err)
			}
			a2 := attach(t, ctx, k2)
			k2.RemoveAfter(n)
			_, err = p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK})
			if !errors.Is(err, device.ErrRemoved) {
				t.Fatalf("removed after %d commands: err = %v, want ErrRemoved", n, err)
			}
			if k2.Present() {
				t.Fatalf("Provision reported a removal the key did not have (%d of %d commands answered): %v", k2.Commands(), n, err)
			}
			k2.RemoveAfter(-1)
			reinsert(t, ctx, a2)
			waitUsable(t, ctx, p)
			res, err := p.Provision(ctx, Params{NewPIN: testPIN, NewPUK: testPUK})
			if err != nil {
				t.Fatalf("resume after removal at %d: %v", n, err)
			}
			checkResult(t, k2, res)
			checkYkman(t, k2)
		})
	}
}
