package simfido

import (
	"bytes"
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// State is what the authenticator keeps across power cycles: what a
// YubiKey stores in flash. The PIN is kept as the key keeps it,
// LEFT(SHA-256(PIN), 16) (CTAP 2.1 §6.5.5.5); the PIN-auth block, the
// key-agreement key and PIN tokens are not part of it, since a power
// cycle clears them (CTAP 2.1 §6.5.2.1, §6.5.5.5).
//
// It holds the simulated key's secrets (the PIN hash, and the
// credential-wrapping key, which opens every credential ID to its private
// key, so the passkeys' private keys are in it in effect) because it is the
// simulated key's own storage: a simulator may keep them there, a real key
// never lets them out. Whoever saves it must keep it as private as the key
// itself (device/sim saves it with mode 0600), and it never goes to a log
// or trace.
type State struct {
	PINHash        []byte            `json:"pin_hash,omitempty"`
	PINRetries     int               `json:"pin_retries"`
	ForcePINChange bool              `json:"force_pin_change,omitempty"`
	Credentials    []StateCredential `json:"credentials,omitempty"`
	// CredentialKey is the credential-wrapping key (webauthn.go); a
	// state without one (of an older simulator) gets a new one.
	CredentialKey []byte `json:"credential_key,omitempty"`
	SignCount     uint32 `json:"sign_count,omitempty"`
}

// StateCredential is one discoverable credential in [State]. Its private
// key is inside its ID, wrapped under [State.CredentialKey]. A credential
// without an ID (of an older simulator, which kept no key pairs) is given
// a new key pair on restore.
type StateCredential struct {
	RPID            string `json:"rp_id"`
	RPName          string `json:"rp_name,omitempty"`
	UserName        string `json:"user_name"`
	UserDisplayName string `json:"user_display_name,omitempty"`
	UserID          []byte `json:"user_id,omitempty"`
	ID              []byte `json:"id,omitempty"`
	CredProtect     int    `json:"cred_protect,omitempty"`
}

// State returns the persistent state.
func (a *Authenticator) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := State{PINHash: append([]byte(nil), a.pinHash...), PINRetries: a.retries, ForcePINChange: a.forcePINChange,
		CredentialKey: bytes.Clone(a.wrapKey), SignCount: a.signCount}
	if a.pinHash == nil {
		s.PINHash = nil
	}
	for _, c := range a.creds {
		s.Credentials = append(s.Credentials, StateCredential{RPID: c.rpID, RPName: c.rpName, UserName: c.userName, UserDisplayName: c.userDisplay,
			UserID: bytes.Clone(c.userID), ID: bytes.Clone(c.id), CredProtect: c.protect})
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
	case s.CredentialKey != nil && len(s.CredentialKey) != 32:
		return fmt.Errorf("restoring FIDO2 state: credential key of %d bytes: %w", len(s.CredentialKey), device.ErrInvalidArgument)
	}
	// The credentials are opened with the restored key into a copy, so
	// that a refused state changes nothing.
	b := &Authenticator{wrapKey: s.CredentialKey}
	if b.wrapKey == nil {
		b.wrapKey = newWrapKey()
	}
	var creds []credential
	for _, sc := range s.Credentials {
		if sc.RPID == "" {
			return fmt.Errorf("restoring FIDO2 state: a credential without an RP ID: %w", device.ErrInvalidArgument)
		}
		var c credential
		if sc.ID == nil {
			var err error
			if c, err = b.newCredential(sc.RPID, 1); err != nil {
				return fmt.Errorf("restoring FIDO2 state: %w", err)
			}
		} else {
			priv, prot, ok := b.unwrap(sc.RPID, sc.ID)
			if !ok {
				return fmt.Errorf("restoring FIDO2 state: credential of %s: %w: %w", sc.RPID, errNotOwnCredential, device.ErrInvalidArgument)
			}
			c = credential{rpID: sc.RPID, id: bytes.Clone(sc.ID), priv: priv, protect: prot}
		}
		c.rpName, c.userName, c.userDisplay, c.userID = sc.RPName, sc.UserName, sc.UserDisplayName, bytes.Clone(sc.UserID)
		if c.userID == nil {
			c.userID = derivedUserID(sc.RPID, sc.UserName)
		}
		creds = append(creds, c)
	}
	a.pinHash = nil
	if s.PINHash != nil {
		a.pinHash = append([]byte(nil), s.PINHash...)
	}
	a.retries = s.PINRetries
	a.forcePINChange = s.ForcePINChange
	a.wrapKey = b.wrapKey
	a.signCount = s.SignCount
	a.creds = creds
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
