package simfido

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// The happy paths of makeCredential and getAssertion are checked by
// libfido2 and Yubico's fido2-tools (device/sim/passkey_hid_test.go,
// device/fido/libfido2/webauthn_sim_test.go), independent clients. This
// file checks the refusals and the rules no such client exercises, with
// the platform of ctap_test.go.

var es256Params = []any{map[string]any{"alg": -7, "type": "public-key"}}

// mc is a makeCredential request for rpID and user id uid; extra members
// are added (or replace), and with auth the pinUvAuthParam of p's token.
func (p *platform) mc(rpID string, uid []byte, rk, auth bool, extra map[int]any) (byte, *cborMap) {
	p.t.Helper()
	cdh := make([]byte, 32)
	rand.Read(cdh)
	m := map[int]any{
		1: cdh,
		2: map[string]any{"id": rpID},
		3: map[string]any{"id": uid, "name": "ana"},
		4: es256Params,
	}
	if rk {
		m[7] = map[string]any{"rk": true}
	}
	if auth {
		m[8] = p.mac(p.token, cdh)
		m[9] = p.version
	}
	for k, v := range extra {
		m[k] = v
	}
	return p.call(cmdMakeCredential, m)
}

func (p *platform) ga(rpID string, auth bool, extra map[int]any) (byte, *cborMap) {
	p.t.Helper()
	cdh := make([]byte, 32)
	rand.Read(cdh)
	m := map[int]any{1: rpID, 2: cdh}
	if auth {
		m[6] = p.mac(p.token, cdh)
		m[7] = p.version
	}
	for k, v := range extra {
		m[k] = v
	}
	return p.call(cmdGetAssertion, m)
}

// getTokenFor is getToken with permissions bound to rpID (CTAP 2.1
// §6.5.5.7, member 0x0A).
func (p *platform) getTokenFor(pin string, perms int, rpID string) byte {
	p.agree()
	h := sha256.Sum256([]byte(pin))
	st, r := p.call(cmdClientPIN, map[int]any{1: p.version, 2: pinGetTokenPerms, 3: p.ka, 6: p.enc(h[:16]), 9: perms, 10: rpID})
	if st == statusOK {
		enc, _ := r.get(2)
		p.token = p.dec(enc.([]byte))
	}
	return st
}

// credID is the credential ID in a makeCredential response's authData.
func credID(t *testing.T, r *cborMap) []byte {
	t.Helper()
	v, _ := r.get(2)
	ad := v.([]byte)
	n := int(ad[53])<<8 | int(ad[54])
	return ad[55 : 55+n]
}

func authFlags(r *cborMap) byte {
	v, _ := r.get(2)
	return v.([]byte)[32]
}

