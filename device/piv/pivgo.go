//go:build cgo

package piv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"time"

	pivgo "github.com/go-piv/piv-go/v2/piv"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/mgmt"
)

// pivgoError keeps piv-go's message (it never contains secrets) and makes
// the error match one of the device package's sentinels.
type pivgoError struct {
	err  error
	kind error
}

func (e *pivgoError) Error() string   { return e.err.Error() }
func (e *pivgoError) Unwrap() []error { return []error{e.kind, e.err} }

// PC/SC return codes that mean the card or its reader went away
// (pcsc-lite pcsclite.h; piv-go pcsc_errors.go).
var removedCodes = map[int64]bool{
	0x80100009: true, // SCARD_E_UNKNOWN_READER: the key's reader vanished
	0x8010000C: true, // SCARD_E_NO_SMARTCARD
	0x80100017: true, // SCARD_E_READER_UNAVAILABLE
	0x8010002E: true, // SCARD_E_NO_READERS_AVAILABLE
	0x80100066: true, // SCARD_W_UNRESPONSIVE_CARD
	0x80100067: true, // SCARD_W_UNPOWERED_CARD
	0x80100068: true, // SCARD_W_RESET_CARD: the key rebooted under us
	0x80100069: true, // SCARD_W_REMOVED_CARD
}

// pcscCode finds piv-go's PC/SC error in err's chain and returns its code.
// piv-go exports no type for it, so this looks for its unexported *scErr
// (field rc) by type identity, never by message.
func pcscCode(err error) (int64, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		if v.Kind() != reflect.Pointer || v.IsNil() {
			continue
		}
		t := v.Type().Elem()
		if t.Name() != "scErr" || t.PkgPath() != "github.com/go-piv/piv-go/v2/piv" {
			continue
		}
		if f := v.Elem().FieldByName("rc"); f.IsValid() && f.CanInt() {
			return f.Int(), true
		}
	}
	return 0, false
}

// mapErr turns a piv-go error into the device package's vocabulary: AuthErr
// → *device.PINError naming which (0 retries = blocked), ErrNotFound →
// device.ErrNotFound, status 69 82 → device.ErrAuthentication, card or
// reader gone → device.ErrRemoved.
func mapErr(err error, which device.Credential) error {
	if err == nil {
		return nil
	}
	var ae pivgo.AuthErr
	if errors.As(err, &ae) && which != "" {
		return &device.PINError{Which: which, Retries: ae.Retries}
	}
	if errors.Is(err, pivgo.ErrNotFound) {
		return &pivgoError{err, device.ErrNotFound}
	}
	if rc, ok := pcscCode(err); ok && removedCodes[rc] {
		return &pivgoError{err, device.ErrRemoved}
	}
	var st interface{ Status() uint16 }
	if errors.As(err, &st) {
		switch st.Status() {
		case 0x6982:
			return &pivgoError{err, device.ErrAuthentication}
		case 0x6983:
			return &pivgoError{err, device.ErrBlocked}
		case 0x6D00:
			return &pivgoError{err, device.ErrUnsupported}
		case 0x6985:
			// CHANGE REFERENCE DATA / RESET RETRY COUNTER refused a new
			// PIN or PUK that passed the length checks: firmware 5.7 PIN
			// complexity (ykman _cli/piv.py: "does not meet complexity
			// requirement" on SW.CONDITIONS_NOT_SATISFIED).
			if which == device.PIVPIN || which == device.PIVPUK {
				return &device.PINRefusedError{Which: which, Cause: err}
			}
		}
	}
	return err
}

