package sim

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/google/renameio/v2/maybe"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim/simfido"
)

// The state file is the simulated key's own storage, its flash: what a
// real key keeps when it is unplugged (configuration, PIV PIN, PUK,
// management key, retry counters, private keys and objects; the FIDO2 PIN
// as its hash, retries and passkeys). It therefore holds the simulated
// key's secrets, as the key does, and nothing else: no session state
// (PINs verified, the FIDO2 PIN-auth block, PIN tokens), which a replug
// clears. It is written with mode 0600, atomically (a temporary file in
// the same directory, synced, then renamed), after every change.
//
// Not kept: the attestation key (slot F9) and its certificate. They chain
// to the simulator's attestation root, which every process makes anew
// (attest.go), so a restarted simulator gives the key a new F9 key under
// its new root.

// stateVersion is the state file's format; a file of another version is
// refused rather than misread.
const stateVersion = 1

type stateFile struct {
	Version  int    `json:"version"`
	Serial   uint32 `json:"serial"`
	Model    string `json:"model"`
	Firmware string `json:"firmware"`

	Mgmt mgmtSaved      `json:"mgmt"`
	PIV  pivSaved       `json:"piv"`
	FIDO *simfido.State `json:"fido,omitempty"`
	// Apps: OATH, OpenPGP, YubiHSM Auth and OTP (apps.go). A file
	// without it is of a simulator that had none of them: they start
	// at factory state.
	Apps *appsSaved `json:"apps,omitempty"`
}

type appsSaved struct {
	OATH    []oathCred `json:"oath,omitempty"`
	OATHID  []byte     `json:"oath_id"`
	PGP     pgpState   `json:"openpgp"`
	HSMAuth []hsmCred  `json:"hsmauth,omitempty"`
	OTP     [2]otpSlot `json:"otp"`
	OTPSeq  byte       `json:"otp_seq"`
}

type mgmtSaved struct {
	USBEnabled    device.Capability `json:"usb_enabled"`
	NFCEnabled    device.Capability `json:"nfc_enabled"`
	LockCode      []byte            `json:"lock_code,omitempty"`
	DeviceFlags   uint8             `json:"device_flags"`
	AutoEject     uint16            `json:"auto_eject"`
	ChalResp      uint8             `json:"chal_resp"`
	NFCRestricted bool              `json:"nfc_restricted,omitempty"`
}

type pivSaved struct {
	PIN       []byte            `json:"pin"`
	PUK       []byte            `json:"puk"`
	PINTotal  int               `json:"pin_total"`
	PINLeft   int               `json:"pin_left"`
	PUKTotal  int               `json:"puk_total"`
	PUKLeft   int               `json:"puk_left"`
	MgmtKey   []byte            `json:"mgmt_key"`
	MgmtAlg   byte              `json:"mgmt_alg"`
	MgmtTouch bool              `json:"mgmt_touch,omitempty"`
	Keys      map[string]keySav `json:"keys,omitempty"`    // slot in hex
	Objects   map[string][]byte `json:"objects,omitempty"` // object ID in hex
}

type keySav struct {
	Alg         byte   `json:"alg"`
	PKCS8       []byte `json:"pkcs8"`
	PINPolicy   byte   `json:"pin_policy"`
	TouchPolicy byte   `json:"touch_policy"`
	Origin      byte   `json:"origin"`
}

// MarshalState encodes the key's persistent state (see the file comment
// of state.go: it holds the key's secrets).
func (k *Key) MarshalState() ([]byte, error) {
	k.mu.Lock()
	s := stateFile{
		Version: stateVersion, Serial: k.serial, Model: k.preset.Name, Firmware: k.fw.String(),
		Mgmt: mgmtSaved{
			USBEnabled: k.mgmt.usbEnabled, NFCEnabled: k.mgmt.nfcEnabled, LockCode: k.mgmt.lockCode,
			DeviceFlags: k.mgmt.deviceFlags, AutoEject: k.mgmt.autoEject, ChalResp: k.mgmt.chalResp,
			NFCRestricted: k.mgmt.nfcRestricted,
		},
		PIV: pivSaved{
			PIN: k.piv.pin, PUK: k.piv.puk, PINTotal: k.piv.pinTotal, PINLeft: k.piv.pinLeft,
			PUKTotal: k.piv.pukTotal, PUKLeft: k.piv.pukLeft,
			MgmtKey: k.piv.mgmtKey, MgmtAlg: k.piv.mgmtAlg, MgmtTouch: k.piv.mgmtTouch,
			Keys: map[string]keySav{}, Objects: map[string][]byte{},
		},
	}
	a := k.apps
	s.Apps = &appsSaved{OATH: slices.Clone(a.oath), OATHID: bytes.Clone(a.oathID), PGP: a.pgp, HSMAuth: slices.Clone(a.hsmauth), OTP: a.otp, OTPSeq: a.otpSeq}
	if p := k.mgmt.pendingUSB; p != nil {
		// A legacy mode change waiting for re-insertion: the next start
		// is that re-insertion.
		s.Mgmt.USBEnabled = *p
	}
	var err error
	for slot, sk := range k.piv.keys {
		var der []byte
		if der, err = x509.MarshalPKCS8PrivateKey(sk.priv); err != nil {
			break
		}
		s.PIV.Keys[strconv.FormatUint(uint64(slot), 16)] = keySav{Alg: sk.alg, PKCS8: der, PINPolicy: sk.pinPolicy, TouchPolicy: sk.touchPolicy, Origin: sk.origin}
	}
	for id, v := range k.piv.objects {
		if id != objAttestation {
			s.PIV.Objects[strconv.FormatUint(uint64(id), 16)] = v
		}
	}
	fa := k.fido
	k.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("saving the simulated key's state: %w", err)
	}
	if fa != nil {
		st := fa.State()
		s.FIDO = &st
	}
	return json.MarshalIndent(s, "", "  ")
}

