package mgmt

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/tlv"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "|", "").Replace(s))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Real READ CONFIG responses (docs/yubikey-protocol.md §1.6 and §7.3).
const (
	// YubiKey 5 NFC, 5.2.3 (.NET SDK commands-get-device-info.md).
	resp5NFC523 = "2E | 01 02 02 3F | 03 02 00 3C | 02 04 00 AB 57 9B | 04 01 01 | 05 03 05 02 03 | 06 02 00 0A | 07 01 0F | 08 01 80 | 0D 02 02 3F | 0E 02 02 3B | 0A 01 00 | 0F 01 00"
	// YubiKey 5Ci, 5.2.6 (ykman issue #354).
	resp5Ci526 = "26 | 01 02 02 3F | 03 02 02 3F | 02 04 00 DB EC 4A | 04 01 05 | 05 03 05 02 06 | 06 02 00 00 | 07 01 0F | 08 01 00 | 0A 01 00 | 0F 01 0C"
	// The lab probe answering ykman 4.0.9 as a YubiKey 5 NFC, 5.4.3 (§7.3).
	resp5NFC543 = "2B 01 02 02 3F 03 02 02 3F 02 04 00 BC 61 4E 04 01 01 05 03 05 04 03 06 02 00 00 07 01 0F 08 01 00 0D 02 02 3F 0E 02 02 3F 0A 01 00"
)

func TestParseInfoRealResponses(t *testing.T) {
	tests := []struct {
		name  string
		resp  string
		want  device.Info
		model string
	}{
		{"5 NFC 5.2.3", resp5NFC523, device.Info{
			Serial: 0x00AB579B, Version: device.Version{Major: 5, Minor: 2, Patch: 3}, FormFactor: device.FormUSBAKeychain,
			USBSupported: 0x023F, USBEnabled: 0x003C, HasNFC: true, NFCSupported: 0x023F, NFCEnabled: 0x023B,
			DeviceFlags: 0x80, AutoEjectTimeout: 10, ChalRespTimeout: 15,
		}, "YubiKey 5 NFC"},
		{"5Ci 5.2.6", resp5Ci526, device.Info{
			Serial: 0x00DBEC4A, Version: device.Version{Major: 5, Minor: 2, Patch: 6}, FormFactor: device.FormUSBCLightning,
			USBSupported: 0x023F, USBEnabled: 0x023F, ChalRespTimeout: 15,
		}, "YubiKey 5Ci"},
		{"lab 5 NFC 5.4.3", resp5NFC543, device.Info{
			Serial: 12345678, Version: device.Version{Major: 5, Minor: 4, Patch: 3}, FormFactor: device.FormUSBAKeychain,
			USBSupported: 0x023F, USBEnabled: 0x023F, HasNFC: true, NFCSupported: 0x023F, NFCEnabled: 0x023F,
			ChalRespTimeout: 15,
		}, "YubiKey 5 NFC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInfo(unhex(t, tt.resp))
			if err != nil {
				t.Fatalf("ParseInfo: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseInfo =\n %+v\nwant\n %+v", got, tt.want)
			}
			if m := got.Model(); m != tt.model {
				t.Errorf("Model() = %q, want %q", m, tt.model)
			}
		})
	}
}

func TestParseInfoMalformed(t *testing.T) {
	tests := []struct{ name, resp string }{
		{"empty", ""},
		{"length byte too large", "05 01 02 02 3F"},
		{"length byte too small", "03 01 02 02 3F"},
		{"length byte only, but claims data", "01"},
		{"truncated TLV value", "04 01 03 02 3F"},
		{"truncated TLV header", "05 01 02 02 3F 02"},
		{"version of 2 bytes", "08 01 02 02 3F 05 02 05 04"},
		{"version of 4 bytes", "0A 01 02 02 3F 05 04 05 04 03 00"},
		{"serial of 5 significant bytes", "0B 01 02 02 3F 02 05 01 00 00 00 00"},
		{"USB supported of 3 significant bytes", "05 01 03 01 02 3F"},
		{"no USB supported", "07 02 04 00 BC 61 4E"},
		{"NFC enabled too wide", "0D 01 02 02 3F 0D 02 02 3F 0E 03 01 02 3B"},
		{"unsupported length form", "05 01 84 00 00 00"},
		{"whole real response cut short", resp5NFC543[:len(resp5NFC543)-3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInfo(unhex(t, tt.resp))
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("ParseInfo = %+v, %v; want an error matching ErrInvalidResponse", got, err)
			}
		})
	}
}