// withYubiKey opens the reader's card with piv-go (exclusively), runs f and
// closes it. piv-go reports some failures without a type: it wraps a few
// errors with %v (e.g. SetCertificate), and a card pulled mid-command
// behind vpcd gives a successful SCardTransmit with no bytes, which piv-go
// reports as plain text. After such an untyped failure keywizard checks
// over its own connection whether the key is still in the reader, so a
// removal still matches device.ErrRemoved; error text is never inspected.
func (p *Provisioner) withYubiKey(ctx context.Context, f func(yk *pivgo.YubiKey) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// piv-go's own APDUs go into the trace too (pivgotrace_linux.go).
	untrace := tracePIVGo(p.Reader)
	yk, err := pivgo.Open(p.Reader)
	if err != nil {
		untrace()
		err = fmt.Errorf("opening the key in %q: %w", p.Reader, mapErr(err, ""))
		return p.removedOr(ctx, err)
	}
	err = f(yk)
	yk.Close()
	untrace()
	if err == nil {
		return nil
	}
	return p.removedOr(ctx, err)
}

// removedOr returns err, marked as device.ErrRemoved if the key has left
// the reader. Typed errors are returned as they are.
func (p *Provisioner) removedOr(ctx context.Context, err error) error {
	var pe *device.PINError
	if errors.Is(err, device.ErrRemoved) || errors.Is(err, device.ErrNotFound) || errors.Is(err, device.ErrAuthentication) ||
		errors.Is(err, device.ErrBlocked) || errors.Is(err, device.ErrUnsupported) || errors.As(err, &pe) {
		return err
	}
	if p.OpenCard == nil {
		return err
	}
	card, cerr := p.OpenCard(ctx, p.Reader)
	if cerr == nil {
		_, cerr = NewSession(ctx, card)
		card.Close()
	}
	// A status word means the card answered: it is there. An unknown
	// reader is a real key's reader vanishing with it.
	var se *apdu.StatusError
	if cerr != nil && !errors.As(cerr, &se) && (errors.Is(cerr, device.ErrRemoved) || errors.Is(cerr, device.ErrNotFound)) {
		return fmt.Errorf("%v: %w", err, device.ErrRemoved)
	}
	return err
}

// ChangePIN changes the PIV PIN; new must pass [ValidateMacPIN].
func (p *Provisioner) ChangePIN(ctx context.Context, old, new string) error {
	if err := ValidateMacPIN(new); err != nil {
		return err
	}
	return p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
		if err := mapErr(yk.SetPIN(old, new), device.PIVPIN); err != nil {
			return fmt.Errorf("changing the PIV PIN: %w", err)
		}
		return nil
	})
}

// ChangePUK changes the PIV PUK; new must pass [ValidatePUK].
func (p *Provisioner) ChangePUK(ctx context.Context, old, new string) error {
	if err := ValidatePUK(new); err != nil {
		return err
	}
	return p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
		if err := mapErr(yk.SetPUK(old, new), device.PIVPUK); err != nil {
			return fmt.Errorf("changing the PIV PUK: %w", err)
		}
		return nil
	})
}

// setManagementKey is the [KeySetter] through piv-go, which picks AES-192
// for a 24-byte key on firmware 5.4+ and 3DES below.
func (p *Provisioner) setManagementKey(ctx context.Context, old, new []byte) error {
	return p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
		return mapErr(yk.SetManagementKey(old, new), "")
	})
}

// SetRandomManagementKeyProtected replaces the management key with a random
// one (AES-192 on firmware 5.4+, 3DES below) stored on the key under the
// PIN, as ykman's "change-management-key --protect --generate" does, and
// writes a fresh CHUID and CCC. The current key must be the factory key or
// already stored under the PIN.
func (p *Provisioner) SetRandomManagementKeyProtected(ctx context.Context, pin string) (MgmtKeyAlgorithm, error) {
	return protectManagementKey(ctx, p.openSession, pin, true, p.setManagementKey, p.rand(), p.now())
}

// macSlots are the slots macOS pairs with (docs/yubikey-protocol.md §5).
var macSlots = []struct {
	slot pivgo.Slot
	name string
}{
	{pivgo.SlotAuthentication, "PIV Authentication"},
	{pivgo.SlotKeyManagement, "Key Management"},
}

