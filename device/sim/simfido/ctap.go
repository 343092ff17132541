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
	"errors"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device/fido"
)

// This file is the authenticator's CTAP2 wire protocol (CTAP 2.1 §6,
// messages as command byte + canonical CBOR), so that real clients can
// drive the simulator: libfido2 over the FIDO HID node (device/sim/simhid),
// ykman and python-fido2 over the ISO 7816 (NFC/CCID) transport in
// iso7816.go. It implements getInfo, clientPIN (PIN/UV auth protocols 1
// and 2, tokens with permissions and RP ID), reset and credential
// management (enumeration and metadata) here, and makeCredential,
// getAssertion and getNextAssertion in webauthn.go: what a wizard, a
// browser registering a passkey, fido2-cred, fido2-assert, fido2-token
// and ykman's `fido` commands use (docs/fido-hid.md). Other commands
// (selection, largeBlobs, config, bio enrollment) answer INVALID_COMMAND.

// CTAP2 command bytes (CTAP 2.1 §6).
const (
	cmdGetInfo        = 0x04
	cmdClientPIN      = 0x06
	cmdReset          = 0x07
	cmdCredMgmt       = 0x0A
	cmdCredMgmtPrev   = 0x41 // CTAP 2.1-pre "credentialMgmtPreview" (YubiKey 5.2-5.6)
	statusOK          = 0x00
	ctapInvalidCBOR   = 0x12
	ctapUnexpectedTyp = 0x11
	ctapMissingParam  = 0x14
	ctapInvalidSubcmd = 0x3E
)

// session is CTAP state a power cycle clears (CTAP 2.1 §6.5.2.1: the
// key-agreement key and the PIN token are regenerated at power-up).
type session struct {
	keyAgreement *ecdh.PrivateKey
	token        []byte // pinUvAuthToken, 32 bytes; nil = none issued
	tokenProto   int
	tokenPerms   int64  // 0 = legacy getPinToken (all permissions)
	tokenRPID    string // the RP ID the token is bound to; "" = none yet

	// getAssertion's further credentials for getNextAssertion
	// (webauthn.go), with the first one's flags and clientDataHash.
	assertQueue []assertion
	assertFlags byte
	assertCDH   []byte
	assertUV    bool

	// Credential enumeration in progress (getNextRP/getNextCredential).
	rpQueue   []credential
	credQueue []credential
}

// ctapStatus is a CTAP status code from a handler.
type ctapStatus byte

func (s ctapStatus) Error() string { return fmt.Sprintf("CTAP status 0x%02x", byte(s)) }

// statusOf turns an error from the Authenticator's operations into the
// status byte sent on the wire; false when it is not a CTAP status
// (removal, cancellation), which the transport must handle.
func statusOf(err error) (byte, bool) {
	var ce *fido.CTAPError
	var cs ctapStatus
	switch {
	case errors.As(err, &ce):
		return ce.Code, true
	case errors.As(err, &cs):
		return byte(cs), true
	}
	return 0, false
}

// HandleCTAP runs one CTAP2 message (command byte, then CBOR parameters)
// and returns the response (status byte, then CBOR). The error is non-nil
// only when no response can be given: the key was removed, or ctx ended.
func (a *Authenticator) HandleCTAP(ctx context.Context, msg []byte) ([]byte, error) {
	resp, err := a.handleCTAP(ctx, msg)
	if err != nil {
		code, ok := statusOf(err)
		if !ok {
			return nil, err
		}
		return []byte{code}, nil
	}
	return append([]byte{statusOK}, resp...), nil
}

