//go:build cgo

package sim

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/keywizard/keywizard/internal/testenv"
)

// piv-go v2.6.0 through pcscd drives the simulator as it drives a YubiKey:
// it needs the sim's GET METADATA layout, AES-192 management key on 5.7,
// generation, on-card signing for a self-signed certificate, attestation
// that piv.Verifier accepts with the simulated root, ECDH, PIN-protected
// metadata and RESET after blocking the PUK with CHANGE REFERENCE.
// (cgo only: piv-go links libpcsclite.)
func TestPIVGo(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 19283746, Model: "5c-nano"})
	attach(t, k, 0)

	cards, err := piv.Cards()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cards, ReaderName(0)) {
		t.Fatalf("piv.Cards() = %q, want it to list %q", cards, ReaderName(0))
	}
	yk, err := piv.Open(ReaderName(0))
	if err != nil {
		t.Fatal(err)
	}
	defer yk.Close()

	if v := yk.Version(); v.Major != 5 || v.Minor != 7 || v.Patch != 1 {
		t.Errorf("Version() = %+v", v)
	}
	if s, err := yk.Serial(); err != nil || s != 19283746 {
		t.Errorf("Serial() = %d, %v", s, err)
	}
	if ff, err := yk.FormFactor(); err != nil || ff != piv.FormfactorUSBCNano {
		t.Errorf("FormFactor() = %v, %v", ff, err)
	}
	if n, err := yk.Retries(); err != nil || n != 3 {
		t.Errorf("Retries() = %d, %v", n, err)
	}

	// Generate in 9A, attest, verify against the simulated root.
	pub, err := yk.GenerateKey(piv.DefaultManagementKey, piv.SlotAuthentication,
		piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyCached})
	if err != nil {
		t.Fatal(err)
	}
	slotCert, err := yk.Attest(piv.SlotAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	attCert, err := yk.AttestationCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := piv.Verify(attCert, slotCert); err == nil {
		t.Fatal("piv.Verify accepted a simulated attestation against Yubico's real roots")
	}
	roots := x509.NewCertPool()
	roots.AddCert(AttestationRoot())
	v := piv.Verifier{Roots: roots}
	att, err := v.Verify(attCert, slotCert)
	if err != nil {
		t.Fatal(err)
	}
	if att.Serial != 19283746 || att.Version != (piv.Version{Major: 5, Minor: 7, Patch: 1}) ||
		att.Formfactor != piv.FormfactorUSBCNano || att.PINPolicy != piv.PINPolicyOnce ||
		att.TouchPolicy != piv.TouchPolicyCached || att.Slot != piv.SlotAuthentication {
		t.Errorf("attestation = %+v", att)
	}
	if !slotCert.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
		t.Error("attested key is not the generated key")
	}
	ki, err := yk.KeyInfo(piv.SlotAuthentication)
	if err != nil || ki.Algorithm != piv.AlgorithmEC256 || ki.Origin != piv.OriginGenerated || !ki.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
		t.Errorf("KeyInfo = %+v, %v", ki, err)
	}

	// Self-signed certificate signed on the card, stored and read back.
	priv, err := yk.PrivateKey(piv.SlotAuthentication, pub, piv.KeyAuth{PIN: piv.DefaultPIN})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keywizard test"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2056, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("card-signed certificate does not verify: %v", err)
	}
	if err := yk.SetCertificate(piv.DefaultManagementKey, piv.SlotAuthentication, cert); err != nil {
		t.Fatal(err)
	}
	if got, err := yk.Certificate(piv.SlotAuthentication); err != nil || !bytes.Equal(got.Raw, der) {
		t.Fatalf("Certificate() = %v", err)
	}

	// ECDH in 9D.
	pub9d, err := yk.GenerateKey(piv.DefaultManagementKey, piv.SlotKeyManagement,
		piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyNever, TouchPolicy: piv.TouchPolicyNever})
	if err != nil {
		t.Fatal(err)
	}
	priv9d, err := yk.PrivateKey(piv.SlotKeyManagement, pub9d, piv.KeyAuth{})
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	shared, err := priv9d.(*piv.ECDSAPrivateKey).SharedKey(&peer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	peerECDH, _ := peer.ECDH()
	cardECDH, _ := pub9d.(*ecdsa.PublicKey).ECDH()
	if want, _ := peerECDH.ECDH(cardECDH); !bytes.Equal(shared, want) {
		t.Fatal("ECDH secret differs")
	}

	// New AES-256 management key, PIN-protected metadata.
	newMgmt := bytes.Repeat([]byte{0x42}, 32)
	if err := yk.SetManagementKey(piv.DefaultManagementKey, newMgmt); err != nil {
		t.Fatal(err)
	}
	if err := yk.SetCertificate(piv.DefaultManagementKey, piv.SlotSignature, cert); err == nil {
		t.Fatal("the old management key still works")
	}
	if err := yk.SetPIN(piv.DefaultPIN, "24681357"); err != nil {
		t.Fatal(err)
	}
	var wrong piv.AuthErr
	if err := yk.VerifyPIN("11111111"); !errors.As(err, &wrong) || wrong.Retries != 2 {
		t.Fatalf("VerifyPIN(wrong) = %v", err)
	}
	mk := bytes.Repeat([]byte{0x24}, 24)
	if err := yk.SetMetadata(newMgmt, &piv.Metadata{ManagementKey: &mk}); err != nil {
		t.Fatal(err)
	}
	md, err := yk.Metadata("24681357")
	if err != nil || md.ManagementKey == nil || !bytes.Equal(*md.ManagementKey, mk) {
		t.Fatalf("Metadata() = %+v, %v", md, err)
	}

	// piv-go's Reset blocks the PIN and (with CHANGE REFERENCE) the PUK.
	if err := yk.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := yk.Certificate(piv.SlotAuthentication); !errors.Is(err, piv.ErrNotFound) {
		t.Fatalf("certificate after reset: %v", err)
	}
	if err := yk.VerifyPIN(piv.DefaultPIN); err != nil {
		t.Fatalf("default PIN after reset: %v", err)
	}
}
