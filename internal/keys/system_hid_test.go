//go:build linux && cgo

package keys_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/fido/libfido2"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/keys"
)

// TestSystemHubListsSimulatedHID: the hub `keywizard key wipe` and the
// window use on a real machine lists the FIDO HID nodes named in
// KEYWIZARD_FIDO_HID_PATHS (what `keywizard sim --hid PATH` makes) and
// reads them through libfido2.
func TestSystemHubListsSimulatedHID(t *testing.T) {
	k, err := sim.New(sim.Config{Serial: 31000301, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fido-hid")
	h, err := k.ServeHID(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	t.Setenv(libfido2.EnvHIDPaths, path)
	fp := keys.SystemHub().Scanner.FIDO
	locs, err := fp.Locations(context.Background())
	if err != nil || !slices.ContainsFunc(locs, func(l fido.Location) bool { return l.Path == path }) {
		t.Fatalf("Locations = %+v, %v; want %s listed", locs, err, path)
	}
	a, err := fp.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := fido.NewClient(a, fido.Options{}).State(context.Background())
	if err != nil || st.Firmware != "5.7.2" {
		t.Fatalf("State = %+v, %v", st, err)
	}
}
