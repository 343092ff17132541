package piv

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/keywizard/keywizard/device"
)

// CardOpener opens keywizard's own connection to the card in reader, for
// the objects piv-go cannot write. In production it is device/pcsc's
// Context.Connect; it must not hold the card once the returned Card is
// closed, because piv-go then opens the card exclusively.
type CardOpener func(ctx context.Context, reader string) (device.Card, error)

// Provisioner provisions the PIV application of the key in one PC/SC
// reader. Each method opens and closes its own connections, so a key
// unplugged between calls is noticed and a later call resumes.
type Provisioner struct {
	// Reader is the PC/SC reader name of the key's smart-card interface.
	Reader string
	// OpenCard opens keywizard's own connection to Reader.
	OpenCard CardOpener
	// Rand is the source of management keys, challenges, certificate serial
	// numbers and CHUID/CCC identifiers; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time
}

// Params are the wizard's inputs to [Provision]. Empty current values mean
// the factory ones; an empty NewPUK leaves the PUK alone.
type Params struct {
	CurrentPIN, NewPIN string
	CurrentPUK, NewPUK string
}

// Identity holds the macOS smart-card login certificates, generated on the
// key: 9A (PIV Authentication) and 9D (Key Management).
type Identity struct {
	Slot9A, Slot9D *x509.Certificate
}

// Result is what [Provision] leaves on the key.
type Result struct {
	Serial           uint32
	Firmware         device.Version
	MgmtKeyAlgorithm MgmtKeyAlgorithm
	Identity
	// State is the PIV state read back at the end (no factory PIN or
	// management key, management key PIN-protected).
	State *device.PIVState
}

// ResetConfirmation names the key a PIV reset is meant for. Reset compares
// it with what the key in the reader reports and refuses on any difference.
type ResetConfirmation struct {
	Serial uint32
	Model  string // as device.Info.Model names it, e.g. "YubiKey 5C Nano"
}

func (c ResetConfirmation) String() string {
	return fmt.Sprintf("%s (serial %d)", c.Model, c.Serial)
}

// Provision runs every PIV step the wizard needs on the key in reader:
// PIN and (optionally) PUK changed, a random management key stored
// PIN-protected the way ykman recognises, a fresh CHUID and CCC, and ECC
// P-256 keys with self-signed certificates in 9A and 9D for macOS login.
// It is idempotent: run again after success or after an interruption (key
// unplugged, app killed) it completes only what is missing.
func Provision(ctx context.Context, reader string, open CardOpener, p Params) (*Result, error) {
	pr := &Provisioner{Reader: reader, OpenCard: open}
	return pr.Provision(ctx, p)
}
