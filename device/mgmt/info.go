package mgmt

import (
	"fmt"
	"unicode/utf8"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/tlv"
)

// Device-info and device-config tags (docs/yubikey-protocol.md §1.3; ykman
// yubikit/management.py TAG_*).
const (
	tagUSBSupported   = 0x01
	tagSerial         = 0x02
	tagUSBEnabled     = 0x03
	tagFormFactor     = 0x04
	tagVersion        = 0x05
	tagAutoEject      = 0x06
	tagChalRespTO     = 0x07
	tagDeviceFlags    = 0x08
	tagConfigLock     = 0x0A // read: 01 = locked; write: new 16-byte lock code
	tagUnlock         = 0x0B // write only: current lock code
	tagReboot         = 0x0C // write only, empty
	tagNFCSupported   = 0x0D
	tagNFCEnabled     = 0x0E
	tagMoreData       = 0x10
	tagPartNumber     = 0x13
	tagNFCRestricted  = 0x17
	formFactorFIPS    = 0x80
	formFactorSKY     = 0x40
	formFactorCodeMax = byte(device.FormUSBCBio)
)

// ParseInfo decodes one READ CONFIG response (without SW): a length byte
// that must equal the number of TLV bytes after it, then the TLVs (§1.2,
// §1.3). It applies ykman 4.0.9's DeviceInfo.parse rules:
//
//   - USB_SUPPORTED is required; firmware 4.2.4 misreports it and gets 0x3F.
//   - USB_ENABLED is ignored on 4.0.0 <= fw < 5.0.0 ("broken on YK4"), so
//     USBEnabled is 0 (unknown) there.
//   - NFC_SUPPORTED present means the key reports NFC (see
//     [device.Info.NFCPresent] for the misreporting form factors).
//   - Unknown tags are ignored; a repeated tag takes its last value (ykman
//     Tlv.parse_dict builds a dict).
//
// When the VERSION tag is absent the version is zero; [Session.ReadInfo]
// uses the SELECT version instead, as ykman does. Anything that does not
// decode matches [device.ErrInvalidResponse].
func ParseInfo(b []byte) (device.Info, error) {
	body, err := pageBody(b)
	if err != nil {
		return device.Info{}, err
	}
	return parseTLVs(body, device.Version{})
}

// pageBody checks the length byte of one READ CONFIG page and returns the TLV
// bytes after it. ykman: `if len(encoded) - 1 != encoded[0]: raise
// BadResponseError("Invalid length")`.
func pageBody(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("device info is empty: %w", device.ErrInvalidResponse)
	}
	if int(b[0]) != len(b)-1 {
		return nil, fmt.Errorf("device info length byte says %d bytes but %d follow: %w", b[0], len(b)-1, device.ErrInvalidResponse)
	}
	return b[1:], nil
}

// tlvMap decodes TLVs keeping the last value of a repeated tag, as ykman's
// Tlv.parse_dict does (tlv.Map keeps the first).
func tlvMap(b []byte) (map[uint32][]byte, error) {
	items, err := tlv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("decoding device info TLVs: %w: %w", device.ErrInvalidResponse, err)
	}
	m := make(map[uint32][]byte, len(items))
	for _, t := range items {
		m[t.Tag] = t.Value
	}
	return m, nil
}

