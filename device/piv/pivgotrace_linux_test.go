//go:build linux && cgo

package piv

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/trace"
	"github.com/keywizard/keywizard/internal/testenv"
)

// TestPIVGoAPDUsTracedRedacted: the APDUs piv-go sends on its own
// connection (CHANGE REFERENCE DATA for the PIN and PUK, the management key
// authentication and SET MANAGEMENT KEY) are in the process's trace, each
// with its secrets as lengths only: no PIN, PUK or management key appears,
// in text or in hex.
func TestPIVGoAPDUsTracedRedacted(t *testing.T) {
	testenv.LockVPCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k, _, p := attached(t, ctx, sim.Config{Serial: 18000077, Model: "5c-nano", Firmware: fw571})

	const (
		newPIN = "937261"
		newPUK = "48159263"
	)
	if err := p.ChangePIN(ctx, DefaultPIN, newPIN); err != nil {
		t.Fatal(err)
	}
	if err := p.ChangePUK(ctx, DefaultPUK, newPUK); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetRandomManagementKeyProtected(ctx, newPIN); err != nil {
		t.Fatal(err)
	}
	printed, _ := k.PIVObject(ObjectPrinted)
	if len(printed) != 28 {
		t.Fatalf("PRINTED = % X, want the stored management key", printed)
	}
	mgmtKey := printed[4:]

	got := trace.Default().Recent()
	for _, want := range []string{
		"# piv-go session",
		"PIV CHANGE REFERENCE DATA <current PIN 6 bytes> <new PIN 6 bytes>",
		"PIV CHANGE REFERENCE DATA <current PUK 8 bytes> <new PUK 8 bytes>",
		"PIV GENERAL AUTHENTICATE <management key authentication",
		"PIV SET MANAGEMENT KEY <management key",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
	for name, secret := range map[string][]byte{
		"old PIN": []byte(DefaultPIN), "new PIN": []byte(newPIN), "old PUK": []byte(DefaultPUK), "new PUK": []byte(newPUK),
		"default management key": DefaultManagementKey, "new management key": mgmtKey,
	} {
		forms := []string{string(secret), hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)),
			spacedHex(secret)}
		for _, form := range forms {
			if strings.Contains(got, form) {
				t.Errorf("the trace shows the %s (%q)", name, form)
			}
		}
	}
	if bytes.Contains([]byte(got), mgmtKey) {
		t.Error("the trace holds the new management key's bytes")
	}
}

// spacedHex is b as "% X" prints it.
func spacedHex(b []byte) string {
	var out []string
	for _, c := range b {
		out = append(out, strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return strings.Join(out, " ")
}
