package fido

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/keywizard/keywizard/device"
)

// ResetWindow is how long after being plugged in a YubiKey accepts
// authenticatorReset. CTAP 2.1 §6.6 lets authenticators allow up to 10
// seconds; YubiKeys allow 5 (ykman 4.0.9 cli/fido.py: "Reset must be
// triggered within 5 seconds after the YubiKey is inserted"; go-libfido2's
// Device.Reset doc says the same), so that is what users are told.
const ResetWindow = 5 * time.Second

// ErrResetNotAllowed is returned by [Client.Reset] when the key refuses a
// reset because it was not just plugged in.
var ErrResetNotAllowed = errors.New("the key allows a FIDO reset only in the first 5 seconds after it is plugged in: unplug and re-insert the key, then reset within 5 seconds and touch it when it blinks")

// PowerCycleError is CTAP2_ERR_PIN_AUTH_BLOCKED: three wrong PINs in a row
// since the key was powered up. The PIN is not blocked for good, but the key
// refuses every PIN until it is unplugged and plugged back in (CTAP 2.1
// §6.5.5.5). It matches device.ErrBlocked; errors.As tells it apart from a
// permanently blocked PIN (a *device.PINError with 0 retries).
type PowerCycleError struct {
	// Retries is what is left once the key is replugged; -1 when unknown.
	Retries int
}

func (e *PowerCycleError) Error() string {
	s := "too many wrong PINs since the key was plugged in: unplug it and plug it back in, then try again"
	switch {
	case e.Retries == 1:
		s += " (1 try left before the FIDO2 PIN is blocked)"
	case e.Retries > 1:
		s += " (" + strconv.Itoa(e.Retries) + " tries left before the FIDO2 PIN is blocked)"
	}
	return s
}

// Is makes PowerCycleError match device.ErrBlocked.
func (e *PowerCycleError) Is(target error) bool { return target == device.ErrBlocked }

// PINPolicyError says which rule a new PIN breaks, found before anything
// was sent. It is device.PINPolicyError, the one PIN rule's error; it
// matches device.ErrPINPolicy and never carries the PIN.
type PINPolicyError = device.PINPolicyError

// PINRetries is the tries left once the key is replugged (-1 when unknown),
// for callers that must not import this package: the window finds it with
// errors.As on an interface with this method.
func (e *PowerCycleError) PINRetries() int { return e.Retries }

// statusError is a CTAP status interpreted: it reads as its meaning, and
// unwraps both to that meaning (device.ErrX, *device.PINError, ...) and to
// the raw *CTAPError for logs and diagnostics.
type statusError struct {
	meaning error
	status  *CTAPError
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%v (CTAP status 0x%02x)", e.meaning, e.status.Code)
}

func (e *statusError) Unwrap() []error { return []error{e.meaning, e.status} }

// meaning is the one table from CTAP status to keywizard's errors (CTAP 2.1
// §8.2 names the codes). retries is the FIDO2 PIN retry count read after
// the failure (-1 if it could not be read); it only matters for the PIN
// codes. A nil result means the code has no specific meaning here.
func meaning(code byte, retries int) error {
	switch code {
	case CTAPPINInvalid:
		// The retry count is what the UI must show: "3 tries left".
		return &device.PINError{Which: device.FIDO2PIN, Retries: retries}
	case CTAPPINBlocked:
		return &device.PINError{Which: device.FIDO2PIN, Retries: 0}
	case CTAPPINAuthBlocked:
		return &PowerCycleError{Retries: retries}
	case CTAPPINNotSet:
		return device.ErrPINNotSet
	case CTAPPUATRequired:
		// A YubiKey asks for a PIN token when the operation needs the PIN
		// and none is set: set a PIN first.
		return device.ErrPINNotSet
	case CTAPPINPolicyViolation:
		return device.ErrPINPolicy
	case CTAPUserActionTimeout, CTAPActionTimeout, CTAPUPRequired:
		return device.ErrTouchRequired
	case CTAPNoCredentials:
		return device.ErrNotFound
	case CTAPInvalidCommand, CTAPUnsupportedOption:
		return device.ErrUnsupported
	case CTAPKeepaliveCancel:
		return context.Canceled
	}
	return nil
}

// needsRetries reports whether meaning uses the retry count for code.
func needsRetries(code byte) bool {
	return code == CTAPPINInvalid || code == CTAPPINAuthBlocked
}

// interpret turns a CTAP status into its meaning; other errors pass
// through unchanged (device.ErrRemoved from the transport, context errors).
func interpret(err error, retries int) error {
	var ce *CTAPError
	if !errors.As(err, &ce) {
		return err
	}
	m := meaning(ce.Code, retries)
	if m == nil {
		return err
	}
	return &statusError{meaning: m, status: ce}
}

// ctapCode returns the CTAP status in err, if any.
func ctapCode(err error) (byte, bool) {
	var ce *CTAPError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}
