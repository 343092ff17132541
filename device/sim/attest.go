package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// Yubico's attestation extensions (piv-go key.go extID*; §4.10).
var (
	extFirmware   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 3}
	extSerial     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}
	extPolicy     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}
	extFormFactor = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 9}
)

// Validity of every simulated attestation certificate. Fixed dates rather
// than the clock: Yubico's own attestation certificates carry fixed dates
// too, and piv-go verifies chains at time.Now(), which these cover.
var (
	attNotBefore = time.Date(2016, 3, 14, 0, 0, 0, 0, time.UTC)
	attNotAfter  = time.Date(2052, 4, 17, 0, 0, 0, 0, time.UTC)
)

var root struct {
	once sync.Once
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	err  error
}

// AttestationRoot is the "Simulated Yubico PIV Root CA" that every simulated
// key's attestation certificate (slot F9, object 5FFF01) chains to. It is
// made once per process. Verify a simulated attestation with
// piv.Verifier{Roots: pool with this cert}.Verify(f9Cert, slotCert).
func AttestationRoot() *x509.Certificate {
	c, _, err := attestationRoot()
	if err != nil {
		panic(err) // only if crypto/rand fails
	}
	return c
}

func attestationRoot() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	root.once.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			root.err = fmt.Errorf("generating simulated attestation root: %w", err)
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "Simulated Yubico PIV Root CA", Organization: []string{"keywizard simulator"}},
			NotBefore:             attNotBefore,
			NotAfter:              attNotAfter,
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			root.err = fmt.Errorf("creating simulated attestation root: %w", err)
			return
		}
		root.cert, _ = x509.ParseCertificate(der)
		root.key = key
	})
	return root.cert, root.key, root.err
}

// attestationKey is the per-key F9 key and its certificate.
type attestationKey struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newAttestationKey(k *Key) (*attestationKey, error) {
	rc, rk, err := attestationRoot()
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating attestation key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetUint64(uint64(k.serial)),
		Subject:               pkix.Name{CommonName: "Yubico PIV Attestation"},
		NotBefore:             attNotBefore,
		NotAfter:              attNotAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, rc, &key.PublicKey, rk)
	if err != nil {
		return nil, fmt.Errorf("creating attestation certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing attestation certificate: %w", err)
	}
	return &attestationKey{key: key, cert: cert}, nil
}

// object is the 5FFF01 object value: a certificate object (§4.8).
func (a *attestationKey) object() []byte {
	return certObject(a.cert.Raw)
}

// certObject wraps a DER certificate as PIV stores it: 70 cert, 71 00
// (uncompressed), FE (LRC) (§4.8; ykman put_certificate, piv-go
// ykStoreCertificate).
func certObject(der []byte) []byte {
	b := tlv.Encode(0x70, der)
	b = tlv.Append(b, 0x71, []byte{0})
	return tlv.Append(b, 0xFE, nil)
}

func (a *attestationKey) slotKey() *slotKey {
	return &slotKey{alg: algECCP256, priv: a.key, pinPolicy: pinPolicyNever, touchPolicy: touchPolicyNever, origin: originImported}
}

// AttestationCertificate is the key's F9 certificate (also readable as
// object 5FFF01).
func (k *Key) AttestationCertificate() *x509.Certificate { return k.att.cert }

// pivAttest is ATTEST (Yubico F9, §4.10): a DER certificate for a key
// generated on the card, signed by the F9 key, with Yubico's extensions
// encoded as piv-go parses them: firmware and policies as raw bytes, the
// serial as a DER INTEGER, the form factor as one byte.
func (k *Key) pivAttest(slot byte) ([]byte, uint16) {
	if !k.fw.AtLeast(4, 3, 0) {
		return nil, apdu.SWInsNotSupported
	}
	if !isKeySlot(slot) {
		return nil, apdu.SWWrongP1P2
	}
	sk := k.piv.keys[slot]
	if sk == nil {
		return nil, apdu.SWReferenceNotFound
	}
	if sk.origin != originGenerated {
		// Imported keys cannot be attested; piv-go maps 6A80 to ErrNotFound.
		return nil, apdu.SWIncorrectData
	}
	serialDER, err := asn1.Marshal(int64(k.serial))
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	certSerial := make([]byte, 16)
	if _, err := k.rand.Read(certSerial); err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(certSerial),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("YubiKey PIV Attestation %02x", slot)},
		NotBefore:    attNotBefore,
		NotAfter:     attNotAfter,
		ExtraExtensions: []pkix.Extension{
			{Id: extFirmware, Value: []byte{k.fw.Major, k.fw.Minor, k.fw.Patch}},
			{Id: extSerial, Value: serialDER},
			{Id: extPolicy, Value: []byte{sk.pinPolicy, sk.touchPolicy}},
			{Id: extFormFactor, Value: []byte{byte(k.preset.FormFactor)}},
		},
	}
	der, err := x509.CreateCertificate(k.rand, tmpl, k.att.cert, sk.priv.Public(), k.att.key)
	if err != nil {
		return nil, apdu.SWNoPreciseDiagnosis
	}
	return der, apdu.SWSuccess
}
