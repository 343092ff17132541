package sim

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/device/tlv"
)

// PIV instructions (docs/yubikey-protocol.md §4.3; NIST SP 800-73-4 part 2 §3;
// Yubico extensions from yubico-piv-tool lib/ykpiv.h).
const (
	insVerify          = 0x20
	insChangeReference = 0x24
	insResetRetry      = 0x2C
	insGenAuth         = 0x87
	insGenerate        = 0x47
	insGetData         = 0xCB
	insPutData         = 0xDB
	insSetMgmtKey      = 0xFF
	insImportKey       = 0xFE
	insGetVersion      = 0xFD
	insReset           = 0xFB
	insSetPINRetries   = 0xFA
	insAttest          = 0xF9
	insGetSerial       = 0xF8
	insGetMetadata     = 0xF7
)

// Key references and algorithm identifiers (§4.3).
const (
	refPIN     = 0x80
	refPUK     = 0x81
	slotMgmt   = 0x9B
	slotAttest = 0xF9

	alg3DES    = 0x03
	algAES128  = 0x08
	algAES192  = 0x0A
	algAES256  = 0x0C
	algRSA1024 = 0x06
	algRSA2048 = 0x07
	algRSA3072 = 0x05
	algRSA4096 = 0x16
	algECCP256 = 0x11
	algECCP384 = 0x14
	algPINPUK  = 0xFF

	pinPolicyDefault = 0x00
	pinPolicyNever   = 0x01
	pinPolicyOnce    = 0x02
	pinPolicyAlways  = 0x03

	touchPolicyDefault = 0x00
	touchPolicyNever   = 0x01
	touchPolicyAlways  = 0x02
	touchPolicyCached  = 0x03

	originGenerated = 0x01
	originImported  = 0x02
)

// Data objects (§4.8).
const (
	objDiscovery   = 0x7E
	objPrinted     = 0x5FC109
	objAttestation = 0x5FFF01
)

var (
	// pivSelectResponse is the application property template real keys
	// answer SELECT with (.NET metadata.md; §4.1).
	pivSelectResponse = []byte{0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08}
	// discoveryObject is the fixed discovery object (tag 7E) of YubiKey 5
	// PIV: the AID and PIN usage policy "PIV PIN only" (40 00).
	discoveryObject = []byte{0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00}

	defaultPIN     = padPIN([]byte("123456"))
	defaultPUK     = padPIN([]byte("12345678"))
	defaultMgmtKey = []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}
)

func padPIN(p []byte) []byte {
	b := bytes.Repeat([]byte{0xFF}, 8)
	copy(b, p)
	return b
}

// pivState is the PIV application's persistent state.
type pivState struct {
	pin, puk                 []byte // 8 bytes, FF-padded, as VERIFY carries them
	pinTotal, pinLeft        int
	pukTotal, pukLeft        int
	mgmtKey                  []byte
	mgmtAlg                  byte
	mgmtTouch                bool
	keys                     map[byte]*slotKey
	objects                  map[uint32][]byte // object ID → value inside tag 53
	defaultMgmtAlg           byte
	minPUKASCII, aesMgmtKeys bool
}

type slotKey struct {
	alg         byte
	priv        crypto.Signer
	pinPolicy   byte
	touchPolicy byte
	origin      byte
}

func newPIVState(fw device.Version) *pivState {
	s := &pivState{
		// The default management key is 3DES up to 5.6 and AES-192 (same
		// bytes) from 5.7 (.NET pin-puk-mgmt-key.md; §4.1).
		defaultMgmtAlg: alg3DES,
		aesMgmtKeys:    fw.AtLeast(5, 4, 0),
		minPUKASCII:    fw.AtLeast(5, 7, 0),
	}
	if fw.AtLeast(5, 7, 0) {
		s.defaultMgmtAlg = algAES192
	}
	s.factoryReset()
	return s
}

