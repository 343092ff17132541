//go:build cgo && linux && fido

package main

import (
	"context"
	"fmt"

	"github.com/keywizard/keywizard/device/fido/libfido2"
)

func init() { fidoFloor = listFIDO }

// listFIDO asks libfido2 for the FIDO HID devices and reads each one's info,
// the least keywizard's discovery does on that interface (device/scan
// readFIDO: list, then open and read info per device). With the simulator
// there are none: what remains is loading libfido2 (with libcrypto, libcbor
// and libudev) and its enumeration of hidraw devices.
func listFIDO(ctx context.Context) error {
	p := libfido2.NewProvider()
	locs, err := p.Locations(ctx)
	if err != nil {
		return fmt.Errorf("listing FIDO devices: %w", err)
	}
	for _, l := range locs {
		a, err := p.Open(ctx, l.Path)
		if err != nil {
			return fmt.Errorf("opening FIDO device %s: %w", l.Path, err)
		}
		_, err = a.Info(ctx)
		a.Close()
		if err != nil {
			return fmt.Errorf("reading FIDO device %s: %w", l.Path, err)
		}
	}
	return nil
}