// GenerateMacOSIdentity makes sure 9A and 9D each hold an ECC P-256 key
// generated on the key (PIN policy once, touch never, as Yubico's macOS
// setup) and a self-signed certificate for it, signed by the key itself.
// Slots that already hold such a key and keywizard's certificate for it are
// left alone; a key without its certificate gets one. The CHUID is rewritten
// when anything changed, so macOS notices the new certificates.
func (p *Provisioner) GenerateMacOSIdentity(ctx context.Context, pin string) (*Identity, error) {
	s, closeS, err := p.openSession(ctx)
	if err != nil {
		return nil, err
	}
	serial, err := s.Serial(ctx)
	if err == nil {
		err = s.VerifyPIN(ctx, pin)
	}
	var cur *currentKey
	if err == nil {
		cur, _, err = s.resolveManagementKey(ctx)
	}
	closeS()
	if err != nil {
		return nil, err
	}

	now := p.now()
	var certs [2]*x509.Certificate
	changed := false
	err = p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
		for i, ms := range macSlots {
			cn := fmt.Sprintf("keywizard %s %d", ms.name, serial)
			c, wrote, err := p.ensureSlot(yk, cur.key, pin, ms.slot, cn, now)
			if err != nil {
				return fmt.Errorf("setting up slot %s (%s): %w", ms.slot, ms.name, err)
			}
			certs[i] = c
			changed = changed || wrote
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s, closeS, err := p.openSession(ctx)
		if err != nil {
			return nil, err
		}
		defer closeS()
		if err := s.Authenticate(ctx, cur.alg, cur.key); err != nil {
			return nil, err
		}
		if err := s.writeCardIDs(ctx, p.rand(), now, false); err != nil {
			return nil, err
		}
	}
	return &Identity{Slot9A: certs[0], Slot9D: certs[1]}, nil
}

// ensureSlot returns the slot's certificate, generating what is missing.
func (p *Provisioner) ensureSlot(yk *pivgo.YubiKey, mgmKey []byte, pin string, slot pivgo.Slot, cn string, now time.Time) (*x509.Certificate, bool, error) {
	pub, err := existingKey(yk, slot)
	if err != nil {
		return nil, false, err
	}
	if pub != nil {
		cert, err := yk.Certificate(slot)
		if err == nil && cert.Subject.CommonName == cn && samePublicKey(cert.PublicKey, pub) && now.Before(cert.NotAfter) {
			return cert, false, nil
		}
		if err != nil && !errors.Is(err, pivgo.ErrNotFound) {
			// An unreadable certificate is replaced below; a vanished key is not.
			if m := mapErr(err, ""); errors.Is(m, device.ErrRemoved) {
				return nil, false, m
			}
		}
	} else {
		k, err := yk.GenerateKey(mgmKey, slot, pivgo.Key{
			Algorithm:   pivgo.AlgorithmEC256,
			PINPolicy:   pivgo.PINPolicyOnce,
			TouchPolicy: pivgo.TouchPolicyNever,
		})
		if err != nil {
			return nil, false, fmt.Errorf("generating the key: %w", mapErr(err, ""))
		}
		pub = k
	}
	priv, err := yk.PrivateKey(slot, pub, pivgo.KeyAuth{PIN: pin, PINPolicy: pivgo.PINPolicyOnce})
	if err != nil {
		return nil, false, fmt.Errorf("opening the slot's private key: %w", mapErr(err, device.PIVPIN))
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, false, fmt.Errorf("slot key of type %T cannot sign: %w", priv, device.ErrUnsupported)
	}
	serial, err := randSerial(p.rand())
	if err != nil {
		return nil, false, err
	}
	// Like ykman's generate_self_signed_certificate: subject = issuer, no key
	// usage extension (all usages allowed), SHA-256; 30 years like Yubico's
	// macOS setup (docs/yubikey-protocol.md §5).
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Minute).UTC(),
		NotAfter:     now.AddDate(certValidity, 0, 0).UTC(),
	}
	der, err := x509.CreateCertificate(p.rand(), tmpl, tmpl, pub, signer)
	if err != nil {
		// CreateCertificate checks the card's signature against pub.
		return nil, false, fmt.Errorf("signing the certificate on the key: %w", mapErr(err, device.PIVPIN))
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, false, fmt.Errorf("parsing the new certificate: %w", err)
	}
	if err := yk.SetCertificate(mgmKey, slot, cert); err != nil {
		return nil, false, fmt.Errorf("storing the certificate: %w", mapErr(err, ""))
	}
	return cert, true, nil
}