// factoryReset restores PIN, PUK, management key and retry counters and
// deletes keys and objects (the attestation key and certificate survive,
// as on hardware).
func (s *pivState) factoryReset() {
	s.pin, s.puk = bytes.Clone(defaultPIN), bytes.Clone(defaultPUK)
	s.pinTotal, s.pinLeft, s.pukTotal, s.pukLeft = 3, 3, 3, 3
	s.mgmtKey, s.mgmtAlg, s.mgmtTouch = bytes.Clone(defaultMgmtKey), s.defaultMgmtAlg, false
	att := s.objects[objAttestation]
	s.keys = map[byte]*slotKey{}
	s.objects = map[uint32][]byte{}
	if att != nil {
		s.objects[objAttestation] = att
	}
}

// isKeySlot reports slots that hold asymmetric keys: 9A 9C 9D 9E and the
// retired 82-95 (§4.8).
func isKeySlot(slot byte) bool {
	switch {
	case slot == 0x9A, slot == 0x9C, slot == 0x9D, slot == 0x9E:
		return true
	case slot >= 0x82 && slot <= 0x95:
		return true
	}
	return false
}

// BlockPIV uses up the PIV PIN's and PUK's retries, as a user who forgot
// both would: afterwards only RESET (INS FB) helps.
func (k *Key) BlockPIV() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.piv.pinLeft, k.piv.pukLeft = 0, 0
	k.sess.pivPIN = false
}

// PIVRetries reports the PIN's and PUK's remaining tries.
func (k *Key) PIVRetries() (pin, puk int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.piv.pinLeft, k.piv.pukLeft
}

// PIVObject returns a copy of a stored PIV data object's value (inside tag
// 53), for tests to check what a client wrote.
func (k *Key) PIVObject(id uint32) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.piv.objects[id]
	return bytes.Clone(v), ok
}

// PIVPublicKey returns the public key in slot, or nil.
func (k *Key) PIVPublicKey(slot byte) crypto.PublicKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	if sk := k.piv.keys[slot]; sk != nil {
		return sk.priv.Public()
	}
	return nil
}

func (k *Key) pivCommand(cmd apdu.Command) ([]byte, uint16) {
	s := k.piv
	switch cmd.INS {
	case insGetVersion:
		return []byte{k.fw.Major, k.fw.Minor, k.fw.Patch}, apdu.SWSuccess
	case insGetSerial:
		if k.fw.Major < 5 {
			// YubiKey 4 reads the serial through the OTP applet (piv-go
			// ykSerial), not PIV.
			return nil, apdu.SWInsNotSupported
		}
		return binary.BigEndian.AppendUint32(nil, k.serial), apdu.SWSuccess
	case insVerify:
		return nil, k.pivVerify(cmd)
	case insChangeReference:
		return nil, k.pivChangeReference(cmd)
	case insResetRetry:
		return nil, k.pivResetRetry(cmd)
	case insGetMetadata:
		if !k.fw.AtLeast(5, 3, 0) {
			return nil, apdu.SWInsNotSupported
		}
		return k.pivMetadata(cmd.P2)
	case insGenAuth:
		if cmd.P2 == slotMgmt {
			return k.pivMgmtAuth(cmd)
		}
		return k.pivUseKey(cmd)
	case insGenerate:
		return k.pivGenerate(cmd)
	case insImportKey:
		return nil, k.pivImport(cmd)
	case insGetData:
		return k.pivGetData(cmd)
	case insPutData:
		return nil, k.pivPutData(cmd)
	case insSetMgmtKey:
		return nil, k.pivSetMgmtKey(cmd)
	case insSetPINRetries:
		if !k.sess.pivMgmt || !k.sess.pivPIN {
			// Needs the management key and the PIN in the same session
			// (piv-go ykSetRetries; .NET pin-puk-mgmt-key.md).
			return nil, apdu.SWSecurityNotSatisfied
		}
		if cmd.P1 == 0 || cmd.P2 == 0 {
			return nil, apdu.SWWrongP1P2
		}
		s.pin, s.puk = bytes.Clone(defaultPIN), bytes.Clone(defaultPUK)
		s.pinTotal, s.pinLeft = int(cmd.P1), int(cmd.P1)
		s.pukTotal, s.pukLeft = int(cmd.P2), int(cmd.P2)
		k.sess.pivPIN = false
		return nil, apdu.SWSuccess
	case insReset:
		if s.pinLeft != 0 || s.pukLeft != 0 {
			return nil, apdu.SWConditionsNotMet // §4.9: both must be blocked
		}
		s.factoryReset()
		k.sess.pivPIN, k.sess.pivMgmt = false, false
		return nil, apdu.SWSuccess
	case insAttest:
		return k.pivAttest(cmd.P1)
	}
	return nil, apdu.SWInsNotSupported
}

