package simfido

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// This file is registration and sign-in: authenticatorMakeCredential
// (0x01, CTAP 2.1 §6.1), authenticatorGetAssertion (0x02, §6.2) and
// authenticatorGetNextAssertion (0x08, §6.3), as libfido2 sends them
// (libfido2 src/cred.c fido_dev_make_cred_tx, src/assert.c
// fido_dev_get_assert_tx) and python-fido2 (fido2/ctap2/base.py
// make_credential, get_assertion). What a YubiKey 5 does and the
// simulator does too:
//
//   - ES256 (COSE -7) key pairs, one per credential; other algorithms
//     are UNSUPPORTED_ALGORITHM.
//   - The credential ID is the private key wrapped (AES-256-GCM, the RP ID
//     hash as associated data) under a key-wide secret that a reset
//     replaces, so non-resident credentials need no storage and a
//     credential ID of another key or RP is not recognised.
//   - rk=true stores the credential with its user entity (replacing one of
//     the same RP and user handle), KEY_STORE_FULL when the store is full.
//   - With a PIN set, makeCredential needs pinUvAuthParam (PUAT_REQUIRED,
//     the CTAP 2.0 PIN_REQUIRED code libfido2 answers by asking for the
//     PIN); pinUvAuthParam is HMAC(pinUvAuthToken, clientDataHash) under
//     the token's protocol, and a token with permissions must hold mc
//     (makeCredential) or ga (getAssertion) and be bound to the RP ID
//     (CTAP 2.1 §6.5.5.7).
//   - User presence is the simulated touch ([Config.Touch]), awaited as
//     for reset; "uv" as an option is INVALID_OPTION (a YubiKey 5 has no
//     built-in user verification, only the PIN).
//   - Attestation is "packed" self attestation (CTAP 2.1 §6.1.2 step 19,
//     WebAuthn §8.2 "self attestation"): the credential's own key signs
//     authData || clientDataHash and no certificate is sent. A YubiKey
//     sends Yubico's batch certificate instead; the simulator has no key
//     Yubico certified, and keywizard verifies no FIDO attestation.
//   - credProtect (CTAP 2.1 §12.1) levels 1-3 are kept and enforced in
//     getAssertion.
//
// Not simulated: hmac-secret, largeBlobKey, credBlob and enterprise
// attestation outputs (asked for, they are ignored), U2F over CTAP1.

// CTAP command bytes and status codes of this file (CTAP 2.1 §6, §8.2).
const (
	cmdMakeCredential      = 0x01
	cmdGetAssertion        = 0x02
	cmdGetNextAssertion    = 0x08
	ctapCredentialExcluded = 0x19
	ctapUnsupportedAlg     = 0x26
	ctapInvalidOption      = 0x2C

	permMakeCredential = 0x01 // pinUvAuthToken permission mc (CTAP 2.1 §6.5.5.7)
	permGetAssertion   = 0x02 // ga

	coseES256 = -7

	// authenticator data flags (WebAuthn §6.1).
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
	flagED = 0x80

	maxUserIDLen = 64 // CTAP 2.1 §6.1 "user": id of at most 64 bytes
)

// newWrapKey makes a credential-wrapping key.
func newWrapKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// newCredential makes a key pair and its credential ID for rpID.
func (a *Authenticator) newCredential(rpID string, protect int) (credential, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return credential{}, err
	}
	id, err := a.wrap(rpID, priv, protect)
	if err != nil {
		return credential{}, err
	}
	return credential{rpID: rpID, id: id, priv: priv, protect: protect}, nil
}

// wrap is the credential ID: nonce (12 bytes) || AES-256-GCM of the
// private scalar and the credProtect level, with SHA-256(rpID) as
// associated data. 61 bytes, within getInfo's maxCredentialIdLength (128).
func (a *Authenticator) wrap(rpID string, priv *ecdsa.PrivateKey, protect int) ([]byte, error) {
	d, err := priv.Bytes()
	if err != nil {
		return nil, err
	}
	gcm, err := a.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	h := sha256.Sum256([]byte(rpID))
	return gcm.Seal(nonce, nonce, append(d, byte(protect)), h[:]), nil
}

