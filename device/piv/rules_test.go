package piv

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/trace"
)

// TestPINComplexityRefusalAndTrace runs a PIN change and the PIN-protected
// management key on a simulated 5C NFC with PIN complexity (5.7): a PIN on
// the key's list comes back as *device.PINRefusedError (SW 6985), and the
// process's trace, which saw every APDU, holds neither PIN nor key.
func TestPINComplexityRefusalAndTrace(t *testing.T) {
	ctx := context.Background()
	k, err := sim.New(sim.Config{Serial: 18000077, Model: "5c-nfc-epin"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(ctx, k.Card())
	if err != nil {
		t.Fatal(err)
	}
	err = s.ChangePIN(ctx, DefaultPIN, "11111111")
	var re *device.PINRefusedError
	if !errors.As(err, &re) || re.Which != device.PIVPIN || !errors.Is(err, device.ErrPINPolicy) {
		t.Fatalf("a PIN on the complexity list: %v", err)
	}
	const pin = "48291735"
	if err := s.ChangePIN(ctx, DefaultPIN, pin); err != nil {
		t.Fatal(err)
	}
	if _, err := protectManagementKey(ctx, simOpener(k), pin, false, simKeySetter(k), randReader(), time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	key := checkProtected(t, k, pin, MgmtAES192)
	recent := strings.ToLower(trace.Default().Recent())
	if !strings.Contains(recent, "<current pin 6 bytes> <new pin 8 bytes>") || !strings.Contains(recent, "get data object 5fc109") {
		t.Fatalf("the trace did not see the exchange:\n%s", recent)
	}
	for name, secret := range map[string]string{"PIN": hex.EncodeToString([]byte(pin)), "PIN text": pin, "management key": hex.EncodeToString(key)} {
		if strings.Contains(recent, secret) {
			t.Errorf("the %s is in the trace", name)
		}
	}
}
