package simfido

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// The happy paths of the CTAP2 wire protocol are checked by ykman
// (ykman_test.go), an independent client. This file checks the refusals,
// with a small platform-side implementation of PIN/UV auth protocols 1
// and 2 (CTAP 2.1 §6.5.6-7) written from the spec.

type platform struct {
	t       *testing.T
	a       *Authenticator
	version int
	// From the last key agreement.
	ka      map[int]any
	hmacKey []byte
	aesKey  []byte
	token   []byte
}

func (p *platform) call(cmd byte, params map[int]any) (byte, *cborMap) {
	p.t.Helper()
	msg := []byte{cmd}
	if params != nil {
		msg = append(msg, encodeCBOR(params)...)
	}
	resp, err := p.a.HandleCTAP(context.Background(), msg)
	if err != nil {
		p.t.Fatalf("HandleCTAP: %v", err)
	}
	if resp[0] != statusOK || len(resp) == 1 {
		return resp[0], nil
	}
	v, err := decodeCBOR(resp[1:])
	if err != nil {
		p.t.Fatalf("response not CBOR: %v", err)
	}
	return resp[0], v.(*cborMap)
}

func (p *platform) agree() {
	p.t.Helper()
	st, r := p.call(cmdClientPIN, map[int]any{1: p.version, 2: pinGetKeyAgreement})
	if st != statusOK {
		p.t.Fatalf("getKeyAgreement: 0x%02x", st)
	}
	cose, _ := r.get(1)
	x, _ := cose.(*cborMap).get(-2)
	y, _ := cose.(*cborMap).get(-3)
	peer, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x.([]byte)...), y.([]byte)...))
	if err != nil {
		p.t.Fatal(err)
	}
	mine, _ := ecdh.P256().GenerateKey(rand.Reader)
	z, _ := mine.ECDH(peer)
	pub := mine.PublicKey().Bytes()
	p.ka = map[int]any{1: 2, 3: -25, -1: 1, -2: pub[1:33], -3: pub[33:]}
	if p.version == 1 {
		k := sha256.Sum256(z)
		p.hmacKey, p.aesKey = k[:], k[:]
		return
	}
	salt := make([]byte, 32)
	p.hmacKey, _ = hkdf.Key(sha256.New, z, salt, "CTAP2 HMAC key", 32)
	p.aesKey, _ = hkdf.Key(sha256.New, z, salt, "CTAP2 AES key", 32)
}

func (p *platform) enc(pt []byte) []byte {
	iv := make([]byte, 16)
	var prefix []byte
	if p.version == 2 {
		rand.Read(iv)
		prefix = iv
	}
	b, _ := aes.NewCipher(p.aesKey)
	out := make([]byte, len(pt))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, pt)
	return append(prefix, out...)
}

func (p *platform) dec(ct []byte) []byte {
	iv := make([]byte, 16)
	if p.version == 2 {
		iv, ct = ct[:16], ct[16:]
	}
	b, _ := aes.NewCipher(p.aesKey)
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, ct)
	return out
}

func (p *platform) mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	s := h.Sum(nil)
	if p.version == 1 {
		return s[:16]
	}
	return s
}

func pad(pin string) []byte {
	b := make([]byte, 64)
	copy(b, pin)
	return b
}

func (p *platform) setPIN(pin string, breakAuth bool) byte {
	p.agree()
	enc := p.enc(pad(pin))
	auth := p.mac(p.hmacKey, enc)
	if breakAuth {
		auth[0] ^= 1
	}
	st, _ := p.call(cmdClientPIN, map[int]any{1: p.version, 2: pinSetPIN, 3: p.ka, 4: auth, 5: enc})
	return st
}

func (p *platform) getToken(pin string, perms int) byte {
	p.agree()
	h := sha256.Sum256([]byte(pin))
	params := map[int]any{1: p.version, 2: pinGetToken, 3: p.ka, 6: p.enc(h[:16])}
	if perms != 0 {
		params[2] = pinGetTokenPerms
		params[9] = perms
	}
	st, r := p.call(cmdClientPIN, params)
	if st == statusOK {
		enc, _ := r.get(2)
		p.token = p.dec(enc.([]byte))
	}
	return st
}

