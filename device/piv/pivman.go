package piv

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/tlv"
)

// Object IDs of the PIV data objects keywizard reads or writes
// (docs/yubikey-protocol.md §4.8).
const (
	ObjectCHUID      uint32 = 0x5FC102
	ObjectCCC        uint32 = 0x5FC107
	ObjectPrinted    uint32 = 0x5FC109 // pivman protected data, PIN to read
	ObjectAdminData  uint32 = 0x5FFF00 // pivman data (Yubico)
	ObjectAttestCert uint32 = 0x5FFF01 // F9 attestation certificate
	ObjectCert9A     uint32 = 0x5FC105
	ObjectCert9D     uint32 = 0x5FC10B
)

// ADMIN DATA flag bits (tag 81), yubico-piv-tool lib/internal.h
// ADMIN_FLAGS_1_PUK_BLOCKED and ADMIN_FLAGS_1_PROTECTED_MGM; ykman PivmanData.
const (
	AdminFlagPUKBlocked    byte = 0x01
	AdminFlagMgmtProtected byte = 0x02
)

// Tags inside the pivman objects (docs/yubikey-protocol.md §4.11).
const (
	tagAdmin          = 0x80
	tagAdminFlags     = 0x81
	tagAdminSalt      = 0x82
	tagAdminTimestamp = 0x83
	tagProtected      = 0x88
	tagProtectedMgmt  = 0x89
	// tagProtectedPrev is keywizard's own, transient tag: while a management
	// key rotation is in flight, PRINTED also holds the key being replaced so
	// an interruption never leaves the card with a key nobody knows (see
	// [Session.RotateManagementKey]). ykman parses PRINTED as a tag→value map
	// and reads only 89 (ykman/piv.py PivmanProtectedData), so the extra
	// element is invisible to it; the final write removes it.
	tagProtectedPrev = 0x8A
)

// AdminData is the pivman ADMIN DATA object 5FFF00: 80 L { 81 01 flags;
// 82 10 salt; 83 04 PIN timestamp } (ykman/piv.py PivmanData). ykman decides
// a management key is stored PIN-protected from flag 02 alone.
type AdminData struct {
	Flags    byte
	HasFlags bool
	// Salt marks the deprecated PIN-derived management key mode (PBKDF2).
	Salt []byte
	// Timestamp is the PIN change time ykman records (seconds, big-endian).
	Timestamp    uint32
	HasTimestamp bool
}

// PUKBlocked reports flag 01: the PUK was deliberately blocked (PIN-only
// mode), so it cannot unblock the PIN.
func (a *AdminData) PUKBlocked() bool { return a.Flags&AdminFlagPUKBlocked != 0 }

// MgmtKeyProtected reports flag 02: the management key is stored in PRINTED,
// readable after PIN verification.
func (a *AdminData) MgmtKeyProtected() bool { return a.Flags&AdminFlagMgmtProtected != 0 }

// ParseAdminData decodes the value of the ADMIN DATA object (what GET DATA
// returns inside tag 53). An empty value is an empty AdminData.
func ParseAdminData(b []byte) (*AdminData, error) {
	a := &AdminData{}
	if len(b) == 0 {
		return a, nil
	}
	outer, rest, err := tlv.Next(b)
	if err != nil || outer.Tag != tagAdmin || len(rest) != 0 {
		return nil, fmt.Errorf("ADMIN DATA is not one 80 element: %w", device.ErrInvalidResponse)
	}
	items, err := tlv.Parse(outer.Value)
	if err != nil {
		return nil, fmt.Errorf("parsing ADMIN DATA: %v: %w", err, device.ErrInvalidResponse)
	}
	for _, it := range items {
		switch it.Tag {
		case tagAdminFlags:
			if len(it.Value) != 1 {
				return nil, fmt.Errorf("ADMIN DATA flags have %d bytes, want 1: %w", len(it.Value), device.ErrInvalidResponse)
			}
			a.Flags, a.HasFlags = it.Value[0], true
		case tagAdminSalt:
			a.Salt = append([]byte{}, it.Value...)
		case tagAdminTimestamp:
			if len(it.Value) != 4 {
				return nil, fmt.Errorf("ADMIN DATA timestamp has %d bytes, want 4: %w", len(it.Value), device.ErrInvalidResponse)
			}
			a.Timestamp, a.HasTimestamp = binary.BigEndian.Uint32(it.Value), true
		}
	}
	return a, nil
}

// Marshal encodes a in ykman's order (81, 82, 83), e.g. 80 03 81 01 02 for
// "management key stored".
func (a *AdminData) Marshal() []byte {
	var in []byte
	if a.HasFlags || a.Flags != 0 {
		in = tlv.Append(in, tagAdminFlags, []byte{a.Flags})
	}
	if a.Salt != nil {
		in = tlv.Append(in, tagAdminSalt, a.Salt)
	}
	if a.HasTimestamp {
		in = tlv.Append(in, tagAdminTimestamp, binary.BigEndian.AppendUint32(nil, a.Timestamp))
	}
	return tlv.Encode(tagAdmin, in)
}

