package piv

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/aid"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// PIV instructions keywizard sends itself (docs/yubikey-protocol.md §4.3).
const (
	insVerify       = 0x20
	insChangeRef    = 0x24
	insAuthenticate = 0x87
	insGetData      = 0xCB
	insPutData      = 0xDB
	insGetMetadata  = 0xF7
	insGetSerial    = 0xF8
	insGetVersion   = 0xFD
)

// Factory PIN and PUK (docs/yubikey-protocol.md §4.1).
const (
	DefaultPIN = "123456"
	DefaultPUK = "12345678"
)

// Session is the PIV application selected on an open card, for what
// keywizard does with its own APDUs: state reading, pivman objects, CHUID
// and CCC, management-key authentication. It does not own the card.
type Session struct {
	card    device.Card
	version device.Version
	// Rand is the source of authentication challenges; nil means
	// crypto/rand. Tests inject a fixed reader.
	Rand io.Reader
}

// NewSession selects the PIV application on card and reads its version.
func NewSession(ctx context.Context, card device.Card) (*Session, error) {
	if _, err := apdu.Transmit(ctx, card, apdu.Select(aid.PIV.Bytes())); err != nil {
		return nil, fmt.Errorf("selecting the PIV application: %w", err)
	}
	v, err := apdu.Transmit(ctx, card, apdu.Command{INS: insGetVersion})
	if err != nil {
		return nil, fmt.Errorf("reading the PIV version: %w", err)
	}
	if len(v) != 3 {
		return nil, fmt.Errorf("PIV version has %d bytes, want 3: %w", len(v), device.ErrInvalidResponse)
	}
	return &Session{card: card, version: device.Version{Major: v[0], Minor: v[1], Patch: v[2]}}, nil
}

// Version is the PIV application's version, the firmware version on
// YubiKey 4 and later.
func (s *Session) Version() device.Version { return s.version }

func (s *Session) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// Serial reads the serial number (GET SERIAL, firmware 5 and later).
func (s *Session) Serial(ctx context.Context) (uint32, error) {
	if s.version.Major < 5 {
		return 0, fmt.Errorf("reading the serial over PIV needs firmware 5: %w", device.ErrUnsupported)
	}
	b, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insGetSerial})
	if err != nil {
		return 0, fmt.Errorf("reading the serial number: %w", err)
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("serial number has %d bytes, want 4: %w", len(b), device.ErrInvalidResponse)
	}
	return binary.BigEndian.Uint32(b), nil
}

// HasMetadata reports whether the firmware has GET METADATA (5.3.0,
// ykman require_version(5,3,0)).
func (s *Session) HasMetadata() bool { return s.version.AtLeast(5, 3, 0) }

// Metadata reads GET METADATA for slot (SlotPIN, SlotPUK, SlotCardManagement
// or a key slot). Below firmware 5.3 it returns an error matching
// device.ErrUnsupported without sending anything; an empty slot matches
// device.ErrNotFound.
func (s *Session) Metadata(ctx context.Context, slot byte) (*Metadata, error) {
	if !s.HasMetadata() {
		return nil, fmt.Errorf("PIV metadata needs firmware 5.3 (this key has %s): %w", s.version, device.ErrUnsupported)
	}
	b, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insGetMetadata, P2: slot})
	if err != nil {
		return nil, fmt.Errorf("reading PIV metadata of slot %02x: %w", slot, err)
	}
	return ParseMetadata(b)
}

// ManagementKeyAlgorithm is the algorithm of the current management key:
// from metadata on firmware 5.3+, else 3DES, the only one before 5.4
// (ykman get_piv_info does the same).
func (s *Session) ManagementKeyAlgorithm(ctx context.Context) (MgmtKeyAlgorithm, error) {
	if !s.HasMetadata() {
		return MgmtTDES, nil
	}
	m, err := s.Metadata(ctx, SlotCardManagement)
	if err != nil {
		return 0, err
	}
	if !m.HasAlgorithm {
		return 0, fmt.Errorf("management key metadata has no algorithm: %w", device.ErrInvalidResponse)
	}
	return MgmtKeyAlgorithm(m.Algorithm), nil
}

// encodePIN pads a PIN or PUK to 8 bytes with FF (NIST SP 800-73-4 part 2
// §2.4.3). Only the length is validated here; policy is ValidateMacPIN's.
func encodePIN(which device.Credential, pin string) ([]byte, error) {
	if len(pin) < 1 || len(pin) > 8 {
		return nil, fmt.Errorf("a %s is 1 to 8 bytes, this one has %d: %w", which, len(pin), device.ErrPINPolicy)
	}
	b := make([]byte, 8)
	for i := range b {
		b[i] = 0xFF
	}
	copy(b, pin)
	return b, nil
}

// credentialError turns a status error about a PIN or PUK into a
// *device.PINError naming it: 63 Cx carries x retries, 69 83 is blocked.
// Other errors are returned unchanged.
func credentialError(which device.Credential, err error) error {
	var se *apdu.StatusError
	if !errors.As(err, &se) {
		return err
	}
	if n, ok := se.Retries(); ok {
		return &device.PINError{Which: which, Retries: n}
	}
	if se.SW == apdu.SWAuthBlocked {
		return &device.PINError{Which: which, Retries: 0}
	}
	if se.SW == apdu.SWConditionsNotMet && (which == device.PIVPIN || which == device.PIVPUK) {
		// A new PIN or PUK refused by firmware 5.7 PIN complexity (ykman
		// _cli/piv.py: "does not meet complexity requirement").
		return &device.PINRefusedError{Which: which, Cause: err}
	}
	return err
}

