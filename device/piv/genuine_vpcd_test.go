//go:build cgo

package piv

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	pivgo "github.com/go-piv/piv-go/v2/piv"

	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

// The genuine-key proof through the real pcscd on a factory-fresh key, as
// a Linux or Windows user's key is: a key generated in slot 95, its
// attestation verified by piv-go's own verifier against the simulator's
// root, read back by ykman (an independent client), and ykman's view of
// the PIV set-up unchanged.
func TestGenuineAttestationVPCD(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, _, p := attached(t, ctx, sim.Config{Serial: 18000077, Model: "5c-nfc"})
	before := ykman(t, "piv", "info")

	proof, err := p.GenuineAttestation(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if proof.Slot != SlotRetiredLast || !proof.Generated {
		t.Errorf("proof in slot %02x, generated %v", proof.Slot, proof.Generated)
	}
	roots := x509.NewCertPool()
	roots.AddCert(sim.AttestationRoot())
	a, err := (&pivgo.Verifier{Roots: roots}).Verify(proof.Attestation, proof.SlotCert)
	if err != nil {
		t.Fatal(err)
	}
	if a.Serial != k.Serial() {
		t.Errorf("attested serial %d, want %d", a.Serial, k.Serial())
	}

	// ykman attests the same key in 95.
	out := ykman(t, "piv", "keys", "attest", "95", "-")
	b, _ := pem.Decode([]byte(out))
	if b == nil {
		t.Fatalf("ykman piv keys attest 95:\n%s", out)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil || !samePublicKey(c.PublicKey, proof.SlotCert.PublicKey) {
		t.Errorf("ykman's attestation of 95 is for another key (%v)", err)
	}
	// Nothing a person relies on changed: same PIN, PUK, management key
	// and certificates as before (ykman prints the default-key warnings
	// before and after alike; keywizard did not create them).
	if after := ykman(t, "piv", "info"); after != before {
		t.Errorf("ykman piv info changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Again: the same key, nothing generated.
	again, err := p.GenuineAttestation(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if again.Slot != SlotRetiredLast || again.Generated || !samePublicKey(again.SlotCert.PublicKey, proof.SlotCert.PublicKey) {
		t.Errorf("second proof: slot %02x, generated %v", again.Slot, again.Generated)
	}
}
