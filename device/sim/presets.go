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
	// NFCTags: the key reports NFC tags (0D, 0E) although it has no NFC
	// antenna, as some 5C Nanos, 5Cis and 5Cs before 5.2.4 do; ykman's
	// read_info drops them ("Known to not have NFC", yubikey-manager
	// yubikit/support.py). NFC writes are accepted and change nothing a
	// person can reach.
	NFCTags bool
	// FormFactorFlags are ORed into tag 04: 0x80 FIPS, 0x40 Security Key
	// series (yubikit/management.py DeviceInfo.parse_tlvs).
	FormFactorFlags byte
	// USB, when not zero, is USB_SUPPORTED (FIDO-only and Bio keys);
	// otherwise the YubiKey 5 mask for the firmware.
	USB device.Capability
	// NoSerial: the key reports no serial (Security Key series, Bio FIDO
	// Edition); Config.Serial still names the simulated key.
	NoSerial bool
	// PINComplexity (tag 16 = 01): the PIV application refuses PINs too
	// easy to guess with 6985 (firmware 5.7 PIN complexity).
	PINComplexity bool
	// FIPSBits are tags 14 (FIPS capable) and 15 (FIPS approved), in the
	// tags' own numbering: bit 0 FIDO2, 1 PIV, 2 OpenPGP, 3 OATH, 4 HSM
	// auth (CAPABILITY._from_fips). Approved equals capable here.
	FIPSBits uint16
	// ResetBlocked is tag 18 (a Bio blocks FIDO2 reset: 0x0200).
	ResetBlocked device.Capability
}

// paged reports whether the key sends its device info in two pages with
// the 5.7 tags (11-18) on the second, as the 5.7 dumps in yubikey-manager
// tests/test_device.py do: only presets that have such tags to report, so
// the plain presets keep the single page that earlier tests pin.
func (p Preset) paged(fw device.Version) bool {
	return fw.AtLeast(5, 7, 0) && (p.PINComplexity || p.FIPSBits != 0 || p.ResetBlocked != 0)
}

// reportsNFC says whether tags 0D and 0E are sent.
func (p Preset) reportsNFC() bool { return p.NFC || p.NFCTags }

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
	// YubiKey FIPS (4 Series): ykman read_info marks 4.4.x FIPS.
	"4-fips": {Name: "4-fips", Product: "YubiKey FIPS (4 Series)", FormFactor: device.FormUSBAKeychain, Firmware: device.Version{Major: 4, Minor: 4, Patch: 5}},

	// Variants of ykman's naming and rules (yubikey-manager
	// yubikit/support.py get_name, read_info; tests/test_device.py dumps).
	"5c-nano-nfctags": {Name: "5c-nano-nfctags", Product: "YubiKey 5C Nano", FormFactor: device.FormUSBCNano, NFCTags: true, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
	"5ci-nfctags":     {Name: "5ci-nfctags", Product: "YubiKey 5Ci", FormFactor: device.FormUSBCLightning, NFCTags: true, Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}},
	"5c-nfc-epin":     {Name: "5c-nfc-epin", Product: "YubiKey 5C NFC - Enhanced PIN", FormFactor: device.FormUSBCKeychain, NFC: true, PINComplexity: true, Firmware: device.Version{Major: 5, Minor: 7, Patch: 4}},
	"5c-nfc-fips":     {Name: "5c-nfc-fips", Product: "YubiKey 5C NFC FIPS", FormFactor: device.FormUSBCKeychain, FormFactorFlags: 0x80, NFC: true, PINComplexity: true, FIPSBits: 0x1F, Firmware: device.Version{Major: 5, Minor: 7, Patch: 4}},
	"5c-nano-fips":    {Name: "5c-nano-fips", Product: "YubiKey 5C Nano FIPS", FormFactor: device.FormUSBCNano, FormFactorFlags: 0x80, PINComplexity: true, FIPSBits: 0x1F, Firmware: device.Version{Major: 5, Minor: 7, Patch: 4}},
	"bio-fido":        {Name: "bio-fido", Product: "YubiKey Bio - FIDO Edition", FormFactor: device.FormUSBABio, USB: device.CapU2F | device.CapFIDO2, NoSerial: true, ResetBlocked: device.CapFIDO2, Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}},
	"bio-c-multi":     {Name: "bio-c-multi", Product: "YubiKey C Bio - Multi-protocol Edition", FormFactor: device.FormUSBCBio, USB: device.CapU2F | device.CapCCID | device.CapPIV | device.CapFIDO2 | 0x0400, ResetBlocked: device.CapFIDO2, Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}},
	"sky-c-nfc-ee":    {Name: "sky-c-nfc-ee", Product: "Security Key C NFC - Enterprise Edition", FormFactor: device.FormUSBCKeychain, FormFactorFlags: 0x40, NFC: true, USB: device.CapU2F | device.CapFIDO2, Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}},
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
	if p.USB != 0 {
		return p.USB
	}
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
	if !p.reportsNFC() {
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
