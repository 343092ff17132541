package piv

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// ReadState reads the PIV application's state from card with keywizard's
// own APDUs, without changing anything and without spending PIN tries:
//
//   - firmware 5.3+: GET METADATA for the PIN (80), PUK (81) and management
//     key (9B): retries total/remaining, whether each is still the factory
//     value, the management key algorithm;
//   - older firmware: an empty VERIFY for the PIN retries (as ykman does);
//     PUK retries and the default flags are then unknown (-1 and nil), and
//     the algorithm is TDES, the only one before 5.4;
//   - ADMIN DATA 5FFF00 for "management key stored, PIN-protected" (flag 02)
//     and "PUK blocked" (flag 01), as ykman piv info reads them.
//
// A card without a PIV application matches device.ErrNotFound.
func ReadState(ctx context.Context, card device.Card) (*device.PIVState, error) {
	s, err := NewSession(ctx, card)
	if err != nil {
		return nil, err
	}
	return s.State(ctx)
}

// State is [ReadState] on an open session.
func (s *Session) State(ctx context.Context) (*device.PIVState, error) {
	st := &device.PIVState{PINRetries: -1, PUKRetries: -1}
	if s.HasMetadata() {
		pin, err := s.Metadata(ctx, SlotPIN)
		if err != nil {
			return nil, err
		}
		puk, err := s.Metadata(ctx, SlotPUK)
		if err != nil {
			return nil, err
		}
		mgm, err := s.Metadata(ctx, SlotCardManagement)
		if err != nil {
			return nil, err
		}
		if !pin.HasRetries || !puk.HasRetries || !mgm.HasAlgorithm {
			return nil, fmt.Errorf("PIN, PUK or management key metadata incomplete: %w", device.ErrInvalidResponse)
		}
		st.PINRetries, st.PINRetriesTotal = pin.RetriesRemaining, pin.RetriesTotal
		st.PUKRetries, st.PUKRetriesTotal = puk.RetriesRemaining, puk.RetriesTotal
		st.DefaultPIN = flag(pin)
		st.DefaultPUK = flag(puk)
		st.DefaultMgmtKey = flag(mgm)
		st.MgmtKeyAlgorithm = MgmtKeyAlgorithm(mgm.Algorithm).String()
	} else {
		n, err := s.PINRetries(ctx)
		if err != nil {
			return nil, err
		}
		st.PINRetries = n
		st.MgmtKeyAlgorithm = MgmtTDES.String()
	}
	admin, err := s.AdminData(ctx)
	if err != nil {
		return nil, err
	}
	st.MgmtKeyProtected = admin.MgmtKeyProtected()
	st.PUKBlockedByAdmin = admin.PUKBlocked()
	return st, nil
}

func flag(m *Metadata) *bool {
	if !m.HasIsDefault {
		return nil
	}
	v := m.IsDefault
	return &v
}

// certObject is a key slot and the data object holding its certificate.
type certObject struct {
	slot byte
	id   uint32
}

// certificateObjects lists the PIV key slots with the data objects holding
// their certificates (NIST SP 800-73-4 part 1 appendix A; the retired
// key-management slots 82–95 use objects 5FC10D–5FC120), in slot order.
func certificateObjects() []certObject {
	out := []certObject{
		{SlotAuthentication, ObjectCert9A},
		{SlotSignature, 0x5FC10A},
		{SlotKeyManagement, ObjectCert9D},
		{SlotCardAuth, 0x5FC101},
	}
	for i := uint32(0); i < 20; i++ {
		out = append(out, certObject{byte(0x82 + i), 0x5FC10D + i})
	}
	return out
}

// CertificateSlots lists the key slots that hold a certificate (9A, 9C, 9D,
// 9E, 82–95), read with GET DATA, which needs no PIN. It is what a person
// is shown before a PIV reset erases them; a slot with a key but no
// certificate is not listed, because only firmware 5.3+ can tell
// (GET METADATA) and the reset erases keys anyway.
func (s *Session) CertificateSlots(ctx context.Context) ([]byte, error) {
	var slots []byte
	for _, o := range certificateObjects() {
		b, err := s.GetObject(ctx, o.id)
		if errors.Is(err, device.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("looking for the certificate of slot %02x: %w", o.slot, err)
		}
		if len(b) > 0 {
			slots = append(slots, o.slot)
		}
	}
	return slots, nil
}
