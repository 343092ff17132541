package device

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestPIVPINRule: ykman _cli/piv.py _do_change_pin_puk and unblock_pin:
// `min_len = 8 if CAPABILITY.PIV in info.fips_capable else 6`, at most 8,
// `unit = "characters" if pin_complexity else "bytes"`.
func TestPIVPINRule(t *testing.T) {
	for _, tc := range []struct {
		name      string
		info      Info
		min       int
		unit      LengthUnit
		ok, notOK []string
	}{
		{"plain 5.4", Info{}, 6, Bytes, []string{"123456", "12345678", "éééé"}, []string{"12345", "123456789", "ééééé"}},
		{"PIN complexity", Info{PINComplexity: true}, 6, Characters, []string{"483920", "ééééé6"}, []string{"48392", "ééééééééé"}},
		{"FIPS capable PIV", Info{FIPSCapable: CapPIV | CapFIDO2, PINComplexity: true}, 8, Characters, []string{"48392017"}, []string{"4839201", "483920171"}},
		{"FIPS capable but not PIV", Info{FIPSCapable: CapFIDO2}, 6, Bytes, []string{"483920"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, which := range []Credential{PIVPIN, PIVPUK} {
				r := PIVPINRule(tc.info, which)
				if r.MinLen != tc.min || r.MaxLen != 8 || r.Unit != tc.unit || r.Which != which {
					t.Fatalf("rule %+v", r)
				}
				for _, p := range tc.ok {
					if err := r.Check(p); err != nil {
						t.Errorf("%s %q: %v", which, p, err)
					}
				}
				for _, p := range tc.notOK {
					err := r.Check(p)
					var pe *PINPolicyError
					if !errors.As(err, &pe) || !errors.Is(err, ErrPINPolicy) || strings.Contains(err.Error(), p) {
						t.Errorf("%s %q: %v; want a PINPolicyError without the PIN", which, p, err)
					}
				}
			}
		})
	}
}

// TestFIDO2PINRule: CTAP 2.1 §6.5.1 (code points, 63 bytes) and ykman
// _cli/fido.py change_pin (a Bio with PIV enabled over USB: at most 8).
func TestFIDO2PINRule(t *testing.T) {
	plain := FIDO2PINRule(Info{}, 0, 0)
	if plain.MinLen != 4 || plain.MaxBytes != 63 || plain.Unit != Characters {
		t.Fatalf("default rule %+v", plain)
	}
	for pin, ok := range map[string]bool{"1234": true, "123": false, "ñññ": false, "ññññ": true, strings.Repeat("ñ", 31): true, strings.Repeat("ñ", 32): false,
		strings.Repeat("1", 63): true, strings.Repeat("1", 64): false, "12\x0034": false, "\xff\xfe\xfd\xfc": false} {
		if err := plain.Check(pin); (err == nil) != ok {
			t.Errorf("%q: %v, want ok %v", pin, err, ok)
		}
	}
	if r := FIDO2PINRule(Info{}, 6, 0); r.Check("12345") == nil || r.Check("123456") != nil {
		t.Errorf("minPINLength 6 not applied: %+v", r)
	}
	bioMulti := Info{FormFactor: FormUSBCBio, USBEnabled: CapFIDO2 | CapPIV}
	if r := FIDO2PINRule(bioMulti, 0, 0); r.MaxLen != 8 || r.Check("123456789") == nil || r.Check("12345678") != nil {
		t.Errorf("Bio multi-protocol rule %+v", r)
	}
	bioFIDO := Info{FormFactor: FormUSBCBio, USBEnabled: CapFIDO2 | CapU2F}
	if r := FIDO2PINRule(bioFIDO, 0, 0); r.MaxLen != 63 {
		t.Errorf("Bio FIDO Edition rule %+v", r)
	}
	if r := FIDO2PINRule(Info{}, 0, 32); r.MaxLen != 32 {
		t.Errorf("maxPINLength 32 not applied: %+v", r)
	}
}

func TestDescribeStatesTheRule(t *testing.T) {
	for _, tc := range []struct {
		r    PINRule
		want []string
	}{
		{PIVPINRule(Info{}, PIVPIN), []string{"6 to 8 bytes."}},
		{PIVPINRule(Info{PINComplexity: true}, PIVPIN), []string{"6 to 8 characters.", "easy to guess", "123456"}},
		{PIVPINRule(Info{PINComplexity: true, FIPSCapable: CapPIV}, PIVPUK), []string{"Exactly 8 characters.", "FIPS", "easy to guess"}},
		{FIDO2PINRule(Info{}, 6, 0), []string{"6 to 63 characters", "at most 63 bytes"}},
	} {
		got := tc.r.Describe()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: Describe() = %q, want it to say %q", tc.r, got, w)
			}
		}
	}
}

func TestPINPolicyWords(t *testing.T) {
	refused := fmt.Errorf("setting the PIV PIN: %w", &PINRefusedError{Which: PIVPIN, Cause: errors.New("smart card status 6985")})
	if !errors.Is(refused, ErrPINPolicy) {
		t.Fatal("PINRefusedError does not match ErrPINPolicy")
	}
	w, ok := PINPolicyWords(refused)
	if !ok || !strings.Contains(w, "too easy to guess") || strings.Contains(w, "6985") {
		t.Errorf("refused: %q %v", w, ok)
	}
	w, ok = PINPolicyWords(fmt.Errorf("x: %w", PIVPINRule(Info{FIPSCapable: CapPIV}, PIVPIN).Check("123456")))
	if !ok || !strings.Contains(w, "at least 8") {
		t.Errorf("rule: %q %v", w, ok)
	}
	if _, ok := PINPolicyWords(ErrBlocked); ok {
		t.Error("ErrBlocked explained as a PIN rule")
	}
}

func TestSetupSupported(t *testing.T) {
	full := CapOTP | CapU2F | CapFIDO2 | CapOATH | CapPIV | CapOpenPGP
	for _, tc := range []struct {
		name string
		info Info
		ok   bool
	}{
		{"YubiKey 5C Nano", Info{Version: Version{5, 7, 1}, FormFactor: FormUSBCNano, USBSupported: full}, true},
		{"YubiKey 4", Info{Version: Version{4, 3, 7}, FormFactor: FormUSBAKeychain, USBSupported: full &^ CapFIDO2}, false},
		{"YubiKey FIPS (4 Series)", Info{Version: Version{4, 4, 5}, USBSupported: full &^ CapFIDO2}, false},
		{"Security Key", Info{Version: Version{5, 7, 1}, SKY: true, USBSupported: CapU2F | CapFIDO2}, false},
		{"Bio multi-protocol", Info{Version: Version{5, 7, 2}, FormFactor: FormUSBCBio, USBSupported: CapU2F | CapFIDO2 | CapPIV}, true},
		{"not read", Info{}, true},
	} {
		err := SetupSupported(tc.info, 7)
		var ue *UnsupportedKeyError
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "can't be set up by keywizard"))) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	err := SetupSupported(Info{Version: Version{4, 3, 7}, FormFactor: FormUSBAKeychain, USBSupported: CapOTP | CapU2F | CapPIV}, 7)
	if err == nil || !strings.HasPrefix(err.Error(), "YubiKey 4 (serial 7) can't be set up by keywizard: it has no FIDO2") {
		t.Errorf("YubiKey 4 words: %v", err)
	}
}
