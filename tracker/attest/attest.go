// Package attest checks that a key is a genuine YubiKey from its PIV
// attestation: the device's attestation certificate (slot F9), signed by a
// Yubico root (directly or through a Yubico intermediate), and the
// certificate it issued for a key generated in a slot. It then reads the
// serial number, firmware version, form factor and PIN/touch policies that
// Yubico puts in the slot certificate's extensions.
//
// The Yubico roots and intermediates in certs/ were copied from the go-piv
// module (github.com/go-piv/piv-go/v2@v2.6.0, piv/certs and piv/key.go), whose
// contents are pinned by go.sum; go-piv fetched them from
// https://developers.yubico.com/PKI/ on 2025-06-20. Their SHA-256
// fingerprints are checked by TestEmbeddedRoots.
//
// See https://developers.yubico.com/PIV/Introduction/PIV_attestation.html.
package attest

import (
	"crypto/x509"
	"embed"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Extension OIDs in Yubico's PIV attestation certificates.
var (
	oidFirmware   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 3}
	oidSerial     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}
	oidPolicy     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}
	oidFormFactor = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 9}
)

// Result is what a verified attestation says about the key.
type Result struct {
	Serial      uint32
	Firmware    string // "5.7.1"
	FormFactor  string // "USB-C Nano"; empty when not stated (firmware < 5.2)
	PINPolicy   string
	TouchPolicy string
	// Root is the subject of the trusted root the chain ended in.
	Root string
}

// NotGenuineError says why an attestation was rejected.
type NotGenuineError struct{ Reason string }

func (e *NotGenuineError) Error() string { return "not a genuine YubiKey: " + e.Reason }

// Verifier checks attestations against a set of roots.
type Verifier struct {
	Roots         *x509.CertPool
	Intermediates *x509.CertPool
	// Now is the verification time; nil means time.Now.
	Now func() time.Time
}

//go:embed certs/*.pem
var certs embed.FS

// Yubico returns a Verifier trusting Yubico's published PIV attestation roots.
func Yubico() (*Verifier, error) {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, name := range []string{"yubico-piv-root-ca-263751.pem", "yubico-attestation-root-1.pem"} {
		data, err := certs.ReadFile("certs/" + name)
		if err != nil || !roots.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("loading embedded root %s: %v", name, err)
		}
	}
	u2f, err := parsePEM("certs/yubico-u2f-root-ca-457200631.pem")
	if err != nil {
		return nil, err
	}
	// Some YubiKeys made until 2018 have F9 certificates signed by the U2F
	// root, whose path length constraint of 0 would forbid the F9 as an
	// intermediate; allow exactly that one extra level (as go-piv does).
	u2f.MaxPathLen = 1
	roots.AddCert(u2f)
	data, err := certs.ReadFile("certs/yubico-intermediates.pem")
	if err != nil || !inter.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("loading embedded intermediates: %v", err)
	}
	return &Verifier{Roots: roots, Intermediates: inter}, nil
}

func parsePEM(name string) (*x509.Certificate, error) {
	data, err := certs.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	cs, err := ParsePEM(data)
	if err != nil || len(cs) != 1 {
		return nil, fmt.Errorf("parsing %s: want one certificate: %v", name, err)
	}
	return cs[0], nil
}

// Verify checks the F9 attestation certificate and slot certificate (both
// DER). Errors are *NotGenuineError unless the input is not a certificate.
func (v *Verifier) Verify(attestationDER, slotDER []byte) (Result, error) {
	var res Result
	att, err := x509.ParseCertificate(attestationDER)
	if err != nil {
		return res, &NotGenuineError{"attestation certificate does not parse"}
	}
	slot, err := x509.ParseCertificate(slotDER)
	if err != nil {
		return res, &NotGenuineError{"slot certificate does not parse"}
	}
	// The F9 certificate of some YubiKey 4s lacks basic constraints, which
	// RFC 5280 requires of a CA; Yubico documents it as an intermediate.
	if !att.BasicConstraintsValid {
		att.BasicConstraintsValid = true
		att.IsCA = true
	}
	inter := x509.NewCertPool()
	if v.Intermediates != nil {
		inter = v.Intermediates.Clone()
	}
	inter.AddCert(att)
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	chains, err := slot.Verify(x509.VerifyOptions{
		Roots:         v.Roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return res, &NotGenuineError{"certificate chain does not lead to a Yubico root: " + verifyReason(err)}
	}
	// The slot certificate must be issued by this device's F9 certificate,
	// not by some other YubiKey's that happens to be in the pool.
	if len(chains[0]) < 3 || !chains[0][1].Equal(att) {
		return res, &NotGenuineError{"slot certificate is not issued by the attestation certificate"}
	}
	res.Root = chains[0][len(chains[0])-1].Subject.CommonName
	if err := res.parse(slot); err != nil {
		return res, &NotGenuineError{err.Error()}
	}
	if res.Serial == 0 {
		return res, &NotGenuineError{"slot certificate has no serial number"}
	}
	return res, nil
}

func verifyReason(err error) string {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "unknown issuer"
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			return "a certificate is expired or not yet valid"
		default:
			return "a certificate is not valid for this use"
		}
	}
	return "signature check failed"
}

var formFactors = map[byte]string{
	0x01: "USB-A Keychain",
	0x02: "USB-A Nano",
	0x03: "USB-C Keychain",
	0x04: "USB-C Nano",
	0x05: "USB-C Lightning",
	0x06: "USB-A Bio",
	0x07: "USB-C Bio",
}

var pinPolicies = map[byte]string{1: "never", 2: "once", 3: "always", 4: "match-once", 5: "match-always"}
var touchPolicies = map[byte]string{1: "never", 2: "always", 3: "cached"}

func (r *Result) parse(c *x509.Certificate) error {
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(oidFirmware):
			if len(e.Value) != 3 {
				return errors.New("firmware extension has the wrong length")
			}
			r.Firmware = fmt.Sprintf("%d.%d.%d", e.Value[0], e.Value[1], e.Value[2])
		case e.Id.Equal(oidSerial):
			var n *big.Int
			if rest, err := asn1.Unmarshal(e.Value, &n); err != nil || len(rest) != 0 {
				return errors.New("serial extension is not an integer")
			}
			if n.Sign() <= 0 || n.BitLen() > 32 {
				return errors.New("serial extension out of range")
			}
			r.Serial = uint32(n.Uint64())
		case e.Id.Equal(oidPolicy):
			if len(e.Value) != 2 {
				return errors.New("policy extension has the wrong length")
			}
			r.PINPolicy, r.TouchPolicy = pinPolicies[e.Value[0]], touchPolicies[e.Value[1]]
		case e.Id.Equal(oidFormFactor):
			if len(e.Value) != 1 {
				return errors.New("form factor extension has the wrong length")
			}
			// The high bits flag FIPS and CSPN variants.
			r.FormFactor = formFactors[e.Value[0]&0x0f]
		}
	}
	return nil
}
