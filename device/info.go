package device

import (
	"fmt"
	"sort"
	"strings"
)

// Capability is the application bitmask the management application reports
// and accepts (tags 01, 03, 0D, 0E of device info). Bits keywizard does not
// name (0x0004 "CCID", 0x0400 "management over CCID") are kept as read: see
// docs/yubikey-protocol.md §1.4 and §1.8 on ykman 4.0.9
// silently clearing them.
type Capability uint16

// Application bits, as Yubico numbers them (ykman CAPABILITY).
const (
	CapOTP     Capability = 0x0001
	CapU2F     Capability = 0x0002
	CapCCID    Capability = 0x0004 // generic CCID interface bit; not an application
	CapOpenPGP Capability = 0x0008
	CapPIV     Capability = 0x0010
	CapOATH    Capability = 0x0020
	CapHSMAuth Capability = 0x0100
	CapFIDO2   Capability = 0x0200
)

// Applications lists the named applications in the order ykman prints them.
var Applications = []Capability{CapOTP, CapU2F, CapFIDO2, CapOATH, CapPIV, CapOpenPGP, CapHSMAuth}

var capNames = map[Capability]string{
	CapOTP: "OTP", CapU2F: "U2F", CapFIDO2: "FIDO2", CapOATH: "OATH",
	CapPIV: "PIV", CapOpenPGP: "OPENPGP", CapHSMAuth: "HSMAUTH",
}

// Name is the upper-case name of a single application bit ("OTP", "PIV", ...).
func (c Capability) Name() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", uint16(c))
}

// Names lists the named applications set in c, in [Applications] order.
// It never returns nil, so JSON encodes an empty set as [].
func (c Capability) Names() []string {
	names := []string{}
	for _, a := range Applications {
		if c&a != 0 {
			names = append(names, a.Name())
		}
	}
	return names
}

func (c Capability) String() string { return strings.Join(c.Names(), ", ") }

// ParseApplication turns a name such as "otp" or "FIDO2" into its bit.
func ParseApplication(name string) (Capability, error) {
	up := strings.ToUpper(strings.TrimSpace(name))
	for c, n := range capNames {
		if n == up {
			return c, nil
		}
	}
	known := make([]string, 0, len(capNames))
	for _, a := range Applications {
		known = append(known, a.Name())
	}
	sort.Strings(known)
	return 0, fmt.Errorf("unknown application %q (known: %s): %w", name, strings.Join(known, ", "), ErrInvalidArgument)
}

// USBInterface is a USB interface of a YubiKey. Changing which interfaces are
// present makes the key re-enumerate (reboot), ykman config.py `usb`.
type USBInterface uint8

// USB interfaces.
const (
	IfaceOTP  USBInterface = 1 << iota // HID keyboard
	IfaceFIDO                          // HID FIDO (U2F, FIDO2)
	IfaceCCID                          // smart card (PIV, OATH, OpenPGP, HSM auth)
)

// String spells a set of interfaces as ykman, the USB product string and a
// USB key's PC/SC reader name do: "OTP+FIDO+CCID" ("" for none).
func (i USBInterface) String() string {
	var n []string
	for _, x := range []struct {
		i    USBInterface
		name string
	}{{IfaceOTP, "OTP"}, {IfaceFIDO, "FIDO"}, {IfaceCCID, "CCID"}} {
		if i&x.i != 0 {
			n = append(n, x.name)
		}
	}
	return strings.Join(n, "+")
}

// Interfaces maps applications to the USB interfaces that carry them.
func (c Capability) Interfaces() USBInterface {
	var i USBInterface
	if c&CapOTP != 0 {
		i |= IfaceOTP
	}
	if c&(CapU2F|CapFIDO2) != 0 {
		i |= IfaceFIDO
	}
	if c&(CapOpenPGP|CapPIV|CapOATH|CapHSMAuth) != 0 {
		i |= IfaceCCID
	}
	return i
}

// FormFactor is the low nibble of device-info tag 04.
type FormFactor uint8

// Form factors (ykman FORM_FACTOR).
const (
	FormUnknown       FormFactor = 0x00
	FormUSBAKeychain  FormFactor = 0x01
	FormUSBANano      FormFactor = 0x02
	FormUSBCKeychain  FormFactor = 0x03
	FormUSBCNano      FormFactor = 0x04
	FormUSBCLightning FormFactor = 0x05
	FormUSBABio       FormFactor = 0x06
	FormUSBCBio       FormFactor = 0x07
)

var formNames = map[FormFactor]string{
	FormUnknown:       "Unknown",
	FormUSBAKeychain:  "Keychain (USB-A)",
	FormUSBANano:      "Nano (USB-A)",
	FormUSBCKeychain:  "Keychain (USB-C)",
	FormUSBCNano:      "Nano (USB-C)",
	FormUSBCLightning: "Keychain (USB-C, Lightning)",
	FormUSBABio:       "Bio (USB-A)",
	FormUSBCBio:       "Bio (USB-C)",
}

func (f FormFactor) String() string {
	if n, ok := formNames[f]; ok {
		return n
	}
	return fmt.Sprintf("Unknown (0x%02x)", uint8(f))
}

// Version is a firmware version.
type Version struct{ Major, Minor, Patch uint8 }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less orders versions.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// AtLeast reports v >= major.minor.patch.
func (v Version) AtLeast(major, minor, patch uint8) bool {
	return !v.Less(Version{major, minor, patch})
}