// parseTLVs decodes the TLVs of device info; def is the version to use when
// the VERSION tag is absent (the SELECT version).
func parseTLVs(b []byte, def device.Version) (device.Info, error) {
	m, err := tlvMap(b)
	if err != nil {
		return device.Info{}, err
	}
	var info device.Info
	u := func(tag uint32, bytes int) (uint64, error) {
		v, err := beUint(m[tag], bytes)
		if err != nil {
			return 0, fmt.Errorf("device info tag %02x: %w", tag, err)
		}
		return v, nil
	}

	if v, ok := m[tagVersion]; ok {
		if len(v) != 3 {
			return device.Info{}, fmt.Errorf("device info version has %d bytes, want 3: %w", len(v), device.ErrInvalidResponse)
		}
		info.Version = device.Version{Major: v[0], Minor: v[1], Patch: v[2]}
	} else {
		info.Version = def
	}

	serial, err := u(tagSerial, 4)
	if err != nil {
		return device.Info{}, err
	}
	info.Serial = uint32(serial)

	ff, err := u(tagFormFactor, 1)
	if err != nil {
		return device.Info{}, err
	}
	// ykman FORM_FACTOR.from_code: low nibble, unknown codes become UNKNOWN.
	if code := byte(ff) & 0x0F; code <= formFactorCodeMax {
		info.FormFactor = device.FormFactor(code)
	}
	info.FIPS = ff&formFactorFIPS != 0
	info.SKY = ff&formFactorSKY != 0

	if _, ok := m[tagUSBSupported]; !ok && info.Version != (device.Version{Major: 4, Minor: 2, Patch: 4}) {
		// ykman indexes data[TAG_USB_SUPPORTED] and fails without it.
		return device.Info{}, fmt.Errorf("device info lacks the USB-supported applications: %w", device.ErrInvalidResponse)
	}
	sup, err := u(tagUSBSupported, 2)
	if err != nil {
		return device.Info{}, err
	}
	info.USBSupported = device.Capability(sup)
	if info.Version == (device.Version{Major: 4, Minor: 2, Patch: 4}) {
		info.USBSupported = 0x3F // "Doesn't report correctly" (ykman DeviceInfo.parse)
	}
	if _, ok := m[tagUSBEnabled]; ok {
		en, err := u(tagUSBEnabled, 2)
		if err != nil {
			return device.Info{}, err
		}
		yk4 := info.Version.AtLeast(4, 0, 0) && info.Version.Less(device.Version{Major: 5})
		if !yk4 { // "Broken on YK4" (ykman DeviceInfo.parse)
			info.USBEnabled = device.Capability(en)
		}
	}
	if _, ok := m[tagNFCSupported]; ok {
		info.HasNFC = true
		s, err := u(tagNFCSupported, 2)
		if err != nil {
			return device.Info{}, err
		}
		info.NFCSupported = device.Capability(s)
		if _, ok := m[tagNFCEnabled]; ok {
			e, err := u(tagNFCEnabled, 2)
			if err != nil {
				return device.Info{}, err
			}
			info.NFCEnabled = device.Capability(e)
		} else {
			// ykman read_info: "Set nfc_enabled if missing (pre YubiKey 5)".
			info.NFCEnabled = info.NFCSupported
		}
	}

	// ykman: `data.get(TAG_CONFIG_LOCK) == b"\1"`, exactly.
	if v, ok := m[tagConfigLock]; ok && len(v) == 1 && v[0] == 1 {
		info.ConfigLocked = true
	}
	flags, err := u(tagDeviceFlags, 1)
	if err != nil {
		return device.Info{}, err
	}
	info.DeviceFlags = uint8(flags)
	ae, err := u(tagAutoEject, 2)
	if err != nil {
		return device.Info{}, err
	}
	info.AutoEjectTimeout = uint16(ae)
	cr, err := u(tagChalRespTO, 1)
	if err != nil {
		return device.Info{}, err
	}
	info.ChalRespTimeout = uint8(cr)
	if pn, ok := m[tagPartNumber]; ok {
		// ykman-main decodes it as UTF-8 and treats a bad value as absent.
		if utf8.Valid(pn) {
			info.PartNumber = string(pn)
		}
	}
	return info, nil
}

// beUint decodes a big-endian unsigned integer of at most max significant
// bytes. Leading zero bytes are allowed and an empty value is 0, as ykman's
// bytes2int is lenient; a value that does not fit is an invalid response.
func beUint(b []byte, max int) (uint64, error) {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > max {
		return 0, fmt.Errorf("value of %d significant bytes does not fit in %d: %w", len(b), max, device.ErrInvalidResponse)
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}
