package sim

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// The smart-card applications besides management, PIV and FIDO2 that can
// hold an owner's secrets: OATH, OpenPGP, YubiHSM Auth and the OTP slots
// (reached over CCID). Each is simulated as far as keywizard's wipe and
// ykman 4.0.9's commands for it need (docs/yubikey-protocol.md §12, which
// gives each fact with its yubikey-manager source): storing, listing and
// the factory reset. Each answers only while enabled over USB, as PIV does.

// AIDs (yubikey-manager yubikit/core/smartcard/__init__.py, class AID).
// The simulator spells them itself rather than reading device/aid: it
// stands in for the key and is checked by ykman on its own, so a wrong
// byte shared with keywizard's client could not let both sides agree on a
// bug.
var (
	aidOATH    = []byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x01}
	aidOTP     = []byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01}
	aidHSMAuth = []byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x07, 0x01}
	aidOpenPGP = []byte{0xD2, 0x76, 0x00, 0x01, 0x24, 0x01}
)

// appsState is the persistent state of the four applications.
type appsState struct {
	oath    []oathCred
	oathID  []byte // the OATH device id salt, new after each reset
	pgp     pgpState
	hsmauth []hsmCred
	otp     [2]otpSlot
	otpSeq  byte
}

type oathCred struct {
	ID    []byte `json:"id"`
	Type  byte   `json:"type"` // OATH type | hash algorithm
	Key   []byte `json:"key"`
	Touch bool   `json:"touch,omitempty"`
}

type hsmCred struct {
	Label string `json:"label"`
	Alg   byte   `json:"alg"`
	Touch bool   `json:"touch,omitempty"`
	Keys  []byte `json:"keys"`
}

type otpSlot struct {
	Config  []byte `json:"config,omitempty"` // 52 bytes; nil = empty
	AccCode []byte `json:"acc_code,omitempty"`
}

// pgpState is the OpenPGP application (OpenPGP card 3.4 as YubiKey 5
// implements it; yubikey-manager ykman/openpgp.py).
type pgpState struct {
	Terminated bool      `json:"terminated,omitempty"`
	PIN        []byte    `json:"pin"`
	Admin      []byte    `json:"admin"`
	Tries      [3]int    `json:"tries"` // PW1, reset code, PW3 left
	Totals     [3]int    `json:"totals"`
	Keys       [4][]byte `json:"keys"`  // key template per slot (SIG, ENC, AUT, ATT); nil = none
	Attrs      [4][]byte `json:"attrs"` // algorithm attributes C1, C2, C3, DA
	FPs        [4][]byte `json:"fps"`   // fingerprints C7, C8, C9, DB
	Times      [4][]byte `json:"times"` // generation times CE, CF, D0, DD
	UIF        [4]byte   `json:"uif"`   // touch policies D6, D7, D8, D9
	Certs      [3][]byte `json:"certs"` // cardholder certificates AUT, ENC, SIG (SELECT DATA occurrence)
	AttCert    []byte    `json:"att_cert,omitempty"`
}

func newAppsState(r func([]byte)) appsState {
	a := appsState{}
	a.oathID = make([]byte, 8)
	r(a.oathID)
	a.pgp.factoryReset()
	// A YubiKey ships with slot 1 programmed with a Yubico OTP credential
	// registered with YubiCloud (Yubico's "OTP" application docs), slot 2
	// empty.
	cfg := make([]byte, otpConfigSize)
	r(cfg[:38])
	a.otp[0] = otpSlot{Config: cfg}
	a.otpSeq = 1
	return a
}

func (p *pgpState) factoryReset() {
	// ykman/_cli/openpgp.py echo_default_pins: PIN 123456, Admin PIN
	// 12345678, no reset code; retries 3/0/3.
	*p = pgpState{PIN: []byte("123456"), Admin: []byte("12345678"), Tries: [3]int{3, 0, 3}, Totals: [3]int{3, 0, 3}}
	rsa2048 := []byte{0x01, 0x08, 0x00, 0x00, 0x20, 0x00}
	for i := range p.Attrs {
		p.Attrs[i] = bytes.Clone(rsa2048)
		p.FPs[i] = make([]byte, 20)
		p.Times[i] = make([]byte, 4)
	}
}