func (a *Authenticator) handleCTAP(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, ctapStatus(fido.CTAPInvalidLength)
	}
	params := &cborMap{}
	if len(msg) > 1 {
		v, err := decodeCBOR(msg[1:])
		if err != nil {
			return nil, ctapStatus(ctapInvalidCBOR)
		}
		m, ok := v.(*cborMap)
		if !ok {
			return nil, ctapStatus(ctapUnexpectedTyp)
		}
		params = m
	}
	switch msg[0] {
	case cmdMakeCredential:
		return a.ctapMakeCredential(ctx, params)
	case cmdGetAssertion:
		return a.ctapGetAssertion(ctx, params)
	case cmdGetNextAssertion:
		return a.ctapGetNextAssertion(ctx)
	case cmdGetInfo:
		return a.ctapGetInfo(ctx)
	case cmdClientPIN:
		return a.ctapClientPIN(ctx, params)
	case cmdReset:
		return nil, a.Reset(ctx)
	case cmdCredMgmt:
		if a.fw(5, 7) {
			return a.ctapCredMgmt(ctx, params)
		}
	case cmdCredMgmtPrev:
		if a.credMgmt() {
			return a.ctapCredMgmt(ctx, params)
		}
	}
	return nil, ctapStatus(fido.CTAPInvalidCommand)
}

// pinProtocols are the PIN/UV auth protocols offered: 1 everywhere, 2 from
// firmware 5.7 (CTAP 2.1 §6.5.7; 5.7 is CTAP 2.1 final).
func (a *Authenticator) pinProtocols() []int {
	if a.fw(5, 7) {
		return []int{2, 1}
	}
	return []int{1}
}

func (a *Authenticator) ctapGetInfo(ctx context.Context) ([]byte, error) {
	info, err := a.Info(ctx)
	if err != nil {
		return nil, err
	}
	m := map[int]any{
		0x01: info.Versions,
		0x02: info.Extensions,
		0x03: info.AAGUID[:],
		0x04: info.Options,
		0x05: 1200, // maxMsgSize, as YubiKeys report
		0x06: a.pinProtocols(),
	}
	if a.fw(5, 2) {
		m[0x07] = 8   // maxCredentialCountInList
		m[0x08] = 128 // maxCredentialIdLength
		transports := []string{"usb"}
		if strings.Contains(a.cfg.Model, "NFC") {
			transports = []string{"nfc", "usb"}
		}
		m[0x09] = transports
	}
	if info.MinPINLength > 0 {
		m[0x0C] = info.ForcePINChange
		m[0x0D] = info.MinPINLength
		m[0x0E] = info.FirmwareVersion
	}
	if info.RemainingDiscoverableCredentials >= 0 {
		m[0x14] = info.RemainingDiscoverableCredentials
	}
	return encodeCBOR(m), nil
}

// keyAgreementLocked returns the current key-agreement key, making one if
// none exists since power-up or the last regeneration.
func (a *Authenticator) keyAgreementLocked() (*ecdh.PrivateKey, error) {
	if a.sess.keyAgreement == nil {
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		a.sess.keyAgreement = k
	}
	return a.sess.keyAgreement, nil
}

// pinProtocol is one PIN/UV auth protocol's primitives (CTAP 2.1 §6.5.6
// protocol 1, §6.5.7 protocol 2).
type pinProtocol struct {
	version int
	hmacKey []byte
	aesKey  []byte
}

// sharedSecret runs ECDH with the platform's COSE key (CTAP 2.1 §6.5.6
// ecdh/kdf): protocol 1 uses SHA-256(Z) for both AES and HMAC; protocol 2
// derives two keys with HKDF-SHA-256 (salt 32 zeros).
func (a *Authenticator) sharedSecret(version int, cose any) (*pinProtocol, error) {
	m, ok := cose.(*cborMap)
	if !ok {
		return nil, ctapStatus(ctapUnexpectedTyp)
	}
	x, err := required[[]byte](m, -2)
	if err != nil {
		return nil, err
	}
	y, err := required[[]byte](m, -3)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, ctapStatus(fido.CTAPInvalidParameter)
	}
	pub, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, ctapStatus(fido.CTAPInvalidParameter)
	}
	priv, err := a.keyAgreementLocked()
	if err != nil {
		return nil, err
	}
	z, err := priv.ECDH(pub)
	if err != nil {
		return nil, ctapStatus(fido.CTAPInvalidParameter)
	}
	if version == 1 {
		k := sha256.Sum256(z)
		return &pinProtocol{version: 1, hmacKey: k[:], aesKey: k[:]}, nil
	}
	salt := make([]byte, 32)
	hk, err := hkdf.Key(sha256.New, z, salt, "CTAP2 HMAC key", 32)
	if err != nil {
		return nil, err
	}
	ak, err := hkdf.Key(sha256.New, z, salt, "CTAP2 AES key", 32)
	if err != nil {
		return nil, err
	}
	return &pinProtocol{version: 2, hmacKey: hk, aesKey: ak}, nil
}

