package piv

import (
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// ValidateMacPIN checks a new PIV PIN against the wizard's rule: 6 to 8
// digits, because macOS smart-card login does not accept non-numeric PINs
// (Yubico, "YubiKey for macOS login"; docs/yubikey-protocol.md §4.1), and not the
// factory PIN. Errors wrap device.ErrPINPolicy and say what to change; they
// never contain the PIN.
func ValidateMacPIN(pin string) error {
	if err := validateLength(device.PIVPIN, pin); err != nil {
		return err
	}
	for _, c := range []byte(pin) {
		if c < '0' || c > '9' {
			return fmt.Errorf("the PIV PIN may contain only digits 0-9, because macOS rejects other characters: %w", device.ErrPINPolicy)
		}
	}
	if pin == DefaultPIN {
		return fmt.Errorf("the PIV PIN must not be the factory PIN 123456; choose another: %w", device.ErrPINPolicy)
	}
	return nil
}

// ValidatePUK checks a new PIV PUK: 6 to 8 characters, ASCII only (from
// firmware 5.7 the key refuses bytes above 7F, docs/yubikey-protocol.md §4.1),
// and not the factory PUK.
func ValidatePUK(puk string) error {
	if err := validateLength(device.PIVPUK, puk); err != nil {
		return err
	}
	for _, c := range []byte(puk) {
		if c < 0x20 || c > 0x7E {
			return fmt.Errorf("the PIV PUK may contain only printable ASCII characters: %w", device.ErrPINPolicy)
		}
	}
	if puk == DefaultPUK {
		return fmt.Errorf("the PIV PUK must not be the factory PUK 12345678; choose another: %w", device.ErrPINPolicy)
	}
	return nil
}

func validateLength(which device.Credential, s string) error {
	switch n := len(s); {
	case n < 6:
		return fmt.Errorf("the %s must be at least 6 characters, it has %d: %w", which, n, device.ErrPINPolicy)
	case n > 8:
		return fmt.Errorf("the %s must be at most 8 characters, it has %d: %w", which, n, device.ErrPINPolicy)
	}
	return nil
}
