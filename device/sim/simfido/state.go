package simfido

import (
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// State is what the authenticator keeps across power cycles: what a
// YubiKey stores in flash. The PIN is kept as the key keeps it,
// LEFT(SHA-256(PIN), 16) (CTAP 2.1 §6.5.5.5); the PIN-auth block, the
// key-agreement key and PIN tokens are not part of it, since a power
// cycle clears them (CTAP 2.1 §6.5.2.1, §6.5.5.5).
//
// It holds the simulated key's secrets (the PIN hash) because it is the
// simulated key's own storage; whoever saves it must keep it as private
// as the key itself (device/sim saves it with mode 0600).
type State struct {
	PINHash        []byte            `json:"pin_hash,omitempty"`
	PINRetries     int               `json:"pin_retries"`
	ForcePINChange bool              `json:"force_pin_change,omitempty"`
	Credentials    []StateCredential `json:"credentials,omitempty"`
}

// StateCredential is one discoverable credential in [State].
type StateCredential struct {
	RPID            string `json:"rp_id"`
	RPName          string `json:"rp_name,omitempty"`
	UserName        string `json:"user_name"`
	UserDisplayName string `json:"user_display_name,omitempty"`
}

// State returns the persistent state.
func (a *Authenticator) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := State{PINHash: append([]byte(nil), a.pinHash...), PINRetries: a.retries, ForcePINChange: a.forcePINChange}
	if a.pinHash == nil {
		s.PINHash = nil
	}
	for _, c := range a.creds {
		s.Credentials = append(s.Credentials, StateCredential{RPID: c.rpID, RPName: c.rpName, UserName: c.userName, UserDisplayName: c.userDisplay})
	}
	return s
}

// Restore replaces the persistent state with s, as when a key with that
// state is plugged in: it is a power-up (the PIN-auth block is clear).
// A state the key could not hold (a PIN hash that is not 16 bytes,
// retries outside 0-8, more credentials than it stores) is refused.
func (a *Authenticator) Restore(s State) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case s.PINHash != nil && len(s.PINHash) != 16:
		return fmt.Errorf("restoring FIDO2 state: PIN hash of %d bytes: %w", len(s.PINHash), device.ErrInvalidArgument)
	case s.PINRetries < 0 || s.PINRetries > MaxPINRetries:
		return fmt.Errorf("restoring FIDO2 state: %d PIN retries: %w", s.PINRetries, device.ErrInvalidArgument)
	case len(s.Credentials) > a.capacity():
		return fmt.Errorf("restoring FIDO2 state: %d credentials, the key holds %d: %w", len(s.Credentials), a.capacity(), device.ErrInvalidArgument)
	}
	for _, c := range s.Credentials {
		if c.RPID == "" {
			return fmt.Errorf("restoring FIDO2 state: a credential without an RP ID: %w", device.ErrInvalidArgument)
		}
	}
	a.pinHash = nil
	if s.PINHash != nil {
		a.pinHash = append([]byte(nil), s.PINHash...)
	}
	a.retries = s.PINRetries
	a.forcePINChange = s.ForcePINChange
	a.creds = nil
	for _, c := range s.Credentials {
		a.creds = append(a.creds, credential{rpID: c.RPID, rpName: c.RPName, userName: c.UserName, userDisplay: c.UserDisplayName})
	}
	a.powerUp()
	return nil
}

// SetOnChange installs f, called whenever the persistent state may have
// changed (a PIN set or changed or tried, a credential added, a reset).
// f is called with the authenticator's lock held: it must not call back
// into the authenticator (signal a goroutine instead).
func (a *Authenticator) SetOnChange(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onChange = f
}

func (a *Authenticator) changedLocked() {
	if a.onChange != nil {
		a.onChange()
	}
}