func TestMakeCredentialRules(t *testing.T) {
	a := New(Config{Serial: 42, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}})
	p := &platform{t: t, a: a, version: 2}
	expect := func(what string, got, want byte) {
		t.Helper()
		if got != want {
			t.Errorf("%s: status 0x%02x, want 0x%02x", what, got, want)
		}
	}
	// No PIN: registrations need none, and are not user-verified.
	st, r := p.mc("example.org", []byte{1}, true, false, nil)
	expect("rk without a PIN set", st, statusOK)
	if st == statusOK && authFlags(r) != flagUP|flagAT {
		t.Errorf("flags without a PIN %#02x, want UP|AT", authFlags(r))
	}
	first := credID(t, r)
	st, _ = p.mc("example.org", []byte{1}, true, false, map[int]any{4: []any{map[string]any{"alg": -257, "type": "public-key"}}})
	expect("RS256 only", st, ctapUnsupportedAlg)
	st, _ = p.mc("example.org", []byte{1}, true, false, map[int]any{7: map[string]any{"uv": true}})
	expect("uv option", st, ctapInvalidOption)
	st, _ = p.mc("example.org", []byte{1}, true, false, map[int]any{7: map[string]any{"up": false}})
	expect("up=false", st, ctapInvalidOption)
	st, _ = p.mc("example.org", []byte{}, true, false, nil)
	expect("empty user id", st, fido.CTAPInvalidLength)
	st, _ = p.mc("example.org", []byte{2}, true, false, map[int]any{8: []byte{}, 9: 2})
	expect("empty pinUvAuthParam without a PIN", st, fido.CTAPPINNotSet)
	st, _ = p.mc("example.org", []byte{2}, true, false, map[int]any{5: []any{map[string]any{"id": first, "type": "public-key"}}})
	expect("excludeList with the key's own credential", st, ctapCredentialExcluded)
	st, _ = p.mc("example.com", []byte{2}, true, false, map[int]any{5: []any{map[string]any{"id": first, "type": "public-key"}}})
	expect("excludeList with a credential of another RP", st, statusOK)

	expect("setPIN", p.setPIN("123456", false), statusOK)
	st, _ = p.mc("example.org", []byte{3}, true, false, nil)
	expect("no pinUvAuthParam with a PIN set", st, fido.CTAPPUATRequired)
	st, _ = p.mc("example.org", []byte{3}, true, false, map[int]any{8: []byte{}, 9: 2})
	expect("empty pinUvAuthParam with a PIN set", st, fido.CTAPPINInvalid)
	expect("token for credential management", p.getToken("123456", permCredMgmt), statusOK)
	st, _ = p.mc("example.org", []byte{3}, true, true, nil)
	expect("token without the mc permission", st, fido.CTAPPINAuthInvalid)
	expect("mc token for example.org", p.getTokenFor("123456", permMakeCredential, "example.org"), statusOK)
	st, _ = p.mc("example.com", []byte{3}, true, true, nil)
	expect("mc token for another RP", st, fido.CTAPPINAuthInvalid)
	st, r = p.mc("example.org", []byte{3}, true, true, nil)
	expect("mc token for the RP", st, statusOK)
	if st == statusOK && authFlags(r) != flagUP|flagUV|flagAT {
		t.Errorf("flags with the PIN %#02x, want UP|UV|AT", authFlags(r))
	}
	p.token[0] ^= 1
	st, _ = p.mc("example.org", []byte{3}, true, true, nil)
	expect("a wrong pinUvAuthParam", st, fido.CTAPPINAuthInvalid)

	// Not rk: nothing stored, yet the ID signs (it wraps the key).
	expect("token", p.getToken("123456", 0), statusOK)
	st, r = p.mc("example.net", []byte{4}, false, true, nil)
	expect("non-resident", st, statusOK)
	nonRK := credID(t, r)
	if n := len(a.State().Credentials); n != 3 {
		t.Errorf("%d discoverable credentials, want 3 (the non-resident one is not stored)", n)
	}
	st, _ = p.ga("example.net", false, nil)
	expect("discoverable sign-in to an RP with no stored credential", st, fido.CTAPNoCredentials)
	st, r = p.ga("example.net", false, map[int]any{3: []any{map[string]any{"id": nonRK, "type": "public-key"}}})
	expect("sign-in with the non-resident credential's ID", st, statusOK)
	if st == statusOK {
		if _, hasUser := r.get(4); hasUser {
			t.Error("a non-resident credential's assertion carries a user")
		}
	}
	st, _ = p.ga("example.org", false, map[int]any{3: []any{map[string]any{"id": nonRK, "type": "public-key"}}})
	expect("its ID for another RP", st, fido.CTAPNoCredentials)

	// A full store.
	for len(a.State().Credentials) < a.capacity() {
		if err := a.AddCredential("filler.example", "", string(rune('a'+len(a.creds))), ""); err != nil {
			t.Fatal(err)
		}
	}
	st, _ = p.mc("example.org", []byte{9}, true, true, nil)
	expect("rk into a full store", st, CTAPKeyStoreFull)
	st, _ = p.mc("example.org", []byte{3}, true, true, nil)
	expect("rk replacing one of the same user handle in a full store", st, statusOK)
}