// retriesSW is 63 Cx; firmware since 1.0.4 uses this form (§4.3).
func retriesSW(left int) uint16 { return 0x63C0 | uint16(left&0x0F) }

func (k *Key) pivVerify(cmd apdu.Command) uint16 {
	s := k.piv
	if cmd.P2 != refPIN {
		return apdu.SWReferenceNotFound
	}
	if cmd.P1 == 0xFF && len(cmd.Data) == 0 {
		// ISO 7816-4 §7.5.6: P1=FF resets the verification status.
		k.sess.pivPIN = false
		return apdu.SWSuccess
	}
	if cmd.P1 != 0 {
		return apdu.SWWrongP1P2
	}
	if len(cmd.Data) == 0 {
		// Status query (piv-go Retries, yubico-piv-tool status, §4.3).
		switch {
		case k.sess.pivPIN:
			return apdu.SWSuccess
		case s.pinLeft == 0:
			return apdu.SWAuthBlocked
		}
		return retriesSW(s.pinLeft)
	}
	if len(cmd.Data) != 8 {
		return apdu.SWIncorrectData
	}
	if s.pinLeft == 0 {
		return apdu.SWAuthBlocked
	}
	if subtle.ConstantTimeCompare(cmd.Data, s.pin) != 1 {
		s.pinLeft--
		k.sess.pivPIN = false
		return retriesSW(s.pinLeft)
	}
	s.pinLeft = s.pinTotal
	k.sess.pivPIN = true
	return apdu.SWSuccess
}

// validPIN checks a new FF-padded PIN or PUK: 6-8 bytes before the padding
// (.NET pin-puk-mgmt-key.md); from 5.7 the PUK must be ASCII (§4.1).
// tooSimple applies firmware 5.7's PIN complexity to a new FF-padded PIN
// or PUK (simfido.EasyPIN has the rule and its sources; the FIDO2 side
// applies the same).
func tooSimple(padded []byte) bool {
	p := padded
	if n := bytes.IndexByte(p, 0xFF); n >= 0 {
		p = p[:n]
	}
	return simfido.EasyPIN(p)
}

func validPIN(p []byte, asciiOnly bool) bool {
	n := bytes.IndexByte(p, 0xFF)
	if n < 0 {
		n = len(p)
	}
	if n < 6 || n > 8 {
		return false
	}
	for _, c := range p[n:] {
		if c != 0xFF {
			return false
		}
	}
	if asciiOnly {
		for _, c := range p[:n] {
			if c > 0x7F {
				return false
			}
		}
	}
	return true
}

// pivChangeReference is CHANGE REFERENCE DATA for the PIN (80) or PUK (81).
// A wrong old PUK here costs a PUK try: piv-go blocks the PUK this way
// before RESET, ykman with RESET RETRY COUNTER (§4.9).
func (k *Key) pivChangeReference(cmd apdu.Command) uint16 {
	s := k.piv
	var cur *[]byte
	var left *int
	var total int
	switch cmd.P2 {
	case refPIN:
		cur, left, total = &s.pin, &s.pinLeft, s.pinTotal
	case refPUK:
		cur, left, total = &s.puk, &s.pukLeft, s.pukTotal
	default:
		return apdu.SWReferenceNotFound
	}
	if len(cmd.Data) != 16 {
		return apdu.SWIncorrectData
	}
	if *left == 0 {
		return apdu.SWAuthBlocked
	}
	if subtle.ConstantTimeCompare(cmd.Data[:8], *cur) != 1 {
		*left--
		if cmd.P2 == refPIN {
			k.sess.pivPIN = false
		}
		return retriesSW(*left)
	}
	if !validPIN(cmd.Data[8:], cmd.P2 == refPUK && s.minPUKASCII) {
		return apdu.SWIncorrectData
	}
	if k.preset.PINComplexity && tooSimple(cmd.Data[8:]) {
		return apdu.SWConditionsNotMet
	}
	*cur = bytes.Clone(cmd.Data[8:])
	*left = total
	return apdu.SWSuccess
}