// authenticate is HMAC-SHA-256, truncated to 16 bytes in protocol 1.
func authenticate(version int, key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	sum := h.Sum(nil)
	if version == 1 {
		return sum[:16]
	}
	return sum
}

func (p *pinProtocol) verify(msg, param []byte) bool {
	return hmac.Equal(authenticate(p.version, p.hmacKey, msg), param)
}

// decrypt is AES-256-CBC, IV zero (protocol 1) or prefixed (protocol 2).
func (p *pinProtocol) decrypt(ct []byte) ([]byte, bool) {
	iv := make([]byte, aes.BlockSize)
	if p.version == 2 {
		if len(ct) < aes.BlockSize {
			return nil, false
		}
		iv, ct = ct[:aes.BlockSize], ct[aes.BlockSize:]
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, false
	}
	b, _ := aes.NewCipher(p.aesKey)
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, ct)
	return out, true
}

func (p *pinProtocol) encrypt(pt []byte) []byte {
	iv := make([]byte, aes.BlockSize)
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

// clientPIN subcommands (CTAP 2.1 §6.5.5).
const (
	pinGetRetries      = 0x01
	pinGetKeyAgreement = 0x02
	pinSetPIN          = 0x03
	pinChangePIN       = 0x04
	pinGetToken        = 0x05
	pinGetTokenPerms   = 0x09
)

func (a *Authenticator) ctapClientPIN(ctx context.Context, p *cborMap) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	sub, err := required[int64](p, 0x02)
	if err != nil {
		return nil, err
	}
	version, hasVersion, err := member[int64](p, 0x01)
	if err != nil {
		return nil, err
	}
	if sub == pinGetRetries {
		resp := map[int]any{0x03: a.retries}
		if a.fw(5, 7) {
			resp[0x04] = a.authBlocked // powerCycleState, CTAP 2.1
		}
		return encodeCBOR(resp), nil
	}
	if !hasVersion {
		return nil, ctapStatus(ctapMissingParam)
	}
	supported := false
	for _, v := range a.pinProtocols() {
		supported = supported || int64(v) == version
	}
	if !supported {
		return nil, ctapStatus(fido.CTAPInvalidParameter)
	}
	if sub == pinGetKeyAgreement {
		k, err := a.keyAgreementLocked()
		if err != nil {
			return nil, err
		}
		pub := k.PublicKey().Bytes() // 04 || X || Y
		cose := map[int]any{1: 2, 3: -25, -1: 1, -2: pub[1:33], -3: pub[33:65]}
		return encodeCBOR(map[int]any{0x01: cose}), nil
	}
	ka, ok := p.get(0x03)
	if !ok {
		return nil, ctapStatus(ctapMissingParam)
	}
	switch sub {
	case pinSetPIN:
		return nil, a.ctapSetPIN(int(version), ka, p)
	case pinChangePIN:
		return nil, a.ctapChangePIN(int(version), ka, p)
	case pinGetToken, pinGetTokenPerms:
		return a.ctapGetToken(int(version), sub, ka, p)
	}
	return nil, ctapStatus(ctapInvalidSubcmd)
}

// newPIN decrypts newPinEnc: 64 bytes of PIN padded with zeros (CTAP 2.1
// §6.5.5.5); anything else is a policy violation.
func newPIN(proto *pinProtocol, enc []byte) (string, error) {
	padded, ok := proto.decrypt(enc)
	if !ok || len(padded) < 64 {
		return "", ctapStatus(fido.CTAPPINPolicyViolation)
	}
	padded = padded[:64]
	n := 0
	for n < len(padded) && padded[n] != 0 {
		n++
	}
	if n == 64 { // no terminating zero: more than 63 bytes
		return "", ctapStatus(fido.CTAPPINPolicyViolation)
	}
	return string(padded[:n]), nil
}

