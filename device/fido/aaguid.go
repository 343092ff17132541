package fido

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device"
)

// AAGUIDEntry is one row of Yubico's AAGUID list: an AAGUID and the models
// and firmware range that report it.
//
// An AAGUID names a series and certification profile, not a SKU: the 5C, 5
// Nano and 5C Nano share one (docs/yubikey-protocol.md §3.1). Use it to
// cross-check a FIDO HID device against a key identified over management,
// never to name a key on its own.
type AAGUIDEntry struct {
	// AAGUID in canonical lower-case UUID form.
	AAGUID string
	// Models are names as [device.Info.Model] spells them.
	Models []string
	// MinFirmware is inclusive; MaxFirmware is exclusive, zero = no bound.
	MinFirmware, MaxFirmware device.Version
}

// Covers reports whether the entry is for model at firmware fw.
func (e AAGUIDEntry) Covers(model string, fw device.Version) bool {
	if fw.Less(e.MinFirmware) || (e.MaxFirmware != device.Version{} && !fw.Less(e.MaxFirmware)) {
		return false
	}
	for _, m := range e.Models {
		if m == model {
			return true
		}
	}
	return false
}

// Model name groups used by the table. They are spelled as
// device.Info.Model builds them (e.g. "YubiKey 5A" for a USB-A keychain
// without NFC, "YubiKey BioC" for a USB-C Bio).
var (
	yk5USB      = []string{"YubiKey 5A", "YubiKey 5 Nano", "YubiKey 5C", "YubiKey 5C Nano"}
	yk5NFC      = []string{"YubiKey 5 NFC", "YubiKey 5C NFC"}
	yk5Ci       = []string{"YubiKey 5Ci"}
	yk5NFCFIPS  = []string{"YubiKey 5 NFC FIPS", "YubiKey 5C NFC FIPS"}
	yk5USBFIPS  = []string{"YubiKey 5 Nano FIPS", "YubiKey 5C FIPS", "YubiKey 5C Nano FIPS"}
	yk5CiFIPS   = []string{"YubiKey 5Ci FIPS"}
	skyUSB      = []string{"Security Key"}
	skyNFC      = []string{"Security Key NFC"}
	bioFIDO     = []string{"YubiKey Bio - FIDO Edition", "YubiKey BioC - FIDO Edition"}
	bioMultiple = []string{"YubiKey Bio - Multi-protocol Edition", "YubiKey BioC - Multi-protocol Edition"}
)

var (
	v51 = device.Version{Major: 5, Minor: 1}
	v52 = device.Version{Major: 5, Minor: 2}
	v54 = device.Version{Major: 5, Minor: 4}
	v55 = device.Version{Major: 5, Minor: 5}
	v56 = device.Version{Major: 5, Minor: 6}
	v57 = device.Version{Major: 5, Minor: 7}
)

