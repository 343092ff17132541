package mgmt

import (
	"context"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/tlv"
)

// upstreamDumps are the device-info dumps of real keys and the names ykman
// gives them, copied from yubikey-manager tests/test_device.py
// (DEVICE_INFO_TESTDATA, main of 2026-05). The hex is the pages' TLVs
// merged, as ykman's test feeds them to DeviceInfo.parse_tlvs with default
// version 5.3.0.
var upstreamDumps = []struct{ name, tlvs string }{
	{"YubiKey 5C NFC - Enhanced PIN", "0102033f0302033f0204020b885b04010305030507040602000007010f0801000d02033f0e02033f0a01000f010020030000002103000000100101110400000000120100130c3738434c5546583530303050140200001502000016010117010018020000"},
	{"YubiKey 5C NFC FIPS", "0102033d0302033d020401ea505104018305030507040602000007010f0801000d02033d0e02033d0a01000f010020030000002103000000100101110400000000120100130c3738434c55465835303030501402001f1502001f16010117010018020000"},
	{"YubiKey 5 Nano", "0102033f0302033e020401c234c404010205030507010602000007010f0801000a01000f010020030000002103000000100101110400000000120100130c3738434c55465835303030501402000015020008160100170100"},
	{"YubiKey Bio - FIDO Edition", "0102020203020202020401afba5c04010605030507020602000007010f0801000a01000f010020030005012103030001100101110400000000120100130c3738434c5546583530303050140200001502000016010017010018020000"},
	{"YubiKey C Bio - Multi-protocol Edition", "0102061203020612020401afcfff04010705030507020602000007010f0801000a01000f010020030005012103030001100101110400000000120100130c3738434c5546583530303050140200001502000016010017010018020200"},
	{"Security Key C NFC - Enterprise Edition", "01020202030202020204017b306c04014305030504030602000007010f0801000d0202060e0202060a01000f0100"},
	{"YubiKey 5Ci", "0102023f0302023f020400a0392204010505030502030602000007010f0801000a01000f010c"},
	{"YubiKey C Bio - FIDO Edition", "01021206030212060204023251e904010705030000010602000007010f0801000a01000f010020030100002103030001100101110400000000120100130c3738434c5546583530303050140200001502000016010017010018020000190e0103050800020101030400000003"},
}

// TestModelUpstreamDumps: ykman's own expected names for real keys.
func TestModelUpstreamDumps(t *testing.T) {
	for _, d := range upstreamDumps {
		t.Run(d.name, func(t *testing.T) {
			info, err := parseTLVs(unhex(t, d.tlvs), device.Version{Major: 5, Minor: 3})
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Model(); got != d.name {
				t.Errorf("Model() = %q, ykman names it %q (info %+v)", got, d.name, info)
			}
		})
	}
}

// TestParse57Tags checks the 5.7 tags of two upstream dumps field by field,
// decoded by hand from the hex following DeviceInfo.parse_tlvs.
func TestParse57Tags(t *testing.T) {
	// "YubiKey 5C NFC FIPS": 14 02 001f, 15 02 001f (FIDO2, PIV, OpenPGP,
	// OATH, HSM auth in FIPS numbering), 16 01 01, 17 01 00, 18 02 0000.
	fips, err := parseTLVs(unhex(t, upstreamDumps[1].tlvs), device.Version{})
	if err != nil {
		t.Fatal(err)
	}
	all := device.CapFIDO2 | device.CapPIV | device.CapOpenPGP | device.CapOATH | device.CapHSMAuth
	if fips.FIPSCapable != all || fips.FIPSApproved != all || !fips.PINComplexity || fips.NFCRestricted || fips.ResetBlocked != 0 || !fips.FIPS {
		t.Errorf("FIPS dump: %+v", fips)
	}
	if fips.PartNumber != "78CLUFX5000P" || fips.Version != (device.Version{Major: 5, Minor: 7, Patch: 4}) {
		t.Errorf("part number %q version %v", fips.PartNumber, fips.Version)
	}
	// "YubiKey 5 Nano": 15 02 0008 = OATH approved only, 16 01 00.
	nano, err := parseTLVs(unhex(t, upstreamDumps[2].tlvs), device.Version{})
	if err != nil {
		t.Fatal(err)
	}
	if nano.FIPSCapable != 0 || nano.FIPSApproved != device.CapOATH || nano.PINComplexity {
		t.Errorf("5 Nano dump: %+v", nano)
	}
	// "YubiKey C Bio - Multi-protocol Edition": 18 02 0200 = FIDO2 reset
	// blocked; 20 03 000501 FPS 0.5.1; 21 03 030001 STM 3.0.1.
	bio, err := parseTLVs(unhex(t, upstreamDumps[4].tlvs), device.Version{})
	if err != nil {
		t.Fatal(err)
	}
	if bio.ResetBlocked != device.CapFIDO2 || bio.FPSVersion != (device.Version{Major: 0, Minor: 5, Patch: 1}) || bio.STMVersion != (device.Version{Major: 3, Minor: 0, Patch: 1}) {
		t.Errorf("Bio dump: reset blocked %v FPS %v STM %v", bio.ResetBlocked, bio.FPSVersion, bio.STMVersion)
	}
	// "YubiKey C Bio - FIDO Edition": tag 19 = 5.8.0 beta iteration 3; the
	// version tag says 0.0.1, and ykman uses the qualifier's version.
	beta, err := parseTLVs(unhex(t, upstreamDumps[7].tlvs), device.Version{})
	if err != nil {
		t.Fatal(err)
	}
	want := device.VersionQualifier{Version: device.Version{Major: 5, Minor: 8}, Type: device.ReleaseBeta, Iteration: 3}
	if beta.Qualifier == nil || *beta.Qualifier != want || beta.Version != want.Version || beta.VersionName() != "5.8.0.beta.3" {
		t.Errorf("qualifier %v version %v name %q", beta.Qualifier, beta.Version, beta.VersionName())
	}
	// A final qualifier does not override the version.
	fin, err := parseTLVs(append(unhex(t, "0102023f 0503050701"), tlv.Encode(tagQualifier, unhex(t, "0103050702 020102 030100"))...), device.Version{})
	if err != nil || fin.Version != (device.Version{Major: 5, Minor: 7, Patch: 1}) || fin.VersionName() != "5.7.1" {
		t.Errorf("final qualifier: %v %q %v", fin.Version, fin.VersionName(), err)
	}
}