// pivResetRetry is RESET RETRY COUNTER: unblock the PIN with the PUK.
func (k *Key) pivResetRetry(cmd apdu.Command) uint16 {
	s := k.piv
	if cmd.P2 != refPIN {
		return apdu.SWReferenceNotFound
	}
	if len(cmd.Data) != 16 {
		return apdu.SWIncorrectData
	}
	if s.pukLeft == 0 {
		return apdu.SWAuthBlocked
	}
	if subtle.ConstantTimeCompare(cmd.Data[:8], s.puk) != 1 {
		s.pukLeft--
		return retriesSW(s.pukLeft)
	}
	if !validPIN(cmd.Data[8:], false) {
		return apdu.SWIncorrectData
	}
	if k.preset.PINComplexity && tooSimple(cmd.Data[8:]) {
		return apdu.SWConditionsNotMet
	}
	s.pin = bytes.Clone(cmd.Data[8:])
	s.pinLeft, s.pukLeft = s.pinTotal, s.pukTotal
	return apdu.SWSuccess
}

// pivMetadata is GET METADATA (§4.4). Tag 01 comes first: piv-go reads the
// management key algorithm as byte 2 of the response.
func (k *Key) pivMetadata(slot byte) ([]byte, uint16) {
	s := k.piv
	var b []byte
	isDefault := func(d bool) []byte {
		if d {
			return []byte{1}
		}
		return []byte{0}
	}
	switch {
	case slot == refPIN || slot == refPUK:
		val, def, total, left := s.pin, defaultPIN, s.pinTotal, s.pinLeft
		if slot == refPUK {
			val, def, total, left = s.puk, defaultPUK, s.pukTotal, s.pukLeft
		}
		b = tlv.Append(b, 0x01, []byte{algPINPUK})
		b = tlv.Append(b, 0x05, isDefault(bytes.Equal(val, def)))
		b = tlv.Append(b, 0x06, []byte{byte(total), byte(left)})
	case slot == slotMgmt:
		touch := byte(touchPolicyNever)
		if s.mgmtTouch {
			touch = touchPolicyAlways
		}
		b = tlv.Append(b, 0x01, []byte{s.mgmtAlg})
		b = tlv.Append(b, 0x02, []byte{pinPolicyDefault, touch})
		b = tlv.Append(b, 0x05, isDefault(s.mgmtAlg == s.defaultMgmtAlg && bytes.Equal(s.mgmtKey, defaultMgmtKey)))
	case isKeySlot(slot) || slot == slotAttest:
		var sk *slotKey
		if slot == slotAttest {
			sk = k.att.slotKey()
		} else {
			sk = s.keys[slot]
		}
		if sk == nil {
			return nil, apdu.SWReferenceNotFound
		}
		b = tlv.Append(b, 0x01, []byte{sk.alg})
		b = tlv.Append(b, 0x02, []byte{sk.pinPolicy, sk.touchPolicy})
		b = tlv.Append(b, 0x03, []byte{sk.origin})
		b = tlv.Append(b, 0x04, encodePublic(sk.priv.Public()))
	default:
		return nil, apdu.SWReferenceNotFound
	}
	return b, apdu.SWSuccess
}

// encodePublic is the inside of a 7F49 template: 86 <point> for EC,
// 81 <modulus> 82 <exponent> for RSA (§4.6).
func encodePublic(pub crypto.PublicKey) []byte {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		e, err := p.ECDH()
		if err != nil {
			return nil
		}
		return tlv.Encode(0x86, e.Bytes())
	case *rsa.PublicKey:
		b := tlv.Encode(0x81, p.N.Bytes())
		return tlv.Append(b, 0x82, big.NewInt(int64(p.E)).Bytes())
	}
	return nil
}

// mgmtCipher returns the block cipher of the current management key.
func (s *pivState) mgmtCipher() (cipher.Block, error) {
	if s.mgmtAlg == alg3DES {
		return des.NewTripleDESCipher(s.mgmtKey)
	}
	return aes.NewCipher(s.mgmtKey)
}

