package device

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// LengthUnit says how a key counts a PIN's length.
type LengthUnit string

// Length units: Unicode code points (CTAP 2.1 §6.5.1; PIV on a key with PIN
// complexity, ykman _cli/piv.py _validate_pin_length) or UTF-8 bytes (PIV
// otherwise).
const (
	Characters LengthUnit = "characters"
	Bytes      LengthUnit = "bytes"
)

// FIDO2 PIN bounds from CTAP 2.1 §6.5.1: at least 4 code points unless the
// authenticator's getInfo raises minPINLength, at most 63 bytes of UTF-8.
const (
	FIDO2DefaultMinPIN = 4
	FIDO2MaxPINBytes   = 63
)

// PINRule is what a key accepts as a new PIN, PUK or FIDO2 PIN: the one rule
// the wizard states before asking and checks before sending, and that
// explains a refusal. Build it with [FIDO2PINRule] or [PIVPINRule].
type PINRule struct {
	Which Credential
	// MinLen and MaxLen count in Unit. MaxBytes, when not zero, also caps
	// the UTF-8 length (FIDO2's 63 bytes).
	MinLen, MaxLen, MaxBytes int
	Unit                     LengthUnit
	// Complexity: the key refuses PINs too easy to guess (firmware 5.7
	// PIN complexity, device-info tag 16). The key's own list decides; the
	// wizard states it and explains a refusal, it does not guess the list.
	Complexity bool
	// FIPS: the key is FIPS-capable for this application, which is why
	// MinLen is 8 for PIV (ykman _cli/piv.py: `8 if CAPABILITY.PIV in
	// info.fips_capable else 6`).
	FIPS bool
}

// FIDO2PINRule is the rule for a new FIDO2 PIN. minLen is getInfo's
// minPINLength (0 or less: CTAP's default 4; the key's word is taken as
// given, CTAP never lets it go below 4); maxLen is getInfo's
// maxPINLength where the key reports one (0: 63 bytes). A YubiKey Bio
// Multi-protocol Edition with PIV enabled over USB shares one PIN between
// FIDO2 and PIV, so at most 8 characters (ykman _cli/fido.py change_pin:
// `if info._is_bio and CAPABILITY.PIV in ...enabled_capabilities[USB]:
// max_len = 8`).
func FIDO2PINRule(info Info, minLen, maxLen int) PINRule {
	if minLen <= 0 {
		minLen = FIDO2DefaultMinPIN
	}
	r := PINRule{Which: FIDO2PIN, MinLen: minLen, MaxLen: FIDO2MaxPINBytes, MaxBytes: FIDO2MaxPINBytes, Unit: Characters,
		Complexity: info.PINComplexity, FIPS: info.FIPSCapable&CapFIDO2 != 0}
	if maxLen > 0 && maxLen < r.MaxLen {
		r.MaxLen = maxLen
	}
	if info.Bio() && info.USBEnabled&CapPIV != 0 {
		r.MaxLen = min(r.MaxLen, 8)
	}
	return r
}

// PIVPINRule is the rule for a new PIV PIN or PUK (which: PIVPIN or PIVPUK),
// as ykman _cli/piv.py _do_change_pin_puk and unblock_pin apply it: 6 to 8,
// 8 exactly on a FIPS-capable key, counted in characters when the key has
// PIN complexity and in bytes otherwise.
func PIVPINRule(info Info, which Credential) PINRule {
	r := PINRule{Which: which, MinLen: 6, MaxLen: 8, Unit: Bytes, Complexity: info.PINComplexity, FIPS: info.FIPSCapable&CapPIV != 0}
	if r.FIPS {
		r.MinLen = 8
	}
	if r.Complexity {
		r.Unit = Characters
	}
	return r
}

// Describe states the rule in plain words, to be shown before the PIN is
// asked: "6 to 8 characters. This key refuses PINs that are easy to guess,
// such as 123456, 11111111 or password."
func (r PINRule) Describe() string {
	var b strings.Builder
	unit := string(r.Unit)
	if r.Unit == "" {
		unit = string(Characters)
	}
	if r.MinLen == r.MaxLen {
		fmt.Fprintf(&b, "exactly %d %s", r.MinLen, unit)
	} else {
		fmt.Fprintf(&b, "%d to %d %s", r.MinLen, r.MaxLen, unit)
	}
	if r.MaxBytes > 0 && r.MaxBytes <= r.MaxLen {
		fmt.Fprintf(&b, " (at most %d bytes: accented and other letters count as 2 to 4)", r.MaxBytes)
	}
	s := strings.ToUpper(b.String()[:1]) + b.String()[1:] + "."
	if r.FIPS && r.Which != FIDO2PIN {
		s += " This is a FIPS key, which needs 8."
	}
	if r.Complexity {
		s += " " + complexityWords
	}
	return s
}