func (k *Key) randFill(b []byte) {
	if _, err := k.rand.Read(b); err != nil {
		panic("simulated key: reading randomness: " + err.Error())
	}
}

// selectOtherApplet selects OATH, OpenPGP, YubiHSM Auth or OTP; ok is
// false for an AID none of them has.
func (k *Key) selectOtherApplet(aid []byte, enabled device.Capability) (resp []byte, ok bool) {
	supported := k.preset.supportedUSB(k.fw)
	is := func(c device.Capability) bool { return supported&c != 0 }
	on := func(c device.Capability) bool { return enabled&c != 0 }
	switch {
	case bytes.HasPrefix(aid, aidOATH) && is(device.CapOATH):
		if !on(device.CapOATH) {
			return sw(apdu.SWFileNotFound), true
		}
		k.sess.applet = appletOATH
		// yubikit/oath.py _parse_select: version (79), device salt (71);
		// a challenge (74) only with a password, which is not simulated.
		r := tlv.Encode(0x79, []byte{byte(k.fw.Major), byte(k.fw.Minor), byte(k.fw.Patch)})
		r = tlv.Append(r, 0x71, k.apps.oathID)
		return k.respond(r), true
	case bytes.HasPrefix(aid, aidHSMAuth) && is(device.CapHSMAuth):
		if !on(device.CapHSMAuth) {
			return sw(apdu.SWFileNotFound), true
		}
		k.sess.applet = appletHSMAuth
		// yubikit/hsmauth.py _parse_select: the version in tag 79.
		return k.respond(tlv.Encode(0x79, []byte{byte(k.fw.Major), byte(k.fw.Minor), byte(k.fw.Patch)})), true
	case bytes.HasPrefix(aid, aidOpenPGP) && is(device.CapOpenPGP):
		if !on(device.CapOpenPGP) {
			return sw(apdu.SWFileNotFound), true
		}
		k.sess.applet = appletOpenPGP
		k.sess.pgpVerified = [3]bool{}
		k.sess.pgpCert = 0
		if k.apps.pgp.Terminated {
			// OpenPGP card 3.4 §7.2.16: a terminated application answers
			// SELECT with 62 85 (ykman/openpgp.py then sends ACTIVATE).
			return sw(0x6285), true
		}
		return sw(apdu.SWSuccess), true
	case bytes.HasPrefix(aid, aidOTP) && is(device.CapOTP):
		if !on(device.CapOTP) {
			return sw(apdu.SWFileNotFound), true
		}
		k.sess.applet = appletOTP
		return k.respond(k.otpStatus()), true
	}
	return nil, false
}

// ---- OATH (yubikit/oath.py) ----

func (k *Key) oathCommand(cmd apdu.Command) ([]byte, uint16) {
	switch cmd.INS {
	case 0x01: // PUT
		return nil, k.oathPut(cmd.Data)
	case 0x02: // DELETE
		name, ok, err := tlv.Find(cmd.Data, 0x71)
		if err != nil || !ok {
			return nil, apdu.SWIncorrectData
		}
		for i, c := range k.apps.oath {
			if bytes.Equal(c.ID, name) {
				k.apps.oath = append(k.apps.oath[:i], k.apps.oath[i+1:]...)
				return nil, apdu.SWSuccess
			}
		}
		return nil, apdu.SWFileNotFound
	case 0x04: // RESET, P1 P2 = DE AD
		if cmd.P1 != 0xDE || cmd.P2 != 0xAD {
			return nil, apdu.SWWrongP1P2
		}
		k.apps.oath = nil
		k.randFill(k.apps.oathID)
		return nil, apdu.SWSuccess
	case 0xA1: // LIST
		var out []byte
		for _, c := range k.apps.oath {
			out = tlv.Append(out, 0x72, append([]byte{c.Type}, c.ID...))
		}
		return out, apdu.SWSuccess
	case 0x03: // SET CODE: passwords are not simulated
		return nil, apdu.SWInsNotSupported
	}
	return nil, apdu.SWInsNotSupported
}

