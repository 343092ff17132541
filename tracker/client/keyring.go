package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// KeyringStore keeps the tracker token in the OS keychain (macOS Keychain,
// Secret Service on Linux, Windows Credential Manager). Each call gives up
// after Timeout, because a locked or absent Secret Service can otherwise
// block forever (gh's internal/keyring does the same).
type KeyringStore struct {
	// Service and User name the keychain item; User is usually the
	// tracker URL, so several trackers can coexist.
	Service, User string
	// Timeout defaults to 3 s.
	Timeout time.Duration
}

var _ TokenStore = KeyringStore{}

// ErrKeyringTimeout says the OS keychain did not answer in time.
var ErrKeyringTimeout = errors.New("the OS keychain did not answer; is it locked?")

func (k KeyringStore) run(f func() error) error {
	d := k.Timeout
	if d == 0 {
		d = 3 * time.Second
	}
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-ch:
		return err
	case <-t.C:
		return ErrKeyringTimeout
	}
}

// Token implements [TokenStore].
func (k KeyringStore) Token() (string, error) {
	var tok string
	err := k.run(func() (err error) { tok, err = keyring.Get(k.Service, k.User); return err })
	if errors.Is(err, keyring.ErrNotFound) {
		return "", ErrNoToken
	}
	if err != nil {
		return "", fmt.Errorf("reading tracker token from the keychain: %w", err)
	}
	return tok, nil
}

// SetToken implements [TokenStore].
func (k KeyringStore) SetToken(tok string) error {
	if err := k.run(func() error { return keyring.Set(k.Service, k.User, tok) }); err != nil {
		return fmt.Errorf("saving tracker token in the keychain: %w", err)
	}
	return nil
}

// DeleteToken implements [TokenStore].
func (k KeyringStore) DeleteToken() error {
	err := k.run(func() error { return keyring.Delete(k.Service, k.User) })
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("deleting tracker token from the keychain: %w", err)
	}
	return nil
}

// MemoryStore is a TokenStore in memory, for tests and for one-shot CLI use.
type MemoryStore struct{ Value string }

// Token implements [TokenStore].
func (m *MemoryStore) Token() (string, error) {
	if m.Value == "" {
		return "", ErrNoToken
	}
	return m.Value, nil
}

// SetToken implements [TokenStore].
func (m *MemoryStore) SetToken(t string) error { m.Value = t; return nil }

// DeleteToken implements [TokenStore].
func (m *MemoryStore) DeleteToken() error { m.Value = ""; return nil }