func (p *platform) credMgmt(sub int, params map[int]any, auth bool) (byte, *cborMap) {
	m := map[int]any{1: sub}
	if params != nil {
		m[2] = params
	}
	if auth {
		msg := []byte{byte(sub)}
		if params != nil {
			msg = append(msg, encodeCBOR(params)...)
		}
		m[3] = p.version
		m[4] = p.mac(p.token, msg)
	}
	cmd := byte(cmdCredMgmtPrev)
	if p.a.fw(5, 7) {
		cmd = cmdCredMgmt
	}
	return p.call(cmd, m)
}

func TestCTAPProtocols(t *testing.T) {
	for _, tc := range []struct {
		version int
		fw      device.Version
	}{
		{1, device.Version{Major: 5, Minor: 4, Patch: 3}},
		{1, device.Version{Major: 5, Minor: 7, Patch: 1}},
		{2, device.Version{Major: 5, Minor: 7, Patch: 1}},
	} {
		t.Run(tc.fw.String()+"/v"+string(rune('0'+tc.version)), func(t *testing.T) {
			a := New(Config{Serial: 40, Model: "YubiKey 5C NFC", Firmware: tc.fw})
			p := &platform{t: t, a: a, version: tc.version}
			expect := func(what string, got, want byte) {
				t.Helper()
				if got != want {
					t.Errorf("%s: status 0x%02x, want 0x%02x", what, got, want)
				}
			}
			expect("token without PIN", p.getToken("123456", 0), fido.CTAPPINNotSet)
			expect("setPIN with a bad pinUvAuthParam", p.setPIN("123456", true), fido.CTAPPINAuthInvalid)
			expect("setPIN too short", p.setPIN("123", false), fido.CTAPPINPolicyViolation)
			expect("setPIN", p.setPIN("123456", false), statusOK)
			expect("setPIN again", p.setPIN("654321", false), fido.CTAPPINAuthInvalid)

			expect("wrong PIN", p.getToken("000000", 0), fido.CTAPPINInvalid)
			if a.retries != 7 {
				t.Errorf("retries = %d", a.retries)
			}
			expect("right PIN", p.getToken("123456", 0), statusOK)
			if a.retries != 8 {
				t.Errorf("retries after right PIN = %d", a.retries)
			}
			// Credential management needs the token's pinUvAuthParam.
			st, _ := p.credMgmt(cmMetadata, nil, false)
			expect("metadata without auth", st, fido.CTAPPUATRequired)
			good := p.token
			p.token = make([]byte, 32)
			st, _ = p.credMgmt(cmMetadata, nil, true)
			expect("metadata with a wrong token", st, fido.CTAPPINAuthInvalid)
			p.token = good
			st, r := p.credMgmt(cmMetadata, nil, true)
			expect("metadata", st, statusOK)
			if v, _ := r.get(1); v != int64(0) {
				t.Errorf("existing = %v", v)
			}
			st, _ = p.credMgmt(cmRPsBegin, nil, true)
			expect("RPs on an empty key", st, fido.CTAPNoCredentials)
			st, _ = p.credMgmt(cmRPsNext, nil, false)
			expect("next RP without begin", st, fido.CTAPNotAllowed)

			a.AddCredential("github.com", "GitHub", "ana", "Ana")
			a.AddCredential("google.com", "", "ana@example.com", "")
			st, r = p.credMgmt(cmRPsBegin, nil, true)
			expect("RPs begin", st, statusOK)
			if n, _ := r.get(5); n != int64(2) {
				t.Errorf("totalRPs = %v", n)
			}
			st, r = p.credMgmt(cmRPsNext, nil, false)
			expect("RPs next", st, statusOK)
			rp, _ := r.get(3)
			if id, _ := rp.(*cborMap).get("id"); id != "google.com" {
				t.Errorf("second RP = %v", id)
			}
			if _, hasName := rp.(*cborMap).get("name"); hasName {
				t.Error("RP without a name sent one")
			}
			h := sha256.Sum256([]byte("github.com"))
			st, r = p.credMgmt(cmCredsBegin, map[int]any{1: h[:]}, true)
			expect("creds begin", st, statusOK)
			user, _ := r.get(6)
			if name, _ := user.(*cborMap).get("name"); name != "ana" {
				t.Errorf("user = %v", name)
			}
			other := sha256.Sum256([]byte("aws.amazon.com"))
			st, _ = p.credMgmt(cmCredsBegin, map[int]any{1: other[:]}, true)
			expect("creds for an unknown RP", st, fido.CTAPNoCredentials)

			// Three wrong in a row: auth-blocked, then a power cycle.
			p.getToken("000000", 0)
			p.getToken("000000", 0)
			expect("third wrong PIN", p.getToken("000000", 0), fido.CTAPPINAuthBlocked)
			expect("right PIN while blocked", p.getToken("123456", 0), fido.CTAPPINAuthBlocked)
			st, _ = p.credMgmt(cmMetadata, nil, true)
			expect("old token after a block", st, statusOK) // tokens survive until power cycle
			a.PowerCycle()
			st, _ = p.credMgmt(cmMetadata, nil, true)
			expect("token after power cycle", st, fido.CTAPPINAuthInvalid)
			expect("right PIN after power cycle", p.getToken("123456", 0), statusOK)

			if tc.fw.AtLeast(5, 7, 0) {
				expect("token without credMgmt permission", p.getToken("123456", 0x02), statusOK)
				st, _ = p.credMgmt(cmMetadata, nil, true)
				expect("metadata with a get-assertion token", st, fido.CTAPPINAuthInvalid)
				expect("token with credMgmt permission", p.getToken("123456", permCredMgmt), statusOK)
				st, _ = p.credMgmt(cmMetadata, nil, true)
				expect("metadata with a credMgmt token", st, statusOK)
			} else {
				expect("permissions subcommand before 5.7", p.getToken("123456", permCredMgmt), ctapInvalidSubcmd)
			}
		})
	}
}