// oathPut stores a credential: name (71), key (73: type|algorithm,
// digits, secret), an optional property byte (78, sent with no length
// byte: yubikit/oath.py put_credential packs ">BB") and IMF (7A).
func (k *Key) oathPut(b []byte) uint16 {
	var c oathCred
	for len(b) > 0 {
		if b[0] == 0x78 {
			if len(b) < 2 {
				return apdu.SWIncorrectData
			}
			c.Touch = b[1]&0x02 != 0
			b = b[2:]
			continue
		}
		t, rest, err := tlv.Next(b)
		if err != nil {
			return apdu.SWIncorrectData
		}
		switch t.Tag {
		case 0x71:
			c.ID = bytes.Clone(t.Value)
		case 0x73:
			if len(t.Value) < 2 {
				return apdu.SWIncorrectData
			}
			c.Type, c.Key = t.Value[0], bytes.Clone(t.Value[2:])
		}
		b = rest
	}
	if len(c.ID) == 0 || c.Type == 0 {
		return apdu.SWIncorrectData
	}
	for i, old := range k.apps.oath {
		if bytes.Equal(old.ID, c.ID) {
			k.apps.oath[i] = c
			return apdu.SWSuccess
		}
	}
	k.apps.oath = append(k.apps.oath, c)
	return apdu.SWSuccess
}

// ---- YubiHSM Auth (yubikit/hsmauth.py) ----

// hsmDefaultMgmtKey is DEFAULT_MANAGEMENT_KEY: sixteen zero bytes.
var hsmDefaultMgmtKey = make([]byte, 16)

func (k *Key) hsmauthCommand(cmd apdu.Command) ([]byte, uint16) {
	switch cmd.INS {
	case 0x01: // PUT: management key 7B, label 71, algorithm 74, keys, password 73, touch 7A
		m, err := tlv.Map(cmd.Data)
		if err != nil {
			return nil, apdu.SWIncorrectData
		}
		if subtle.ConstantTimeCompare(m[0x7B], hsmDefaultMgmtKey) != 1 {
			return nil, 0x63C7
		}
		label, alg := m[0x71], m[0x74]
		if len(label) == 0 || len(label) > 64 || len(alg) != 1 {
			return nil, apdu.SWIncorrectData
		}
		c := hsmCred{Label: string(label), Alg: alg[0], Touch: len(m[0x7A]) == 1 && m[0x7A][0] == 1,
			Keys: append(append(bytes.Clone(m[0x75]), m[0x76]...), m[0x7D]...)}
		for _, old := range k.apps.hsmauth {
			if old.Label == c.Label {
				return nil, apdu.SWConditionsNotMet
			}
		}
		k.apps.hsmauth = append(k.apps.hsmauth, c)
		return nil, apdu.SWSuccess
	case 0x05: // LIST: 72 { algorithm, touch, label, retries }
		var out []byte
		for _, c := range k.apps.hsmauth {
			v := append([]byte{c.Alg, boolByte(c.Touch)}, c.Label...)
			out = tlv.Append(out, 0x72, append(v, 8))
		}
		return out, apdu.SWSuccess
	case 0x06: // RESET, P1 P2 = DE AD
		if cmd.P1 != 0xDE || cmd.P2 != 0xAD {
			return nil, apdu.SWWrongP1P2
		}
		k.apps.hsmauth = nil
		return nil, apdu.SWSuccess
	case 0x07: // GET VERSION
		return []byte{byte(k.fw.Major), byte(k.fw.Minor), byte(k.fw.Patch)}, apdu.SWSuccess
	}
	return nil, apdu.SWInsNotSupported
}

