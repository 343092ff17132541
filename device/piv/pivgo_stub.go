//go:build !cgo

package piv

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// errNoCgo explains the stub: piv-go needs cgo and libpcsclite.
var errNoCgo = fmt.Errorf("PIV provisioning needs a build with cgo (piv-go and libpcsclite): %w", device.ErrUnsupported)

// ChangePIN needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) ChangePIN(ctx context.Context, old, new string) error { return errNoCgo }

// ChangePUK needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) ChangePUK(ctx context.Context, old, new string) error { return errNoCgo }

// SetRandomManagementKeyProtected needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) SetRandomManagementKeyProtected(ctx context.Context, pin string) (MgmtKeyAlgorithm, error) {
	return 0, errNoCgo
}

// GenerateMacOSIdentity needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) GenerateMacOSIdentity(ctx context.Context, pin string) (*Identity, error) {
	return nil, errNoCgo
}

// Attestation needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) Attestation(ctx context.Context, slot byte) (attestation, slotCert *x509.Certificate, err error) {
	return nil, nil, errNoCgo
}

// Reset needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) Reset(ctx context.Context, confirm ResetConfirmation) error { return errNoCgo }

// Provision needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) Provision(ctx context.Context, prm Params) (*Result, error) {
	return nil, errNoCgo
}

// GenuineAttestation needs cgo; this build returns device.ErrUnsupported.
func (p *Provisioner) GenuineAttestation(ctx context.Context, generate bool) (*GenuineProof, error) {
	return nil, errNoCgo
}