// pivMgmtAuth is GENERAL AUTHENTICATE on 9B (§4.5): mutual authentication
// (80 00 → encrypted witness; 80 witness 81 challenge → 82 encrypted
// challenge), and the single-direction form (81 00 → challenge; 82 response).
func (k *Key) pivMgmtAuth(cmd apdu.Command) ([]byte, uint16) {
	s := k.piv
	if cmd.P1 != s.mgmtAlg {
		return nil, apdu.SWIncorrectData
	}
	inner, ok, err := tlv.Find(cmd.Data, 0x7C)
	if err != nil || !ok {
		return nil, apdu.SWIncorrectData
	}
	m, err := tlv.Map(inner)
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	block, err := s.mgmtCipher()
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	bs := block.BlockSize()
	enc := func(in []byte) []byte {
		out := make([]byte, bs)
		block.Encrypt(out, in)
		return out
	}
	witness, hasW := m[0x80]
	chal, hasC := m[0x81]
	resp, hasR := m[0x82]
	switch {
	case hasW && len(witness) == 0 && !hasC:
		// Step 1: a fresh random witness, sent encrypted.
		w := make([]byte, bs)
		if _, err := k.rand.Read(w); err != nil {
			return nil, apdu.SWNoPreciseDiagnosis
		}
		k.sess.witness = w
		k.sess.pivMgmt = false
		return tlv.Encode(0x7C, tlv.Encode(0x80, enc(w))), apdu.SWSuccess
	case hasW && hasC && len(witness) == bs && len(chal) == bs:
		// Step 2: the host decrypted the witness; prove we hold the key too.
		want := k.sess.witness
		k.sess.witness = nil
		if want == nil || subtle.ConstantTimeCompare(witness, want) != 1 {
			k.sess.pivMgmt = false
			return nil, apdu.SWSecurityNotSatisfied
		}
		k.sess.pivMgmt = true
		return tlv.Encode(0x7C, tlv.Encode(0x82, enc(chal))), apdu.SWSuccess
	case hasC && len(chal) == 0 && !hasW:
		c := make([]byte, bs)
		if _, err := k.rand.Read(c); err != nil {
			return nil, apdu.SWNoPreciseDiagnosis
		}
		k.sess.challenge = c
		k.sess.pivMgmt = false
		return tlv.Encode(0x7C, tlv.Encode(0x81, c)), apdu.SWSuccess
	case hasR && len(resp) == bs && !hasW && !hasC:
		want := k.sess.challenge
		k.sess.challenge = nil
		if want == nil || subtle.ConstantTimeCompare(resp, enc(want)) != 1 {
			k.sess.pivMgmt = false
			return nil, apdu.SWSecurityNotSatisfied
		}
		k.sess.pivMgmt = true
		return nil, apdu.SWSuccess
	}
	return nil, apdu.SWIncorrectData
}

// pinAllowed applies a slot's PIN policy before a private-key operation.
// "always" needs a VERIFY before every use, so it consumes the verification.
func (k *Key) pinAllowed(sk *slotKey) bool {
	switch sk.pinPolicy {
	case pinPolicyNever:
		return true
	case pinPolicyAlways:
		ok := k.sess.pivPIN
		k.sess.pivPIN = false
		return ok
	}
	return k.sess.pivPIN
}

