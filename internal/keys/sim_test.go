package keys_test

import (
	"context"
	"testing"
	"time"

	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/internal/simulation"
	"github.com/keywizard/keywizard/internal/testenv"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// TestFullFlowOnSimulatedKeys drives the whole wizard, welcome to summary,
// through the production adapters (keys.Keys over device/hub) against two
// simulated keys plugged into the real pcscd through vpcd: discovery,
// FIDO2 PIN and credentials, PIV provisioning through piv-go, OTP disabled
// with a reboot and read-back. stepstest.RunFullFlow checks every step's
// evidence level on both keys.
func TestFullFlowOnSimulatedKeys(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := simulation.Start(ctx, simulation.DefaultKeys, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stepstest.RunFullFlow(t, stepstest.FlowEnv{
		Keys:     &keys.Keys{Hub: s.Hub},
		Everyday: simulation.DefaultKeys[0].Serial,
		Backup:   simulation.DefaultKeys[1].Serial,
		RegisterPasskey: func(serial uint32, rpID, userName string) error {
			return s.FIDO[serial].AddCredential(rpID, rpID, userName, userName)
		},
	})
	// The simulated keys, read directly, agree with what the wizard recorded.
	for _, k := range s.Keys {
		if k.Info().USBEnabled&1 != 0 {
			t.Errorf("key %d still has OTP enabled over USB", k.Serial())
		}
		if pin, _ := k.PIVRetries(); pin == 0 {
			t.Errorf("key %d: PIV PIN blocked", k.Serial())
		}
	}
}
