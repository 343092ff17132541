package main

import (
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

// TestOTPDisableNanoReportingNFC: a 5C Nano that reports NFC tags has no
// NFC (ykman read_info, yubikey-manager yubikit/support.py "Known to not
// have NFC"): `otp disable --nfc` changes USB only and succeeds, and ykman
// agrees the key is a 5C Nano with OTP off and no NFC.
func TestOTPDisableNanoReportingNFC(t *testing.T) {
	testenv.LockVPCD(t)
	plug(t, sim.Config{Serial: 22000061, Model: "5c-nano-nfctags"}, 0)
	k := keysJSON(t)
	if len(k) != 1 || k[0].Model != "YubiKey 5C Nano" || len(k[0].NFCEnabled) != 0 || !k[0].NFCMisreported {
		t.Fatalf("keys --json: %+v", k)
	}
	r := run(t, "", "otp", "disable", "--serial", "22000061", "--nfc")
	if r.code != 0 || !strings.Contains(r.out, "USB: OTP disabled") || strings.Contains(r.out, "NFC:") {
		t.Fatalf("otp disable --nfc on a 5C Nano reporting NFC: exit %d\n%s%s", r.code, r.out, r.err)
	}
	info := ykman(t, "Virtual PCD 00 00", "info")
	if !strings.Contains(info, "Device type: YubiKey 5C Nano") || !strings.Contains(lineWith(info, "OTP"), "Disabled") || strings.Contains(info, "NFC") {
		t.Fatalf("ykman info after the change:\n%s", info)
	}
}

// TestYkmanNamesVariantsAsKeywizard: Debian's ykman 4.0.9 and keywizard
// read the same simulated variants and give the same name, firmware, form
// factor and serial. Where ykman-main renamed a model (yubikey-manager
// yubikit/support.py get_name), keywizard follows main and 4.0.9's older
// name is asserted, so the difference is on record.
func TestYkmanNamesVariantsAsKeywizard(t *testing.T) {
	testenv.LockVPCD(t)
	for _, tc := range []struct {
		model    string
		fw       device.Version
		ykman409 string // "" = same as keywizard
		keywiz   string
	}{
		{"5c-nano-nfctags", device.Version{}, "", "YubiKey 5C Nano"},
		{"5ci-nfctags", device.Version{}, "", "YubiKey 5Ci"},
		{"5c-nfc", device.Version{Major: 5, Minor: 2, Patch: 3}, "", "YubiKey 5C"}, // NFC tags before 5.2.4 dropped
		{"5c-nfc-fips", device.Version{}, "", "YubiKey 5C NFC FIPS"},
		{"5c-nfc-epin", device.Version{}, "YubiKey 5C NFC", "YubiKey 5C NFC - Enhanced PIN"}, // 4.0.9 reads page 0 only
		{"bio-c-multi", device.Version{}, "YubiKey C Bio", "YubiKey C Bio - Multi-protocol Edition"},
		{"4-fips", device.Version{}, "YubiKey FIPS", "YubiKey FIPS (4 Series)"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			k := plug(t, sim.Config{Serial: 22000071, Model: tc.model, Firmware: tc.fw}, 0)
			keys := keysJSON(t)
			if len(keys) != 1 || keys[0].Model != tc.keywiz {
				t.Fatalf("keywizard keys: %+v, want %q", keys, tc.keywiz)
			}
			info := ykman(t, "Virtual PCD 00 00", "info")
			want := tc.ykman409
			if want == "" {
				want = tc.keywiz
			}
			if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lineWith(info, "Device type:")), "Device type:")) != want {
				t.Errorf("ykman says %q, want %q:\n%s", lineWith(info, "Device type:"), want, info)
			}
			if !strings.Contains(lineWith(info, "Firmware version:"), k.Firmware().String()) || !strings.Contains(lineWith(info, "Serial number:"), "22000071") ||
				!strings.Contains(lineWith(info, "Form factor:"), keys[0].FormFactor) {
				t.Errorf("ykman info disagrees with keywizard %+v:\n%s", keys[0], info)
			}
			if (len(keys[0].NFCSupported) > 0) != strings.Contains(info, "NFC") {
				t.Errorf("NFC: keywizard %v, ykman:\n%s", keys[0].NFCSupported, info)
			}
		})
	}
}
