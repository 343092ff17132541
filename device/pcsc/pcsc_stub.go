//go:build !cgo && !windows

package pcsc

import (
	"context"
	"fmt"
	"time"

	"github.com/keywizard/keywizard/device"
)

// errNoBinding explains why this build cannot talk to PC/SC.
var errNoBinding = fmt.Errorf("this build of keywizard has no PC/SC support (it needs cgo and libpcsclite; rebuild with CGO_ENABLED=1): %w", device.ErrUnsupported)

// Context is unusable in this build: every method returns an error matching
// device.ErrUnsupported.
type Context struct{}

// Establish fails: this build has no PC/SC binding.
func Establish() (*Context, error) { return nil, errNoBinding }

// Release does nothing.
func (c *Context) Release() error { return nil }

// Readers fails: this build has no PC/SC binding.
func (c *Context) Readers() ([]string, error) { return nil, errNoBinding }

// Connect fails: this build has no PC/SC binding.
func (c *Context) Connect(ctx context.Context, reader string, exclusive bool) (*Card, error) {
	return nil, errNoBinding
}

// GetStatusChange fails: this build has no PC/SC binding.
func (c *Context) GetStatusChange(ctx context.Context, states []ReaderState) error {
	return errNoBinding
}

// GetStatusChangeTimeout fails: this build has no PC/SC binding.
func (c *Context) GetStatusChangeTimeout(ctx context.Context, states []ReaderState, timeout time.Duration) error {
	return errNoBinding
}

// Card is unusable in this build.
type Card struct{}

var _ device.Card = (*Card)(nil)

// Reader returns "".
func (k *Card) Reader() string { return "" }

// Protocol returns 0.
func (k *Card) Protocol() Protocol { return 0 }

// Transmit fails: this build has no PC/SC binding.
func (k *Card) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	return nil, errNoBinding
}

// Begin fails: this build has no PC/SC binding.
func (k *Card) Begin() error { return errNoBinding }

// End fails: this build has no PC/SC binding.
func (k *Card) End() error { return errNoBinding }

// Close does nothing.
func (k *Card) Close() error { return nil }

// WaitReadersChange fails: this build has no PC/SC binding.
func (c *Context) WaitReadersChange(ctx context.Context, known []string, s ListSchedule) ([]string, error) {
	return nil, errNoBinding
}
