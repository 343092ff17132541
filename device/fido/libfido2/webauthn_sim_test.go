//go:build cgo && linux

package libfido2

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/device/trace"
)

// authData strips the CBOR byte-string head libfido2 keeps around
// authenticator data (fido_cred_authdata_ptr, fido_assert_authdata_ptr).
func authData(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) == 0 || b[0]>>5 != 2 {
		t.Fatalf("authenticator data is not a CBOR byte string: %x", b)
	}
	n, hl := int(b[0]&0x1f), 1
	switch {
	case n == 24:
		n, hl = int(b[1]), 2
	case n == 25:
		n, hl = int(b[1])<<8|int(b[2]), 3
	}
	if len(b) != hl+n {
		t.Fatalf("authenticator data of %d bytes in a %d-byte string", len(b)-hl, n)
	}
	return b[hl:]
}

// verifyES256 checks an ES256 signature over authData || clientDataHash
// (WebAuthn §6.3.3, §8.2) with a public key X || Y, as a website does.
func verifyES256(t *testing.T, pub, ad, cdh, sig []byte) bool {
	t.Helper()
	if len(pub) != 64 {
		t.Fatalf("public key of %d bytes, want X || Y (64)", len(pub))
	}
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, pub...))
	if err != nil {
		t.Fatalf("the credential's public key is not a P-256 point: %v", err)
	}
	h := sha256.Sum256(append(append([]byte(nil), ad...), cdh...))
	return ecdsa.VerifyASN1(k, h[:], sig)
}

