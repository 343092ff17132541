package device

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Callers branch on these with errors.Is; the messages are
// written for people and say what to do next where there is something to do.
var (
	// ErrNotFound: the key, object, credential or reader asked for is not there.
	ErrNotFound = errors.New("not found")
	// ErrBlocked: a PIN or PUK has no retries left.
	ErrBlocked = errors.New("blocked: no retries left")
	// ErrTouchRequired: the key waits for, or timed out waiting for, a touch.
	ErrTouchRequired = errors.New("touch the key when it blinks")
	// ErrRemoved: the key was unplugged (or rebooted away) during an operation.
	ErrRemoved = errors.New("the key was removed; plug it back in and try again")
	// ErrLocked: the key's configuration is protected by a lock code.
	ErrLocked = errors.New("the key's configuration is locked with a lock code")
	// ErrAmbiguous: more than one key matches and the operation needs exactly one.
	ErrAmbiguous = errors.New("more than one key matches; choose one by serial")
	// ErrUnsupported: the key, firmware or build cannot do this.
	ErrUnsupported = errors.New("not supported")
	// ErrInvalidResponse: the key answered something that does not parse.
	ErrInvalidResponse = errors.New("malformed response from the key")
	// ErrPINPolicy: a new PIN does not meet the key's rules.
	ErrPINPolicy = errors.New("the PIN does not meet the key's rules")
	// ErrPINNotSet: the FIDO2 PIN has not been set yet.
	ErrPINNotSet = errors.New("no FIDO2 PIN is set on this key")
	// ErrWrongPIN matches every *PINError.
	ErrWrongPIN = errors.New("wrong PIN")
	// ErrAuthentication: management-key authentication failed.
	ErrAuthentication = errors.New("management key authentication failed")
	// ErrInvalidArgument: the caller passed something the operation cannot use.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInUse: another program holds the key's smart-card interface for
	// itself (PC/SC SCARD_E_SHARING_VIOLATION): an ssh or GPG agent, or
	// possibly a Mac's own smart-card token driver (docs/pcsc-platforms.md).
	ErrInUse = errors.New("the key is in use by another program; close it and try again")
)

// Credential names which secret a PINError is about.
type Credential string

// The credentials a PINError can be about.
const (
	PIVPIN   Credential = "PIV PIN"
	PIVPUK   Credential = "PIV PUK"
	FIDO2PIN Credential = "FIDO2 PIN"
	LockCode Credential = "configuration lock code"
)

// PINError reports a wrong PIN, PUK or lock code together with the retries
// left, so a UI can say "2 tries left" without parsing text. It matches
// ErrWrongPIN, and ErrBlocked when Retries is 0.
type PINError struct {
	Which   Credential
	Retries int // -1 when the key does not say
}

func (e *PINError) Error() string {
	which := string(e.Which)
	if which == "" {
		which = "PIN"
	}
	switch {
	case e.Retries == 0:
		return "wrong " + which + "; it is now blocked"
	case e.Retries == 1:
		return "wrong " + which + "; 1 try left before it is blocked"
	case e.Retries > 1:
		return "wrong " + which + "; " + strconv.Itoa(e.Retries) + " tries left"
	}
	return "wrong " + which
}

// Is makes errors.Is(err, ErrWrongPIN) hold for every PINError and
// errors.Is(err, ErrBlocked) for one with no retries left.
func (e *PINError) Is(target error) bool {
	return target == ErrWrongPIN || (target == ErrBlocked && e.Retries == 0)
}

// AmbiguousError lists the serials that matched when one key was required.
type AmbiguousError struct {
	Serials []uint32
}

func (e *AmbiguousError) Error() string {
	s := make([]string, len(e.Serials))
	for i, n := range e.Serials {
		s[i] = strconv.FormatUint(uint64(n), 10)
	}
	return "more than one key matches (serials " + strings.Join(s, ", ") + "); choose one by serial"
}

// Is makes AmbiguousError match ErrAmbiguous.
func (e *AmbiguousError) Is(target error) bool { return target == ErrAmbiguous }

// KeyNotFoundError says which serial was asked for and which were present.
type KeyNotFoundError struct {
	Serial  uint32
	Present []uint32
}

func (e *KeyNotFoundError) Error() string {
	if len(e.Present) == 0 {
		return fmt.Sprintf("no key with serial %d is connected (no keys found); plug it in and try again", e.Serial)
	}
	s := make([]string, len(e.Present))
	for i, n := range e.Present {
		s[i] = strconv.FormatUint(uint64(n), 10)
	}
	return fmt.Sprintf("no key with serial %d is connected (connected: %s)", e.Serial, strings.Join(s, ", "))
}

// Is makes KeyNotFoundError match ErrNotFound.
func (e *KeyNotFoundError) Is(target error) bool { return target == ErrNotFound }
