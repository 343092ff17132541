package sim

import (
	"sync"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim/simhid"
)

// HIDNode is a key's FIDO2 side on a FIDO HID device node (package
// simhid): the node is there while the key is plugged in with its FIDO
// interface enabled, and goes and comes back when the key is unplugged,
// re-plugged or reboots, as a USB key's /dev/hidrawN does when it
// re-enumerates. Clients holding the old node get an error and open the
// path again.
type HIDNode struct {
	k    *Key
	path string
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	node *simhid.Node
	err  error // the last failure to create the node
}

// ServeHID puts k's FIDO2 side on a HID node at path (Linux; elsewhere
// device.ErrUnsupported) until Close. A YubiKey 4 has no FIDO2 side:
// device.ErrUnsupported.
func (k *Key) ServeHID(path string) (*HIDNode, error) {
	if k.fido == nil {
		return nil, &unsupportedFIDO{k.String()}
	}
	h := &HIDNode{k: k, path: path, stop: make(chan struct{}), done: make(chan struct{})}
	k.mu.Lock()
	changed := k.changed
	k.mu.Unlock()
	if err := h.sync(); err != nil {
		return nil, err
	}
	go h.follow(changed)
	return h, nil
}

type unsupportedFIDO struct{ key string }

func (e *unsupportedFIDO) Error() string {
	return e.key + " has no FIDO2 application for a HID node"
}
func (e *unsupportedFIDO) Unwrap() error { return device.ErrUnsupported }

// Path is where the node appears.
func (h *HIDNode) Path() string { return h.path }

// Err is the last failure to bring the node back after a change, if any.
func (h *HIDNode) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// sync closes the current node and, if the FIDO side is present, creates
// a new one: every change of the key (unplug, plug, reboot) is a new USB
// enumeration.
func (h *HIDNode) sync() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.node != nil {
		h.node.Close()
		h.node = nil
	}
	a := h.k.fido
	if !a.Present() {
		return nil
	}
	fw := h.k.fw
	n, err := simhid.Create(h.path, a, simhid.Version{Major: fw.Major, Minor: fw.Minor, Build: fw.Patch})
	h.node, h.err = n, err
	return err
}

func (h *HIDNode) follow(changed chan struct{}) {
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			return
		case <-changed:
		}
		h.k.mu.Lock()
		changed = h.k.changed
		h.k.mu.Unlock()
		h.sync()
	}
}

// Close removes the node for good.
func (h *HIDNode) Close() error {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	var err error
	if h.node != nil {
		err = h.node.Close()
		h.node = nil
	}
	return err
}