// complexityWords says what PIN complexity refuses, as Yubico's SDK
// documentation puts it (docs.yubico.com yesdk "PIN complexity policy":
// "such as 11111111, password, or 12345678").
const complexityWords = "This key refuses PINs that are easy to guess, such as 11111111, 12345678 or password."

// Check applies the rule to a new PIN before anything is sent: valid UTF-8
// without NUL (libfido2 and piv-go pass PINs as C strings or bytes a
// keyboard cannot type), the length bounds, and for PIV the key's own
// byte limit. It does not guess the key's complexity list; the key's
// refusal is a [*PINRefusedError]. The error is a *PINPolicyError; it never
// contains the PIN.
func (r PINRule) Check(pin string) error {
	n := utf8.RuneCountInString(pin)
	if r.Unit == Bytes {
		n = len(pin)
	}
	switch {
	case !utf8.ValidString(pin):
		return &PINPolicyError{Rule: r, Broken: "only valid text characters"}
	case strings.IndexByte(pin, 0) >= 0:
		return &PINPolicyError{Rule: r, Broken: "no NUL characters"}
	case n < r.MinLen:
		return &PINPolicyError{Rule: r, Broken: fmt.Sprintf("at least %d %s", r.MinLen, r.unit())}
	case r.MaxBytes > 0 && len(pin) > r.MaxBytes:
		return &PINPolicyError{Rule: r, Broken: fmt.Sprintf("at most %d bytes (%d plain ASCII characters; accented and other letters take more)", r.MaxBytes, r.MaxBytes)}
	case n > r.MaxLen:
		return &PINPolicyError{Rule: r, Broken: fmt.Sprintf("at most %d %s", r.MaxLen, r.unit())}
	}
	return nil
}

func (r PINRule) unit() LengthUnit {
	if r.Unit == "" {
		return Characters
	}
	return r.Unit
}

// PINPolicyError says which part of a PIN rule a new PIN breaks, found
// before anything was sent. It matches [ErrPINPolicy].
type PINPolicyError struct {
	Rule   PINRule
	Broken string // e.g. "at least 6 characters"
}

func (e *PINPolicyError) Error() string {
	which := string(e.Rule.Which)
	if which == "" {
		which = "PIN"
	}
	return "the new " + which + " must have " + e.Broken
}

// Is makes PINPolicyError match ErrPINPolicy.
func (e *PINPolicyError) Is(target error) bool { return target == ErrPINPolicy }

// PINRefusedError is the key refusing a new PIN that met every rule the
// wizard could check: on a key with PIN complexity, a PIN on its list of
// easy guesses (PIV SW 6985 "conditions of use not satisfied", ykman
// _cli/piv.py "does not meet complexity requirement"; FIDO2
// CTAP2_ERR_PIN_POLICY_VIOLATION, ykman _cli/fido.py "New PIN doesn't meet
// complexity requirements"). It matches [ErrPINPolicy]; Cause is the
// status error.
type PINRefusedError struct {
	Which      Credential
	Complexity bool // the key reports PIN complexity (tag 16), as far as known
	Cause      error
}

func (e *PINRefusedError) Error() string {
	which := string(e.Which)
	if which == "" {
		which = "PIN"
	}
	s := "the key refused the new " + which + " as too easy to guess"
	if e.Cause != nil {
		s += " (" + e.Cause.Error() + ")"
	}
	return s
}

// Is makes PINRefusedError match ErrPINPolicy.
func (e *PINRefusedError) Is(target error) bool { return target == ErrPINPolicy }

// Unwrap gives the status error.
func (e *PINRefusedError) Unwrap() error { return e.Cause }

// PINPolicyWords is the plain-words explanation of a new PIN the key or
// the rule refused, for a UI to show without parsing text: the broken
// rule, or the key's complexity refusal with what to choose instead. ok is
// false for errors that are not about a new PIN's rules.
func PINPolicyWords(err error) (words string, ok bool) {
	var pe *PINPolicyError
	if errors.As(err, &pe) {
		return fmt.Sprintf("The new %s must have %s. %s", nonEmpty(pe.Rule.Which), pe.Broken, pe.Rule.Describe()), true
	}
	var re *PINRefusedError
	if errors.As(err, &re) {
		return fmt.Sprintf("The key refused this %s because it is too easy to guess (for example one character repeated, or a common PIN such as 123456 or password). Choose a less predictable one; nothing was changed.", nonEmpty(re.Which)), true
	}
	return "", false
}

func nonEmpty(c Credential) string {
	if c == "" {
		return "PIN"
	}
	return string(c)
}