// TestSimPasskey registers and uses passkeys through go-libfido2 and
// libfido2 on the simulator's HID node, for both PIN protocols (5.4.3:
// protocol 1 and a token without permissions; 5.7.2: protocol 2 and a
// token with the makeCredential or getAssertion permission for the RP
// ID): the key refuses a registration without the PIN, makes one with
// it (packed self attestation the test verifies as a website would), the
// credential shows in credential management, signs in discoverably and by
// ID, and is replaced by a registration of the same user handle. No touch
// is ACTION_TIMEOUT; a full store is KEY_STORE_FULL.
func TestSimPasskey(t *testing.T) {
	bothFirmwares(t, func(t *testing.T, fw device.Version) {
		k := newSimKey(t, fw)
		const pin = "ana-pin-4821"
		if err := k.open().SetPIN(ctx, pin); err != nil {
			t.Fatal(err)
		}
		cdh := make([]byte, 32)
		rand.Read(cdh)
		reg := Registration{ClientDataHash: cdh, RPID: "github.com", RPName: "GitHub",
			UserID: []byte("gh-4821"), UserName: "ana-lima", UserDisplayName: "Ana Lima"}

		_, err := k.p.MakeCredential(ctx, k.path, "", reg)
		wantCTAP(t, "MakeCredential without the PIN", err, fido.CTAPPUATRequired)
		_, err = k.p.MakeCredential(ctx, k.path, "654321", reg)
		wantCTAP(t, "MakeCredential with a wrong PIN", err, fido.CTAPPINInvalid)

		got, err := k.p.MakeCredential(ctx, k.path, pin, reg)
		if err != nil {
			t.Fatalf("MakeCredential: %v", err)
		}
		ad := authData(t, got.AuthData)
		rpHash := sha256.Sum256([]byte("github.com"))
		switch {
		case got.Format != "packed" || len(got.Cert) != 0:
			t.Errorf("attestation format %q with a certificate of %d bytes, want packed self attestation", got.Format, len(got.Cert))
		case !bytes.Equal(ad[:32], rpHash[:]):
			t.Errorf("authenticator data for another RP ID")
		case ad[32] != 0x45: // UP | UV | AT
			t.Errorf("authenticator data flags %#02x, want UP, UV, AT (0x45)", ad[32])
		case !verifyES256(t, got.PublicKey, ad, cdh, got.Sig):
			t.Errorf("the attestation signature does not verify with the credential's key")
		}

		// The trace has the call and the PIN's length, never the PIN.
		if rec := trace.Default().Recent(); !strings.Contains(rec, "makeCredential (rk, es256, <PIN 12 bytes>) -> ok") || strings.Contains(rec, pin) {
			t.Errorf("trace of MakeCredential lacks the call or has the PIN:\n%s", rec)
		}

		creds, err := k.open().Credentials(ctx, pin, "github.com")
		if err != nil || len(creds) != 1 || creds[0] != (fido.Credential{RPID: "github.com", UserName: "ana-lima", UserDisplayName: "Ana Lima"}) {
			t.Fatalf("credentials of github.com = %+v, %v", creds, err)
		}

		// Sign-in: the key finds the passkey itself, then by its ID.
		for _, ids := range [][][]byte{nil, {got.CredentialID}} {
			c := make([]byte, 32)
			rand.Read(c)
			as, err := k.p.GetAssertion(ctx, k.path, pin, AssertionRequest{RPID: "github.com", ClientDataHash: c, CredentialIDs: ids})
			if err != nil {
				t.Fatalf("GetAssertion with %d IDs: %v", len(ids), err)
			}
			ad := authData(t, as.AuthData)
			if !bytes.Equal(as.CredentialID, got.CredentialID) || ad[32] != 0x05 || !verifyES256(t, got.PublicKey, ad, c, as.Sig) {
				t.Errorf("GetAssertion with %d IDs: credential %x, flags %#02x, or a signature that does not verify", len(ids), as.CredentialID, ad[32])
			}
			if ids == nil && !bytes.Equal(as.UserID, reg.UserID) {
				t.Errorf("discoverable sign-in gave user handle %q, want %q", as.UserID, reg.UserID)
			}
			var tampered = append([]byte(nil), as.Sig...)
			tampered[len(tampered)-1] ^= 1
			if verifyES256(t, got.PublicKey, ad, c, tampered) {
				t.Fatal("a changed signature verifies: the check proves nothing")
			}
		}
		_, err = k.p.GetAssertion(ctx, k.path, pin, AssertionRequest{RPID: "gitlab.com", ClientDataHash: cdh})
		wantCTAP(t, "GetAssertion for an RP with no passkey", err, fido.CTAPNoCredentials)

		// The same user handle again replaces the passkey; another adds one.
		if _, err := k.p.MakeCredential(ctx, k.path, pin, reg); err != nil {
			t.Fatal(err)
		}
		other := reg
		other.UserID, other.UserName = []byte("gh-77"), "bo-chen"
		if _, err := k.p.MakeCredential(ctx, k.path, pin, other); err != nil {
			t.Fatal(err)
		}
		if n, _, err := k.open().CredentialsMetadata(ctx, pin); err != nil || n != 2 {
			t.Fatalf("after re-registering and one more: %d credentials, %v; want 2", n, err)
		}

		k.auth.SetTouch(simfido.NoTouch)
		_, err = k.p.MakeCredential(ctx, k.path, pin, other)
		wantCTAP(t, "MakeCredential without a touch", err, fido.CTAPActionTimeout)
		k.auth.SetTouch(nil)

		// Fill the store but one, then register two more.
		_, left, err := k.open().CredentialsMetadata(ctx, pin)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < left-1; i++ {
			if err := k.auth.AddCredential("example.org", "", "user"+string(rune('a'+i%26))+string(rune('a'+i/26)), ""); err != nil {
				t.Fatal(err)
			}
		}
		last := reg
		last.RPID, last.UserID = "example.com", []byte("last")
		if _, err := k.p.MakeCredential(ctx, k.path, pin, last); err != nil {
			t.Fatalf("MakeCredential into the last free place: %v", err)
		}
		last.UserID = []byte("one-too-many")
		_, err = k.p.MakeCredential(ctx, k.path, pin, last)
		wantCTAP(t, "MakeCredential into a full store", err, simfido.CTAPKeyStoreFull)

		if _, err := k.p.MakeCredential(ctx, k.path+"-gone", pin, reg); !errors.Is(err, device.ErrNotFound) {
			t.Errorf("MakeCredential on a path with no key = %v, want ErrNotFound", err)
		}
	})
}
