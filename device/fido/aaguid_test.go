package fido

import (
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
)

func TestAAGUIDFor(t *testing.T) {
	tests := []struct {
		model string
		fw    device.Version
		want  string
		ok    bool
	}{
		{"YubiKey 5C Nano", device.Version{Major: 5, Minor: 4, Patch: 3}, "ee882879-721c-4913-9775-3dfcce97072a", true},
		{"YubiKey 5C Nano", device.Version{Major: 5, Minor: 2, Patch: 7}, "ee882879-721c-4913-9775-3dfcce97072a", true},
		{"YubiKey 5C Nano", device.Version{Major: 5, Minor: 1, Patch: 2}, "cb69481e-8ff7-4039-93ec-0a2729a154a8", true},
		{"YubiKey 5C Nano", device.Version{Major: 5, Minor: 7, Patch: 4}, "19083c3d-8383-4b18-bc03-8f1c9ab2fd1b", true},
		{"YubiKey 5C NFC", device.Version{Major: 5, Minor: 4, Patch: 3}, "2fc0579f-8113-47ea-b116-bb5a8db9202a", true},
		{"YubiKey 5C NFC", device.Version{Major: 5, Minor: 7, Patch: 0}, "a25342c0-3cdc-4414-8e46-f4807fca511c", true},
		{"YubiKey 5C NFC", device.Version{Major: 5, Minor: 1, Patch: 2}, "", false}, // did not exist at 5.1
		{"YubiKey 5 NFC", device.Version{Major: 5, Minor: 1, Patch: 2}, "fa2b99dc-9e39-4257-8f92-4a30d23c4118", true},
		{"YubiKey 5Ci", device.Version{Major: 5, Minor: 2, Patch: 7}, "c5ef55ff-ad9a-4b9f-b580-adebafe026d0", true},
		{"YubiKey 5Ci", device.Version{Major: 5, Minor: 7, Patch: 2}, "a02167b9-ae71-4ac7-9a07-06432ebb6f1c", true},
		{"YubiKey 5C NFC FIPS", device.Version{Major: 5, Minor: 4, Patch: 3}, "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd", true},
		{"YubiKey 5C NFC FIPS", device.Version{Major: 5, Minor: 2, Patch: 7}, "", false}, // FIPS series starts at 5.4
		{"YubiKey 4", device.Version{Major: 4, Minor: 3, Patch: 7}, "", false},
		{"YubiKey 5C Nano", device.Version{Major: 5, Minor: 0, Patch: 2}, "", false},
	}
	for _, tt := range tests {
		got, ok := AAGUIDFor(tt.model, tt.fw)
		if got != tt.want || ok != tt.ok {
			t.Errorf("AAGUIDFor(%q, %s) = %q, %v; want %q, %v", tt.model, tt.fw, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMatchesAAGUID(t *testing.T) {
	fw := device.Version{Major: 5, Minor: 4, Patch: 3}
	// The Nano and the 5C share an AAGUID; the NFC models do not.
	if !MatchesAAGUID("EE882879-721C-4913-9775-3DFCCE97072A", "YubiKey 5C", fw) {
		t.Error("5C should match the 5.2/5.4 USB AAGUID (any case)")
	}
	if MatchesAAGUID("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5C NFC", fw) {
		t.Error("5C NFC must not match the non-NFC AAGUID")
	}
	if MatchesAAGUID("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5C", device.Version{Major: 5, Minor: 7}) {
		t.Error("5.7 keys report new AAGUIDs")
	}
	if len(LookupAAGUID("00000000-0000-0000-0000-000000000000")) != 0 {
		t.Error("zero AAGUID is not Yubico's")
	}
}

func TestYubicoAAGUIDsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range YubicoAAGUIDs {
		b, err := ParseAAGUID(e.AAGUID)
		if err != nil {
			t.Errorf("%s: %v", e.AAGUID, err)
			continue
		}
		if FormatAAGUID(b) != e.AAGUID {
			t.Errorf("%s is not canonical lower case", e.AAGUID)
		}
		if seen[e.AAGUID] {
			t.Errorf("%s listed twice", e.AAGUID)
		}
		seen[e.AAGUID] = true
		if len(e.Models) == 0 || e.MinFirmware == (device.Version{}) {
			t.Errorf("%s: no models or no minimum firmware", e.AAGUID)
		}
	}
}

func TestParseAAGUID(t *testing.T) {
	for _, bad := range []string{"", "ee882879721c491397753dfcce97072a", "ee882879-721c-4913-9775-3dfcce97072", "zz882879-721c-4913-9775-3dfcce97072a", "ee882879_721c-4913-9775-3dfcce97072a"} {
		if _, err := ParseAAGUID(bad); !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("ParseAAGUID(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	b := [16]byte{0x2f, 0xc0, 0x57, 0x9f, 0x81, 0x13, 0x47, 0xea, 0xb1, 0x16, 0xbb, 0x5a, 0x8d, 0xb9, 0x20, 0x2a}
	if got := FormatAAGUID(b); got != "2fc0579f-8113-47ea-b116-bb5a8db9202a" {
		t.Errorf("FormatAAGUID = %s", got)
	}
	got, err := ParseAAGUID("2FC0579F-8113-47EA-B116-BB5A8DB9202A")
	if err != nil || got != b {
		t.Errorf("ParseAAGUID = %x, %v", got, err)
	}
}

// TestAAGUIDModelsAreModelNames: every model a row names is a name
// device.Info.Model gives some key, so no row can silently never match
// (as the Bio rows did when spelled "YubiKey BioC").
func TestAAGUIDModelsAreModelNames(t *testing.T) {
	names := map[string]bool{}
	caps := []device.Capability{0x033F, 0x0202, 0x0612}
	for _, v := range []device.Version{{Major: 5, Minor: 1, Patch: 2}, {Major: 5, Minor: 4, Patch: 3}, {Major: 5, Minor: 7, Patch: 1}} {
		for ff := device.FormUnknown; ff <= device.FormUSBCBio; ff++ {
			for _, c := range caps {
				for _, nfc := range []bool{false, true} {
					for _, flags := range [][2]bool{{false, false}, {true, false}, {false, true}} {
						for _, serial := range []uint32{0, 1} {
							for _, cx := range []bool{false, true} {
								i := device.Info{Serial: serial, Version: v, FormFactor: ff, USBSupported: c, HasNFC: nfc, FIPS: flags[0], SKY: flags[1], PINComplexity: cx}
								names[i.Model()] = true
							}
						}
					}
				}
			}
		}
	}
	for _, e := range YubicoAAGUIDs {
		for _, m := range e.Models {
			if !names[m] {
				t.Errorf("AAGUID %s names %q, which no key is called (device.Info.Model)", e.AAGUID, m)
			}
		}
	}
	// The keys the brief names by ykman's spelling.
	for _, tc := range []struct {
		model string
		fw    device.Version
		want  string
	}{
		{"YubiKey C Bio - FIDO Edition", device.Version{Major: 5, Minor: 5, Patch: 6}, "d8522d9f-575b-4866-88a9-ba99fa02f35b"},
		{"YubiKey C Bio - Multi-protocol Edition", device.Version{Major: 5, Minor: 7, Patch: 2}, "90636e1f-ef82-43bf-bdcf-5255f139d12f"},
		{"Security Key C NFC - Enterprise Edition", device.Version{Major: 5, Minor: 4, Patch: 3}, "0bb43545-fd2c-4185-87dd-feb0b2916ace"},
		{"YubiKey 5C NFC - Enhanced PIN", device.Version{Major: 5, Minor: 7, Patch: 4}, "662ef48a-95e2-4aaa-a6c1-5b9c40375824"},
	} {
		if got, ok := AAGUIDFor(tc.model, tc.fw); !ok || got != tc.want {
			t.Errorf("AAGUIDFor(%q, %v) = %q, %v; want %s", tc.model, tc.fw, got, ok, tc.want)
		}
	}
}
