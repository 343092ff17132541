package device

import "fmt"

// UnsupportedKeyError says a key keywizard cannot set up, and why, in plain
// words: "YubiKey 4 can't be set up by keywizard: it has no FIDO2, which
// passkeys need. Use a YubiKey 5." It matches [ErrUnsupported].
type UnsupportedKeyError struct {
	Serial uint32
	Model  string
	Reason string // starts lower-case: "it has no FIDO2, ..."
}

func (e *UnsupportedKeyError) Error() string {
	return fmt.Sprintf("%s (serial %d) can't be set up by keywizard: %s", e.Model, e.Serial, e.Reason)
}

// Is makes UnsupportedKeyError match ErrUnsupported.
func (e *UnsupportedKeyError) Is(target error) bool { return target == ErrUnsupported }

// SetupSupported says whether keywizard can set up a key with this info:
// its passkeys need FIDO2 (the YubiKey 4, NEO and the FIDO U2F Security Key
// have only U2F), its Mac login needs PIV (the Security Key series and the
// Bio FIDO Edition have none), and turning OTP off with a read-back needs
// firmware 5's WRITE CONFIG (a YubiKey 4 only takes SET MODE, which it
// applies on re-insertion and cannot report over CCID; yubikey-manager
// yubikit/management.py require_version(5, 0, 0)). keywizard refuses such
// keys clearly rather than half-setting them up: `keywizard otp disable`
// still changes a YubiKey 4's USB mode as ykman does. A nil error means
// supported.
func SetupSupported(i Info, serial uint32) error {
	model := i.Model()
	switch {
	case i.Version.Major > 0 && i.Version.Major < 5:
		return &UnsupportedKeyError{Serial: serial, Model: model, Reason: "it has no FIDO2, which passkeys need, and its settings cannot be read back after a change. Use a YubiKey 5 instead"}
	case i.USBSupported != 0 && i.USBSupported&CapFIDO2 == 0:
		return &UnsupportedKeyError{Serial: serial, Model: model, Reason: "it has no FIDO2, which passkeys need. Use a YubiKey 5 instead"}
	case i.USBSupported != 0 && i.USBSupported&CapPIV == 0:
		return &UnsupportedKeyError{Serial: serial, Model: model, Reason: "it has no smart card (PIV), which Mac login needs. Use a YubiKey 5 instead"}
	}
	return nil
}
