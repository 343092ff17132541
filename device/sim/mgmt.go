package sim

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// Management instructions (ykman yubikit/management.py; docs/yubikey-protocol.md
// §1.2, §1.7, §1.10).
const (
	insReadConfig  = 0x1D
	insWriteConfig = 0x1C
	insSetMode     = 0x16
	p1DeviceConfig = 0x11
)

// Device-info tags (§1.3).
const (
	tagUSBSupported = 0x01
	tagSerial       = 0x02
	tagUSBEnabled   = 0x03
	tagFormFactor   = 0x04
	tagVersion      = 0x05
	tagAutoEject    = 0x06
	tagChalResp     = 0x07
	tagDeviceFlags  = 0x08
	tagConfigLock   = 0x0A
	tagUnlock       = 0x0B
	tagReboot       = 0x0C
	tagNFCSupported = 0x0D
	tagNFCEnabled   = 0x0E
	tagIAPDetection = 0x0F
	tagNFCRestrict  = 0x17
	tagTempTouch    = 0x85
)

const lockCodeLen = 16

// mgmtState is the management application's persistent state.
type mgmtState struct {
	usbSupported, usbEnabled device.Capability
	nfcSupported, nfcEnabled device.Capability
	lockCode                 []byte // nil: no lock code
	deviceFlags              uint8
	autoEject                uint16
	chalResp                 uint8
	nfcRestricted            bool
	// pendingUSB is a legacy SET MODE result waiting for re-insertion.
	pendingUSB *device.Capability
}

