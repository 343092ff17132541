package steps_test

import (
	"testing"

	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// TestFullFlow drives the wizard from welcome to summary with two fake keys.
// The same flow runs against any steps.Keys: stepstest.RunFullFlow was also
// run over device/fido, device/piv (piv-go through pcscd + vpcd) and
// device/mgmt on the simulator, with ykman confirming the result.
func TestFullFlow(t *testing.T) {
	keys := stepstest.NewFakeKeys(stepstest.NewKey(23456789, false), stepstest.NewKey(12345678, true))
	stepstest.RunFullFlow(t, stepstest.FlowEnv{
		Keys: keys, Everyday: 12345678, Backup: 23456789,
		RegisterPasskey: keys.RegisterPasskey,
	})
	for _, s := range []uint32{12345678, 23456789} {
		k := keys.Key(s)
		if k.FIDOPIN != stepstest.FlowFIDOPIN || k.PIVPIN != stepstest.FlowPIVPIN || k.PIVPUK != stepstest.FlowPIVPUK || !k.MgmtProtected {
			t.Errorf("key %d not provisioned as asked: %+v", s, k)
		}
		if k.Key.Info.USBEnabled&0x01 != 0 {
			t.Errorf("key %d still has OTP over USB", s)
		}
	}
	if keys.Key(23456789).Key.Info.NFCEnabled&0x01 != 0 {
		t.Error("NFC key still has OTP over NFC")
	}
}

// TestFullFlowOrgCatalogue runs the whole flow with an organisation's
// catalogue that adds Okta (passkey-verified) and Slack (self-attested) and
// drops AWS.
func TestFullFlowOrgCatalogue(t *testing.T) {
	cat, err := catalogue.Merge(stepstest.Catalogue(), "org.json", []byte(`{"schema":1,"services":[
	  {"id":"aws","disabled":true},
	  {"id":"okta","name":"Okta","url":"https://acme.okta.com/enduser/settings","instructions":["Click Set up next to Security Key."],
	   "verification":{"kind":"fido-credential","rp_id":"acme.okta.com","user":"email"}},
	  {"id":"slack","name":"Slack","url":"https://acme.slack.com/account/settings","instructions":["Add the key under Two-factor."],
	   "verification":{"kind":"self-attest"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	keys := stepstest.NewFakeKeys(stepstest.NewKey(23456789, false), stepstest.NewKey(12345678, true))
	stepstest.RunFullFlow(t, stepstest.FlowEnv{Keys: keys, Everyday: 12345678, Backup: 23456789, RegisterPasskey: keys.RegisterPasskey, Catalogue: cat})
	for _, s := range []uint32{12345678, 23456789} {
		var okta bool
		for _, c := range keys.Key(s).Passkeys {
			okta = okta || c.RPID == "acme.okta.com"
		}
		if !okta {
			t.Errorf("key %d: no Okta passkey was made", s)
		}
	}
}
