package simulation

import (
	"context"
	"sync"

	"github.com/keywizard/keywizard/steps"
)

// Person is the simulated person's memory of the FIDO2 PINs they typed
// into the wizard, so that the simulated browser can type the same PIN
// into its own PIN prompt when it registers a passkey (Browser.PIN), as
// the person would. It learns a key's PIN when the wizard sets or changes
// it, or checks it (HasCredential), successfully, through the steps.Keys
// that Keys returns. The PINs stay in this process's memory: never
// written, never logged.
type Person struct {
	mu   sync.Mutex
	pins map[uint32]string
}

// Keys returns k with the person remembering the FIDO2 PINs that go
// through it.
func (p *Person) Keys(k steps.Keys) steps.Keys { return personKeys{Keys: k, p: p} }

// FIDOPIN is the PIN the person knows for the key with serial.
func (p *Person) FIDOPIN(serial uint32) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pin, ok := p.pins[serial]
	return pin, ok
}

func (p *Person) remember(serial uint32, pin string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pins == nil {
		p.pins = map[uint32]string{}
	}
	p.pins[serial] = pin
}

type personKeys struct {
	steps.Keys
	p *Person
}

func (k personKeys) SetFIDOPIN(ctx context.Context, serial uint32, pin string) error {
	err := k.Keys.SetFIDOPIN(ctx, serial, pin)
	if err == nil {
		k.p.remember(serial, pin)
	}
	return err
}

func (k personKeys) ChangeFIDOPIN(ctx context.Context, serial uint32, oldPIN, newPIN string) error {
	err := k.Keys.ChangeFIDOPIN(ctx, serial, oldPIN, newPIN)
	if err == nil {
		k.p.remember(serial, newPIN)
	}
	return err
}

func (k personKeys) HasCredential(ctx context.Context, serial uint32, pin, rpID, userName string) (bool, error) {
	ok, err := k.Keys.HasCredential(ctx, serial, pin, rpID, userName)
	if err == nil {
		k.p.remember(serial, pin)
	}
	return ok, err
}
