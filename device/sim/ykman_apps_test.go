package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/internal/testenv"
)

// ykman stores OATH accounts, an OpenPGP key (ykman 4.0.9 imports only
// into the attestation slot), PIN retries and touch
// policy, and an OTP slot on the simulator, reads them back, and resets
// OATH and OpenPGP and deletes the slots with its own commands
// (docs/yubikey-protocol.md §12): what keywizard's wipe relies on, checked
// against Yubico's client. It takes about 40 s: each of its ykman runs
// costs about 2 s of Python start-up and PC/SC connection.
func TestYkmanOtherApplications(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 8675310, Model: "5c-nfc"})
	attach(t, k, 0)

	// OATH.
	mustYkman(t, 0, "oath", "accounts", "add", "-f", "-i", "Example", "alice", "JBSWY3DPEHPK3PXP")
	mustYkman(t, 0, "oath", "accounts", "add", "-f", "-t", "-o", "HOTP", "bob", "JBSWY3DPEHPK3PXQ")
	out := mustYkman(t, 0, "oath", "accounts", "list")
	lines(t, out, "Example:alice", "bob")
	if got := k.OATHAccounts(); !slices.Equal(got, []string{"Example:alice", "bob"}) {
		t.Fatalf("accounts on the key: %q", got)
	}
	mustYkman(t, 0, "oath", "reset", "-f")
	if out := mustYkman(t, 0, "oath", "accounts", "list"); strings.TrimSpace(out) != "" || len(k.OATHAccounts()) != 0 {
		t.Fatalf("after ykman oath reset: %q, %q", out, k.OATHAccounts())
	}

	// OpenPGP.
	out = mustYkman(t, 0, "openpgp", "info")
	lines(t, out, "OpenPGP version: 3.4", "Application version: 5.7.1", "PIN tries remaining: 3",
		"Reset code tries remaining: 0", "Admin PIN tries remaining: 3", "Signature key Off")
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	mustYkman(t, 0, "openpgp", "keys", "import", "-a", "12345678", "att", keyFile)
	mustYkman(t, 0, "openpgp", "keys", "set-touch", "-f", "-a", "12345678", "sig", "on")
	mustYkman(t, 0, "openpgp", "access", "set-retries", "-f", "-a", "12345678", "5", "4", "6")
	out = mustYkman(t, 0, "openpgp", "info")
	lines(t, out, "PIN tries remaining: 5", "Reset code tries remaining: 4", "Admin PIN tries remaining: 6", "Signature key On")
	if n := k.OpenPGPKeys(); n != 1 {
		t.Fatalf("%d OpenPGP keys on the key after the import, want 1", n)
	}
	mustYkman(t, 0, "openpgp", "reset", "-f")
	out = mustYkman(t, 0, "openpgp", "info")
	lines(t, out, "PIN tries remaining: 3", "Reset code tries remaining: 0", "Admin PIN tries remaining: 3", "Signature key Off")
	if n := k.OpenPGPKeys(); n != 0 {
		t.Fatalf("%d OpenPGP keys left after ykman openpgp reset", n)
	}

	// OTP over CCID: slot 1 comes programmed, as a YubiKey ships.
	lines(t, mustYkman(t, 0, "otp", "info"), "Slot 1: programmed", "Slot 2: empty")
	mustYkman(t, 0, "otp", "static", "-f", "2", "ccbbddeeffcc")
	lines(t, mustYkman(t, 0, "otp", "info"), "Slot 1: programmed", "Slot 2: programmed")
	mustYkman(t, 0, "otp", "delete", "-f", "1")
	mustYkman(t, 0, "otp", "delete", "-f", "2")
	lines(t, mustYkman(t, 0, "otp", "info"), "Slot 1: empty", "Slot 2: empty")
	if s1, s2 := k.OTPSlots(); s1 || s2 {
		t.Fatalf("slots programmed after delete: %v %v", s1, s2)
	}
	// A slot protected by an access code is not deleted without it.
	mustYkman(t, 0, "otp", "static", "-f", "1", "ccbbddeeffcc")
	mustYkman(t, 0, "otp", "settings", "-f", "-A", "010203040506", "1")
	if _, err := ykman(t, 0, "otp", "delete", "-f", "1"); err == nil {
		t.Fatal("a slot with an access code was deleted without it")
	}
	mustYkman(t, 0, "otp", "--access-code", "010203040506", "delete", "-f", "1")
	lines(t, mustYkman(t, 0, "otp", "info"), "Slot 1: empty")
}
