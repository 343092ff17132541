package aid

import (
	"encoding/hex"
	"testing"
)

// TestYkmanValues compares each AID with yubikey-manager's spelling of it
// (yubikit/core/smartcard/__init__.py, class AID: bytes.fromhex(...)), so
// a typo in the escaped constants fails here.
func TestYkmanValues(t *testing.T) {
	for _, c := range []struct {
		name string
		aid  AID
		hex  string
	}{
		{"OTP", OTP, "a0000005272001"},
		{"MANAGEMENT", Management, "a000000527471117"},
		{"OPENPGP", OpenPGP, "d27600012401"},
		{"OATH", OATH, "a0000005272101"},
		{"PIV", PIV, "a000000308"},
		{"FIDO", FIDO, "a0000006472f0001"},
		{"HSMAUTH", HSMAuth, "a000000527210701"},
	} {
		if got := hex.EncodeToString(c.aid.Bytes()); got != c.hex {
			t.Errorf("%s = %s, yubikey-manager has %s", c.name, got, c.hex)
		}
	}
}

func TestSelectedBy(t *testing.T) {
	for _, c := range []struct {
		aid  AID
		data string
		want bool
	}{
		{PIV, "a000000308", true},
		{PIV, "a00000030800001000", true}, // with the version, as the .NET SDK sends it
		{OTP, "a000000527200101", true},   // as piv-go sends it
		{OATH, "a000000527210701", false}, // YubiHSM Auth is not OATH
		{HSMAuth, "a0000005272101", false},
		{Management, "a0000005274711", false}, // too short
		{FIDO, "", false},
	} {
		data, err := hex.DecodeString(c.data)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.aid.SelectedBy(data); got != c.want {
			t.Errorf("%x.SelectedBy(%s) = %v, want %v", c.aid.Bytes(), c.data, got, c.want)
		}
	}
}
