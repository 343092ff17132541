//go:build cgo

package libfido2

import (
	"errors"
	"fmt"

	libfido2 "github.com/keys-pub/go-libfido2"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// The conversions below are pure: they touch no device, so they are
// table-tested here without hardware.

// sentinelCodes is the one table from go-libfido2's sentinel errors to the
// CTAP status each stands for (libfido2 fido/err.h, CTAP 2.1 §8.2).
// go-libfido2 turns FIDO_ERR_* codes it has no sentinel for (notably
// PIN_BLOCKED 0x32, USER_ACTION_TIMEOUT 0x2F, KEY_STORE_FULL 0x28) into
// libfido2.Error{Code}, handled in toFIDOError.
var sentinelCodes = []struct {
	err  error
	code byte
}{
	{libfido2.ErrInvalidCommand, fido.CTAPInvalidCommand},
	{libfido2.ErrInvalidLength, fido.CTAPInvalidLength},
	{libfido2.ErrMissingParameter, 0x14},  // CTAP2_ERR_MISSING_PARAMETER
	{libfido2.ErrInvalidCredential, 0x22}, // CTAP2_ERR_INVALID_CREDENTIAL
	{libfido2.ErrOperationDenied, fido.CTAPOperationDenied},
	{libfido2.ErrUnsupportedOption, fido.CTAPUnsupportedOption},
	{libfido2.ErrInvalidOption, 0x2C}, // CTAP2_ERR_INVALID_OPTION
	{libfido2.ErrKeepaliveCancel, fido.CTAPKeepaliveCancel},
	{libfido2.ErrNoCredentials, fido.CTAPNoCredentials},
	{libfido2.ErrNotAllowed, fido.CTAPNotAllowed},
	{libfido2.ErrPinInvalid, fido.CTAPPINInvalid},
	{libfido2.ErrPinAuthBlocked, fido.CTAPPINAuthBlocked},
	{libfido2.ErrPinNotSet, fido.CTAPPINNotSet},
	{libfido2.ErrPinRequired, fido.CTAPPUATRequired},
	{libfido2.ErrPinPolicyViolation, fido.CTAPPINPolicyViolation},
	{libfido2.ErrActionTimeout, fido.CTAPActionTimeout},
	{libfido2.ErrUPRequired, fido.CTAPUPRequired},
	// FIDO_ERR_USER_PRESENCE_REQUIRED (-8) is libfido2's own "the
	// operation needs a touch"; it means what UP_REQUIRED means.
	{libfido2.ErrUserPresenceRequired, fido.CTAPUPRequired},
	{libfido2.ErrOther, 0x7F}, // CTAP1_ERR_OTHER
}

// libfido2's internal (negative) codes that have no sentinel in
// go-libfido2 (fido/err.h).
const (
	fidoErrNotFound = -10
)

// toFIDOError converts an error from go-libfido2: a CTAP status becomes a
// *fido.CTAPError; a broken transfer (FIDO_ERR_TX/RX) means the device went
// away, device.ErrRemoved; garbage from the device is
// device.ErrInvalidResponse. The go-libfido2 error stays in the chain for
// logs. Its text never contains a PIN (go-libfido2 wraps with fixed
// phrases such as "failed to set pin").
func toFIDOError(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinelCodes {
		if errors.Is(err, s.err) {
			return fmt.Errorf("%w (libfido2: %v)", &fido.CTAPError{Code: s.code}, err)
		}
	}
	switch {
	case errors.Is(err, libfido2.ErrTX), errors.Is(err, libfido2.ErrRX):
		return fmt.Errorf("talking to the FIDO device: %w (libfido2: %v)", device.ErrRemoved, err)
	case errors.Is(err, libfido2.ErrRXNotCBOR), errors.Is(err, libfido2.ErrRXInvalidCBOR):
		return fmt.Errorf("%w (libfido2: %v)", device.ErrInvalidResponse, err)
	case errors.Is(err, libfido2.ErrNotFIDO2):
		return fmt.Errorf("the device speaks U2F only, not FIDO2: %w", device.ErrUnsupported)
	}
	var le libfido2.Error
	if errors.As(err, &le) {
		switch {
		case le.Code > 0 && le.Code <= 0xFF:
			return fmt.Errorf("%w (libfido2: %v)", &fido.CTAPError{Code: byte(le.Code)}, err)
		case le.Code == fidoErrNotFound:
			return fmt.Errorf("%w (libfido2: %v)", device.ErrNotFound, err)
		}
	}
	return fmt.Errorf("libfido2: %w", err)
}

// rawInfo converts go-libfido2's getInfo. Option values are "true"/"false"
// (libfido2.True/False); an AAGUID that is not 16 bytes is a malformed
// response. The fields go-libfido2 lacks are left absent here and
// filled by withCBORInfo.
func rawInfo(di *libfido2.DeviceInfo) (*fido.RawInfo, error) {
	if di == nil {
		return nil, fmt.Errorf("no getInfo response: %w", device.ErrInvalidResponse)
	}
	info := &fido.RawInfo{
		Versions:                         append([]string(nil), di.Versions...),
		Extensions:                       append([]string(nil), di.Extensions...),
		Options:                          make(map[string]bool, len(di.Options)),
		RemainingDiscoverableCredentials: -1,
	}
	if len(di.AAGUID) != 16 {
		return nil, fmt.Errorf("getInfo AAGUID has %d bytes, not 16: %w", len(di.AAGUID), device.ErrInvalidResponse)
	}
	copy(info.AAGUID[:], di.AAGUID)
	for _, o := range di.Options {
		info.Options[o.Name] = o.Value == libfido2.True
	}
	return info, nil
}

// withCBORInfo adds the fields read through libfido2's own accessors
// (cborinfo.go) to what rawInfo converted.
func withCBORInfo(info *fido.RawInfo, ci cborInfo) {
	info.MinPINLength = ci.minPINLength
	info.ForcePINChange = ci.forcePINChange
	info.FirmwareVersion = ci.firmware
	info.RemainingDiscoverableCredentials = ci.rkRemaining
}

// location converts a manifest entry. go-libfido2 reports the USB IDs as
// int16; the bits are the uint16 IDs (Yubico's 0x1050 is positive anyway).
func location(l *libfido2.DeviceLocation) fido.Location {
	return fido.Location{
		Path:         l.Path,
		VendorID:     uint16(l.VendorID),
		ProductID:    uint16(l.ProductID),
		Manufacturer: l.Manufacturer,
		Product:      l.Product,
	}
}

// relyingParties and credentials convert enumerations, dropping the
// credential ID and user handle (fido.Credential does not carry them).
func relyingParties(in []*libfido2.RelyingParty) []fido.RelyingParty {
	out := make([]fido.RelyingParty, 0, len(in))
	for _, rp := range in {
		if rp != nil {
			out = append(out, fido.RelyingParty{ID: rp.ID, Name: rp.Name})
		}
	}
	return out
}

func credentials(rpID string, in []*libfido2.Credential) []fido.Credential {
	out := make([]fido.Credential, 0, len(in))
	for _, c := range in {
		if c != nil {
			out = append(out, fido.Credential{RPID: rpID, UserName: c.User.Name, UserDisplayName: c.User.DisplayName})
		}
	}
	return out
}
