//go:build !cgo

package libfido2

import (
	"context"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// Provider is unavailable in a build without cgo: libfido2 is a C library.
type Provider struct{}

var _ fido.Provider = Provider{}

// NewProvider returns the provider; extra is ignored.
func NewProvider(extra ...string) Provider { return Provider{} }

var errNoCgo = fmt.Errorf("FIDO over USB needs libfido2, and this keywizard was built without cgo: %w", device.ErrUnsupported)

// Locations returns device.ErrUnsupported.
func (Provider) Locations(context.Context) ([]fido.Location, error) { return nil, errNoCgo }

// Open returns device.ErrUnsupported.
func (Provider) Open(context.Context, string) (fido.Authenticator, error) { return nil, errNoCgo }

// Available reports whether this build reaches FIDO devices through
// libfido2: not without cgo.
func Available() bool { return false }

// MakeCredential returns device.ErrUnsupported.
func (Provider) MakeCredential(context.Context, string, string, Registration) (*Registered, error) {
	return nil, errNoCgo
}

// GetAssertion returns device.ErrUnsupported.
func (Provider) GetAssertion(context.Context, string, string, AssertionRequest) (*Asserted, error) {
	return nil, errNoCgo
}