// RestoreState loads state saved by MarshalState into k, which must be
// the same key (serial, model, firmware). It is a power-up: session
// state is clear.
func (k *Key) RestoreState(b []byte) error {
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("reading the simulated key's state: %w: %w", err, device.ErrInvalidResponse)
	}
	switch {
	case s.Version != stateVersion:
		return fmt.Errorf("reading the simulated key's state: format %d, this simulator reads %d: %w", s.Version, stateVersion, device.ErrUnsupported)
	case s.Serial != k.serial || s.Model != k.preset.Name || s.Firmware != k.fw.String():
		return fmt.Errorf("the state file is of a %s with serial %d and firmware %s, not of %s: %w", s.Model, s.Serial, s.Firmware, k, device.ErrInvalidArgument)
	}
	keys := map[byte]*slotKey{}
	for slot, ks := range s.PIV.Keys {
		n, err := strconv.ParseUint(slot, 16, 8)
		if err != nil || !isKeySlot(byte(n)) {
			return fmt.Errorf("reading the simulated key's state: key slot %q: %w", slot, device.ErrInvalidResponse)
		}
		priv, err := x509.ParsePKCS8PrivateKey(ks.PKCS8)
		if err != nil {
			return fmt.Errorf("reading the simulated key's state: key in slot %s: %w", slot, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return fmt.Errorf("reading the simulated key's state: key in slot %s cannot sign: %w", slot, device.ErrInvalidResponse)
		}
		keys[byte(n)] = &slotKey{alg: ks.Alg, priv: signer, pinPolicy: ks.PINPolicy, touchPolicy: ks.TouchPolicy, origin: ks.Origin}
	}
	objects := map[uint32][]byte{}
	for id, v := range s.PIV.Objects {
		n, err := strconv.ParseUint(id, 16, 32)
		if err != nil {
			return fmt.Errorf("reading the simulated key's state: object %q: %w", id, device.ErrInvalidResponse)
		}
		objects[uint32(n)] = v
	}
	if k.fido != nil && s.FIDO != nil {
		if err := k.fido.Restore(*s.FIDO); err != nil {
			return err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	m := &k.mgmt
	m.usbEnabled, m.nfcEnabled, m.lockCode = s.Mgmt.USBEnabled, s.Mgmt.NFCEnabled, s.Mgmt.LockCode
	m.deviceFlags, m.autoEject, m.chalResp, m.nfcRestricted = s.Mgmt.DeviceFlags, s.Mgmt.AutoEject, s.Mgmt.ChalResp, s.Mgmt.NFCRestricted
	m.pendingUSB = nil
	p := k.piv
	p.pin, p.puk, p.pinTotal, p.pinLeft, p.pukTotal, p.pukLeft = s.PIV.PIN, s.PIV.PUK, s.PIV.PINTotal, s.PIV.PINLeft, s.PIV.PUKTotal, s.PIV.PUKLeft
	p.mgmtKey, p.mgmtAlg, p.mgmtTouch = s.PIV.MgmtKey, s.PIV.MgmtAlg, s.PIV.MgmtTouch
	p.keys = keys
	objects[objAttestation] = k.att.object()
	p.objects = objects
	if a := s.Apps; a != nil {
		k.apps = appsState{oath: a.OATH, oathID: a.OATHID, pgp: a.PGP, hsmauth: a.HSMAuth, otp: a.OTP, otpSeq: a.OTPSeq}
	}
	k.sess = session{}
	k.syncFIDOLocked(true)
	return nil
}

// persister saves a key's state to a file whenever it changed.
type persister struct {
	k    *Key
	path string
	mu   sync.Mutex
	last []byte
}

// save writes the state if it differs from what was last written.
func (p *persister) save() error {
	b, err := p.k.MarshalState()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if bytes.Equal(b, p.last) {
		return nil
	}
	// renameio: a temporary file in the same directory, synced, then
	// renamed over the state, so a crash leaves the old state or the new.
	// Its maybe package is the same on Unix and a plain write on Windows,
	// where renameio's WriteFile does not exist (renameio/v2 maybe/doc.go).
	if err := maybe.WriteFile(p.path, b, 0o600); err != nil {
		return fmt.Errorf("saving the simulated key's state to %s: %w", p.path, err)
	}
	p.last = b
	return nil
}

// load restores the state from the file; a missing file is a factory
// fresh key (and no error).
func (p *persister) load() error {
	b, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the simulated key's state from %s: %w", p.path, err)
	}
	if err := p.k.RestoreState(b); err != nil {
		return fmt.Errorf("%s: %w", p.path, err)
	}
	p.last = b
	return nil
}