// unwrap opens a credential ID made by this key for rpID; false for any
// other (another key's, another RP's, one from before a reset, garbage).
func (a *Authenticator) unwrap(rpID string, id []byte) (*ecdsa.PrivateKey, int, bool) {
	gcm, err := a.gcm()
	if err != nil || len(id) < gcm.NonceSize() {
		return nil, 0, false
	}
	h := sha256.Sum256([]byte(rpID))
	pt, err := gcm.Open(nil, id[:gcm.NonceSize()], id[gcm.NonceSize():], h[:])
	if err != nil || len(pt) != 33 {
		return nil, 0, false
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), pt[:32])
	if err != nil {
		return nil, 0, false
	}
	return priv, int(pt[32]), true
}

func (a *Authenticator) gcm() (cipher.AEAD, error) {
	b, err := aes.NewCipher(a.wrapKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// coseKey is the credential public key as a COSE_Key (CTAP 2.1 §6.5.6:
// kty EC2, alg ES256, crv P-256, x, y).
func coseKey(pub *ecdsa.PublicKey) map[int]any {
	b, _ := pub.Bytes() // 04 || X || Y
	return map[int]any{1: 2, 3: coseES256, -1: 1, -2: b[1:33], -3: b[33:65]}
}

// descriptorIDs are the IDs of a list of PublicKeyCredentialDescriptors
// (excludeList, allowList) of type "public-key"; others are skipped
// (CTAP 2.1 §6.1.2 step 8).
func descriptorIDs(v any) ([][]byte, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, ctapStatus(ctapUnexpectedTyp)
	}
	var ids [][]byte
	for _, e := range list {
		d, ok := e.(*cborMap)
		if !ok {
			return nil, ctapStatus(ctapUnexpectedTyp)
		}
		typ, _, err := member[string](d, "type")
		if err != nil {
			return nil, err
		}
		idv, ok := d.get("id")
		if !ok {
			return nil, ctapStatus(ctapMissingParam)
		}
		id, ok := idv.([]byte)
		if !ok {
			return nil, ctapStatus(ctapUnexpectedTyp)
		}
		if typ == "public-key" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// options reads the options map (0x07 of makeCredential, 0x05 of
// getAssertion): each present option is a bool.
func options(p *cborMap, k int64) (map[string]bool, error) {
	m, ok, err := member[*cborMap](p, k)
	if err != nil || !ok {
		return map[string]bool{}, err
	}
	out := map[string]bool{}
	for i, key := range m.keys {
		name, ok := key.(string)
		if !ok {
			continue
		}
		b, ok := m.vals[i].(bool)
		if !ok {
			return nil, ctapStatus(ctapUnexpectedTyp)
		}
		out[name] = b
	}
	return out, nil
}

// checkUVParam verifies a makeCredential or getAssertion pinUvAuthParam:
// HMAC(pinUvAuthToken, clientDataHash) under the protocol the token was
// made with (CTAP 2.1 §6.1.2 step 11, §6.2.2 step 9), a token with
// permissions also holding perm and bound to rpID (bound now when it is
// not yet: §6.5.5.7 "permissions RP ID"). A legacy token (getPinToken)
// has every permission.
func (a *Authenticator) checkUVParam(p *cborMap, paramKey, protoKey int64, cdh []byte, perm int64, rpID string) error {
	param, err := required[[]byte](p, paramKey)
	if err != nil {
		return err
	}
	version, ok, err := member[int64](p, protoKey)
	if err != nil {
		return err
	}
	if !ok {
		return ctapStatus(ctapMissingParam)
	}
	supported := false
	for _, v := range a.pinProtocols() {
		supported = supported || int64(v) == version
	}
	if !supported {
		return ctapStatus(fido.CTAPInvalidParameter)
	}
	if a.pinHash == nil {
		return ctapErr(fido.CTAPPINNotSet)
	}
	if a.sess.token == nil || int(version) != a.sess.tokenProto ||
		!hmac.Equal(authenticate(int(version), a.sess.token, cdh), param) {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	if a.sess.tokenPerms != 0 {
		if a.sess.tokenPerms&perm == 0 {
			return ctapErr(fido.CTAPPINAuthInvalid)
		}
		if a.sess.tokenRPID != "" && a.sess.tokenRPID != rpID {
			return ctapErr(fido.CTAPPINAuthInvalid)
		}
		a.sess.tokenRPID = rpID
	}
	return nil
}

// emptyUVParam is a zero-length pinUvAuthParam: a platform asking the
// user to pick a key (CTAP 2.1 §6.1.2 step 2, §6.2.2 step 2). After a
// touch the key answers PIN_NOT_SET or PIN_INVALID.
func (a *Authenticator) emptyUVParam(ctx context.Context) error {
	if err := a.touchLocked(ctx); err != nil {
		return err
	}
	if a.pinHash == nil {
		return ctapErr(fido.CTAPPINNotSet)
	}
	return ctapErr(fido.CTAPPINInvalid)
}

// touchLocked waits for the user's touch (user presence) with a.mu
// released, so that other calls and Remove proceed meanwhile, as Reset
// does; a.mu is held again on return. No touch is ACTION_TIMEOUT, as for
// Reset; a key pulled meanwhile is device.ErrRemoved.
func (a *Authenticator) touchLocked(ctx context.Context) error {
	touch := a.cfg.Touch
	if touch == nil {
		return nil
	}
	a.mu.Unlock()
	err := touch(ctx)
	a.mu.Lock()
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return ctapErr(fido.CTAPActionTimeout)
	case !a.present:
		return fmt.Errorf("%s: %w", a.path, device.ErrRemoved)
	}
	return nil
}

// authData is authenticator data (WebAuthn §6.1): RP ID hash, flags,
// signature counter, then the attested credential data and extensions
// when given.
func authData(rpID string, flags byte, count uint32, attested, ext []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(append(out, attested...), ext...)
}

// sign is the ES256 signature (ASN.1 DER) of authData || clientDataHash
// (WebAuthn §6.3.3 step 11, §8.2 packed).
func sign(priv *ecdsa.PrivateKey, ad, cdh []byte) ([]byte, error) {
	h := sha256.Sum256(append(append([]byte(nil), ad...), cdh...))
	return ecdsa.SignASN1(rand.Reader, priv, h[:])
}

func (a *Authenticator) ctapMakeCredential(ctx context.Context, p *cborMap) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	// Required parameters (CTAP 2.1 §6.1.2 step 1 and §6.1 table).
	cdh, err := required[[]byte](p, 0x01)
	if err != nil {
		return nil, err
	}
	rp, err := required[*cborMap](p, 0x02)
	if err != nil {
		return nil, err
	}
	user, err := required[*cborMap](p, 0x03)
	if err != nil {
		return nil, err
	}
	algs, ok := p.get(0x04)
	if !ok {
		return nil, ctapStatus(ctapMissingParam)
	}
	rpID, err := required[string](rp, "id")
	if err != nil {
		return nil, err
	}
	rpName, _, err := member[string](rp, "name")
	if err != nil {
		return nil, err
	}
	uidv, ok := user.get("id")
	if !ok {
		return nil, ctapStatus(ctapMissingParam)
	}
	uid, ok := uidv.([]byte)
	if !ok {
		return nil, ctapStatus(ctapUnexpectedTyp)
	}
	if len(uid) == 0 || len(uid) > maxUserIDLen {
		return nil, ctapStatus(fido.CTAPInvalidLength)
	}
	userName, _, err := member[string](user, "name")
	if err != nil {
		return nil, err
	}
	display, _, err := member[string](user, "displayName")
	if err != nil {
		return nil, err
	}
	// Step 3: the first algorithm the key supports; ES256 only.
	list, ok := algs.([]any)
	if !ok {
		return nil, ctapStatus(ctapUnexpectedTyp)
	}
	es256 := false
	for _, e := range list {
		m, ok := e.(*cborMap)
		if !ok {
			return nil, ctapStatus(ctapUnexpectedTyp)
		}
		alg, _, err := member[int64](m, "alg")
		if err != nil {
			return nil, err
		}
		typ, _, err := member[string](m, "type")
		if err != nil {
			return nil, err
		}
		es256 = es256 || (alg == coseES256 && typ == "public-key")
	}
	if !es256 {
		return nil, ctapStatus(ctapUnsupportedAlg)
	}
	opts, err := options(p, 0x07)
	if err != nil {
		return nil, err
	}
	// Step 5: no built-in UV; up=false is not allowed in makeCredential.
	if up, ok := opts["up"]; (ok && !up) || opts["uv"] {
		return nil, ctapStatus(ctapInvalidOption)
	}
	rk := opts["rk"]
	// Steps 2, 4, 6, 11: the PIN.
	uv := false
	if v, ok := p.get(0x08); ok {
		if b, isBytes := v.([]byte); isBytes && len(b) == 0 {
			return nil, a.emptyUVParam(ctx)
		}
		if err := a.checkUVParam(p, 0x08, 0x09, cdh, permMakeCredential, rpID); err != nil {
			return nil, err
		}
		uv = true
	} else if a.pinHash != nil {
		return nil, ctapErr(fido.CTAPPUATRequired)
	}
	// Step 7 (extensions): credProtect only.
	protect := 1
	askedProtect := false
	if ext, ok, err := member[*cborMap](p, 0x06); err != nil {
		return nil, err
	} else if ok && a.fw(5, 2) {
		if v, ok, err := member[int64](ext, "credProtect"); err != nil {
			return nil, err
		} else if ok {
			if v < 1 || v > 3 {
				return nil, ctapStatus(fido.CTAPInvalidParameter)
			}
			protect, askedProtect = int(v), true
		}
	}
	// Step 8: a credential of this key for this RP in the excludeList. A
	// uvRequired one counts only with UV (CTAP 2.1 §12.1).
	if v, ok := p.get(0x05); ok {
		ids, err := descriptorIDs(v)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if _, prot, ok := a.unwrap(rpID, id); ok && (prot < 3 || uv) {
				if err := a.touchLocked(ctx); err != nil {
					return nil, err
				}
				return nil, ctapStatus(ctapCredentialExcluded)
			}
		}
	}
	// Step 14: user presence.
	if err := a.touchLocked(ctx); err != nil {
		return nil, err
	}
	c, err := a.newCredential(rpID, protect)
	if err != nil {
		return nil, err
	}
	if rk {
		c.rpName, c.userName, c.userDisplay, c.userID = rpName, userName, display, bytes.Clone(uid)
		if err := a.storeLocked(c); err != nil {
			return nil, err
		}
	}
	a.signCount++
	a.changedLocked()
	flags := byte(flagUP | flagAT)
	if uv {
		flags |= flagUV
	}
	var ext []byte
	if askedProtect {
		flags |= flagED
		ext = encodeCBOR(map[string]any{"credProtect": protect})
	}
	// Attested credential data (WebAuthn §6.5.1): AAGUID, ID length, ID,
	// COSE public key.
	attested := append([]byte(nil), a.aaguid[:]...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(c.id)))
	attested = append(append(attested, c.id...), encodeCBOR(coseKey(&c.priv.PublicKey))...)
	ad := authData(rpID, flags, a.signCount, attested, ext)
	sig, err := sign(c.priv, ad, cdh)
	if err != nil {
		return nil, err
	}
	return encodeCBOR(map[int]any{
		0x01: "packed",
		0x02: ad,
		0x03: map[string]any{"alg": coseES256, "sig": sig},
	}), nil
}