// YubicoAAGUIDs is Yubico's "YubiKey Hardware FIDO2 AAGUIDs" list
// (https://support.yubico.com/hc/en-us/articles/360016648959, short link
// https://yubi.co/aaguids), as transcribed in docs/yubikey-protocol.md §3.1 from
// two agreeing mirrors (the canonical page could not be fetched).
//
// Where firmware 5.7 has two or more AAGUIDs per model, the first listed is
// the one [AAGUIDFor] returns: which one belongs to which 5.7 sub-range is
// unconfirmed (§3.1 note, §9). The 5.2 rows cover 5.2 to 5.6 because the
// 5.4 keys report the 5.2 AAGUIDs and no 5-series key shipped 5.5/5.6.
var YubicoAAGUIDs = []AAGUIDEntry{
	// Firmware 5.1.
	{"cb69481e-8ff7-4039-93ec-0a2729a154a8", yk5USB, v51, v52},
	{"fa2b99dc-9e39-4257-8f92-4a30d23c4118", []string{"YubiKey 5 NFC"}, v51, v52}, // the 5C NFC did not exist at 5.1
	{"f8a011f3-8c0a-4d15-8006-17111f9edc7d", skyUSB, v51, v52},
	{"6d44ba9b-f6ec-2e49-b930-0c8fe920cb73", skyNFC, v51, v52},

	// Firmware 5.2 and 5.4.
	{"ee882879-721c-4913-9775-3dfcce97072a", yk5USB, v52, v57},
	{"2fc0579f-8113-47ea-b116-bb5a8db9202a", yk5NFC, v52, v57},
	{"c5ef55ff-ad9a-4b9f-b580-adebafe026d0", yk5Ci, v52, v57},
	{"c1f9a0bc-1dd2-404a-b27f-8e29047a43fd", yk5NFCFIPS, v54, v57},
	{"73bb0cd4-e502-49b8-9c6f-b59445bf720b", yk5USBFIPS, v54, v57},
	{"85203421-48f9-4355-9bc8-8a53846e5083", yk5CiFIPS, v54, v57},
	{"b92c3f9a-c014-4056-887f-140a2501163b", skyUSB, v52, v57},
	{"149a2021-8ef6-4133-96b8-81f8d5b7f1f5", skyNFC, v52, v57},
	{"a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa", skyNFC, v54, v57},      // "Level 2" edition
	{"0bb43545-fd2c-4185-87dd-feb0b2916ace", skyNFC, v54, v57},      // Enterprise Edition
	{"d8522d9f-575b-4866-88a9-ba99fa02f35b", bioFIDO, v55, v57},     // 5.5 and 5.6
	{"83c47309-aabb-4108-8470-8be838b573cb", bioFIDO, v56, v57},     //
	{"7d1351a6-e097-4852-b8bf-c9ac5c9ce4a3", bioMultiple, v56, v57}, //

	// Firmware 5.7 and later.
	{"19083c3d-8383-4b18-bc03-8f1c9ab2fd1b", yk5USB, v57, device.Version{}},
	{"ff4dac45-ede8-4ec2-aced-cf66103f4335", yk5USB, v57, device.Version{}},
	{"20ac7a17-c814-4833-93fe-539f0d5e3389", yk5USB, v57, device.Version{}}, // community CSV only
	{"4599062e-6926-4fe7-9566-9e8fb1aedaa0", yk5USB, v57, device.Version{}}, // community CSV only
	{"a25342c0-3cdc-4414-8e46-f4807fca511c", yk5NFC, v57, device.Version{}},
	{"d7781e5d-e353-46aa-afe2-3ca49f13332a", yk5NFC, v57, device.Version{}},
	{"1ac71f64-468d-4fe0-bef1-0e5f2f551f18", yk5NFC, v57, device.Version{}}, // community CSV only
	{"6ab56fad-881f-4a43-acb2-0be065924522", yk5NFC, v57, device.Version{}}, // community CSV only
	{"a02167b9-ae71-4ac7-9a07-06432ebb6f1c", yk5Ci, v57, device.Version{}},
	{"24673149-6c86-42e7-98d9-433fb5b73296", yk5Ci, v57, device.Version{}},
	{"b90e7dc1-316e-4fee-a25a-56a666a670fe", yk5Ci, v57, device.Version{}}, // community CSV only
	{"3b24bf49-1d45-4484-a917-13175df0867b", yk5Ci, v57, device.Version{}}, // community CSV only
	{"fcc0118f-cd45-435b-8da1-9782b2da0715", yk5NFCFIPS, v57, device.Version{}},
	{"79f3c8ba-9e35-484b-8f47-53a5a0f5c630", yk5NFCFIPS, v57, device.Version{}},
	{"57f7de54-c807-4eab-b1c6-1c9be7984e92", yk5USBFIPS, v57, device.Version{}},
	{"905b4cb4-ed6f-4da9-92fc-45e0d4e9b5c7", yk5USBFIPS, v57, device.Version{}},
	{"7b96457d-e3cd-432b-9ceb-c9fdd7ef7432", yk5CiFIPS, v57, device.Version{}},
	{"3a662962-c6d4-4023-bebb-98ae92e78e20", yk5CiFIPS, v57, device.Version{}},
	{"e77e3c64-05e3-428b-8824-0cbeb04b829d", skyNFC, v57, device.Version{}},
	{"b7d3f68e-88a6-471e-9ecf-2df26d041ede", skyNFC, v57, device.Version{}},
	{"47ab2fb4-66ac-4184-9ae1-86be814012d5", skyNFC, v57, device.Version{}}, // Enterprise Edition
	{"ed042a3a-4b22-4455-bb69-a267b652ae7e", skyNFC, v57, device.Version{}}, // Enterprise Edition
	{"9ff4cc65-6154-4fff-ba09-9e2af7882ad2", skyNFC, v57, device.Version{}}, // Enterprise Edition
	{"72c6b72d-8512-4c66-8359-9d3d10d9222f", skyNFC, v57, device.Version{}}, // Enterprise Edition
	{"dd86a2da-86a0-4cbe-b462-4bd31f57bc6f", bioFIDO, v57, device.Version{}},
	{"7409272d-1ff9-4e10-9fc9-ac0019c124fd", bioFIDO, v57, device.Version{}},
	{"8c39ee86-7f9a-4a95-9ba3-f6b097e5c2ee", bioFIDO, v57, device.Version{}},
	{"ad08c78a-4e41-49b9-86a2-ac15b06899e2", bioFIDO, v57, device.Version{}},
	{"90636e1f-ef82-43bf-bdcf-5255f139d12f", bioMultiple, v57, device.Version{}},
	{"34744913-4f57-4e6e-a527-e9ec3c4b94e6", bioMultiple, v57, device.Version{}},
	{"97e6a830-c952-4740-95fc-7c78dc97ce47", bioMultiple, v57, device.Version{}},
	{"6ec5cff2-a0f9-4169-945b-f33b563f7b99", bioMultiple, v57, device.Version{}},
}