// TestModelEveryCombination walks model × firmware × form factor × flags and
// compares Model with names derived by hand from yubikey-manager
// yubikit/support.py get_name (the expected strings are built here from
// get_name's branches, not from Model): base "YubiKey 5"/"YubiKey"
// (Bio)/"Security Key" (SKY flag); "C" for USB-C keychain, nano and Bio,
// "Ci" for Lightning; then one of "Nano" / "NFC" / "A" (USB-A keychain
// without NFC) / "Bio"; then one suffix: "FIPS", else for Bio "- FIDO
// Edition" (FIDO-only) or "- Multi-protocol Edition" (PIV), else for a SKY
// with a serial "- Enterprise Edition", else with PIN complexity "-
// Enhanced PIN"; finally "5 C" → "5C" and "5 A" → "5A".
func TestModelEveryCombination(t *testing.T) {
	type ffCase struct {
		ff      device.FormFactor
		letter  string // C / Ci / ""
		kind    string // Nano / A / Bio / ""
		nfcOK   bool   // NFC tags believed (read_info keeps them)
		nfcOK52 bool   // before 5.2.4
	}
	ffs := []ffCase{
		{device.FormUnknown, "", "", true, true},
		{device.FormUSBAKeychain, "", "A", true, true},
		{device.FormUSBANano, "", "Nano", false, false},
		{device.FormUSBCKeychain, "C", "", true, false},
		{device.FormUSBCNano, "C", "Nano", false, false},
		{device.FormUSBCLightning, "Ci", "", false, false},
		{device.FormUSBABio, "", "Bio", true, true},
		{device.FormUSBCBio, "C", "Bio", true, true},
	}
	versions := []device.Version{{Major: 5, Minor: 1, Patch: 2}, {Major: 5, Minor: 2, Patch: 3}, {Major: 5, Minor: 4, Patch: 3}, {Major: 5, Minor: 7, Patch: 1}}
	caps := []struct {
		name string
		c    device.Capability
	}{{"full", 0x033F}, {"fido-only", 0x0202}, {"fido+ccid bits", 0x1206}, {"bio multi", 0x0612}}
	n := 0
	for _, v := range versions {
		for _, f := range ffs {
			for _, cp := range caps {
				for _, nfc := range []bool{false, true} {
					for _, fips := range []bool{false, true} {
						for _, sky := range []bool{false, true} {
							for _, serial := range []uint32{0, 1234567} {
								for _, cx := range []bool{false, true} {
									info := device.Info{Serial: serial, Version: v, FormFactor: f.ff, FIPS: fips, SKY: sky, USBSupported: cp.c, HasNFC: nfc, PINComplexity: cx}
									if nfc {
										info.NFCSupported, info.NFCEnabled = cp.c, cp.c
									}
									want := expectedName(info, f.letter, f.kind, nfc && (f.nfcOK && (v.AtLeast(5, 2, 4) || f.nfcOK52)))
									if got := info.Model(); got != want {
										t.Errorf("%+v: Model() = %q, get_name gives %q", info, got, want)
									}
									n++
								}
							}
						}
					}
				}
			}
		}
	}
	if n != 4*8*4*2*2*2*2*2 {
		t.Fatalf("walked %d combinations", n)
	}
}