// ---- OTP over CCID (yubikit/yubiotp.py _YubiOtpSmartCardBackend) ----

const (
	otpConfigSize  = 52 // CONFIG_SIZE
	otpAccCodeSize = 6  // ACC_CODE_SIZE
	otpAccCodeAt   = 38 // fixed 16 + uid 6 + key 16
	otpTktChalResp = 0x40
	otpTktAt       = 46 // after the access code and the fixed-size byte, ext byte
)

// otpStatus is the status the OTP applet returns to SELECT and to each
// write: firmware version, programming sequence, touch level (little
// endian; yubikit/yubiotp.py CFGSTATE: 01/02 slot valid, 04/08 touch).
func (k *Key) otpStatus() []byte {
	var flags uint16
	for i, s := range k.apps.otp {
		if s.Config != nil {
			flags |= 1 << i
			if s.Config[otpTktAt]&otpTktChalResp == 0 {
				flags |= 4 << i
			}
		}
	}
	st := []byte{byte(k.fw.Major), byte(k.fw.Minor), byte(k.fw.Patch), k.apps.otpSeq, 0, 0}
	binary.LittleEndian.PutUint16(st[4:], flags)
	return st
}

func (k *Key) otpCommand(cmd apdu.Command) ([]byte, uint16) {
	if cmd.INS != 0x01 {
		return nil, apdu.SWInsNotSupported
	}
	switch cmd.P1 {
	case 0x01, 0x03: // CONFIG_1, CONFIG_2: program, or delete with all zeros
		slot := &k.apps.otp[0]
		if cmd.P1 == 0x03 {
			slot = &k.apps.otp[1]
		}
		if len(cmd.Data) != otpConfigSize+otpAccCodeSize {
			return nil, apdu.SWWrongLength
		}
		cfg, cur := cmd.Data[:otpConfigSize], cmd.Data[otpConfigSize:]
		if len(slot.AccCode) > 0 && !allZero(slot.AccCode) && subtle.ConstantTimeCompare(slot.AccCode, cur) != 1 {
			// A slot protected by an access code is left as it is: the
			// status comes back with the sequence unchanged, which
			// yubikit reports as "Not updated".
			return k.otpStatus(), apdu.SWSuccess
		}
		if allZero(cfg) {
			*slot = otpSlot{}
		} else {
			*slot = otpSlot{Config: bytes.Clone(cfg), AccCode: bytes.Clone(cfg[otpAccCodeAt : otpAccCodeAt+otpAccCodeSize])}
		}
		// With no slot programmed the sequence reads 0 (yubikit/yubiotp.py
		// write_update accepts that after a delete).
		if k.apps.otp[0].Config == nil && k.apps.otp[1].Config == nil {
			k.apps.otpSeq = 0
		} else {
			k.apps.otpSeq++
		}
		return k.otpStatus(), apdu.SWSuccess
	case 0x04, 0x05: // UPDATE_1, UPDATE_2: flags and a new access code for a programmed slot
		slot := &k.apps.otp[cmd.P1-0x04]
		if len(cmd.Data) != otpConfigSize+otpAccCodeSize {
			return nil, apdu.SWWrongLength
		}
		cfg, cur := cmd.Data[:otpConfigSize], cmd.Data[otpConfigSize:]
		if slot.Config == nil || (len(slot.AccCode) > 0 && !allZero(slot.AccCode) && subtle.ConstantTimeCompare(slot.AccCode, cur) != 1) {
			return k.otpStatus(), apdu.SWSuccess
		}
		slot.AccCode = bytes.Clone(cfg[otpAccCodeAt : otpAccCodeAt+otpAccCodeSize])
		k.apps.otpSeq++
		return k.otpStatus(), apdu.SWSuccess
	case 0x10: // DEVICE_SERIAL
		return binary.BigEndian.AppendUint32(nil, k.serial), apdu.SWSuccess
	}
	return nil, apdu.SWWrongP1P2
}

