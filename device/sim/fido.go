package sim

import (
	"sort"
	"sync"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/sim/simfido"
)

// newFIDO makes the key's FIDO2 side: the same serial, model and firmware,
// so simfido picks the AAGUID Yubico lists for them (§3.1). A YubiKey 4 has
// U2F but no FIDO2, which is not simulated: no FIDO side.
func newFIDO(k *Key, cfg Config) *simfido.Authenticator {
	if k.fw.Major < 5 {
		return nil
	}
	a := simfido.New(simfido.Config{
		Serial:   k.serial,
		Model:    k.preset.Product,
		Firmware: k.fw,
		Now:      cfg.FIDONow,
		Touch:    cfg.FIDOTouch,
		// The same flag the management application reports as tag 0x16
		// (mgmt.go), so both applications enforce what the key claims.
		PINComplexity: k.preset.PINComplexity && k.preset.paged(k.fw),
	})
	a.SetUSBInterfaces(k.mgmt.usbEnabled.Interfaces())
	return a
}

// FIDO is the key's FIDO2 authenticator (package simfido), or nil for a
// YubiKey 4. It is the same physical key as the smart-card side: unplugging,
// removal faults and reboots apply to both, and a configuration change that
// disables or re-enables FIDO over USB makes it vanish or reappear with the
// USB product ID and name the new interface set gives (§2.1).
func (k *Key) FIDO() *simfido.Authenticator { return k.fido }

// syncFIDOLocked brings the FIDO side in line with the key after a plug
// change or reboot: present only while the key is plugged in with a FIDO
// interface enabled; every re-appearance is a power-up (which reopens
// authenticatorReset's window, CTAP 2.1 §6.6).
func (k *Key) syncFIDOLocked(powerCycle bool) {
	a := k.fido
	if a == nil {
		return
	}
	ifaces := k.mgmt.usbEnabled.Interfaces()
	a.SetUSBInterfaces(ifaces)
	want := k.present && ifaces&device.IfaceFIDO != 0
	switch {
	case !want:
		a.Remove()
	case powerCycle || !a.Present():
		a.PowerCycle()
	}
}

// Registry is a set of simulated keys by serial. Its embedded
// simfido.Provider, the simulator's one [fido.Provider], holds the keys'
// FIDO sides: Locations lists the ones plugged in with FIDO enabled, as
// libfido2's manifest lists HID devices. It is what keywizard uses instead
// of libfido2 when running against simulated keys in its own process.
type Registry struct {
	*simfido.Provider

	mu   sync.Mutex
	keys map[uint32]*Key
}

var _ fido.Provider = (*Registry)(nil)

// NewRegistry returns a registry holding keys.
func NewRegistry(keys ...*Key) *Registry {
	r := &Registry{Provider: simfido.NewProvider(), keys: map[uint32]*Key{}}
	for _, k := range keys {
		r.Add(k)
	}
	return r
}

// Add registers k, replacing a key with the same serial.
func (r *Registry) Add(k *Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.keys[k.serial]; ok && old.fido != nil {
		r.Provider.Delete(old.fido.Path())
	}
	r.keys[k.serial] = k
	if k.fido != nil {
		r.Provider.Add(k.fido)
	}
}

// Remove forgets the key with serial.
func (r *Registry) Remove(serial uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[serial]; ok && k.fido != nil {
		r.Provider.Delete(k.fido.Path())
	}
	delete(r.keys, serial)
}

// Keys lists the registered keys by serial.
func (r *Registry) Keys() []*Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Key, 0, len(r.keys))
	for _, k := range r.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].serial < out[j].serial })
	return out
}

// Key returns the key with serial, or an error matching device.ErrNotFound.
func (r *Registry) Key(serial uint32) (*Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[serial]; ok {
		return k, nil
	}
	present := make([]uint32, 0, len(r.keys))
	for s := range r.keys {
		present = append(present, s)
	}
	sort.Slice(present, func(i, j int) bool { return present[i] < present[j] })
	return nil, &device.KeyNotFoundError{Serial: serial, Present: present}
}