// AAGUIDFor is the AAGUID a genuine key of this model and firmware reports,
// and false when the list has none (firmware before 5.1, or a model Yubico
// does not list).
func AAGUIDFor(model string, fw device.Version) (string, bool) {
	for _, e := range YubicoAAGUIDs {
		if e.Covers(model, fw) {
			return e.AAGUID, true
		}
	}
	return "", false
}

// LookupAAGUID returns every entry for an AAGUID (any letter case), or nil
// when it is not one of Yubico's.
func LookupAAGUID(aaguid string) []AAGUIDEntry {
	var out []AAGUIDEntry
	for _, e := range YubicoAAGUIDs {
		if strings.EqualFold(e.AAGUID, aaguid) {
			out = append(out, e)
		}
	}
	return out
}

// MatchesAAGUID reports whether a key of this model and firmware may report
// aaguid: the FIDO-side cross-check of a key identified over management.
func MatchesAAGUID(aaguid, model string, fw device.Version) bool {
	for _, e := range LookupAAGUID(aaguid) {
		if e.Covers(model, fw) {
			return true
		}
	}
	return false
}

// FormatAAGUID writes 16 bytes as a canonical lower-case UUID string
// (RFC 9562 §4): 8-4-4-4-12 hex digits.
func FormatAAGUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ParseAAGUID parses a canonical UUID string (either letter case) into 16
// bytes.
func ParseAAGUID(s string) ([16]byte, error) {
	var out [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return out, fmt.Errorf("AAGUID %q is not in 8-4-4-4-12 form: %w", s, device.ErrInvalidArgument)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(out[:], []byte(h)); err != nil {
		return [16]byte{}, fmt.Errorf("AAGUID %q is not hexadecimal: %w", s, device.ErrInvalidArgument)
	}
	return out, nil
}