// ---- OpenPGP (ykman/openpgp.py; OpenPGP card 3.4) ----

// pgpSlot maps the key-related data objects to a slot index (SIG, ENC,
// AUT, ATT).
var pgpObjects = map[uint16]struct {
	slot int
	kind byte // 'a' attributes, 'f' fingerprint, 't' time, 'u' UIF
}{
	0xC1: {0, 'a'}, 0xC2: {1, 'a'}, 0xC3: {2, 'a'}, 0xDA: {3, 'a'},
	0xC7: {0, 'f'}, 0xC8: {1, 'f'}, 0xC9: {2, 'f'}, 0xDB: {3, 'f'},
	0xCE: {0, 't'}, 0xCF: {1, 't'}, 0xD0: {2, 't'}, 0xDD: {3, 't'},
	0xD6: {0, 'u'}, 0xD7: {1, 'u'}, 0xD8: {2, 'u'}, 0xD9: {3, 'u'},
}

func (k *Key) pgpCommand(cmd apdu.Command) ([]byte, uint16) {
	p := &k.apps.pgp
	if p.Terminated {
		if cmd.INS == 0x44 { // ACTIVATE: the factory state
			p.factoryReset()
			k.sess.pgpVerified = [3]bool{}
			return nil, apdu.SWSuccess
		}
		return nil, 0x6285
	}
	switch cmd.INS {
	case 0xF1: // GET VERSION: the firmware as BCD
		bcd := func(n uint8) byte { return n/10<<4 | n%10 }
		return []byte{bcd(k.fw.Major), bcd(k.fw.Minor), bcd(k.fw.Patch)}, apdu.SWSuccess
	case 0xCA: // GET DATA
		return k.pgpGetData(uint16(cmd.P1)<<8 | uint16(cmd.P2))
	case 0x20: // VERIFY PW1 (81, 82) or PW3 (83)
		return nil, k.pgpVerify(cmd)
	case 0xDA: // PUT DATA
		if !k.sess.pgpVerified[2] {
			return nil, apdu.SWSecurityNotSatisfied
		}
		return nil, k.pgpPutData(uint16(cmd.P1)<<8|uint16(cmd.P2), cmd.Data)
	case 0xDB: // PUT DATA odd: key import, extended header list 4D
		if !k.sess.pgpVerified[2] {
			return nil, apdu.SWSecurityNotSatisfied
		}
		v, ok, err := tlv.Find(cmd.Data, 0x4D)
		if err != nil || !ok || len(v) < 2 {
			return nil, apdu.SWIncorrectData
		}
		slot, ok := pgpCRTSlot(v[0])
		if !ok {
			return nil, apdu.SWIncorrectData
		}
		if v[0] == 0xB6 && len(v) > 2 && v[1] != 0 {
			slot = 3 // B6 with 84 81: the attestation key
		}
		p.Keys[slot] = bytes.Clone(v)
		return nil, apdu.SWSuccess
	case 0x47: // GENERATE ASYMMETRIC KEY PAIR: 80 generate, 81 read
		return k.pgpGenerate(cmd)
	case 0xF2: // SET PIN RETRIES (Yubico), admin PIN required
		if !k.sess.pgpVerified[2] {
			return nil, apdu.SWSecurityNotSatisfied
		}
		if len(cmd.Data) != 3 {
			return nil, apdu.SWWrongLength
		}
		for i := range 3 {
			p.Totals[i], p.Tries[i] = int(cmd.Data[i]), int(cmd.Data[i])
		}
		return nil, apdu.SWSuccess
	case 0xA5: // SELECT DATA: which cardholder certificate 7F21 means
		if cmd.P1 > 2 {
			return nil, apdu.SWWrongP1P2
		}
		k.sess.pgpCert = int(cmd.P1)
		return nil, apdu.SWSuccess
	case 0xE6: // TERMINATE DF: only with PW3 verified or blocked (§7.2.17)
		if !k.sess.pgpVerified[2] && p.Tries[2] > 0 {
			return nil, apdu.SWSecurityNotSatisfied
		}
		p.Terminated = true
		k.sess.pgpVerified = [3]bool{}
		return nil, apdu.SWSuccess
	case 0x44: // ACTIVATE on a live application changes nothing
		return nil, apdu.SWSuccess
	}
	return nil, apdu.SWInsNotSupported
}