// existingKey returns the public key of a usable key already in slot: ECC
// P-256, generated on the key, PIN once, touch never. nil means generate.
// Firmware 5.3+ says so in the slot's metadata; older firmware (4.3+) in
// the key's attestation certificate (only generated keys can be attested,
// docs/yubikey-protocol.md §4.10).
func existingKey(yk *pivgo.YubiKey, slot pivgo.Slot) (crypto.PublicKey, error) {
	v := yk.Version()
	if v.Major < 5 || (v.Major == 5 && v.Minor < 3) {
		att, err := yk.Attest(slot)
		if err != nil {
			m := mapErr(err, "")
			if errors.Is(m, device.ErrNotFound) || errors.Is(m, device.ErrUnsupported) {
				return nil, nil
			}
			return nil, fmt.Errorf("attesting the slot's key: %w", m)
		}
		pin, touch, ok := attestedPolicy(att)
		if !ok || pin != pinPolicyOnce || touch != touchPolicyNever {
			return nil, nil
		}
		if pub, ok := att.PublicKey.(*ecdsa.PublicKey); ok && pub.Curve == elliptic.P256() {
			return pub, nil
		}
		return nil, nil
	}
	ki, err := yk.KeyInfo(slot)
	if err != nil {
		if m := mapErr(err, ""); errors.Is(m, device.ErrNotFound) {
			return nil, nil
		} else if errors.Is(m, device.ErrRemoved) {
			return nil, m
		}
		return nil, fmt.Errorf("reading the slot's metadata: %w", mapErr(err, ""))
	}
	if ki.Algorithm != pivgo.AlgorithmEC256 || ki.Origin != pivgo.OriginGenerated ||
		ki.PINPolicy != pivgo.PINPolicyOnce || ki.TouchPolicy != pivgo.TouchPolicyNever {
		return nil, nil
	}
	return ki.PublicKey, nil
}

// PIN and touch policy bytes (docs/yubikey-protocol.md §4.3).
const (
	pinPolicyOnce    = 0x02
	touchPolicyNever = 0x01
)

// attestedPolicy reads Yubico's policy extension 1.3.6.1.4.1.41482.3.8
// (PIN policy, touch policy) from an attestation certificate.
func attestedPolicy(c *x509.Certificate) (pin, touch byte, ok bool) {
	for _, e := range c.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}) && len(e.Value) == 2 {
			return e.Value[0], e.Value[1], true
		}
	}
	return 0, 0, false
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ea, ok1 := a.(*ecdsa.PublicKey)
	eb, ok2 := b.(*ecdsa.PublicKey)
	return ok1 && ok2 && ea.Curve == elliptic.P256() && ea.Equal(eb)
}

func randSerial(r interface{ Read([]byte) (int, error) }) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := r.Read(b); err != nil {
		return nil, fmt.Errorf("generating a certificate serial: %w", err)
	}
	b[0] &= 0x7F // positive, at most 127 bits: RFC 5280 §4.1.2.2 allows 20 octets
	b[0] |= 0x40 // and never a short (leading-zero) number
	return new(big.Int).SetBytes(b), nil
}

