//go:build !linux

package simhid

import (
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// Node is a simulated FIDO HID device node; it exists on Linux only.
type Node struct{}

// Create fails outside Linux: the node is a Linux pseudo-terminal that
// libfido2's Linux HID code opens (docs/fido-hid.md). Elsewhere the
// simulated key's FIDO2 side is reached over CCID only.
func Create(path string, auth Authenticator, v Version) (*Node, error) {
	return nil, fmt.Errorf("creating the FIDO HID node %s: simulated FIDO HID devices exist on Linux only: %w", path, device.ErrUnsupported)
}

// Path is empty.
func (*Node) Path() string { return "" }

// Close does nothing.
func (*Node) Close() error { return nil }
