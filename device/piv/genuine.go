package piv

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// PIV instructions for the genuine-key proof (docs/yubikey-protocol.md §4.6
// and §4.10; yubikey-manager yubikit/piv.py generate_key and attest_key).
const (
	insGenerate = 0x47
	insAttest   = 0xF9
)

// Retired key-management slots, 82 to 95 (docs/yubikey-protocol.md §4.3).
const (
	SlotRetiredFirst byte = 0x82
	SlotRetiredLast  byte = 0x95
)

// GenuineProof is a PIV attestation that proves the key genuine: the
// device's attestation certificate (F9) and the certificate it issued for
// a key generated on the key in Slot.
type GenuineProof struct {
	Slot        byte
	Attestation *x509.Certificate
	SlotCert    *x509.Certificate
	// Generated is true when keywizard generated the key in Slot for this
	// proof (a free retired slot); false when a key already generated on
	// the key was attested.
	Generated bool
}

// ErrNoFreeSlot says every retired slot holds a key or a certificate, and
// no slot holds a key generated on the key, so nothing can be attested
// without overwriting something.
var ErrNoFreeSlot = errors.New("no free retired PIV slot")

// ManagementKeyNotDefaultError says that making a key to attest needs the
// PIV management key, which is not the factory one; keywizard does not ask
// for a management key, so it leaves the key as it is.
type ManagementKeyNotDefaultError struct{}

func (*ManagementKeyNotDefaultError) Error() string {
	return "the key's PIV management key is not the factory one, and no key generated on the key is there to attest"
}

// Is makes it match device.ErrAuthentication: the management key is what
// is missing.
func (*ManagementKeyNotDefaultError) Is(target error) bool { return target == device.ErrAuthentication }

// genuineCandidates are the slots whose key, if generated on the key, is
// attested as it is: the four standard slots first (the macOS login key in
// 9A, docs/services.md §2), then the retired slots from 95 down, the order
// in which keywizard fills them (docs/genuine-key.md).
func genuineCandidates() []byte {
	out := []byte{SlotAuthentication, SlotSignature, SlotKeyManagement, SlotCardAuth}
	for s := SlotRetiredLast; s >= SlotRetiredFirst; s-- {
		out = append(out, s)
	}
	return out
}