func newMgmtState(p Preset, fw device.Version, cfg Config) mgmtState {
	m := mgmtState{
		usbSupported: p.supportedUSB(fw),
		nfcSupported: p.supportedNFC(fw),
		nfcEnabled:   p.enabledNFC(fw),
		deviceFlags:  cfg.DeviceFlags,
		autoEject:    cfg.AutoEjectTimeout,
		chalResp:     cfg.ChalRespTimeout,
	}
	m.usbEnabled = m.usbSupported
	if cfg.USBEnabled != 0 {
		m.usbEnabled = cfg.USBEnabled
	}
	if cfg.NFCEnabled != 0 && p.NFC {
		m.nfcEnabled = cfg.NFCEnabled
	}
	if m.chalResp == 0 {
		m.chalResp = 15 // factory default (§1.3 tag 07)
	}
	if len(cfg.LockCode) == lockCodeLen && !allZero(cfg.LockCode) {
		m.lockCode = append([]byte(nil), cfg.LockCode...)
	}
	return m
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// mgmtSelectResponse is the SELECT answer: "Virtual mgr - FW version X.Y.Z"
// as real YubiKey 5s send it (§1.1; ykman issues #354, #448).
func (k *Key) mgmtSelectResponse() []byte {
	return []byte(fmt.Sprintf("Virtual mgr - FW version %d.%d.%d", k.fw.Major, k.fw.Minor, k.fw.Patch))
}

func (k *Key) mgmtCommand(cmd apdu.Command) ([]byte, uint16) {
	switch cmd.INS {
	case insReadConfig:
		if !k.fw.AtLeast(4, 1, 0) {
			return nil, apdu.SWInsNotSupported
		}
		if cmd.P1 != 0 {
			// Page 1 and later: this firmware has no more pages (it never
			// sends tag 10 MORE_DATA, §1.2), so an empty page.
			return []byte{0}, apdu.SWSuccess
		}
		return k.readConfig(), apdu.SWSuccess
	case insWriteConfig:
		if k.fw.Major < 5 {
			// A YubiKey 4 has no WRITE CONFIG (§1.11): unknown instruction.
			return nil, apdu.SWInsNotSupported
		}
		return nil, k.writeConfig(cmd.Data)
	case insSetMode:
		if k.fw.Major >= 5 || cmd.P1 != p1DeviceConfig {
			// 5.x rejects legacy SET MODE over CCID; ykman uses WRITE
			// CONFIG there (§1.11).
			return nil, apdu.SWInsNotSupported
		}
		return nil, k.setMode(cmd.Data)
	}
	return nil, apdu.SWInsNotSupported
}

// readConfig encodes device info in the tag order of the real 5 NFC (5.2.3)
// and 5Ci (5.2.6) dumps in §1.6: 01 03 02 04 05 06 07 08 [0D 0E] 0A 0F,
// prefixed with the exact length of the TLVs (ykman rejects anything else).
func (k *Key) readConfig() []byte {
	m := &k.mgmt
	var b []byte
	b = tlv.Append(b, tagUSBSupported, be16(uint16(m.usbSupported)))
	if k.fw.Major >= 5 {
		// USB_ENABLED appears from YubiKey 5 (ykman ignores it on 4.x).
		b = tlv.Append(b, tagUSBEnabled, be16(uint16(m.usbEnabled)))
	}
	b = tlv.Append(b, tagSerial, binary.BigEndian.AppendUint32(nil, k.serial))
	b = tlv.Append(b, tagFormFactor, []byte{byte(k.preset.FormFactor)})
	b = tlv.Append(b, tagVersion, []byte{k.fw.Major, k.fw.Minor, k.fw.Patch})
	b = tlv.Append(b, tagAutoEject, be16(m.autoEject))
	b = tlv.Append(b, tagChalResp, []byte{m.chalResp})
	b = tlv.Append(b, tagDeviceFlags, []byte{m.deviceFlags})
	if k.preset.NFC {
		b = tlv.Append(b, tagNFCSupported, be16(uint16(m.nfcSupported)))
		b = tlv.Append(b, tagNFCEnabled, be16(uint16(m.nfcEnabled)))
	}
	if k.fw.Major >= 5 {
		locked := byte(0)
		if m.lockCode != nil {
			locked = 1
		}
		b = tlv.Append(b, tagConfigLock, []byte{locked})
	}
	if k.fw.AtLeast(5, 2, 0) {
		b = tlv.Append(b, tagIAPDetection, []byte{k.preset.iapDetection()})
	}
	return append([]byte{byte(len(b))}, b...)
}

func (k *Key) infoLocked() device.Info {
	m := &k.mgmt
	return device.Info{
		Serial:           k.serial,
		Version:          k.fw,
		FormFactor:       k.preset.FormFactor,
		USBSupported:     m.usbSupported,
		USBEnabled:       m.usbEnabled,
		HasNFC:           k.preset.NFC,
		NFCSupported:     m.nfcSupported,
		NFCEnabled:       m.nfcEnabled,
		ConfigLocked:     m.lockCode != nil,
		DeviceFlags:      m.deviceFlags,
		AutoEjectTimeout: m.autoEject,
		ChalRespTimeout:  m.chalResp,
	}
}

func be16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// appCaps are the bits that are real applications (not 0x0004 / 0x0400).
const appCaps = device.CapOTP | device.CapU2F | device.CapOpenPGP | device.CapPIV | device.CapOATH | device.CapHSMAuth | device.CapFIDO2

// DecodeWriteConfig parses a WRITE CONFIG body: a length byte that must
// equal the number of TLV bytes after it (at most 0xFF), then one-byte-tag
// TLVs in any order (ykman and the .NET SDK use different orders, §1.7).
// It returns the tags' values; a repeated tag is an error.
func DecodeWriteConfig(data []byte) (map[byte][]byte, error) {
	if len(data) == 0 || int(data[0]) != len(data)-1 {
		return nil, fmt.Errorf("write config: length byte does not match %d data bytes: %w", len(data), device.ErrInvalidArgument)
	}
	items, err := tlv.Parse(data[1:])
	if err != nil {
		return nil, fmt.Errorf("write config: %w: %w", device.ErrInvalidArgument, err)
	}
	out := make(map[byte][]byte, len(items))
	for _, it := range items {
		if it.Tag > 0xFF {
			return nil, fmt.Errorf("write config: multi-byte tag %x: %w", it.Tag, device.ErrInvalidArgument)
		}
		if _, dup := out[byte(it.Tag)]; dup {
			return nil, fmt.Errorf("write config: tag %02x repeated: %w", it.Tag, device.ErrInvalidArgument)
		}
		out[byte(it.Tag)] = it.Value
	}
	return out, nil
}

// writeLengths are the value lengths WRITE CONFIG accepts per tag (§1.3).
var writeLengths = map[byte]int{
	tagUSBEnabled: 2, tagNFCEnabled: 2, tagAutoEject: 2, tagChalResp: 1,
	tagDeviceFlags: 1, tagConfigLock: lockCodeLen, tagUnlock: lockCodeLen,
	tagReboot: 0, tagNFCRestrict: 1, tagTempTouch: 1,
}

// writeConfig applies WRITE CONFIG all-or-nothing.
func (k *Key) writeConfig(data []byte) uint16 {
	tags, err := DecodeWriteConfig(data)
	if err != nil {
		return apdu.SWIncorrectData
	}
	for t, v := range tags {
		n, ok := writeLengths[t]
		if !ok || len(v) != n {
			return apdu.SWIncorrectData
		}
	}
	m := k.mgmt // copy; committed at the end
	if m.lockCode != nil {
		// Any write to a locked key must carry the current code in tag 0B
		// (§1.7). The status for a wrong or missing code is documented only
		// for the HID variant (6F 00, .NET set-device-info.md) and is
		// [UNCONFIRMED] over CCID; ykman treats any non-9000 as failure.
		unlock, ok := tags[tagUnlock]
		if !ok || subtle.ConstantTimeCompare(unlock, m.lockCode) != 1 {
			return apdu.SWNoPreciseDiagnosis
		}
	}
	if v, ok := tags[tagUSBEnabled]; ok {
		// Keep every supported bit the client sent, including ones it may
		// not understand (0x0004; §1.8): only unsupported bits are dropped.
		m.usbEnabled = device.Capability(binary.BigEndian.Uint16(v)) & m.usbSupported
		if m.usbEnabled&appCaps == 0 {
			// A key with no USB application could never be reached again.
			return apdu.SWIncorrectData
		}
	}
	if v, ok := tags[tagNFCEnabled]; ok {
		if !k.preset.NFC {
			return apdu.SWIncorrectData
		}
		m.nfcEnabled = device.Capability(binary.BigEndian.Uint16(v)) & m.nfcSupported
	}
	if v, ok := tags[tagAutoEject]; ok {
		m.autoEject = binary.BigEndian.Uint16(v)
	}
	if v, ok := tags[tagChalResp]; ok {
		m.chalResp = v[0]
	}
	if v, ok := tags[tagDeviceFlags]; ok {
		m.deviceFlags = v[0]
	}
	if v, ok := tags[tagNFCRestrict]; ok {
		m.nfcRestricted = v[0] != 0
	}
	if v, ok := tags[tagConfigLock]; ok {
		if allZero(v) {
			m.lockCode = nil // 16 zero bytes clear the lock (ykman CLEAR_LOCK_CODE)
		} else {
			m.lockCode = append([]byte(nil), v...)
		}
	}
	k.mgmt = m
	if _, ok := tags[tagReboot]; ok {
		k.rebootPending = true
	}
	return apdu.SWSuccess
}

// legacyModes maps YubiKey 4 mode codes to the interfaces' applications
// (§1.10: 00 OTP, 01 CCID, 02 OTP+CCID, 03 FIDO, 04 OTP+FIDO, 05 FIDO+CCID,
// 06 OTP+FIDO+CCID).
var legacyModes = [...]device.USBInterface{
	device.IfaceOTP,
	device.IfaceCCID,
	device.IfaceOTP | device.IfaceCCID,
	device.IfaceFIDO,
	device.IfaceOTP | device.IfaceFIDO,
	device.IfaceFIDO | device.IfaceCCID,
	device.IfaceOTP | device.IfaceFIDO | device.IfaceCCID,
}

// setMode is legacy SET MODE (INS 16, P1 11) of a YubiKey 4: mode byte
// (+0x80 touch-eject), chal-resp timeout, auto-eject timeout little-endian.
// Like hardware, the new interfaces take effect on re-insertion (ykman:
// "You must remove and re-insert your YubiKey for this change to take
// effect", §1.9): the mask is kept pending until the key is plugged again.
func (k *Key) setMode(data []byte) uint16 {
	if len(data) != 4 {
		return apdu.SWWrongLength
	}
	mode := data[0] &^ 0x80
	if int(mode) >= len(legacyModes) {
		return apdu.SWIncorrectData
	}
	ifaces := legacyModes[mode]
	var en device.Capability
	for _, c := range []device.Capability{device.CapOTP, device.CapU2F, device.CapFIDO2, device.CapCCID, device.CapOpenPGP, device.CapPIV, device.CapOATH, device.CapHSMAuth} {
		if c.Interfaces()&ifaces != 0 || (c == device.CapCCID && ifaces&device.IfaceCCID != 0) {
			en |= c
		}
	}
	pending := en & k.mgmt.usbSupported
	k.mgmt.pendingUSB = &pending
	k.mgmt.chalResp = data[1]
	k.mgmt.autoEject = binary.LittleEndian.Uint16(data[2:])
	if data[0]&0x80 != 0 {
		k.mgmt.deviceFlags |= 0x80
	} else {
		k.mgmt.deviceFlags &^= 0x80
	}
	return apdu.SWSuccess
}

// SetLockCode sets (or with nil / 16 zero bytes clears) the configuration
// lock code directly, as if a client had written it.
func (k *Key) SetLockCode(code []byte) error {
	if code != nil && len(code) != lockCodeLen {
		return fmt.Errorf("setting lock code: it must be %d bytes: %w", lockCodeLen, device.ErrInvalidArgument)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if code == nil || allZero(code) {
		k.mgmt.lockCode = nil
	} else {
		k.mgmt.lockCode = append([]byte(nil), code...)
	}
	return nil
}

// hasCCIDLocked reports whether the USB CCID interface exists: with no CCID
// application enabled a real key has no smart-card reader at all.
func (k *Key) hasCCIDLocked() bool {
	return k.mgmt.usbEnabled.Interfaces()&device.IfaceCCID != 0
}

// nfcOnLocked reports whether the key answers over NFC at all: an NFC model
// with at least one application enabled over NFC.
func (k *Key) nfcOnLocked() bool {
	return k.preset.NFC && k.mgmt.nfcEnabled&appCaps != 0
}