// pivUseKey is GENERAL AUTHENTICATE with a key slot (§4.7): sign (81:
// ECDSA over the given digest, RSA raw) or ECDH (85).
func (k *Key) pivUseKey(cmd apdu.Command) ([]byte, uint16) {
	if !isKeySlot(cmd.P2) {
		return nil, apdu.SWReferenceNotFound
	}
	sk := k.piv.keys[cmd.P2]
	if sk == nil {
		return nil, apdu.SWReferenceNotFound
	}
	if cmd.P1 != sk.alg {
		return nil, apdu.SWIncorrectData
	}
	inner, ok, err := tlv.Find(cmd.Data, 0x7C)
	if err != nil || !ok {
		return nil, apdu.SWIncorrectData
	}
	m, err := tlv.Map(inner)
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	if _, ok := m[0x82]; !ok {
		return nil, apdu.SWIncorrectData
	}
	if !k.pinAllowed(sk) {
		return nil, apdu.SWSecurityNotSatisfied
	}
	// Touch policies are reported but the simulated touch is immediate.
	var out []byte
	if msg, ok := m[0x81]; ok {
		switch p := sk.priv.(type) {
		case *ecdsa.PrivateKey:
			size := (p.Curve.Params().BitSize + 7) / 8
			if len(msg) > size {
				return nil, apdu.SWIncorrectData
			}
			sig, err := ecdsa.SignASN1(k.rand, p, msg)
			if err != nil {
				return nil, apdu.SWIncorrectData
			}
			out = sig
		case *rsa.PrivateKey:
			// Raw RSA: the client did the padding (§4.7).
			if len(msg) != p.Size() {
				return nil, apdu.SWIncorrectData
			}
			c := new(big.Int).SetBytes(msg)
			if c.Cmp(p.N) >= 0 {
				return nil, apdu.SWIncorrectData
			}
			r := new(big.Int).Exp(c, p.D, p.N)
			out = r.FillBytes(make([]byte, p.Size()))
		default:
			return nil, apdu.SWIncorrectData
		}
	} else if peer, ok := m[0x85]; ok {
		p, isEC := sk.priv.(*ecdsa.PrivateKey)
		if !isEC {
			return nil, apdu.SWIncorrectData
		}
		priv, err := p.ECDH()
		if err != nil {
			return nil, apdu.SWIncorrectData
		}
		pub, err := priv.Curve().NewPublicKey(peer)
		if err != nil {
			return nil, apdu.SWIncorrectData
		}
		secret, err := priv.ECDH(pub)
		if err != nil {
			return nil, apdu.SWIncorrectData
		}
		out = secret
	} else {
		return nil, apdu.SWIncorrectData
	}
	return tlv.Encode(0x7C, tlv.Encode(0x82, out)), apdu.SWSuccess
}

// resolvePolicies turns "default" into the slot's effective policy
// (§4.3: PIN once, 9C always, 9E never; touch never).
func resolvePolicies(slot, pin, touch byte) (byte, byte) {
	if pin == pinPolicyDefault {
		switch slot {
		case 0x9C:
			pin = pinPolicyAlways
		case 0x9E:
			pin = pinPolicyNever
		default:
			pin = pinPolicyOnce
		}
	}
	if touch == touchPolicyDefault {
		touch = touchPolicyNever
	}
	return pin, touch
}

// policiesValid checks AA/AB values against what the firmware knows.
func (k *Key) policiesValid(pin, touch byte) bool {
	if pin > pinPolicyAlways {
		return false // match-once/always are Bio only
	}
	if touch > touchPolicyCached {
		return false
	}
	return true
}

// pivGenerate is GENERATE ASYMMETRIC KEY PAIR (§4.6).
func (k *Key) pivGenerate(cmd apdu.Command) ([]byte, uint16) {
	if !k.sess.pivMgmt {
		return nil, apdu.SWSecurityNotSatisfied
	}
	if cmd.P1 != 0 || !isKeySlot(cmd.P2) {
		return nil, apdu.SWWrongP1P2
	}
	inner, ok, err := tlv.Find(cmd.Data, 0xAC)
	if err != nil || !ok {
		return nil, apdu.SWIncorrectData
	}
	m, err := tlv.Map(inner)
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	alg, ok := m[0x80]
	if !ok || len(alg) != 1 {
		return nil, apdu.SWIncorrectData
	}
	pin, touch, st := policyTags(m)
	if st != apdu.SWSuccess || !k.policiesValid(pin, touch) {
		return nil, apdu.SWIncorrectData
	}
	priv, st := k.generate(alg[0])
	if st != apdu.SWSuccess {
		return nil, st
	}
	pin, touch = resolvePolicies(cmd.P2, pin, touch)
	k.piv.keys[cmd.P2] = &slotKey{alg: alg[0], priv: priv, pinPolicy: pin, touchPolicy: touch, origin: originGenerated}
	return tlv.Encode(0x7F49, encodePublic(priv.Public())), apdu.SWSuccess
}

