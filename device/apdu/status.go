package apdu

import (
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// Status words callers test for (ISO 7816-4 §5.1.3, Yubico docs).
const (
	SWSuccess              uint16 = 0x9000
	SWWrongLength          uint16 = 0x6700
	SWSecurityNotSatisfied uint16 = 0x6982
	SWAuthBlocked          uint16 = 0x6983
	SWConditionsNotMet     uint16 = 0x6985
	SWCommandNotAllowed    uint16 = 0x6986
	SWIncorrectData        uint16 = 0x6A80
	SWFuncNotSupported     uint16 = 0x6A81
	SWFileNotFound         uint16 = 0x6A82
	SWReferenceNotFound    uint16 = 0x6A88
	SWWrongP1P2            uint16 = 0x6B00
	SWInsNotSupported      uint16 = 0x6D00
	SWClaNotSupported      uint16 = 0x6E00
	SWNoPreciseDiagnosis   uint16 = 0x6F00
)

// StatusError is a non-success status word. It unwraps to the device
// package's typed errors so callers use errors.Is / errors.As:
//
//	63 Cx        → *device.PINError{Retries: x} (wrong PIN; 0 = blocked)
//	69 83        → device.ErrBlocked
//	6A 82, 6A 88 → device.ErrNotFound
//	69 82        → device.ErrAuthentication (security status not satisfied)
//	6D 00, 6E 00 → device.ErrUnsupported
//
// Firmware before 1.0.4 reported retries as 63 0x; piv-go accepts both
// (https://github.com/go-piv/piv-go/issues/37), and so do we.
type StatusError struct {
	SW uint16
}

func (e *StatusError) Error() string {
	switch {
	case e.SW&0xFFF0 == 0x63C0, e.SW&0xFFF0 == 0x6300 && e.SW != 0x6300:
		return fmt.Sprintf("smart card status %04x: wrong PIN, %d tries left", e.SW, e.SW&0x0F)
	}
	if d, ok := swText[e.SW]; ok {
		return fmt.Sprintf("smart card status %04x: %s", e.SW, d)
	}
	return fmt.Sprintf("smart card status %04x", e.SW)
}

var swText = map[uint16]string{
	SWWrongLength:          "wrong length",
	SWSecurityNotSatisfied: "security status not satisfied",
	SWAuthBlocked:          "authentication method blocked",
	SWConditionsNotMet:     "conditions of use not satisfied",
	SWCommandNotAllowed:    "command not allowed",
	SWIncorrectData:        "incorrect data",
	SWFuncNotSupported:     "function not supported",
	SWFileNotFound:         "file or application not found",
	SWReferenceNotFound:    "referenced data not found",
	SWWrongP1P2:            "wrong parameters P1-P2",
	SWInsNotSupported:      "instruction not supported",
	SWClaNotSupported:      "class not supported",
	SWNoPreciseDiagnosis:   "no precise diagnosis",
}

// Retries returns the retry count carried by 63 Cx (or legacy 63 0x).
func (e *StatusError) Retries() (int, bool) {
	if e.SW&0xFFF0 == 0x63C0 || (e.SW&0xFFF0 == 0x6300 && e.SW != 0x6300) {
		return int(e.SW & 0x0F), true
	}
	return 0, false
}

// Unwrap maps the status word to the device package's errors.
func (e *StatusError) Unwrap() error {
	if n, ok := e.Retries(); ok {
		return &device.PINError{Retries: n}
	}
	switch e.SW {
	case SWAuthBlocked:
		return device.ErrBlocked
	case SWFileNotFound, SWReferenceNotFound:
		return device.ErrNotFound
	case SWSecurityNotSatisfied:
		return device.ErrAuthentication
	case SWInsNotSupported, SWClaNotSupported, SWFuncNotSupported:
		return device.ErrUnsupported
	}
	return nil
}
