package sim

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device/tlv"
	"github.com/keywizard/keywizard/internal/testenv"
)

// ykman provisions PIV on the simulator the way keywizard's macOS step and
// Yubico's guides do (§4.11, §5): PIN-protected management key, ECCP256 key
// in 9a, a self-signed certificate signed on the card, attestation, then a
// PIV reset (ykman blocks PIN and PUK with RESET RETRY COUNTER, §4.9).
func TestYkmanPIVProvisioning(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 8675309, Model: "5c-nano"})
	attach(t, k, 0)
	dir := t.TempDir()
	pub := filepath.Join(dir, "pub.pem")
	att := filepath.Join(dir, "att.pem")

	mustYkman(t, 0, "piv", "access", "change-management-key", "--protect", "--generate",
		"-m", "010203040506070801020304050607080102030405060708", "-P", "123456", "-f")
	if v, ok := k.PIVObject(0x5FFF00); !ok || hexs(v) != "8003810102" {
		t.Fatalf("ADMIN DATA after --protect = %x (%v), want 80 03 81 01 02", v, ok)
	}
	out := mustYkman(t, 0, "piv", "info")
	lines(t, out, "Management key is stored on the YubiKey, protected by PIN.")
	if strings.Contains(out, "default Management key") {
		t.Error("ykman still sees the default management key")
	}

	mustYkman(t, 0, "piv", "keys", "generate", "-a", "ECCP256", "-P", "123456", "9a", pub)
	mustYkman(t, 0, "piv", "certificates", "generate", "-s", "CN=keywizard test", "-d", "3650", "-P", "123456", "9a", pub)
	out = mustYkman(t, 0, "piv", "info")
	lines(t, out, "Slot 9a:", "Algorithm: ECCP256", "Subject DN: CN=keywizard test", "Issuer DN: CN=keywizard test")

	// The certificate ykman stored was signed by the key in 9a.
	obj, ok := k.PIVObject(0x5FC105)
	if !ok {
		t.Fatal("no certificate object in 5FC105")
	}
	cert := parseCertObject(t, obj)
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("ykman's self-signed certificate does not verify: %v", err)
	}
	if pk, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pk.Equal(k.PIVPublicKey(0x9A)) {
		t.Fatal("certificate key is not the key in 9a")
	}
	// ykman writes a fresh CHUID after generating (§4.8).
	if _, ok := k.PIVObject(0x5FC102); !ok {
		t.Error("ykman did not write a CHUID")
	}

	mustYkman(t, 0, "piv", "keys", "attest", "9a", att)
	pemBytes, err := os.ReadFile(att)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		t.Fatalf("ykman wrote no PEM: %q", pemBytes)
	}
	attCert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(AttestationRoot())
	inter := x509.NewCertPool()
	inter.AddCert(k.AttestationCertificate())
	if _, err := attCert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatalf("attestation from ykman does not verify: %v", err)
	}

	out = mustYkman(t, 0, "piv", "reset", "-f")
	lines(t, out, "Success! All PIV data have been cleared from the YubiKey.")
	if p, u := k.PIVRetries(); p != 3 || u != 3 {
		t.Fatalf("retries after reset %d/%d", p, u)
	}
	lines(t, mustYkman(t, 0, "piv", "info"), "WARNING: Using default PIN!", "WARNING: Using default Management key!")
}

// parseCertObject decodes a PIV certificate object (70 cert 71 00 FE).
func parseCertObject(t *testing.T, obj []byte) *x509.Certificate {
	t.Helper()
	if len(obj) < 4 || obj[0] != 0x70 {
		t.Fatalf("not a certificate object: %x", obj[:min(len(obj), 8)])
	}
	items, err := parseTLVs(obj)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(items[0x70])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func parseTLVs(b []byte) (map[uint32][]byte, error) { return tlv.Map(b) }