func policyTags(m map[uint32][]byte) (pin, touch byte, st uint16) {
	if v, ok := m[0xAA]; ok {
		if len(v) != 1 {
			return 0, 0, apdu.SWIncorrectData
		}
		pin = v[0]
	}
	if v, ok := m[0xAB]; ok {
		if len(v) != 1 {
			return 0, 0, apdu.SWIncorrectData
		}
		touch = v[0]
	}
	return pin, touch, apdu.SWSuccess
}

// generate makes a key of algorithm alg, honouring the firmware gates of
// §4.6 (RSA-3072/4096 from 5.7). Ed25519/X25519 are not simulated.
func (k *Key) generate(alg byte) (crypto.Signer, uint16) {
	switch alg {
	case algECCP256:
		p, err := ecdsa.GenerateKey(elliptic.P256(), k.rand)
		if err != nil {
			return nil, apdu.SWNoPreciseDiagnosis
		}
		return p, apdu.SWSuccess
	case algECCP384:
		p, err := ecdsa.GenerateKey(elliptic.P384(), k.rand)
		if err != nil {
			return nil, apdu.SWNoPreciseDiagnosis
		}
		return p, apdu.SWSuccess
	case algRSA1024, algRSA2048, algRSA3072, algRSA4096:
		bits := map[byte]int{algRSA1024: 1024, algRSA2048: 2048, algRSA3072: 3072, algRSA4096: 4096}[alg]
		if bits > 2048 && !k.fw.AtLeast(5, 7, 0) {
			return nil, apdu.SWIncorrectData
		}
		p, err := rsa.GenerateKey(k.rand, bits)
		if err != nil {
			return nil, apdu.SWNoPreciseDiagnosis
		}
		return p, apdu.SWSuccess
	}
	return nil, apdu.SWIncorrectData
}

// pivImport is IMPORT KEY (Yubico FE, §4.3): EC private scalar in tag 06,
// or RSA p q dp dq qinv in tags 01-05, then optional AA/AB policies.
func (k *Key) pivImport(cmd apdu.Command) uint16 {
	if !k.sess.pivMgmt {
		return apdu.SWSecurityNotSatisfied
	}
	if !isKeySlot(cmd.P2) {
		return apdu.SWWrongP1P2
	}
	m, err := tlv.Map(cmd.Data)
	if err != nil {
		return apdu.SWIncorrectData
	}
	pin, touch, st := policyTags(m)
	if st != apdu.SWSuccess || !k.policiesValid(pin, touch) {
		return apdu.SWIncorrectData
	}
	var priv crypto.Signer
	switch cmd.P1 {
	case algECCP256, algECCP384:
		curve := ecdh.P256()
		size := 32
		if cmd.P1 == algECCP384 {
			curve, size = ecdh.P384(), 48
		}
		d := m[0x06]
		if len(d) != size {
			return apdu.SWIncorrectData
		}
		if _, err := curve.NewPrivateKey(d); err != nil {
			return apdu.SWIncorrectData
		}
		c := elliptic.P256()
		if cmd.P1 == algECCP384 {
			c = elliptic.P384()
		}
		p, err := ecdsa.ParseRawPrivateKey(c, d)
		if err != nil {
			return apdu.SWIncorrectData
		}
		priv = p
	case algRSA1024, algRSA2048, algRSA3072, algRSA4096:
		half := map[byte]int{algRSA1024: 64, algRSA2048: 128, algRSA3072: 192, algRSA4096: 256}[cmd.P1]
		if len(m[0x01]) != half || len(m[0x02]) != half || (half > 128 && !k.fw.AtLeast(5, 7, 0)) {
			return apdu.SWIncorrectData
		}
		p, q := new(big.Int).SetBytes(m[0x01]), new(big.Int).SetBytes(m[0x02])
		if p.Sign() == 0 || q.Sign() == 0 {
			return apdu.SWIncorrectData
		}
		n := new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(q, big.NewInt(1)))
		e := big.NewInt(65537)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			return apdu.SWIncorrectData
		}
		key := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		if err := key.Validate(); err != nil {
			return apdu.SWIncorrectData
		}
		key.Precompute()
		priv = key
	default:
		return apdu.SWIncorrectData
	}
	pin, touch = resolvePolicies(cmd.P2, pin, touch)
	k.piv.keys[cmd.P2] = &slotKey{alg: cmd.P1, priv: priv, pinPolicy: pin, touchPolicy: touch, origin: originImported}
	return apdu.SWSuccess
}