func (k *Key) pgpVerify(cmd apdu.Command) uint16 {
	p := &k.apps.pgp
	var i int
	var want []byte
	switch cmd.P2 {
	case 0x81, 0x82:
		i, want = 0, p.PIN
	case 0x83:
		i, want = 2, p.Admin
	default:
		return apdu.SWWrongP1P2
	}
	if len(cmd.Data) == 0 {
		if k.sess.pgpVerified[i] {
			return apdu.SWSuccess
		}
		return 0x63C0 | uint16(p.Tries[i])
	}
	if p.Tries[i] == 0 {
		return apdu.SWAuthBlocked
	}
	if subtle.ConstantTimeCompare(cmd.Data, want) != 1 {
		p.Tries[i]--
		k.sess.pgpVerified[i] = false
		if p.Tries[i] == 0 {
			return apdu.SWAuthBlocked
		}
		// A wrong PIN is 69 82, not 63 Cx: yubikey-manager
		// ykman/openpgp.py safe_reset verifies wrong PINs while the
		// answer is SECURITY_CONDITION_NOT_SATISFIED.
		return apdu.SWSecurityNotSatisfied
	}
	p.Tries[i] = p.Totals[i]
	k.sess.pgpVerified[i] = true
	return apdu.SWSuccess
}

func (k *Key) pgpPWStatus() []byte {
	p := &k.apps.pgp
	return []byte{0x01, 0x7F, 0x7F, 0x7F, byte(p.Tries[0]), byte(p.Tries[1]), byte(p.Tries[2])}
}

func (k *Key) pgpGetData(do uint16) ([]byte, uint16) {
	p := &k.apps.pgp
	if o, ok := pgpObjects[do]; ok {
		switch o.kind {
		case 'a':
			return p.Attrs[o.slot], apdu.SWSuccess
		case 'f':
			return p.FPs[o.slot], apdu.SWSuccess
		case 't':
			return p.Times[o.slot], apdu.SWSuccess
		case 'u':
			return []byte{p.UIF[o.slot], 0x20}, apdu.SWSuccess
		}
	}
	switch do {
	case 0x004F:
		return k.pgpAID(), apdu.SWSuccess
	case 0x00C4:
		return k.pgpPWStatus(), apdu.SWSuccess
	case 0x006E: // application related data (OpenPGP card 3.4 §4.4.1)
		var disc []byte
		for i, tag := range []uint32{0xC1, 0xC2, 0xC3, 0xDA} {
			disc = tlv.Append(disc, tag, p.Attrs[i])
		}
		disc = tlv.Append(disc, 0xC4, k.pgpPWStatus())
		disc = tlv.Append(disc, 0xC5, bytes.Join(p.FPs[:3], nil))
		disc = tlv.Append(disc, 0xCD, bytes.Join(p.Times[:3], nil))
		out := tlv.Encode(0x4F, k.pgpAID())
		out = tlv.Append(out, 0x73, disc)
		return tlv.Encode(0x6E, out), apdu.SWSuccess
	case 0x7F21:
		if c := p.Certs[k.sess.pgpCert]; c != nil {
			return c, apdu.SWSuccess
		}
		return nil, apdu.SWSuccess
	case 0x00FC:
		return p.AttCert, apdu.SWSuccess
	}
	return nil, apdu.SWReferenceNotFound
}