// infoSpec builds READ CONFIG responses for tests.
type infoSpec struct {
	serial     uint32
	version    *device.Version
	ff         byte
	usbSup     uint16
	usbEn      *uint16
	nfcSup     *uint16
	nfcEn      *uint16
	locked     bool
	flags      byte
	extra      []byte // raw TLVs appended
	noUSBSup   bool
	noSerial   bool
	partNumber string
}

func u16(v uint16) *uint16 { return &v }

func ver(major, minor, patch uint8) *device.Version {
	return &device.Version{Major: major, Minor: minor, Patch: patch}
}

func (s infoSpec) tlvs() []byte {
	var b []byte
	if !s.noUSBSup {
		b = tlv.Append(b, tagUSBSupported, be16(s.usbSup))
	}
	if s.usbEn != nil {
		b = tlv.Append(b, tagUSBEnabled, be16(*s.usbEn))
	}
	if !s.noSerial {
		b = tlv.Append(b, tagSerial, []byte{byte(s.serial >> 24), byte(s.serial >> 16), byte(s.serial >> 8), byte(s.serial)})
	}
	b = tlv.Append(b, tagFormFactor, []byte{s.ff})
	if s.version != nil {
		b = tlv.Append(b, tagVersion, []byte{s.version.Major, s.version.Minor, s.version.Patch})
	}
	b = tlv.Append(b, tagAutoEject, []byte{0, 0})
	b = tlv.Append(b, tagChalRespTO, []byte{15})
	b = tlv.Append(b, tagDeviceFlags, []byte{s.flags})
	if s.nfcSup != nil {
		b = tlv.Append(b, tagNFCSupported, be16(*s.nfcSup))
	}
	if s.nfcEn != nil {
		b = tlv.Append(b, tagNFCEnabled, be16(*s.nfcEn))
	}
	lock := byte(0)
	if s.locked {
		lock = 1
	}
	b = tlv.Append(b, tagConfigLock, []byte{lock})
	if s.partNumber != "" {
		b = tlv.Append(b, tagPartNumber, []byte(s.partNumber))
	}
	return append(b, s.extra...)
}

func (s infoSpec) bytes() []byte {
	b := s.tlvs()
	return append([]byte{byte(len(b))}, b...)
}

// selectText is the SELECT answer for a version, as the simulator and
// real keys word it (§1.1).
func selectText(v device.Version) []byte {
	return []byte("Virtual mgr - FW version " + v.String())
}

func TestParseInfoFirmwareGates(t *testing.T) {
	t.Run("4.2.4 reports USB supported wrongly and gets 3F", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(4, 2, 4), usbSup: 0x0001, usbEn: u16(0x0001)}.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got.USBSupported != 0x3F {
			t.Errorf("USBSupported = %#04x, want 0x003f", got.USBSupported)
		}
	})
	t.Run("4.2.4 may omit USB supported", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(4, 2, 4), noUSBSup: true}.bytes())
		if err != nil || got.USBSupported != 0x3F {
			t.Errorf("got %#04x, %v; want 0x003f, nil", got.USBSupported, err)
		}
	})
	t.Run("YubiKey 4 USB enabled is ignored", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(4, 3, 7), usbSup: 0x3F, usbEn: u16(0x3F)}.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got.USBEnabled != 0 || got.USBSupported != 0x3F {
			t.Errorf("USBEnabled = %#04x, USBSupported = %#04x; want 0 (unknown) and 0x003f", got.USBEnabled, got.USBSupported)
		}
	})
	t.Run("YubiKey 5 USB enabled is kept, unknown bits too", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(5, 7, 1), usbSup: 0x073F, usbEn: u16(0x063E)}.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got.USBEnabled != 0x063E || got.USBSupported != 0x073F {
			t.Errorf("USBEnabled = %#04x, USBSupported = %#04x; want 0x063e, 0x073f", got.USBEnabled, got.USBSupported)
		}
	})
	t.Run("NFC enabled missing means all supported enabled", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(5, 4, 3), usbSup: 0x23F, usbEn: u16(0x23F), nfcSup: u16(0x23B)}.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !got.HasNFC || got.NFCEnabled != 0x23B {
			t.Errorf("HasNFC %v NFCEnabled %#04x; want true, 0x023b", got.HasNFC, got.NFCEnabled)
		}
	})
	t.Run("no version tag leaves version zero for ReadInfo to fill", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{usbSup: 0x23F, usbEn: u16(0x23F)}.bytes())
		if err != nil || got.Version != (device.Version{}) {
			t.Errorf("got %v, %v; want 0.0.0, nil", got.Version, err)
		}
		got, err = parseTLVs(infoSpec{usbSup: 0x23F, usbEn: u16(0x23F)}.tlvs(), device.Version{Major: 5, Minor: 1, Patch: 2})
		if err != nil || got.Version != (device.Version{Major: 5, Minor: 1, Patch: 2}) {
			t.Errorf("with SELECT version: got %v, %v; want 5.1.2", got.Version, err)
		}
	})
	t.Run("repeated tag takes the last value, as ykman's dict", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(5, 4, 3), usbSup: 0x23F, usbEn: u16(0x23F), extra: []byte{tagUSBEnabled, 2, 0x02, 0x3E}}.bytes())
		if err != nil || got.USBEnabled != 0x23E {
			t.Errorf("got %#04x, %v; want 0x023e", got.USBEnabled, err)
		}
	})
	t.Run("form factor flags and unknown code", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(5, 4, 3), usbSup: 0x202, ff: 0xC9}.bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !got.FIPS || !got.SKY || got.FormFactor != device.FormUnknown {
			t.Errorf("FIPS %v SKY %v FormFactor %v; want true, true, Unknown", got.FIPS, got.SKY, got.FormFactor)
		}
	})
	t.Run("config lock only on exactly 01", func(t *testing.T) {
		for _, tc := range []struct {
			extra []byte
			want  bool
		}{{[]byte{tagConfigLock, 1, 1}, true}, {[]byte{tagConfigLock, 1, 2}, false}, {[]byte{tagConfigLock, 2, 0, 1}, false}} {
			got, err := ParseInfo(infoSpec{version: ver(5, 4, 3), usbSup: 0x23F, extra: tc.extra}.bytes())
			if err != nil || got.ConfigLocked != tc.want {
				t.Errorf("lock TLV % x: ConfigLocked = %v, %v; want %v", tc.extra, got.ConfigLocked, err, tc.want)
			}
		}
	})
	t.Run("part number and unknown tags", func(t *testing.T) {
		got, err := ParseInfo(infoSpec{version: ver(5, 7, 1), usbSup: 0x23F, partNumber: "5C-NANO-ABC", extra: []byte{0x19, 3, 1, 1, 0, 0x21, 0}}.bytes())
		if err != nil || got.PartNumber != "5C-NANO-ABC" {
			t.Errorf("PartNumber %q, %v", got.PartNumber, err)
		}
	})
}