// expectedName follows get_name's branches for firmware >= 5.1 (see
// TestModelEveryCombination); hasNFC is read_info's verdict.
func expectedName(i device.Info, letter, kind string, hasNFC bool) string {
	fidoOnly := i.USBSupported&(device.CapOTP|device.CapOATH|device.CapPIV|device.CapOpenPGP|device.CapHSMAuth) == 0
	if i.Serial == 0 && fidoOnly && i.Version.Less(device.Version{Major: 5, Minor: 2, Patch: 8}) {
		// get_name's PID-less guess: YUBIKEY.SKY.
		if hasNFC {
			return "Security Key NFC"
		}
		return "Security Key by Yubico"
	}
	if (i.Version.Major == 5 && i.Version.Minor == 2 && i.Version.Patch < 3) || (i.Version.Major == 5 && i.Version.Minor == 5 && i.Version.Patch < 2) {
		return "YubiKey Preview"
	}
	bio := kind == "Bio"
	name := "YubiKey"
	switch {
	case i.SKY:
		name = "Security Key"
	case !bio:
		name += " 5"
	}
	if letter != "" {
		name += " " + letter
	}
	switch {
	case kind == "Nano":
		name += " Nano"
	case hasNFC:
		name += " NFC"
	case kind == "A":
		name += " A"
	case bio:
		name += " Bio"
	}
	switch {
	case i.FIPS:
		name += " FIPS"
	case bio && fidoOnly:
		name += " - FIDO Edition"
	case bio && i.USBSupported&device.CapPIV != 0:
		name += " - Multi-protocol Edition"
	case bio:
	case i.SKY && i.Serial != 0:
		name += " - Enterprise Edition"
	case i.PINComplexity && !i.SKY:
		name += " - Enhanced PIN"
	}
	return strings.ReplaceAll(strings.ReplaceAll(name, "5 C", "5C"), "5 A", "5A")
}

// TestReadInfoDropsMisreportedNFC: read_info's "Known to not have NFC" on
// the key as a whole, so every caller (keys, the OTP step) sees no NFC.
func TestReadInfoDropsMisreportedNFC(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       device.Version
		ff      byte
		dropped bool
	}{
		{"5C Nano", device.Version{Major: 5, Minor: 7, Patch: 1}, 0x04, true},
		{"5 Nano", device.Version{Major: 5, Minor: 4, Patch: 3}, 0x02, true},
		{"5Ci", device.Version{Major: 5, Minor: 2, Patch: 6}, 0x05, true},
		{"5C 5.2.3", device.Version{Major: 5, Minor: 2, Patch: 3}, 0x03, true},
		{"5C NFC 5.2.4", device.Version{Major: 5, Minor: 2, Patch: 4}, 0x03, false},
		{"5 NFC", device.Version{Major: 5, Minor: 2, Patch: 3}, 0x01, false},
		{"5C Nano FIPS", device.Version{Major: 5, Minor: 7, Patch: 4}, 0x84, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			spec := infoSpec{serial: 9, version: &v, ff: tc.ff, usbSup: 0x033F, usbEn: u16(0x033F), nfcSup: u16(0x033F), nfcEn: u16(0x023F)}
			s := openScript(t, v, step{cmd: cmdReadConfig, resp: hexOf(spec.bytes()) + "9000"})
			info, err := s.ReadInfo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if info.HasNFC == tc.dropped || info.NFCMisreported != tc.dropped || (tc.dropped && (info.NFCSupported != 0 || info.NFCEnabled != 0)) {
				t.Errorf("HasNFC %v NFCMisreported %v NFC %v/%v", info.HasNFC, info.NFCMisreported, info.NFCSupported, info.NFCEnabled)
			}
		})
	}
}

// TestReadInfoMoreDataCount: ykman-main reads MORE_DATA as the number of
// pages still to read (ManagementSession._do_read_device_info), so 02 on
// page 0 and nothing on page 1 still reads page 2.
func TestReadInfoMoreDataCount(t *testing.T) {
	v := device.Version{Major: 5, Minor: 7, Patch: 4}
	page0 := infoSpec{serial: 45, version: ver(5, 7, 4), ff: 0x04, usbSup: 0x033F, usbEn: u16(0x033F), extra: tlv.Encode(tagMoreData, []byte{2})}.bytes()
	p1 := tlv.Encode(tagPINComplexity, []byte{1})
	p2 := tlv.Encode(tagPartNumber, []byte("PN-2"))
	s := openScript(t, v,
		step{cmd: cmdReadConfig, resp: hexOf(page0) + "9000"},
		step{cmd: "00 1D 01 00", resp: hexOf(append([]byte{byte(len(p1))}, p1...)) + "9000"},
		step{cmd: "00 1D 02 00", resp: hexOf(append([]byte{byte(len(p2))}, p2...)) + "9000"})
	info, err := s.ReadInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !info.PINComplexity || info.PartNumber != "PN-2" || info.Model() != "YubiKey 5C Nano - Enhanced PIN" {
		t.Errorf("paged info = %+v (%s)", info, info.Model())
	}
}
