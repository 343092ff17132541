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

// ReleaseType is the release type of a version qualifier (device-info tag
// 19; yubikey-manager yubikit/management.py RELEASE_TYPE).
type ReleaseType uint8

// Release types.
const (
	ReleaseAlpha ReleaseType = 0
	ReleaseBeta  ReleaseType = 1
	ReleaseFinal ReleaseType = 2
)

func (r ReleaseType) String() string {
	switch r {
	case ReleaseAlpha:
		return "alpha"
	case ReleaseBeta:
		return "beta"
	case ReleaseFinal:
		return "final"
	}
	return fmt.Sprintf("release-type-%d", uint8(r))
}

// VersionQualifier is device-info tag 19: the fully qualified firmware
// version of pre-release keys (yubikit/management.py VersionQualifier).
type VersionQualifier struct {
	Version   Version
	Type      ReleaseType
	Iteration uint32
}

func (q VersionQualifier) String() string {
	return fmt.Sprintf("%s.%s.%d", q.Version, q.Type, q.Iteration)
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
	HasNFC       bool // NFC_SUPPORTED present (and, after mgmt's ReadInfo, believed)
	NFCSupported Capability
	NFCEnabled   Capability
	// NFCMisreported says the key sent NFC tags although its form factor is
	// known to have no NFC antenna (5C Nano, 5Ci, 5C before 5.2.4; see
	// [Info.NFCPresent]). mgmt's ReadInfo then clears HasNFC, NFCSupported
	// and NFCEnabled, as ykman's read_info does, and sets this instead.
	NFCMisreported bool
	ConfigLocked   bool
	DeviceFlags    uint8
	// AutoEjectTimeout in seconds and ChalRespTimeout in seconds, kept so a
	// write can pass them through unchanged.
	AutoEjectTimeout uint16
	ChalRespTimeout  uint8
	PartNumber       string

	// Firmware 5.7 and later (yubikey-manager yubikit/management.py
	// DeviceInfo.parse_tlvs, TAG_FIPS_CAPABLE .. TAG_STM_VERSION):

	// FIPSCapable and FIPSApproved (tags 14, 15) are the applications that
	// can run in, and are in, FIPS-approved mode, decoded from the tags' own
	// bit numbering (CAPABILITY._from_fips: bit 0 FIDO2, 1 PIV, 2 OpenPGP,
	// 3 OATH, 4 HSM auth).
	FIPSCapable, FIPSApproved Capability
	// PINComplexity (tag 16 = 01): the key refuses PINs that are too simple
	// (see PIN rules in pinrules.go).
	PINComplexity bool
	// NFCRestricted (tag 17 = 01): NFC is off until the key is next powered
	// over USB (a shipping mode).
	NFCRestricted bool
	// ResetBlocked (tag 18) are applications whose reset is blocked.
	ResetBlocked Capability
	// Qualifier (tag 19) is set on keys that report one; for a pre-release
	// key ykman uses its version as the firmware version, and so does Info.
	Qualifier *VersionQualifier
	// FPSVersion and STMVersion (tags 20, 21) are the fingerprint sensor's
	// and its secure element's firmware on YubiKey Bio; zero when absent.
	FPSVersion, STMVersion Version
}

// FIPSSeries reports a FIPS key: the form-factor FIPS flag (5 Series) or
// firmware 4.4.x (YubiKey FIPS 4 Series; ykman read_info sets is_fips for
// 4.4.0 <= version < 4.5.0).
func (i Info) FIPSSeries() bool {
	return i.FIPS || (i.Version.AtLeast(4, 4, 0) && i.Version.Less(Version{4, 5, 0}))
}

// Bio reports a YubiKey Bio form factor (DeviceInfo._is_bio).
func (i Info) Bio() bool {
	return i.FormFactor == FormUSBABio || i.FormFactor == FormUSBCBio
}

// VersionName is the firmware version as ykman prints it: the qualified
// version ("5.8.0.beta.3") for a pre-release key, else "5.7.1"
// (DeviceInfo.version_name).
func (i Info) VersionName() string {
	if i.Qualifier != nil && i.Qualifier.Type != ReleaseFinal {
		return i.Qualifier.String()
	}
	if i.Version == (Version{}) {
		return "unknown"
	}
	return i.Version.String()
}

// fidoOnly is ykman's _fido_only (yubikey-manager yubikit/support.py): no
// OTP, OATH, PIV, OpenPGP or HSM auth, and at least one FIDO application.
// The explicit list ignores the CCID bits 0x0004 and 0x0400 (a FIDO-only
// Bio reports 0x1206).
func fidoOnly(c Capability) bool {
	return c&(CapOTP|CapOATH|CapPIV|CapOpenPGP|CapHSMAuth) == 0 && c&(CapU2F|CapFIDO2) != 0
}