func (a *Authenticator) ctapSetPIN(version int, ka any, p *cborMap) error {
	param, err := required[[]byte](p, 0x04)
	if err != nil {
		return err
	}
	enc, err := required[[]byte](p, 0x05)
	if err != nil {
		return err
	}
	if a.pinHash != nil {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	proto, err := a.sharedSecret(version, ka)
	if err != nil {
		return err
	}
	if !proto.verify(enc, param) {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	pin, err := newPIN(proto, enc)
	if err != nil {
		return err
	}
	return a.setPINLocked(pin)
}

func (a *Authenticator) ctapChangePIN(version int, ka any, p *cborMap) error {
	param, err := required[[]byte](p, 0x04)
	if err != nil {
		return err
	}
	enc, err := required[[]byte](p, 0x05)
	if err != nil {
		return err
	}
	hashEnc, err := required[[]byte](p, 0x06)
	if err != nil {
		return err
	}
	if a.pinHash == nil {
		return ctapErr(fido.CTAPPINNotSet)
	}
	proto, err := a.sharedSecret(version, ka)
	if err != nil {
		return err
	}
	if !proto.verify(append(append([]byte(nil), enc...), hashEnc...), param) {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	h, ok := proto.decrypt(hashEnc)
	if !ok || len(h) != 16 {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	pin, err := newPIN(proto, enc)
	if err != nil {
		// The current PIN is checked first, as on a key: a wrong one
		// costs a retry even when the new PIN is unusable.
		if verr := a.verifyPINHash(h); verr != nil {
			return verr
		}
		return err
	}
	return a.changePINLocked(h, pin)
}

func (a *Authenticator) ctapGetToken(version int, sub int64, ka any, p *cborMap) ([]byte, error) {
	hashEnc, err := required[[]byte](p, 0x06)
	if err != nil {
		return nil, err
	}
	var perms int64
	if sub == pinGetTokenPerms {
		if !a.fw(5, 7) {
			return nil, ctapStatus(ctapInvalidSubcmd)
		}
		var ok bool
		perms, ok, err = member[int64](p, 0x09)
		if err != nil {
			return nil, err
		}
		if !ok || perms == 0 {
			return nil, ctapStatus(fido.CTAPInvalidParameter)
		}
	}
	if a.pinHash == nil {
		return nil, ctapErr(fido.CTAPPINNotSet)
	}
	proto, err := a.sharedSecret(version, ka)
	if err != nil {
		return nil, err
	}
	h, ok := proto.decrypt(hashEnc)
	if !ok || len(h) != 16 {
		return nil, ctapErr(fido.CTAPPINAuthInvalid)
	}
	if err := a.verifyPINHash(h); err != nil {
		return nil, err
	}
	if a.forcePINChange {
		return nil, ctapErr(fido.CTAPPINPolicyViolation)
	}
	// A fresh token for every successful request (CTAP 2.1 §6.5.5.7:
	// "resetPinUvAuthToken").
	rpID := ""
	if v, ok := p.get(0x0A); ok && sub == pinGetTokenPerms {
		s, ok := v.(string)
		if !ok {
			return nil, ctapStatus(ctapUnexpectedTyp)
		}
		rpID = s
	}
	token := make([]byte, 32)
	rand.Read(token)
	a.sess.token, a.sess.tokenProto, a.sess.tokenPerms, a.sess.tokenRPID = token, version, perms, rpID
	return encodeCBOR(map[int]any{0x02: proto.encrypt(token)}), nil
}

// credentialManagement subcommands (CTAP 2.1 §6.8).
const (
	cmMetadata     = 0x01
	cmRPsBegin     = 0x02
	cmRPsNext      = 0x03
	cmCredsBegin   = 0x04
	cmCredsNext    = 0x05
	permCredMgmt   = 0x04
	credProtectUV0 = 0x01 // userVerificationOptional
)

// checkToken verifies pinUvAuthParam over subCommand || subCommandParams
// (CTAP 2.1 §6.8.2). The parameters are re-encoded canonically: CTAP
// requires clients to send canonical CBOR, so this is the bytes they sent.
func (a *Authenticator) checkToken(sub int64, p *cborMap) error {
	param, err := required[[]byte](p, 0x04)
	if err != nil {
		return ctapErr(fido.CTAPPUATRequired)
	}
	version, ok, err := member[int64](p, 0x03)
	if err != nil {
		return err
	}
	if !ok {
		return ctapStatus(ctapMissingParam)
	}
	if a.pinHash == nil {
		return ctapErr(fido.CTAPPINNotSet)
	}
	if a.sess.token == nil || int(version) != a.sess.tokenProto {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	msg := []byte{byte(sub)}
	if sp, ok := p.get(0x02); ok {
		msg = append(msg, encodeCBOR(sp)...)
	}
	if !hmac.Equal(authenticate(int(version), a.sess.token, msg), param) {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	if a.sess.tokenPerms != 0 && a.sess.tokenPerms&permCredMgmt == 0 {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	return nil
}

func (a *Authenticator) ctapCredMgmt(ctx context.Context, p *cborMap) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	sub, err := required[int64](p, 0x01)
	if err != nil {
		return nil, err
	}
	switch sub {
	case cmMetadata, cmRPsBegin, cmCredsBegin:
		if err := a.checkToken(sub, p); err != nil {
			return nil, err
		}
	}
	switch sub {
	case cmMetadata:
		return encodeCBOR(map[int]any{0x01: len(a.creds), 0x02: a.capacity() - len(a.creds)}), nil
	case cmRPsBegin:
		var rps []credential
		seen := map[string]bool{}
		for _, c := range a.creds {
			if !seen[c.rpID] {
				seen[c.rpID] = true
				rps = append(rps, c)
			}
		}
		if len(rps) == 0 {
			return nil, ctapErr(fido.CTAPNoCredentials)
		}
		a.sess.rpQueue = rps[1:]
		return encodeRP(rps[0], len(rps)), nil
	case cmRPsNext:
		if len(a.sess.rpQueue) == 0 {
			return nil, ctapErr(fido.CTAPNotAllowed)
		}
		c := a.sess.rpQueue[0]
		a.sess.rpQueue = a.sess.rpQueue[1:]
		return encodeRP(c, 0), nil
	case cmCredsBegin:
		sp, ok := p.get(0x02)
		if !ok {
			return nil, ctapStatus(ctapMissingParam)
		}
		spm, ok := sp.(*cborMap)
		if !ok {
			return nil, ctapStatus(ctapUnexpectedTyp)
		}
		hash, err := required[[]byte](spm, 0x01)
		if err != nil {
			return nil, err
		}
		var creds []credential
		for _, c := range a.creds {
			h := sha256.Sum256([]byte(c.rpID))
			if hmac.Equal(h[:], hash) {
				creds = append(creds, c)
			}
		}
		if len(creds) == 0 {
			return nil, ctapErr(fido.CTAPNoCredentials)
		}
		a.sess.credQueue = creds[1:]
		return encodeCred(creds[0], len(creds)), nil
	case cmCredsNext:
		if len(a.sess.credQueue) == 0 {
			return nil, ctapErr(fido.CTAPNotAllowed)
		}
		c := a.sess.credQueue[0]
		a.sess.credQueue = a.sess.credQueue[1:]
		return encodeCred(c, 0), nil
	}
	return nil, ctapStatus(ctapInvalidSubcmd)
}

// encodeRP is an enumerateRPs response; total 0 = not the first.
func encodeRP(c credential, total int) []byte {
	rp := map[string]any{"id": c.rpID}
	if c.rpName != "" {
		rp["name"] = c.rpName
	}
	h := sha256.Sum256([]byte(c.rpID))
	m := map[int]any{0x03: rp, 0x04: h[:]}
	if total > 0 {
		m[0x05] = total
	}
	return encodeCBOR(m)
}

// encodeCred is an enumerateCredentials response (CTAP 2.1 §6.8.4): the
// user entity, credential ID, public key and credProtect level; total 0 =
// not the first.
func encodeCred(c credential, total int) []byte {
	user := map[string]any{"id": c.userID}
	if c.userName != "" {
		user["name"] = c.userName
	}
	if c.userDisplay != "" {
		user["displayName"] = c.userDisplay
	}
	m := map[int]any{
		0x06: user,
		0x07: map[string]any{"id": c.id, "type": "public-key"},
		0x08: coseKey(&c.priv.PublicKey),
		0x0A: c.protect,
	}
	if total > 0 {
		m[0x09] = total
	}
	return encodeCBOR(m)
}
