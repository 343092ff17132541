// Package attesttest makes fake YubiKey PIV attestations under a test root,
// for tests only: production code never loads this root.
package attesttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker/attest"
)

// CA is a test stand-in for Yubico's PIV attestation root.
type CA struct {
	Cert *x509.Certificate
	key  crypto.Signer
}

// Device is the PIV attestation of one fake key.
type Device struct {
	Attestation []byte // F9 certificate, DER
	Slot        []byte // slot 9a certificate, DER
}

var serialN atomic.Int64

// nextSerial gives every certificate a distinct serial number.
func nextSerial() *big.Int { return big.NewInt(serialN.Add(1) + 1) }

// NewCA makes a fresh root.
func NewCA(t testing.TB) *CA {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: "Test PIV Root CA"},
		NotBefore:             time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, key: k}
}

// Verifier trusts only this CA.
func (ca *CA) Verifier() *attest.Verifier {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return &attest.Verifier{Roots: p, Now: func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }}
}

// Options shape a fake device.
type Options struct {
	Firmware   [3]byte
	FormFactor byte
	// NoBasicConstraints mimics the F9 certificates of some YubiKey 4s.
	NoBasicConstraints bool
}

// Device makes an attestation for a key with the given serial.
func (ca *CA) Device(t testing.TB, serial uint32, o Options) Device {
	t.Helper()
	if o.Firmware == [3]byte{} {
		o.Firmware = [3]byte{5, 7, 1}
	}
	f9k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f9 := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: "Yubico PIV Attestation"},
		NotBefore:    ca.Cert.NotBefore,
		NotAfter:     ca.Cert.NotAfter,
	}
	if !o.NoBasicConstraints {
		f9.IsCA, f9.BasicConstraintsValid = true, true
		f9.KeyUsage = x509.KeyUsageCertSign
	}
	f9der, err := x509.CreateCertificate(rand.Reader, f9, ca.Cert, f9k.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	f9c, _ := x509.ParseCertificate(f9der)
	return Device{Attestation: f9der, Slot: SlotCert(t, f9c, f9k, serial, o)}
}

// SlotCert issues a slot certificate from the given F9 certificate and key.
func SlotCert(t testing.TB, f9 *x509.Certificate, f9k crypto.Signer, serial uint32, o Options) []byte {
	t.Helper()
	if o.Firmware == [3]byte{} {
		o.Firmware = [3]byte{5, 7, 1}
	}
	sk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := asn1.Marshal(big.NewInt(int64(serial)))
	exts := []pkix.Extension{
		{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 3}, Value: o.Firmware[:]},
		{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}, Value: sn},
		{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}, Value: []byte{1, 1}},
	}
	if o.FormFactor != 0 {
		exts = append(exts, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 9}, Value: []byte{o.FormFactor}})
	}
	tmpl := &x509.Certificate{
		SerialNumber:    nextSerial(),
		Subject:         pkix.Name{CommonName: "YubiKey PIV Attestation 9a"},
		NotBefore:       f9.NotBefore,
		NotAfter:        f9.NotAfter,
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f9, sk.Public(), f9k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