// DecodeObjectID parses the 5C tag of GET DATA / PUT DATA: a 1-3 byte
// object identifier.
func DecodeObjectID(b []byte) (uint32, error) {
	v, ok, err := tlv.Find(b, 0x5C)
	if err != nil || !ok || len(v) == 0 || len(v) > 3 {
		return 0, errBadObject
	}
	var id uint32
	for _, c := range v {
		id = id<<8 | uint32(c)
	}
	return id, nil
}

// pivGetData is GET DATA: 53-wrapped object, 7E discovery, 6A82 if absent.
func (k *Key) pivGetData(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0x3F || cmd.P2 != 0xFF {
		return nil, apdu.SWWrongP1P2
	}
	id, err := DecodeObjectID(cmd.Data)
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	if id == objDiscovery {
		return bytes.Clone(discoveryObject), apdu.SWSuccess
	}
	if id == objPrinted && !k.sess.pivPIN {
		// PRINTED is readable only with the PIN verified (§4.8, §4.11).
		return nil, apdu.SWSecurityNotSatisfied
	}
	v, ok := k.piv.objects[id]
	if !ok {
		return nil, apdu.SWFileNotFound
	}
	return tlv.Encode(0x53, v), apdu.SWSuccess
}

// DecodePutData parses a PUT DATA body: 5C <id> then 53 <value>. The value
// is stored verbatim; an empty one deletes the object.
func DecodePutData(b []byte) (uint32, []byte, error) {
	items, err := tlv.Parse(b)
	if err != nil || len(items) != 2 || items[0].Tag != 0x5C || items[1].Tag != 0x53 {
		return 0, nil, errBadObject
	}
	id, err := DecodeObjectID(b)
	if err != nil {
		return 0, nil, err
	}
	return id, items[1].Value, nil
}

func (k *Key) pivPutData(cmd apdu.Command) uint16 {
	if !k.sess.pivMgmt {
		return apdu.SWSecurityNotSatisfied
	}
	if cmd.P1 != 0x3F || cmd.P2 != 0xFF {
		return apdu.SWWrongP1P2
	}
	id, v, err := DecodePutData(cmd.Data)
	if err != nil || id == objDiscovery {
		return apdu.SWIncorrectData
	}
	if len(v) == 0 {
		delete(k.piv.objects, id)
	} else {
		k.piv.objects[id] = bytes.Clone(v)
	}
	return apdu.SWSuccess
}

// pivSetMgmtKey is SET MANAGEMENT KEY (Yubico FF; §4.3): alg ‖ 9B ‖ len ‖
// key, P2 FE = touch required. AES keys need 5.4.
func (k *Key) pivSetMgmtKey(cmd apdu.Command) uint16 {
	if !k.sess.pivMgmt {
		return apdu.SWSecurityNotSatisfied
	}
	if cmd.P1 != 0xFF || (cmd.P2 != 0xFF && cmd.P2 != 0xFE) {
		return apdu.SWWrongP1P2
	}
	d := cmd.Data
	if len(d) < 3 || d[1] != slotMgmt || int(d[2]) != len(d)-3 {
		return apdu.SWIncorrectData
	}
	alg, key := d[0], d[3:]
	want := map[byte]int{alg3DES: 24, algAES128: 16, algAES192: 24, algAES256: 32}
	n, ok := want[alg]
	if !ok || len(key) != n || (alg != alg3DES && !k.piv.aesMgmtKeys) {
		return apdu.SWIncorrectData
	}
	k.piv.mgmtKey, k.piv.mgmtAlg, k.piv.mgmtTouch = bytes.Clone(key), alg, cmd.P2 == 0xFE
	return apdu.SWSuccess
}

// errBadObject reports a GET DATA / PUT DATA body that is not 5C <id>
// [53 <value>].
var errBadObject = fmt.Errorf("PIV data object reference is malformed (want 5C <1-3 byte id>, then 53 <value> for PUT DATA): %w", device.ErrInvalidArgument)