// ParseVersion parses "5.4.3".
func ParseVersion(s string) (Version, error) {
	var v Version
	if _, err := fmt.Sscanf(s, "%d.%d.%d", &v.Major, &v.Minor, &v.Patch); err != nil {
		return Version{}, fmt.Errorf("version %q is not MAJOR.MINOR.PATCH: %w", s, ErrInvalidArgument)
	}
	return v, nil
}

// Info is what the management application reports about a key (READ CONFIG),
// decoded. Zero values mean "not reported".
type Info struct {
	Serial       uint32
	Version      Version
	FormFactor   FormFactor
	FIPS         bool // form-factor flag 0x80
	SKY          bool // form-factor flag 0x40: Security Key series
	USBSupported Capability
	USBEnabled   Capability
	HasNFC       bool // NFC_SUPPORTED present
	NFCSupported Capability
	NFCEnabled   Capability
	ConfigLocked bool
	DeviceFlags  uint8
	// AutoEjectTimeout in seconds and ChalRespTimeout in seconds, kept so a
	// write can pass them through unchanged.
	AutoEjectTimeout uint16
	ChalRespTimeout  uint8
	PartNumber       string
}

// Model is the product name as ykman 4.0.9 names it ("YubiKey 5C Nano",
// "YubiKey 5C NFC", "YubiKey 5Ci", ...): a port of get_name in
// /usr/lib/python3/dist-packages/ykman/device.py (docs/yubikey-protocol.md §1.5),
// with read_info's removal of misreported NFC ([Info.NFCPresent]) applied.
//
// get_name also takes the key type from the USB PID, which Info does not
// carry. Model follows ykman's PID-less rules (serial absent and FIDO-only
// means "Security Key by Yubico", major 3 means NEO) for firmware before
// 5.1, and for 5.1 and later names Security Keys from the SKY form-factor
// flag, as ykman does for their USB PID (0402, YK4 type). Quirks of ykman's
// naming are kept on purpose, e.g. "Security Key C NFC" and
// "YubiKey C Bio - FIDO Edition".
func (i Info) Model() string {
	v := i.Version
	fidoOnly := i.USBSupported&^(CapU2F|CapFIDO2) == 0
	if v.Less(Version{5, 1, 0}) {
		switch {
		case i.Serial == 0 && fidoOnly: // YUBIKEY.SKY
			name := "Security Key by Yubico"
			if i.USBSupported&CapFIDO2 == 0 {
				name = "FIDO U2F Security Key" // SKY 1
			}
			if i.NFCPresent() {
				name = "Security Key NFC"
			}
			return name
		case v.Major == 3: // YUBIKEY.NEO
			return "YubiKey NEO"
		case v.Major == 0:
			return fmt.Sprintf("YubiKey (%s)", v)
		case v.Major < 4:
			return "YubiKey"
		}
	}
	if isPreview(v) {
		return "YubiKey Preview"
	}
	if v.Major == 4 {
		switch {
		case v.AtLeast(4, 4, 0) && v.Less(Version{4, 5, 0}): // is_fips_version
			return "YubiKey FIPS"
		case i.USBSupported == CapOTP|CapU2F:
			return "YubiKey Edge"
		}
		return "YubiKey 4"
	}
	ff := i.FormFactor
	nano := ff == FormUSBANano || ff == FormUSBCNano
	bio := ff == FormUSBABio || ff == FormUSBCBio
	c := ff == FormUSBCKeychain || ff == FormUSBCNano || ff == FormUSBCBio // not Ci
	var parts []string
	if i.SKY {
		parts = []string{"Security Key"}
	} else {
		parts = []string{"YubiKey"}
		if !bio {
			parts = append(parts, "5")
		}
	}
	if c {
		parts = append(parts, "C")
	} else if ff == FormUSBCLightning {
		parts = append(parts, "Ci")
	}
	if nano {
		parts = append(parts, "Nano")
	}
	if i.NFCPresent() {
		parts = append(parts, "NFC")
	} else if ff == FormUSBAKeychain {
		parts = append(parts, "A") // only for a non-NFC USB-A keychain
	}
	if bio {
		parts = append(parts, "Bio")
		if fidoOnly {
			parts = append(parts, "- FIDO Edition")
		}
	}
	if i.FIPS {
		parts = append(parts, "FIPS")
	}
	name := strings.Join(parts, " ")
	name = strings.ReplaceAll(name, "5 C", "5C")
	return strings.ReplaceAll(name, "5 A", "5A")
}

// isPreview is ykman's _is_preview: firmware ranges shipped only on
// preview keys.
func isPreview(v Version) bool {
	in := func(lo, hi Version) bool { return !v.Less(lo) && v.Less(hi) }
	return in(Version{5, 0, 0}, Version{5, 1, 0}) ||
		in(Version{5, 2, 0}, Version{5, 2, 3}) ||
		in(Version{5, 5, 0}, Version{5, 5, 2})
}

// NFCPresent reports whether the key has NFC: it reported NFC_SUPPORTED and
// is not a form factor known to misreport it. ykman read_info drops the NFC
// tags of nano and Ci keys, and of USB-C keychains before 5.2.4, on firmware
// 4 and later ("Known not to have NFC").
func (i Info) NFCPresent() bool {
	if !i.HasNFC {
		return false
	}
	if !i.Version.AtLeast(4, 0, 0) {
		return true
	}
	switch i.FormFactor {
	case FormUSBANano, FormUSBCNano, FormUSBCLightning:
		return false
	case FormUSBCKeychain:
		return i.Version.AtLeast(5, 2, 4)
	}
	return true
}