// assertion is one credential getAssertion found, with how it was found.
type assertion struct {
	c        credential
	resident bool
}

func (a *Authenticator) ctapGetAssertion(ctx context.Context, p *cborMap) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	a.sess.assertQueue = nil
	// Required parameters (CTAP 2.1 §6.2.2 step 1 and §6.2 table).
	v, ok := p.get(0x01)
	if !ok {
		return nil, ctapStatus(ctapMissingParam)
	}
	rpID, ok := v.(string)
	if !ok {
		return nil, ctapStatus(ctapUnexpectedTyp)
	}
	cdh, err := required[[]byte](p, 0x02)
	if err != nil {
		return nil, err
	}
	opts, err := options(p, 0x05)
	if err != nil {
		return nil, err
	}
	// Step 5: no built-in UV; "rk" is not an option of getAssertion.
	if opts["uv"] {
		return nil, ctapStatus(ctapInvalidOption)
	}
	if _, ok := opts["rk"]; ok {
		return nil, ctapErr(fido.CTAPUnsupportedOption)
	}
	up := true
	if v, ok := opts["up"]; ok {
		up = v
	}
	uv := false
	if v, ok := p.get(0x06); ok {
		if b, isBytes := v.([]byte); isBytes && len(b) == 0 {
			return nil, a.emptyUVParam(ctx)
		}
		if err := a.checkUVParam(p, 0x06, 0x07, cdh, permGetAssertion, rpID); err != nil {
			return nil, err
		}
		uv = true
	}
	// Step 7: the credentials, from the allowList or else the store
	// (most recent first), less those credProtect hides (CTAP 2.1 §12.1:
	// level 2 needs the allowList or UV, level 3 needs UV).
	var found []assertion
	if v, ok := p.get(0x03); ok {
		ids, err := descriptorIDs(v)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			priv, prot, ok := a.unwrap(rpID, id)
			if !ok || (prot == 3 && !uv) {
				continue
			}
			c := credential{rpID: rpID, id: id, priv: priv, protect: prot}
			resident := false
			for _, s := range a.creds {
				if s.rpID == rpID && bytes.Equal(s.id, id) {
					c, resident = s, true
				}
			}
			found = append(found, assertion{c: c, resident: resident})
			break // the first one found is used (§6.2.2 step 11)
		}
	} else {
		for i := len(a.creds) - 1; i >= 0; i-- {
			c := a.creds[i]
			if c.rpID == rpID && (c.protect == 1 || uv) {
				found = append(found, assertion{c: c, resident: true})
			}
		}
	}
	// Step 10: user presence, asked even when nothing was found, so that
	// a site cannot probe for credentials silently.
	if up {
		if err := a.touchLocked(ctx); err != nil {
			return nil, err
		}
	}
	if len(found) == 0 {
		return nil, ctapErr(fido.CTAPNoCredentials)
	}
	var flags byte
	if up {
		flags |= flagUP
	}
	if uv {
		flags |= flagUV
	}
	_, listed := p.get(0x03)
	total := 0
	if !listed && len(found) > 1 {
		total = len(found)
		a.sess.assertQueue = found[1:]
		a.sess.assertFlags, a.sess.assertCDH, a.sess.assertUV = flags, bytes.Clone(cdh), uv
	}
	return a.assertionResponse(found[0], flags, cdh, uv, total)
}