// GenuineAttestation proves the key genuine with a PIV attestation without
// changing its set-up (docs/genuine-key.md):
//
//  1. a key already generated on the key in any slot is attested as it is
//     (firmware 5.3+ finds it with GET METADATA; older firmware by asking
//     each slot for an attestation, which only a generated key has);
//  2. else, when generate is set, a new ECC P-256 key is generated in the
//     highest free retired slot (no key per its metadata and no
//     certificate object), authenticated with the factory management key,
//     and attested. Slots 9A–9E, the PIN, the PUK and the management key
//     are never changed; nothing is overwritten.
//
// Without such a key and without generate the error matches
// device.ErrNotFound. A management key that is not the factory one is a
// *ManagementKeyNotDefaultError; no free slot is ErrNoFreeSlot; firmware
// before 5.3 (which cannot tell a free slot from one with an imported key)
// or before 4.3 (no attestation) matches device.ErrUnsupported.
func (s *Session) GenuineAttestation(ctx context.Context, generate bool) (*GenuineProof, error) {
	free := byte(0)
	for _, slot := range genuineCandidates() {
		if !s.HasMetadata() {
			p, err := s.attestSlot(ctx, slot)
			if err == nil {
				return p, nil
			}
			if errors.Is(err, device.ErrUnsupported) {
				return nil, err
			}
			if !errors.Is(err, device.ErrNotFound) {
				return nil, err
			}
			continue
		}
		m, err := s.Metadata(ctx, slot)
		switch {
		case errors.Is(err, device.ErrNotFound):
			if slot >= SlotRetiredFirst && slot <= SlotRetiredLast && free == 0 {
				has, err := s.hasCertificate(ctx, slot)
				if err != nil {
					return nil, err
				}
				if !has {
					free = slot
				}
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("reading slot %02x: %w", slot, err)
		}
		if m.Origin == OriginGenerated {
			return s.attestSlot(ctx, slot)
		}
	}
	if !generate {
		return nil, fmt.Errorf("no key generated on the key to attest: %w", device.ErrNotFound)
	}
	if !s.HasMetadata() {
		return nil, fmt.Errorf("firmware %s cannot say whether a retired slot is free (it needs 5.3), so keywizard does not generate a key there: %w", s.version, device.ErrUnsupported)
	}
	if free == 0 {
		return nil, fmt.Errorf("slots %02x–%02x: %w", SlotRetiredFirst, SlotRetiredLast, ErrNoFreeSlot)
	}
	mk, err := s.Metadata(ctx, SlotCardManagement)
	if err != nil {
		return nil, fmt.Errorf("reading the management key's metadata: %w", err)
	}
	if !mk.HasIsDefault || !mk.IsDefault || !mk.HasAlgorithm {
		return nil, &ManagementKeyNotDefaultError{}
	}
	// The factory key is used as it is and left as it was: changing it
	// would change the person's set-up (docs/genuine-key.md).
	if err := s.Authenticate(ctx, MgmtKeyAlgorithm(mk.Algorithm), DefaultManagementKey); err != nil {
		return nil, err
	}
	if err := s.generateP256(ctx, free); err != nil {
		return nil, err
	}
	p, err := s.attestSlot(ctx, free)
	if err != nil {
		return nil, err
	}
	p.Generated = true
	return p, nil
}

// hasCertificate reports whether slot's certificate object holds anything.
func (s *Session) hasCertificate(ctx context.Context, slot byte) (bool, error) {
	for _, o := range certificateObjects() {
		if o.slot != slot {
			continue
		}
		b, err := s.GetObject(ctx, o.id)
		if errors.Is(err, device.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("looking for the certificate of slot %02x: %w", slot, err)
		}
		return len(b) > 0, nil
	}
	return false, nil
}

// generateP256 is GENERATE ASYMMETRIC KEY PAIR (INS 47) for ECC P-256 with
// PIN policy always and touch policy never: the key exists to be attested
// and is never used, so using it needs the PIN each time
// (docs/yubikey-protocol.md §4.6; yubikit/piv.py generate_key).
func (s *Session) generateP256(ctx context.Context, slot byte) error {
	var tmpl []byte
	tmpl = tlv.Append(tmpl, 0x80, []byte{0x11}) // ECC P-256
	tmpl = tlv.Append(tmpl, 0xAA, []byte{0x03}) // PIN policy always
	tmpl = tlv.Append(tmpl, 0xAB, []byte{0x01}) // touch policy never
	b, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insGenerate, P2: slot, Data: tlv.Encode(0xAC, tmpl)})
	if err != nil {
		return fmt.Errorf("generating a key in slot %02x: %w", slot, err)
	}
	outer, _, err := tlv.Next(b)
	if err != nil || outer.Tag != 0x7F49 {
		return fmt.Errorf("the new key in slot %02x: answer is not a public key: %w", slot, device.ErrInvalidResponse)
	}
	return nil
}

// attestSlot reads the F9 certificate (object 5FFF01) and has the key
// attest slot (INS F9). An empty slot, or one with an imported key (6A80
// on YubiKeys, as piv-go's Attest reads it), matches device.ErrNotFound.
func (s *Session) attestSlot(ctx context.Context, slot byte) (*GenuineProof, error) {
	der, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insAttest, P1: slot})
	var se *apdu.StatusError
	if errors.As(err, &se) && se.SW == apdu.SWIncorrectData {
		return nil, fmt.Errorf("slot %02x holds no key generated on the key: %w", slot, device.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("attesting slot %02x: %w", slot, err)
	}
	if v, ok, _ := tlv.Find(der, 0x70); ok && len(der) > 0 && der[0] == 0x70 {
		der = v // the 70-wrapped form piv-go's ykAttest also accepts (§4.10)
	}
	slotCert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("the attestation of slot %02x does not parse: %w", slot, device.ErrInvalidResponse)
	}
	obj, err := s.GetObject(ctx, ObjectAttestCert)
	if err != nil {
		return nil, fmt.Errorf("reading the attestation certificate: %w", err)
	}
	certDER, ok, err := tlv.Find(obj, 0x70)
	if err != nil || !ok {
		return nil, fmt.Errorf("the attestation certificate object has no certificate: %w", device.ErrInvalidResponse)
	}
	att, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("the attestation certificate does not parse: %w", device.ErrInvalidResponse)
	}
	return &GenuineProof{Slot: slot, Attestation: att, SlotCert: slotCert}, nil
}