// modelCases are named keys, checked against Model and against ykman.
var modelCases = []struct {
	name string
	spec infoSpec
	want string
}{
	{"5C Nano", infoSpec{serial: 1, version: ver(5, 4, 3), ff: 0x04, usbSup: 0x033F, usbEn: u16(0x033F)}, "YubiKey 5C Nano"},
	{"5C Nano with bogus NFC tags", infoSpec{serial: 1, version: ver(5, 4, 3), ff: 0x04, usbSup: 0x033F, usbEn: u16(0x033F), nfcSup: u16(0x033F), nfcEn: u16(0x033F)}, "YubiKey 5C Nano"},
	{"5C NFC", infoSpec{serial: 2, version: ver(5, 4, 3), ff: 0x03, usbSup: 0x033F, usbEn: u16(0x033F), nfcSup: u16(0x033F), nfcEn: u16(0x033F)}, "YubiKey 5C NFC"},
	{"5C NFC tags before 5.2.4 are dropped", infoSpec{serial: 2, version: ver(5, 2, 3), ff: 0x03, usbSup: 0x023F, usbEn: u16(0x023F), nfcSup: u16(0x023F), nfcEn: u16(0x023F)}, "YubiKey 5C"},
	{"5Ci", infoSpec{serial: 3, version: ver(5, 2, 6), ff: 0x05, usbSup: 0x023F, usbEn: u16(0x023F)}, "YubiKey 5Ci"},
	{"5Ci with bogus NFC tags", infoSpec{serial: 3, version: ver(5, 4, 3), ff: 0x05, usbSup: 0x023F, usbEn: u16(0x023F), nfcSup: u16(0x023F), nfcEn: u16(0x023F)}, "YubiKey 5Ci"},
	{"5 NFC", infoSpec{serial: 4, version: ver(5, 2, 3), ff: 0x01, usbSup: 0x023F, usbEn: u16(0x023F), nfcSup: u16(0x023F), nfcEn: u16(0x023B)}, "YubiKey 5 NFC"},
	{"5 Nano", infoSpec{serial: 5, version: ver(5, 4, 3), ff: 0x02, usbSup: 0x033F, usbEn: u16(0x033F)}, "YubiKey 5 Nano"},
	{"5C", infoSpec{serial: 6, version: ver(5, 4, 3), ff: 0x03, usbSup: 0x033F, usbEn: u16(0x033F)}, "YubiKey 5C"},
	{"5A", infoSpec{serial: 7, version: ver(5, 1, 2), ff: 0x01, usbSup: 0x023F, usbEn: u16(0x023F)}, "YubiKey 5A"},
	{"5 NFC FIPS", infoSpec{serial: 8, version: ver(5, 4, 3), ff: 0x81, usbSup: 0x033F, usbEn: u16(0x033F), nfcSup: u16(0x033F), nfcEn: u16(0x033F)}, "YubiKey 5 NFC FIPS"},
	{"5C Nano FIPS", infoSpec{serial: 9, version: ver(5, 7, 4), ff: 0x84, usbSup: 0x033F, usbEn: u16(0x033F)}, "YubiKey 5C Nano FIPS"},
	{"Security Key NFC", infoSpec{version: ver(5, 4, 3), ff: 0x41, usbSup: 0x0202, usbEn: u16(0x0202), nfcSup: u16(0x0202), nfcEn: u16(0x0202), noSerial: true}, "Security Key NFC"},
	{"Security Key C NFC (ykman's spelling)", infoSpec{version: ver(5, 4, 3), ff: 0x43, usbSup: 0x0202, usbEn: u16(0x0202), nfcSup: u16(0x0202), nfcEn: u16(0x0202), noSerial: true}, "Security Key C NFC"},
	{"Security Key by Yubico (SKY 2)", infoSpec{version: ver(5, 0, 9), ff: 0x01, usbSup: 0x0202, usbEn: u16(0x0202), noSerial: true}, "Security Key by Yubico"},
	{"FIDO U2F Security Key (SKY 1)", infoSpec{version: ver(4, 1, 8), ff: 0x01, usbSup: 0x0002, noSerial: true}, "FIDO U2F Security Key"},
	{"preview 5.0.2", infoSpec{serial: 10, version: ver(5, 0, 2), ff: 0x01, usbSup: 0x023F, usbEn: u16(0x023F)}, "YubiKey Preview"},
	{"preview 5.2.1", infoSpec{serial: 10, version: ver(5, 2, 1), ff: 0x03, usbSup: 0x023F, usbEn: u16(0x023F)}, "YubiKey Preview"},
	{"preview 5.5.1", infoSpec{serial: 10, version: ver(5, 5, 1), ff: 0x07, usbSup: 0x0202, usbEn: u16(0x0202)}, "YubiKey Preview"},
	{"not preview 5.2.3", infoSpec{serial: 10, version: ver(5, 2, 3), ff: 0x03, usbSup: 0x023F, usbEn: u16(0x023F)}, "YubiKey 5C"},
	{"YubiKey 4", infoSpec{serial: 11, version: ver(4, 3, 7), ff: 0x01, usbSup: 0x003F, usbEn: u16(0x003F)}, "YubiKey 4"},
	{"YubiKey 4 FIPS", infoSpec{serial: 12, version: ver(4, 4, 5), ff: 0x01, usbSup: 0x003F}, "YubiKey FIPS"},
	{"YubiKey Edge", infoSpec{serial: 13, version: ver(4, 1, 1), ff: 0x01, usbSup: 0x0003}, "YubiKey Edge"},
	{"Bio FIDO Edition", infoSpec{version: ver(5, 5, 6), ff: 0x06, usbSup: 0x0202, usbEn: u16(0x0202), noSerial: true}, "YubiKey Bio - FIDO Edition"},
	{"Bio C FIDO Edition (ykman's spelling)", infoSpec{version: ver(5, 5, 6), ff: 0x07, usbSup: 0x0202, usbEn: u16(0x0202), noSerial: true}, "YubiKey C Bio - FIDO Edition"},
	{"Bio multi-protocol", infoSpec{serial: 14, version: ver(5, 6, 6), ff: 0x07, usbSup: 0x0218, usbEn: u16(0x0218)}, "YubiKey C Bio"},
}

func TestModel(t *testing.T) {
	for _, tt := range modelCases {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseInfo(tt.spec.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Model(); got != tt.want {
				t.Errorf("Model() = %q, want %q (info %+v)", got, tt.want, info)
			}
		})
	}
	// Keys whose READ CONFIG is unavailable are named from the version.
	for _, tc := range []struct {
		info device.Info
		want string
	}{
		{device.Info{Serial: 1, Version: device.Version{Major: 3, Minor: 4, Patch: 9}}, "YubiKey NEO"},
		{device.Info{Serial: 1, Version: device.Version{Major: 2, Minor: 4, Patch: 0}}, "YubiKey"},
		{device.Info{Serial: 1, Version: device.Version{Major: 0, Minor: 0, Patch: 1}}, "YubiKey (0.0.1)"},
	} {
		if got := tc.info.Model(); got != tc.want {
			t.Errorf("Model(%v) = %q, want %q", tc.info.Version, got, tc.want)
		}
	}
}
