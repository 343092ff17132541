package steps_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// TestPINRuleStatedBeforeAsking: on a key with 5.7 PIN complexity the
// wizard states the rule in the prompt, and the key's refusal comes back
// as the typed *device.PINRefusedError the window explains.
func TestPINRuleStatedBeforeAsking(t *testing.T) {
	k := stepstest.NewKey(nano, true)
	k.Key.Info.PINComplexity = true
	e := newEnv(t, "linux", k, stepstest.NewKey(nfc, false))
	e.must("start", e.w.Start(e.ctx, steps.Person{Name: "A", Email: "a@example.com", StartDate: stepstest.FlowStart}))
	e.must("detect", e.w.DetectKeys(e.ctx))
	e.must("assign", e.w.AssignRoles(e.ctx, nano, nfc))
	e.prompter.PINFunc = nil
	e.prompter.PINs = []string{"11111111"}
	refusal := &device.PINRefusedError{Which: device.FIDO2PIN, Complexity: true}
	e.keys.Hook = func(op stepstest.Op, serial uint32) error {
		if op == stepstest.OpSetFIDOPIN {
			return refusal
		}
		return nil
	}
	err := e.w.SetPIN(e.ctx, nano)
	var re *device.PINRefusedError
	if !errors.As(err, &re) || !errors.Is(err, device.ErrPINPolicy) {
		t.Fatalf("refused PIN: %v", err)
	}
	r := e.prompter.LastRequest()
	if !strings.Contains(r.Text, "easy to guess") || !strings.Contains(r.Text, "4 to 63 characters") {
		t.Errorf("the prompt does not state the rule: %q", r.Text)
	}
	// The other key has no PIN complexity: its prompt is as before.
	e.keys.Hook = nil
	e.prompter.PINs = []string{"482915"}
	e.must("set nfc", e.w.SetPIN(e.ctx, nfc))
	if r := e.prompter.LastRequest(); strings.Contains(r.Text, "easy to guess") {
		t.Errorf("rule stated for a key without PIN complexity: %q", r.Text)
	}
}

// TestYubiKey4RefusedClearly: a YubiKey 4 cannot be chosen, with plain
// words and a typed error, and nothing is saved for it.
func TestYubiKey4RefusedClearly(t *testing.T) {
	yk4 := stepstest.NewKey(nano, true)
	yk4.Key.Info.Version = device.Version{Major: 4, Minor: 3, Patch: 7}
	yk4.Key.Info.USBSupported &^= device.CapFIDO2 | device.CapHSMAuth
	yk4.Key.Info.FormFactor = device.FormUSBAKeychain
	yk4.Key.Model = yk4.Key.Info.Model()
	e := newEnv(t, "linux", yk4, stepstest.NewKey(nfc, false))
	e.must("start", e.w.Start(e.ctx, steps.Person{Name: "A", Email: "a@example.com", StartDate: stepstest.FlowStart}))
	e.must("detect", e.w.DetectKeys(e.ctx))
	err := e.w.AssignRoles(e.ctx, nano, nfc)
	var ue *device.UnsupportedKeyError
	if !errors.As(err, &ue) || !errors.Is(err, device.ErrUnsupported) || !strings.HasPrefix(err.Error(), "YubiKey 4 (serial") {
		t.Fatalf("AssignRoles with a YubiKey 4: %v", err)
	}
	if len(e.w.Snapshot().Keys) != 0 {
		t.Errorf("keys assigned despite the refusal: %+v", e.w.Snapshot().Keys)
	}
}