// ctapGetNextAssertion returns the next credential of the last
// getAssertion that found several in the store (CTAP 2.1 §6.3).
func (a *Authenticator) ctapGetNextAssertion(ctx context.Context) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	if len(a.sess.assertQueue) == 0 {
		return nil, ctapErr(fido.CTAPNotAllowed)
	}
	next := a.sess.assertQueue[0]
	a.sess.assertQueue = a.sess.assertQueue[1:]
	return a.assertionResponse(next, a.sess.assertFlags, a.sess.assertCDH, a.sess.assertUV, 0)
}

// assertionResponse signs one assertion (CTAP 2.1 §6.2.2 step 12): the
// credential, authData, signature, and for a stored credential its user
// (only the user handle without UV, since name and display name identify
// the person); numberOfCredentials when total > 0.
func (a *Authenticator) assertionResponse(f assertion, flags byte, cdh []byte, uv bool, total int) ([]byte, error) {
	a.signCount++
	a.changedLocked()
	ad := authData(f.c.rpID, flags, a.signCount, nil, nil)
	sig, err := sign(f.c.priv, ad, cdh)
	if err != nil {
		return nil, err
	}
	m := map[int]any{
		0x01: map[string]any{"id": f.c.id, "type": "public-key"},
		0x02: ad,
		0x03: sig,
	}
	if f.resident {
		u := map[string]any{"id": f.c.userID}
		if uv && total > 0 {
			if f.c.userName != "" {
				u["name"] = f.c.userName
			}
			if f.c.userDisplay != "" {
				u["displayName"] = f.c.userDisplay
			}
		}
		m[0x04] = u
	}
	if total > 0 {
		m[0x05] = total
	}
	return encodeCBOR(m), nil
}

// errNotOwnCredential is a stored credential whose ID this key cannot
// open: a state file edited or of another key.
var errNotOwnCredential = errors.New("a credential ID the key did not make")
