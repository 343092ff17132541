package scan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// yubicoVendorID is Yubico's USB vendor ID (docs/yubikey-protocol.md §2.1).
const yubicoVendorID = 0x1050

// fidoDevice is one FIDO HID device as read for correlation.
type fidoDevice struct {
	state device.FIDOState
}

// firmware is the device's getInfo firmwareVersion, if it reported one.
func (d fidoDevice) firmware() (device.Version, bool) {
	if d.state.Firmware == "" {
		return device.Version{}, false
	}
	v, err := device.ParseVersion(d.state.Firmware)
	return v, err == nil
}

// readFIDO reads every FIDO device the provider lists, in parallel. Devices
// from other vendors are left out (they cannot be a YubiKey's FIDO side).
// Devices that vanish while being read are left out without an error.
func (s *Scanner) readFIDO(ctx context.Context) ([]fidoDevice, error) {
	locs, err := s.FIDO.Locations(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing FIDO devices: %w", err)
	}
	devs := make([]*fidoDevice, len(locs))
	errs := make([]error, len(locs))
	var wg sync.WaitGroup
	for i, loc := range locs {
		if loc.VendorID != 0 && loc.VendorID != yubicoVendorID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.readFIDODevice(ctx, loc.Path)
			switch {
			case err == nil:
				devs[i] = &fidoDevice{state: *st}
			case errors.Is(err, device.ErrRemoved), errors.Is(err, device.ErrNotFound):
			default:
				errs[i] = fmt.Errorf("FIDO device %s: %w", loc.Path, err)
			}
		}()
	}
	wg.Wait()
	var out []fidoDevice
	for _, d := range devs {
		if d != nil {
			out = append(out, *d)
		}
	}
	return out, errors.Join(errs...)
}

func (s *Scanner) readFIDODevice(ctx context.Context, path string) (*device.FIDOState, error) {
	a, err := s.FIDO.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	c := fido.NewClient(a, fido.Options{})
	defer c.Close()
	return c.State(ctx)
}

// candidate reports whether key k could be the owner of FIDO device d:
// its AAGUID is one Yubico lists for k's model and firmware (§3.1), its
// getInfo firmware (when reported; absent on some firmware, §3.2/§9) equals
// k's management firmware, and k has the FIDO interface enabled over USB
// (a key with U2F and FIDO2 off has no FIDO HID device). NFC-only keys have
// no HID device at all, but the reader does not say which transport it is,
// so that is not used.
func candidate(k device.Key, d fidoDevice) bool {
	if k.Info.USBEnabled != 0 && k.Info.USBEnabled&(device.CapU2F|device.CapFIDO2) == 0 {
		return false
	}
	if !fido.MatchesAAGUID(strings.ToLower(d.state.AAGUID), k.Model, k.Info.Version) {
		return false
	}
	if fw, ok := d.firmware(); ok && fw != k.Info.Version {
		return false
	}
	return true
}

// correlate ties FIDO devices to keys in place and returns the devices that
// were not tied to exactly one key.
//
// Keys and devices form a bipartite graph (edge = candidate). A connected
// component of exactly one key and one device is a unique match: the key
// gets the device's state and MatchUnique. In any larger component (two
// identical keys, or a key with two matching devices) no pairing is
// provable, so every key in it gets MatchAmbiguous and no FIDO state. Keys
// without edges keep MatchNone.
func correlate(keys []device.Key, devs []fidoDevice) []device.FIDOState {
	nk := len(keys)
	// Union-find over keys [0, nk) and devices [nk, nk+len(devs)).
	parent := make([]int, nk+len(devs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	degree := make([]int, nk+len(devs))
	for i, k := range keys {
		keys[i].FIDO, keys[i].FIDOMatch = nil, device.MatchNone
		for j, d := range devs {
			if candidate(k, d) {
				degree[i]++
				degree[nk+j]++
				parent[find(i)] = find(nk + j)
			}
		}
	}
	size := map[int]int{}
	for i := range parent {
		size[find(i)]++
	}
	matched := make([]bool, len(devs))
	for i := range keys {
		if degree[i] == 0 {
			continue
		}
		if size[find(i)] == 2 {
			for j := range devs {
				if find(nk+j) == find(i) {
					st := devs[j].state
					keys[i].FIDO, keys[i].FIDOMatch = &st, device.MatchUnique
					matched[j] = true
				}
			}
			continue
		}
		keys[i].FIDOMatch = device.MatchAmbiguous
	}
	var unmatched []device.FIDOState
	for j, d := range devs {
		if !matched[j] {
			unmatched = append(unmatched, d.state)
		}
	}
	return unmatched
}
