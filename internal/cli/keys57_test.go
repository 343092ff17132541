package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// TestKeysShows57Tags: `keys --json` and the table's notes carry what
// firmware 5.7 reports (device-info tags 13-21) and the NFC verdict.
func TestKeysShows57Tags(t *testing.T) {
	info := device.Info{Serial: 9, Version: device.Version{Major: 5, Minor: 7, Patch: 4}, FormFactor: device.FormUSBCNano, FIPS: true,
		USBSupported: 0x033F, USBEnabled: 0x033F, FIPSCapable: device.CapFIDO2 | device.CapPIV, FIPSApproved: device.CapFIDO2,
		PINComplexity: true, NFCRestricted: true, ResetBlocked: device.CapFIDO2, NFCMisreported: true, PartNumber: "5CNANO",
		Qualifier:  &device.VersionQualifier{Version: device.Version{Major: 5, Minor: 8}, Type: device.ReleaseBeta, Iteration: 3},
		FPSVersion: device.Version{Minor: 5, Patch: 1}}
	k := device.Key{Serial: 9, Model: info.Model(), Info: info}
	b, err := json.Marshal(ToJSON(k))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"fips":true`, `"fips_capable":["FIDO2","PIV"]`, `"fips_approved":["FIDO2"]`, `"pin_complexity":true`,
		`"nfc_restricted":true`, `"reset_blocked":["FIDO2"]`, `"nfc_misreported":true`, `"part_number":"5CNANO"`,
		`"version_qualifier":"5.8.0.beta.3"`, `"fps_version":"0.5.1"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("keys --json lacks %s:\n%s", want, b)
		}
	}
	n := notes(info)
	for _, want := range []string{"PIN complexity on", "FIPS capable: FIDO2, PIV; FIPS approved: FIDO2", "NFC restricted", "reset blocked: FIDO2", "reports NFC, but this model has none", "pre-release firmware 5.8.0.beta.3"} {
		if !strings.Contains(n, want) {
			t.Errorf("notes %q lack %q", n, want)
		}
	}
	// A plain key adds nothing to its JSON or the table.
	plain, _ := json.Marshal(ToJSON(device.Key{Serial: 1, Info: device.Info{Version: device.Version{Major: 5, Minor: 4, Patch: 3}}}))
	if strings.Contains(string(plain), "pin_complexity") || strings.Contains(string(plain), "fips") || notes(device.Info{}) != "" {
		t.Errorf("plain key: %s / %q", plain, notes(device.Info{}))
	}
}
