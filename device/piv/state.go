package piv

import (
	"context"
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
