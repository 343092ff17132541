//go:build !cgo

package libfido2

import (
	"context"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// TestStub: without cgo, FIDO over USB is reported unsupported rather than
// silently finding nothing.
func TestStub(t *testing.T) {
	p := NewProvider()
	if _, err := p.Locations(context.Background()); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("Locations = %v, want ErrUnsupported", err)
	}
	if _, err := p.Open(context.Background(), "/dev/hidraw0"); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("Open = %v, want ErrUnsupported", err)
	}
}