// ProtectedData is the PRINTED object 5FC109 as pivman uses it:
// 88 L { 89 L management key } (ykman/piv.py PivmanProtectedData).
type ProtectedData struct {
	// ManagementKey is the PIN-protected management key, nil if none.
	ManagementKey []byte
	// PreviousKey is set only while keywizard rotates the key (tag 8A).
	PreviousKey []byte
}

// ParseProtectedData decodes the value of the PRINTED object. Stored keys
// must be 16, 24 or 32 bytes, the management key sizes.
func ParseProtectedData(b []byte) (*ProtectedData, error) {
	p := &ProtectedData{}
	if len(b) == 0 {
		return p, nil
	}
	outer, rest, err := tlv.Next(b)
	if err != nil || outer.Tag != tagProtected || len(rest) != 0 {
		return nil, fmt.Errorf("PRINTED is not one 88 element: %w", device.ErrInvalidResponse)
	}
	items, err := tlv.Parse(outer.Value)
	if err != nil {
		return nil, fmt.Errorf("parsing PRINTED: %v: %w", err, device.ErrInvalidResponse)
	}
	for _, it := range items {
		var dst *[]byte
		switch it.Tag {
		case tagProtectedMgmt:
			dst = &p.ManagementKey
		case tagProtectedPrev:
			dst = &p.PreviousKey
		default:
			continue
		}
		switch len(it.Value) {
		case 16, 24, 32:
		default:
			return nil, fmt.Errorf("PRINTED holds a %d-byte key, want 16, 24 or 32: %w", len(it.Value), device.ErrInvalidResponse)
		}
		*dst = append([]byte{}, it.Value...)
	}
	return p, nil
}

// Marshal encodes p: 88 1A 89 18 <24-byte key> for a stored 24-byte key,
// exactly as ykman writes it (docs/yubikey-protocol.md §4.11 step 9).
func (p *ProtectedData) Marshal() []byte {
	var in []byte
	if p.ManagementKey != nil {
		in = tlv.Append(in, tagProtectedMgmt, p.ManagementKey)
	}
	if p.PreviousKey != nil {
		in = tlv.Append(in, tagProtectedPrev, p.PreviousKey)
	}
	return tlv.Encode(tagProtected, in)
}

// fascN is the non-federal issuer FASC-N ykman puts in every CHUID
// ([9999-9999-999999-0-1-0000000000300001], ykman/piv.py generate_chuid).
var fascN = []byte{
	0xd4, 0xe7, 0x39, 0xda, 0x73, 0x9c, 0xed, 0x39, 0xce, 0x73, 0x9d, 0x83, 0x68,
	0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xc8, 0x42, 0x10, 0xc3, 0xeb,
}

// CHUID encodes a Cardholder Unique Identifier in ykman's layout
// (docs/yubikey-protocol.md §4.8): 30 FASC-N, 34 GUID, 35 expiry "YYYYMMDD",
// 3E empty signature, FE empty LRC. ykman hard-codes the expiry 2030-01-01;
// keywizard passes a date as long-lived as its certificates, because keys
// provisioned now outlive 2030.
func CHUID(guid [16]byte, expiry time.Time) []byte {
	var b []byte
	b = tlv.Append(b, 0x30, fascN)
	b = tlv.Append(b, 0x34, guid[:])
	b = tlv.Append(b, 0x35, []byte(expiry.UTC().Format("20060102")))
	b = tlv.Append(b, 0x3E, nil)
	return tlv.Append(b, 0xFE, nil)
}

// NewCHUID is [CHUID] with a random GUID from r. macOS wants a CHUID on the
// card, and a fresh one tells its caches the card changed
// (https://github.com/go-piv/piv-go/issues/66).
func NewCHUID(r io.Reader, expiry time.Time) ([]byte, error) {
	var guid [16]byte
	if _, err := io.ReadFull(r, guid[:]); err != nil {
		return nil, fmt.Errorf("generating CHUID GUID: %w", err)
	}
	return CHUID(guid, expiry), nil
}

// CCC encodes a Card Capability Container with the given 14-byte card ID
// suffix, field for field as ykman/piv.py generate_ccc.
func CCC(cardID [14]byte) []byte {
	var b []byte
	b = tlv.Append(b, 0xF0, append([]byte{0xa0, 0x00, 0x00, 0x01, 0x16, 0xff, 0x02}, cardID[:]...))
	b = tlv.Append(b, 0xF1, []byte{0x21})
	b = tlv.Append(b, 0xF2, []byte{0x21})
	b = tlv.Append(b, 0xF3, nil)
	b = tlv.Append(b, 0xF4, []byte{0x00})
	b = tlv.Append(b, 0xF5, []byte{0x10})
	for _, t := range []uint32{0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE} {
		b = tlv.Append(b, t, nil)
	}
	return b
}

// NewCCC is [CCC] with a random card ID from r.
func NewCCC(r io.Reader) ([]byte, error) {
	var id [14]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return nil, fmt.Errorf("generating CCC card ID: %w", err)
	}
	return CCC(id), nil
}