// pgpCRTSlot is the key slot a control reference template names: B6
// signature, B8 decryption, A4 authentication (ykman/openpgp.py KEY_SLOT).
func pgpCRTSlot(tag byte) (int, bool) {
	switch tag {
	case 0xB6:
		return 0, true
	case 0xB8:
		return 1, true
	case 0xA4:
		return 2, true
	}
	return 0, false
}

// pgpAID is the full application identifier: RID and application, version
// 3.4, manufacturer 0006 (Yubico), the serial, RFU.
func (k *Key) pgpAID() []byte {
	b := append(bytes.Clone(aidOpenPGP), 0x03, 0x04, 0x00, 0x06)
	b = binary.BigEndian.AppendUint32(b, k.serial)
	return append(b, 0, 0)
}

func (k *Key) pgpPutData(do uint16, data []byte) uint16 {
	p := &k.apps.pgp
	if o, ok := pgpObjects[do]; ok {
		switch o.kind {
		case 'a':
			if !bytes.Equal(p.Attrs[o.slot], data) {
				// Changing a slot's algorithm deletes its key (ykman
				// openpgp.py delete_key relies on it).
				p.Keys[o.slot] = nil
			}
			p.Attrs[o.slot] = bytes.Clone(data)
		case 'f':
			p.FPs[o.slot] = bytes.Clone(data)
		case 't':
			p.Times[o.slot] = bytes.Clone(data)
		case 'u':
			if len(data) != 2 {
				return apdu.SWWrongLength
			}
			p.UIF[o.slot] = data[0]
		}
		return apdu.SWSuccess
	}
	switch do {
	case 0x7F21:
		p.Certs[k.sess.pgpCert] = bytes.Clone(data)
		if len(data) == 0 {
			p.Certs[k.sess.pgpCert] = nil
		}
	case 0x00FC:
		p.AttCert = bytes.Clone(data)
	default:
		return apdu.SWReferenceNotFound
	}
	return apdu.SWSuccess
}

// pgpGenerate generates (80) a key in a slot, or reads (81) whether one is
// there. The simulated key keeps random bytes in place of a key pair: it
// signs nothing with it, and the answer carries no public key (7F49 with
// an empty 86); enough for the wipe, which only needs a key to erase.
func (k *Key) pgpGenerate(cmd apdu.Command) ([]byte, uint16) {
	if len(cmd.Data) == 0 {
		return nil, apdu.SWIncorrectData
	}
	slot, ok := pgpCRTSlot(cmd.Data[0])
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	p := &k.apps.pgp
	switch cmd.P1 {
	case 0x80:
		if !k.sess.pgpVerified[2] {
			return nil, apdu.SWSecurityNotSatisfied
		}
		priv := make([]byte, 32)
		k.randFill(priv)
		p.Keys[slot] = priv
	case 0x81:
		if p.Keys[slot] == nil {
			return nil, apdu.SWReferenceNotFound
		}
	default:
		return nil, apdu.SWWrongP1P2
	}
	return tlv.Encode(0x7F49, tlv.Encode(0x86, nil)), apdu.SWSuccess
}

// OATHAccounts lists the names of the OATH accounts on the key, for tests
// that check it from outside the card protocol.
func (k *Key) OATHAccounts() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var names []string
	for _, c := range k.apps.oath {
		names = append(names, string(c.ID))
	}
	return names
}

// OpenPGPKeys is how many OpenPGP key slots hold a key.
func (k *Key) OpenPGPKeys() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, key := range k.apps.pgp.Keys {
		if key != nil {
			n++
		}
	}
	return n
}

// HSMAuthCredentials lists the labels of the YubiHSM Auth credentials.
func (k *Key) HSMAuthCredentials() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var labels []string
	for _, c := range k.apps.hsmauth {
		labels = append(labels, c.Label)
	}
	return labels
}

// OTPSlots says which OTP slots are programmed.
func (k *Key) OTPSlots() (slot1, slot2 bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.apps.otp[0].Config != nil, k.apps.otp[1].Config != nil
}
