package simfido

import (
	"context"

	"github.com/keywizard/keywizard/device/apdu"
)

// AID is the FIDO application's AID for the ISO 7816 transports (NFC, and
// CCID on firmware that offers it): CTAP 2.1 §11.3.1; python-fido2
// pcsc.py AID_FIDO. The simulator's own copy, not device/aid's: it is
// checked against ykman and python-fido2 by itself (see device/sim's
// apps.go).
var AID = []byte{0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01}

// SelectResponse is the data a SELECT of [AID] answers (with 90 00): an
// authenticator that also speaks U2F answers "U2F_V2" (CTAP 2.1 §11.3.3),
// as YubiKeys do.
func SelectResponse() []byte { return []byte("U2F_V2") }

// ISO 7816 instructions of the FIDO application (CTAP 2.1 §11.3.4-5;
// FIDO U2F NFC protocol for VERSION).
const (
	insNFCCTAPMsg   = 0x10 // NFCCTAP_MSG, CLA 80
	insNFCCTAPGetRe = 0x11 // NFCCTAP_GETRESPONSE (keep-alive polling)
	insU2FVersion   = 0x03
)

// HandleAPDU answers one command to the selected FIDO application, after
// the card layer has done SELECT, command chaining (CLA bit 0x10) and
// GET RESPONSE. NFCCTAP_MSG (80 10 80|00 00 <CTAP message>) carries CTAP2:
// its response data is the CTAP response with 90 00. The error is non-nil
// only when the key can give no answer (removed, ctx ended).
//
// Note for a card layer: CTAP uses the proprietary class 80 (90 when
// chained), which it must pass through to this handler.
func (a *Authenticator) HandleAPDU(ctx context.Context, cmd apdu.Command) (data []byte, sw uint16, err error) {
	switch {
	case cmd.CLA&^0x10 == 0x80 && cmd.INS == insNFCCTAPMsg:
		resp, err := a.HandleCTAP(ctx, cmd.Data)
		if err != nil {
			return nil, 0, err
		}
		return resp, apdu.SWSuccess, nil
	case cmd.CLA&^0x10 == 0x80 && cmd.INS == insNFCCTAPGetRe:
		// The simulator answers every message at once and never sends
		// keep-alive (91 00), so there is nothing to poll.
		return nil, apdu.SWConditionsNotMet, nil
	case cmd.CLA == 0x00 && cmd.INS == insU2FVersion:
		return []byte("U2F_V2"), apdu.SWSuccess, nil
	}
	// U2F register/authenticate are not simulated (no key pairs).
	return nil, apdu.SWInsNotSupported, nil
}
