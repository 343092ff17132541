package attest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/attest"
	"github.com/keywizard/keywizard/tracker/attest/attesttest"
)

func TestVerify(t *testing.T) {
	ca := attesttest.NewCA(t)
	v := ca.Verifier()

	d := ca.Device(t, 12345678, attesttest.Options{Firmware: [3]byte{5, 4, 3}, FormFactor: 0x84})
	res, err := v.Verify(d.Attestation, d.Slot)
	if err != nil {
		t.Fatalf("genuine key rejected: %v", err)
	}
	want := attest.Result{Serial: 12345678, Firmware: "5.4.3", FormFactor: "USB-C Nano", PINPolicy: "never", TouchPolicy: "never", Root: "Test PIV Root CA"}
	if res != want {
		t.Errorf("got %+v, want %+v", res, want)
	}

	yk4 := ca.Device(t, 4000001, attesttest.Options{Firmware: [3]byte{4, 3, 5}, NoBasicConstraints: true})
	if res, err := v.Verify(yk4.Attestation, yk4.Slot); err != nil || res.Serial != 4000001 || res.FormFactor != "" {
		t.Errorf("YubiKey 4 style F9 without basic constraints: %+v, %v", res, err)
	}

	other := attesttest.NewCA(t)
	forged := other.Device(t, 12345678, attesttest.Options{})
	mixed := ca.Device(t, 999, attesttest.Options{})
	// A self-made F9 that signs a slot certificate.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	self := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: ca.Cert.NotBefore, NotAfter: ca.Cert.NotAfter, KeyUsage: x509.KeyUsageCertSign}
	selfDER, _ := x509.CreateCertificate(rand.Reader, self, self, k.Public(), k)
	selfCert, _ := x509.ParseCertificate(selfDER)
	selfSlot := attesttest.SlotCert(t, selfCert, k, 1, attesttest.Options{})

	yubico, err := attest.Yubico()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		v          *attest.Verifier
		att, slot  []byte
		wantReason string
	}{
		{"other root", v, forged.Attestation, forged.Slot, "does not lead to a Yubico root"},
		{"test root against Yubico roots", yubico, d.Attestation, d.Slot, "does not lead to a Yubico root"},
		{"slot from another device", v, d.Attestation, mixed.Slot, "does not lead to a Yubico root"},
		{"self-signed F9", v, selfDER, selfSlot, "does not lead to a Yubico root"},
		{"garbage attestation", v, []byte("nope"), d.Slot, "attestation certificate does not parse"},
		{"garbage slot", v, d.Attestation, []byte{0x30, 0x00}, "slot certificate does not parse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.v.Verify(c.att, c.slot)
			var ng *attest.NotGenuineError
			if !errors.As(err, &ng) || !strings.Contains(ng.Reason, c.wantReason) {
				t.Errorf("got %v, want NotGenuineError containing %q", err, c.wantReason)
			}
		})
	}
}

// TestEmbeddedRoots pins the embedded Yubico certificates to their SHA-256
// fingerprints, so an accidental edit cannot pass. The certificates came
// from piv-go's module; on 2026-11-26 each root's full PEM was compared
// with independent copies in other projects that cite
// developers.yubico.com/PKI (yubico-ca-certs.txt, yubico-ca-1.pem) and
// developers.yubico.com/PIV/Introduction/PIV_attestation.html (teleport,
// sigstore, webauthn verifiers): all three fingerprints match. This
// machine cannot reach developers.yubico.com itself; re-check there when
// Yubico publishes a new root. Intermediates need no pin: Verify checks
// their signatures up to these roots.
func TestEmbeddedRoots(t *testing.T) {
	want := map[string]string{
		"yubico-piv-root-ca-263751.pem":    "63ece914e54dd87915f34033c85af4c0696ba1512f8add66ced738331207b546",
		"yubico-u2f-root-ca-457200631.pem": "0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42",
		"yubico-attestation-root-1.pem":    "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8",
	}
	for name, fp := range want {
		data, err := os.ReadFile("certs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := attest.ParsePEM(data)
		if err != nil || len(cs) != 1 {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(cs[0].Raw)
		if got := hex.EncodeToString(sum[:]); got != fp {
			t.Errorf("%s: fingerprint %s, want %s", name, got, fp)
		}
		if !cs[0].IsCA {
			t.Errorf("%s is not a CA", name)
		}
	}
	data, _ := os.ReadFile("certs/yubico-intermediates.pem")
	cs, err := attest.ParsePEM(data)
	if err != nil {
		t.Fatal(err)
	}
	var piv int
	for _, c := range cs {
		if strings.HasPrefix(c.Subject.CommonName, "Yubico PIV Attestation") {
			piv++
		}
	}
	if piv != 2 {
		t.Errorf("want the two Yubico PIV Attestation intermediates, found %d", piv)
	}
}