// PINRetries asks for the PIN retries left with an empty VERIFY (what
// ykman does below firmware 5.3). It returns -1 if the PIN is already
// verified in this session, as the card then answers 90 00 without a count.
func (s *Session) PINRetries(ctx context.Context) (int, error) {
	_, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insVerify, P2: SlotPIN})
	if err == nil {
		return -1, nil
	}
	var pe *device.PINError
	if errors.As(credentialError(device.PIVPIN, err), &pe) {
		return pe.Retries, nil
	}
	return 0, fmt.Errorf("reading PIN retries: %w", err)
}

// VerifyPIN verifies the PIV PIN. A wrong PIN is a *device.PINError with the
// retries left.
func (s *Session) VerifyPIN(ctx context.Context, pin string) error {
	data, err := encodePIN(device.PIVPIN, pin)
	if err != nil {
		return err
	}
	if _, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insVerify, P2: SlotPIN, Data: data}); err != nil {
		return fmt.Errorf("verifying the PIV PIN: %w", credentialError(device.PIVPIN, err))
	}
	return nil
}

// ChangePIN changes the PIV PIN with CHANGE REFERENCE DATA. It does not
// apply ValidateMacPIN: callers choose the policy.
func (s *Session) ChangePIN(ctx context.Context, old, new string) error {
	return s.changeReference(ctx, device.PIVPIN, old, new)
}

// ChangePUK changes the PIV PUK. Changing it to itself is how a PUK is
// checked without another command: it costs a try only when wrong, and a
// right one resets its counter (piv-go blocks PUKs this way in ykReset).
func (s *Session) ChangePUK(ctx context.Context, old, new string) error {
	return s.changeReference(ctx, device.PIVPUK, old, new)
}

// changeReference is CHANGE REFERENCE DATA for the PIN (80) or PUK (81).
func (s *Session) changeReference(ctx context.Context, which device.Credential, old, new string) error {
	p2 := SlotPIN
	if which == device.PIVPUK {
		p2 = SlotPUK
	}
	o, err := encodePIN(which, old)
	if err != nil {
		return err
	}
	n, err := encodePIN(which, new)
	if err != nil {
		return err
	}
	if _, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insChangeRef, P2: p2, Data: append(o, n...)}); err != nil {
		return fmt.Errorf("changing the %s: %w", which, credentialError(which, err))
	}
	return nil
}

// GetObject reads a data object and returns its value (the contents of the
// 53 wrapper). A missing object matches device.ErrNotFound.
func (s *Session) GetObject(ctx context.Context, id uint32) ([]byte, error) {
	req := tlv.Encode(0x5C, objectID(id))
	b, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insGetData, P1: 0x3F, P2: 0xFF, Data: req})
	if err != nil {
		return nil, fmt.Errorf("reading PIV object %06x: %w", id, err)
	}
	outer, rest, err := tlv.Next(b)
	if err != nil || outer.Tag != 0x53 || len(rest) != 0 {
		return nil, fmt.Errorf("PIV object %06x is not wrapped in 53: %w", id, device.ErrInvalidResponse)
	}
	return outer.Value, nil
}

// PutObject writes a data object (needs management-key authentication in
// this session). An empty value deletes it.
func (s *Session) PutObject(ctx context.Context, id uint32, value []byte) error {
	data := tlv.Encode(0x5C, objectID(id))
	data = tlv.Append(data, 0x53, value)
	if _, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insPutData, P1: 0x3F, P2: 0xFF, Data: data}); err != nil {
		return fmt.Errorf("writing PIV object %06x: %w", id, err)
	}
	return nil
}

func objectID(id uint32) []byte { return []byte{byte(id >> 16), byte(id >> 8), byte(id)} }

// AdminData reads the pivman ADMIN DATA object; absent means empty.
func (s *Session) AdminData(ctx context.Context) (*AdminData, error) {
	b, err := s.GetObject(ctx, ObjectAdminData)
	if errors.Is(err, device.ErrNotFound) {
		return &AdminData{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseAdminData(b)
}

// ProtectedData reads PRINTED; the PIN must have been verified in this
// session. Absent means empty.
func (s *Session) ProtectedData(ctx context.Context) (*ProtectedData, error) {
	b, err := s.GetObject(ctx, ObjectPrinted)
	if errors.Is(err, device.ErrNotFound) {
		return &ProtectedData{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseProtectedData(b)
}

// Authenticate runs management-key mutual authentication with key under alg.
// A wrong key matches device.ErrAuthentication.
func (s *Session) Authenticate(ctx context.Context, alg MgmtKeyAlgorithm, key []byte) error {
	if err := mutualAuth(ctx, s.card, alg, key, s.rand()); err != nil {
		return fmt.Errorf("authenticating with the management key: %w", err)
	}
	return nil
}