// Attestation reads the key's attestation certificate (slot F9, object
// 5FFF01) and has the key attest the key in slot. Verify the pair with
// piv-go's piv.Verify (Yubico roots) or a Verifier with other roots. A slot
// without a generated key matches device.ErrNotFound.
func (p *Provisioner) Attestation(ctx context.Context, slot byte) (attestation, slotCert *x509.Certificate, err error) {
	s, ok := slotFor(slot)
	if !ok {
		return nil, nil, fmt.Errorf("slot %02x cannot be attested: %w", slot, device.ErrInvalidArgument)
	}
	err = p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
		var err error
		if attestation, err = yk.AttestationCertificate(); err != nil {
			return fmt.Errorf("reading the attestation certificate: %w", mapErr(err, ""))
		}
		if slotCert, err = yk.Attest(s); err != nil {
			return fmt.Errorf("attesting slot %02x: %w", slot, mapErr(err, ""))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return attestation, slotCert, nil
}

func slotFor(b byte) (pivgo.Slot, bool) {
	switch b {
	case SlotAuthentication:
		return pivgo.SlotAuthentication, true
	case SlotSignature:
		return pivgo.SlotSignature, true
	case SlotKeyManagement:
		return pivgo.SlotKeyManagement, true
	case SlotCardAuth:
		return pivgo.SlotCardAuthentication, true
	}
	return pivgo.RetiredKeyManagementSlot(uint32(b))
}

// Reset wipes the PIV application (keys, certificates, PIN, PUK and
// management key back to factory values) of the key in the reader. confirm
// must name that key's serial number and model exactly; otherwise nothing
// is erased and the error matches device.ErrInvalidArgument. A key whose
// serial cannot be read is refused (device.ErrAmbiguous): the confirmation
// could not be checked.
func (p *Provisioner) Reset(ctx context.Context, confirm ResetConfirmation) error {
	id, err := p.identify(ctx)
	if err != nil {
		return fmt.Errorf("identifying the key to reset: %w", err)
	}
	if id.Serial == 0 {
		return fmt.Errorf("the key in %q does not report a serial number, so the reset cannot be confirmed; nothing was erased: %w", p.Reader, device.ErrAmbiguous)
	}
	if confirm != id {
		return fmt.Errorf("the confirmation names %s but the key in %q is %s; nothing was erased: %w", confirm, p.Reader, id, device.ErrInvalidArgument)
	}
	return p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
		// The card could have been swapped between the two connections.
		serial, err := yk.Serial()
		if err != nil {
			return fmt.Errorf("reading the serial number: %w", mapErr(err, ""))
		}
		if serial != confirm.Serial {
			return fmt.Errorf("the key in %q changed to serial %d; nothing was erased: %w", p.Reader, serial, device.ErrInvalidArgument)
		}
		if err := yk.Reset(); err != nil {
			return fmt.Errorf("resetting PIV: %w", mapErr(err, ""))
		}
		return nil
	})
}

