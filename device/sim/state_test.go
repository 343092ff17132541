package sim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// TestStateRoundTrip: everything a real key keeps when unplugged comes
// back from the state; the FIDO2 PIN-auth block (cleared by a replug) does
// not.
func TestStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Serial: 31000007, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}}
	k := newKey(t, cfg)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	k.piv.pin = []byte("24681357")
	k.piv.pinLeft = 2
	k.piv.mgmtKey = bytes.Repeat([]byte{7}, 24)
	k.piv.keys[0x9A] = &slotKey{alg: 0x11, priv: priv, pinPolicy: 1, touchPolicy: 2, origin: originGenerated}
	k.piv.objects[0x5FC105] = []byte{0x70, 1, 2}
	k.mgmt.usbEnabled &^= device.CapOTP
	k.mgmt.lockCode = bytes.Repeat([]byte{1}, 16)
	k.mu.Unlock()
	fa := k.FIDO()
	if err := fa.SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	if err := fa.AddCredential("github.com", "GitHub", "ana-lima", "Ana Lima"); err != nil {
		t.Fatal(err)
	}
	for range 3 { // three wrong PINs: 5 retries left, auth-blocked
		fa.ChangePIN(ctx, "000000", "654321")
	}
	b, err := k.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("123456")) {
		t.Error("the FIDO2 PIN is in the state in clear; the key keeps its hash")
	}

	k2 := newKey(t, cfg)
	if err := k2.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	k2.mu.Lock()
	if !bytes.Equal(k2.piv.pin, []byte("24681357")) || k2.piv.pinLeft != 2 || !bytes.Equal(k2.piv.mgmtKey, bytes.Repeat([]byte{7}, 24)) {
		t.Errorf("PIV credentials not restored: pin %q left %d", k2.piv.pin, k2.piv.pinLeft)
	}
	sk := k2.piv.keys[0x9A]
	if sk == nil || !priv.PublicKey.Equal(sk.priv.Public()) || sk.pinPolicy != 1 || sk.touchPolicy != 2 || sk.origin != originGenerated {
		t.Errorf("slot 9A not restored: %+v", sk)
	}
	if !bytes.Equal(k2.piv.objects[0x5FC105], []byte{0x70, 1, 2}) || k2.piv.objects[objAttestation] == nil {
		t.Errorf("objects not restored")
	}
	if k2.mgmt.usbEnabled&device.CapOTP != 0 || !bytes.Equal(k2.mgmt.lockCode, bytes.Repeat([]byte{1}, 16)) {
		t.Errorf("configuration not restored: %v", k2.mgmt.usbEnabled)
	}
	k2.mu.Unlock()
	c := fido.NewClient(k2.FIDO(), fido.Options{})
	if n, err := c.PINRetries(ctx); err != nil || n != 5 {
		t.Errorf("FIDO2 retries after restore = %d, %v; want 5", n, err)
	}
	// The PIN-auth block went with the power: the right PIN works.
	creds, err := c.Credentials(ctx, "123456")
	if err != nil || len(creds) != 1 || creds[0].RP.ID != "github.com" {
		t.Errorf("passkeys after restore = %+v, %v", creds, err)
	}

	other := newKey(t, Config{Serial: 31000008, Model: "5c-nfc", Firmware: cfg.Firmware})
	if err := other.RestoreState(b); !errors.Is(err, device.ErrInvalidArgument) {
		t.Errorf("restoring another key's state = %v, want ErrInvalidArgument", err)
	}
	if err := k2.RestoreState([]byte("{")); !errors.Is(err, device.ErrInvalidResponse) {
		t.Errorf("restoring garbage = %v, want ErrInvalidResponse", err)
	}
}

// TestPersister: the file is created 0600 with the state, rewritten on
// change only, and a missing file is a fresh key.
func TestPersister(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.json")
	cfg := Config{Serial: 31000007, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}}
	p := &persister{k: newKey(t, cfg), path: path}
	if err := p.load(); err != nil {
		t.Fatalf("load of a missing file: %v", err)
	}
	if err := p.save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v, %v; want mode 0600", fi, err)
	}
	if err := p.k.FIDO().SetPIN(context.Background(), "123456"); err != nil {
		t.Fatal(err)
	}
	if err := p.save(); err != nil {
		t.Fatal(err)
	}
	p2 := &persister{k: newKey(t, cfg), path: path}
	if err := p2.load(); err != nil {
		t.Fatal(err)
	}
	if st, err := fido.NewClient(p2.k.FIDO(), fido.Options{}).State(context.Background()); err != nil || !st.PINSet {
		t.Fatalf("PIN after load: %+v, %v", st, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the state: %v", entries)
	}
}
