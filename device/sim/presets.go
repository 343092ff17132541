package sim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keywizard/keywizard/device"
)

// Preset describes one YubiKey model the simulator can be: what the
// management application reports for it (docs/yubikey-protocol.md §1.3-§1.6).
type Preset struct {
	// Name is the preset's key in [Presets] ("5c-nano").
	Name string
	// Product is the name ykman gives this model ("YubiKey 5C Nano").
	Product string
	// FormFactor is the low nibble of device-info tag 04.
	FormFactor device.FormFactor
	// NFC says whether the key has an NFC interface (tags 0D/0E present).
	NFC bool
	// Firmware is the version used when Config.Firmware is zero.
	Firmware device.Version
}

// Presets are the models the simulator knows, by Config.Model name. The
// default firmware 5.7.1 is what keys bought in 2025-2026 ship with; tests
// pin other versions (5.2.x, 5.4.3) where the reference has real transcripts.
var Presets = map[string]Preset{
	"5c-nano": {Name: "5c-nano", Product: "YubiKey 5C Nano", FormFactor: device.FormUSBCNano, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
	"5c-nfc":  {Name: "5c-nfc", Product: "YubiKey 5C NFC", FormFactor: device.FormUSBCKeychain, NFC: true, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
	"5ci":     {Name: "5ci", Product: "YubiKey 5Ci", FormFactor: device.FormUSBCLightning, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
	"5-nfc":   {Name: "5-nfc", Product: "YubiKey 5 NFC", FormFactor: device.FormUSBAKeychain, NFC: true, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
	"5-nano":  {Name: "5-nano", Product: "YubiKey 5 Nano", FormFactor: device.FormUSBANano, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
	"5c":      {Name: "5c", Product: "YubiKey 5C", FormFactor: device.FormUSBCKeychain, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
	// A YubiKey 4 (USB-A): READ CONFIG but no WRITE CONFIG; OTP disabling
	// goes through legacy SET MODE (§1.10, §1.11).
	"4": {Name: "4", Product: "YubiKey 4", FormFactor: device.FormUSBAKeychain, Firmware: device.Version{Major: 4, Minor: 3, Patch: 7}},
}

// PresetNames lists the preset names, sorted, for flag help and errors.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupPreset(name string) (Preset, error) {
	p, ok := Presets[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Preset{}, fmt.Errorf("unknown model %q (known: %s): %w", name, strings.Join(PresetNames(), ", "), device.ErrInvalidArgument)
	}
	return p, nil
}

// supportedUSB is the USB_SUPPORTED mask a key of this model and firmware
// reports. Real YubiKey 5s report 0x023F, including the generic CCID bit
// 0x0004 (§1.4, .NET get-device-info dump and ykman issue #354); keys from
// 5.4.3 add HSMAUTH 0x0100 (ykman issue #710). A YubiKey 4 has no FIDO2.
func (p Preset) supportedUSB(fw device.Version) device.Capability {
	if fw.Major < 5 {
		return device.CapOTP | device.CapU2F | device.CapCCID | device.CapOpenPGP | device.CapPIV | device.CapOATH
	}
	c := device.CapOTP | device.CapU2F | device.CapCCID | device.CapOpenPGP | device.CapPIV | device.CapOATH | device.CapFIDO2
	if fw.AtLeast(5, 4, 3) {
		c |= device.CapHSMAuth
	}
	return c
}

// supportedNFC is NFC_SUPPORTED; zero for keys without NFC.
func (p Preset) supportedNFC(fw device.Version) device.Capability {
	if !p.NFC {
		return 0
	}
	return p.supportedUSB(fw)
}

// enabledNFC is the factory NFC_ENABLED mask. The real 5 NFC (5.2.3) dump in
// §1.6 reports 0x023B: everything supported except the 0x0004 CCID bit,
// which has no meaning over NFC.
func (p Preset) enabledNFC(fw device.Version) device.Capability {
	return p.supportedNFC(fw) &^ device.CapCCID
}

// iapDetection is tag 0F. Real 5.2.x keys send it (0C on the 5Ci, 00
// otherwise, §1.6); ykman ignores it.
func (p Preset) iapDetection() byte {
	if p.FormFactor == device.FormUSBCLightning {
		return 0x0C
	}
	return 0x00
}