// Model is the product name as ykman names it ("YubiKey 5C Nano",
// "YubiKey 5C NFC - Enhanced PIN", "YubiKey C Bio - Multi-protocol
// Edition", "Security Key C NFC - Enterprise Edition", "YubiKey FIPS (4
// Series)"): a port of get_name in yubikey-manager yubikit/support.py
// (2026-05 main, "Update naming logic"), whose own table is
// tests/test_device.py.
//
// get_name takes the key type from the USB PID, which Info does not carry;
// Model uses get_name's PID-less guess, as ykman does over NFC: major 3 is a
// NEO; no serial and FIDO-only is a Security Key (SKY) before 5.2.8 and a
// YubiKey 4/5-platform key after; anything else is the YubiKey 4/5
// platform. The NFC part of the name follows [Info.NFCPresent] (ykman
// read_info drops the NFC tags of keys known to have no NFC; ykman-main
// means to, see [Info.NFCPresent]).
func (i Info) Model() string {
	v := i.Version
	usb := i.USBSupported
	nfc := i.NFCPresent()
	switch {
	case v.Major == 3:
		return "YubiKey NEO"
	case i.Serial == 0 && fidoOnly(usb) && v.Less(Version{5, 2, 8}):
		name := "Security Key by Yubico"
		if usb&CapFIDO2 == 0 {
			name = "FIDO U2F Security Key" // SKY 1
		}
		if nfc {
			name = "Security Key NFC"
		}
		return name
	}
	name := "YubiKey"
	switch {
	case v.Major < 4:
		if v.Major == 0 {
			return fmt.Sprintf("YubiKey (%s)", v)
		}
		return "YubiKey"
	case v.Major == 4:
		switch {
		case i.FIPSSeries():
			name = "YubiKey FIPS (4 Series)"
		case usb == CapOTP|CapU2F:
			name = "YubiKey Edge"
		default:
			name = "YubiKey 4"
		}
	}
	if isPreview(v) {
		return "YubiKey Preview"
	}
	if v.Less(Version{5, 1, 0}) {
		return name
	}
	ff := i.FormFactor
	nano := ff == FormUSBANano || ff == FormUSBCNano
	bio := i.Bio()
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
	switch {
	case nano:
		parts = append(parts, "Nano")
	case nfc:
		parts = append(parts, "NFC")
	case ff == FormUSBAKeychain:
		parts = append(parts, "A") // only for a non-NFC USB-A keychain
	case bio:
		parts = append(parts, "Bio")
	}
	switch {
	case i.FIPSSeries():
		parts = append(parts, "FIPS")
	case bio && fidoOnly(usb):
		parts = append(parts, "- FIDO Edition")
	case bio && usb&CapPIV != 0:
		parts = append(parts, "- Multi-protocol Edition")
	case bio:
	case i.SKY && i.Serial != 0:
		parts = append(parts, "- Enterprise Edition")
	case i.PINComplexity && !i.SKY:
		parts = append(parts, "- Enhanced PIN")
	}
	name = strings.Join(parts, " ")
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
// is not a form factor known to misreport it. ykman's read_info
// (yubikey-manager yubikit/support.py, "Known to not have NFC, remove
// capabilities") drops the NFC tags of USB-A and USB-C Nanos, the 5Ci, and
// USB-C keychains before 5.2.4. ykman 4.0.9 applied this from firmware 4 on;
// ykman-main applies it to every version, and so does this (no key before 4
// reports a form factor). ykman-main's read_info builds the reduced
// supported map with dataclasses.replace and discards the result (commit
// "Fix pyright errors"), so it still names a misreporting 5Ci "YubiKey 5Ci
// NFC"; this follows the evident intent and ykman 4.0.9 instead.
func (i Info) NFCPresent() bool {
	if !i.HasNFC {
		return false
	}
	return !NFCKnownAbsent(i.FormFactor, i.Version)
}

// NFCKnownAbsent is read_info's list of keys known to have no NFC whatever
// they report (yubikey-manager yubikit/support.py).
func NFCKnownAbsent(ff FormFactor, v Version) bool {
	switch ff {
	case FormUSBANano, FormUSBCNano, FormUSBCLightning:
		return true
	case FormUSBCKeychain:
		return v.Less(Version{5, 2, 4})
	}
	return false
}
