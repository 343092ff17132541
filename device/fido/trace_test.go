package fido_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/device/trace"
)

// TestTraceLeavesOutPINs: the CTAP-layer trace of a PIN set, a wrong PIN, a
// change and a credential listing names every operation and never a PIN.
func TestTraceLeavesOutPINs(t *testing.T) {
	a, _ := newNano(t, simfido.Config{})
	var out bytes.Buffer
	l := trace.New(&out, trace.KindCTAP)
	c := fido.NewClient(a, fido.Options{Trace: l})
	const first, wrong, second = "493817", "271828", "8675309x"
	if err := c.SetPIN(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangePIN(ctx, wrong, second); err == nil {
		t.Fatal("a wrong PIN was accepted")
	}
	if err := c.ChangePIN(ctx, first, second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Credentials(ctx, second); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"clientPIN setPIN <new PIN 6 bytes> -> ok", "clientPIN changePIN <current PIN 6 bytes> <new PIN 8 bytes> -> error", "-> ok", "getCredsMetadata <PIN 8 bytes>", "getInfo"} {
		if !strings.Contains(text, want) {
			t.Errorf("trace lacks %q:\n%s", want, text)
		}
	}
	for _, secret := range []string{first, wrong, second} {
		if strings.Contains(text, secret) || strings.Contains(l.Recent(), secret) {
			t.Errorf("PIN %q in the trace:\n%s", secret, text)
		}
	}
}