func TestCTAPProtocolChecks(t *testing.T) {
	a := New(Config{Serial: 41, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	p := &platform{t: t, a: a, version: 2}
	st, _ := p.call(cmdClientPIN, map[int]any{1: 2, 2: pinGetKeyAgreement})
	if st != fido.CTAPInvalidParameter {
		t.Errorf("protocol 2 on 5.4: 0x%02x, want INVALID_PARAMETER", st)
	}
	if st, _ := p.call(cmdCredMgmt, map[int]any{1: 1}); st != fido.CTAPInvalidCommand {
		t.Errorf("credMgmt 0x0A on 5.4: 0x%02x, want INVALID_COMMAND", st)
	}
	if st, _ := p.call(cmdClientPIN, map[int]any{1: 1}); st != ctapMissingParam {
		t.Errorf("no subcommand: 0x%02x", st)
	}
	if st, _ := p.call(cmdClientPIN, map[int]any{1: "one", 2: 1}); st != ctapUnexpectedTyp {
		t.Errorf("text protocol: 0x%02x", st)
	}
	st, r := p.call(cmdClientPIN, map[int]any{1: 1, 2: pinGetRetries})
	if st != statusOK {
		t.Fatalf("getRetries: 0x%02x", st)
	}
	if n, _ := r.get(3); n != int64(8) {
		t.Errorf("retries = %v", n)
	}
	if _, ok := r.get(4); ok {
		t.Error("powerCycleState on 5.4 (CTAP 2.1 only)")
	}
	st, r = p.call(cmdGetInfo, nil)
	if st != statusOK {
		t.Fatal(st)
	}
	if v, _ := r.get(6); len(v.([]any)) != 1 {
		t.Errorf("pinUvAuthProtocols = %v, want [1]", v)
	}
	if v, _ := r.get(9); len(v.([]any)) != 1 {
		t.Errorf("transports of a Nano = %v, want [usb]", v)
	}
	a.Remove()
	if _, err := a.HandleCTAP(context.Background(), []byte{cmdGetInfo}); err == nil {
		t.Error("removed key answered")
	}
}