func TestGetAssertionRules(t *testing.T) {
	a := New(Config{Serial: 43, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}})
	p := &platform{t: t, a: a, version: 1}
	expect := func(what string, got, want byte) {
		t.Helper()
		if got != want {
			t.Errorf("%s: status 0x%02x, want 0x%02x", what, got, want)
		}
	}
	expect("setPIN", p.setPIN("123456", false), statusOK)
	expect("token", p.getToken("123456", 0), statusOK)
	st, _ := p.mc("example.org", []byte("u1"), true, true, nil)
	expect("first", st, statusOK)
	st, r := p.mc("example.org", []byte("u2"), true, true, map[int]any{6: map[string]any{"credProtect": 3}})
	expect("second, uvRequired", st, statusOK)
	if st == statusOK && authFlags(r)&flagED == 0 {
		t.Error("credProtect asked for, no extension output")
	}

	// Without UV only the first is found: credProtect 3 hides the second.
	st, r = p.ga("example.org", false, nil)
	expect("sign-in without UV", st, statusOK)
	if _, ok := r.get(5); ok {
		t.Error("numberOfCredentials without UV, where one credential is usable")
	}
	if u, _ := r.get(4); u != nil {
		if _, hasName := u.(*cborMap).get("name"); hasName {
			t.Error("a user name without user verification")
		}
	}
	// With UV both, most recent first, then getNextAssertion.
	st, r = p.ga("example.org", true, nil)
	expect("sign-in with UV", st, statusOK)
	if n, _ := r.get(5); n != int64(2) {
		t.Errorf("numberOfCredentials = %v, want 2", n)
	}
	u, _ := r.get(4)
	if id, _ := u.(*cborMap).get("id"); !bytes.Equal(id.([]byte), []byte("u2")) {
		t.Errorf("first assertion for user %q, want the most recent (u2)", id)
	}
	if name, _ := u.(*cborMap).get("name"); name != "ana" {
		t.Errorf("user name with UV among several = %v", name)
	}
	st, r = p.call(cmdGetNextAssertion, nil)
	expect("getNextAssertion", st, statusOK)
	u, _ = r.get(4)
	if id, _ := u.(*cborMap).get("id"); !bytes.Equal(id.([]byte), []byte("u1")) {
		t.Errorf("next assertion for user %q, want u1", id)
	}
	st, _ = p.call(cmdGetNextAssertion, nil)
	expect("getNextAssertion past the last", st, fido.CTAPNotAllowed)

	st, _ = p.ga("example.org", false, map[int]any{5: map[string]any{"rk": true}})
	expect("rk option in getAssertion", st, fido.CTAPUnsupportedOption)
	st, _ = p.ga("example.org", false, map[int]any{5: map[string]any{"uv": true}})
	expect("uv option in getAssertion", st, ctapInvalidOption)
	st, r = p.ga("example.org", false, map[int]any{5: map[string]any{"up": false}})
	expect("silent sign-in (up=false)", st, statusOK)
	if st == statusOK && authFlags(r)&flagUP != 0 {
		t.Error("UP flag set without a touch asked for")
	}
	a.SetTouch(NoTouch)
	st, _ = p.ga("example.org", false, nil)
	expect("no touch", st, fido.CTAPActionTimeout)
}

// TestCredentialsAcrossRestore: a state saved and restored keeps each
// credential's key (its ID still signs) and the user entity; a credential
// ID the key did not make is refused; a reset makes old IDs useless.
func TestCredentialsAcrossRestore(t *testing.T) {
	cfg := Config{Serial: 44, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}}
	a := New(cfg)
	p := &platform{t: t, a: a, version: 2}
	st, r := p.mc("example.org", []byte("u1"), true, false, nil)
	if st != statusOK {
		t.Fatalf("makeCredential: 0x%02x", st)
	}
	id := credID(t, r)
	s := a.State()

	b := New(cfg)
	if err := b.Restore(s); err != nil {
		t.Fatal(err)
	}
	pb := &platform{t: t, a: b, version: 2}
	st, r = pb.ga("example.org", false, map[int]any{3: []any{map[string]any{"id": id, "type": "public-key"}}})
	if st != statusOK {
		t.Fatalf("restored key signing with the credential: 0x%02x", st)
	}
	if u, _ := r.get(4); u == nil {
		t.Error("a stored credential signed without its user")
	}

	bad := a.State()
	bad.Credentials[0].ID = append([]byte(nil), bad.Credentials[0].ID...)
	bad.Credentials[0].ID[20] ^= 1
	if err := New(cfg).Restore(bad); !errors.Is(err, device.ErrInvalidArgument) {
		t.Errorf("restoring a changed credential ID = %v, want ErrInvalidArgument", err)
	}

	// Reset: the old ID opens no key any more.
	if err := b.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, _ = pb.ga("example.org", false, map[int]any{3: []any{map[string]any{"id": id, "type": "public-key"}}})
	if st != fido.CTAPNoCredentials {
		t.Errorf("a credential from before the reset: 0x%02x, want NO_CREDENTIALS", st)
	}
}