// Provision is the package-level [Provision] on p.
func (p *Provisioner) Provision(ctx context.Context, prm Params) (*Result, error) {
	if err := ValidateMacPIN(prm.NewPIN); err != nil {
		return nil, err
	}
	if prm.NewPUK != "" {
		if err := ValidatePUK(prm.NewPUK); err != nil {
			return nil, err
		}
	}
	s, closeS, err := p.openSession(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Firmware: s.Version()}
	res.Serial, err = s.Serial(ctx)
	var st *device.PIVState
	if err == nil {
		st, err = s.State(ctx)
	}
	closeS()
	if err != nil {
		return nil, err
	}
	if st.PINRetries == 0 {
		return nil, fmt.Errorf("the PIV PIN is blocked; unblock it with the PUK, or reset PIV: %w", &device.PINError{Which: device.PIVPIN, Retries: 0})
	}

	// PIN: whichever of the candidates is in force becomes NewPIN.
	cands := credentialCandidates(st.DefaultPIN, prm.CurrentPIN, prm.NewPIN, DefaultPIN)
	err = p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
		_, err := tryCredentials(cands, func(c string) error { return mapErr(yk.SetPIN(c, prm.NewPIN), device.PIVPIN) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("setting the PIV PIN: %w", err)
	}

	if prm.NewPUK != "" {
		if st.PUKBlockedByAdmin || st.PUKRetries == 0 {
			return nil, fmt.Errorf("the PIV PUK is blocked, so it cannot be changed; reset PIV to set one: %w", &device.PINError{Which: device.PIVPUK, Retries: 0})
		}
		cands := credentialCandidates(st.DefaultPUK, prm.CurrentPUK, prm.NewPUK, DefaultPUK)
		err = p.withYubiKey(ctx, func(yk *pivgo.YubiKey) error {
			_, err := tryCredentials(cands, func(c string) error { return mapErr(yk.SetPUK(c, prm.NewPUK), device.PIVPUK) })
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("setting the PIV PUK: %w", err)
		}
	}

	res.MgmtKeyAlgorithm, err = protectManagementKey(ctx, p.openSession, prm.NewPIN, false, p.setManagementKey, p.rand(), p.now())
	if err != nil {
		return nil, err
	}
	id, err := p.GenerateMacOSIdentity(ctx, prm.NewPIN)
	if err != nil {
		return nil, err
	}
	res.Identity = *id

	s, closeS, err = p.openSession(ctx)
	if err != nil {
		return nil, err
	}
	defer closeS()
	if res.State, err = s.State(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

func (p *Provisioner) rand() io.Reader {
	if p.Rand != nil {
		return p.Rand
	}
	return rand.Reader
}

func (p *Provisioner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// openSession is a [SessionOpener] over OpenCard. pcscd can answer "no
// card" for a moment right after a card was inserted or another program
// (piv-go) let go of it (observed through vpcd), so a removal is believed
// only after a few tries over about a second.
func (p *Provisioner) openSession(ctx context.Context) (*Session, func(), error) {
	if p.OpenCard == nil {
		return nil, nil, fmt.Errorf("no card opener configured: %w", device.ErrInvalidArgument)
	}
	var err error
	for try := 0; try < 4; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
		}
		var card device.Card
		card, err = p.OpenCard(ctx, p.Reader)
		if err != nil {
			err = fmt.Errorf("connecting to the key in %q: %w", p.Reader, err)
			if errors.Is(err, device.ErrRemoved) {
				continue
			}
			return nil, nil, err
		}
		var s *Session
		s, err = NewSession(ctx, card)
		if err != nil {
			card.Close()
			if errors.Is(err, device.ErrRemoved) {
				continue
			}
			return nil, nil, err
		}
		s.Rand = p.Rand
		return s, func() { card.Close() }, nil
	}
	return nil, nil, err
}

// identify reads the serial number and model of the key in the reader
// over keywizard's own connection (management READ CONFIG for the model,
// device/mgmt).
func (p *Provisioner) identify(ctx context.Context) (ResetConfirmation, error) {
	if p.OpenCard == nil {
		return ResetConfirmation{}, fmt.Errorf("no card opener configured: %w", device.ErrInvalidArgument)
	}
	card, err := p.OpenCard(ctx, p.Reader)
	if err != nil {
		return ResetConfirmation{}, fmt.Errorf("connecting to the key in %q: %w", p.Reader, err)
	}
	defer card.Close()
	m, err := mgmt.Open(ctx, card)
	if err != nil {
		return ResetConfirmation{}, err
	}
	info, err := m.ReadInfo(ctx)
	if err != nil {
		return ResetConfirmation{}, err
	}
	return ResetConfirmation{Serial: info.Serial, Model: info.Model()}, nil
}

// GenuineAttestation proves the key in the reader genuine without changing
// its set-up (Session.GenuineAttestation, docs/genuine-key.md), over
// keywizard's own connection.
func (p *Provisioner) GenuineAttestation(ctx context.Context, generate bool) (*GenuineProof, error) {
	s, closeS, err := p.openSession(ctx)
	if err != nil {
		return nil, err
	}
	defer closeS()
	proof, err := s.GenuineAttestation(ctx, generate)
	if err != nil {
		return nil, p.removedOr(ctx, err)
	}
	return proof, nil
}
