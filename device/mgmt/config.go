package mgmt

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// LockCodeLen is the length of a configuration lock code (§1.7; ykman
// "Lock code must be 16 bytes").
const LockCodeLen = 16

// Config is one WRITE CONFIG (§1.7). Nil pointers and empty slices are left
// out of the command, so the key keeps those settings: in particular no
// DEVICE_FLAGS TLV is sent unless DeviceFlags is set, as ykman 5.x does
// (ykman 4.0.9 always re-sent the flags it had read, §1.8).
type Config struct {
	USBEnabled *device.Capability // tag 03
	NFCEnabled *device.Capability // tag 0E
	// AutoEjectTimeout (seconds, tag 06), ChalRespTimeout (seconds, tag 07)
	// and DeviceFlags (tag 08) are sent only when set.
	AutoEjectTimeout *uint16
	ChalRespTimeout  *uint8
	DeviceFlags      *uint8
	// Reboot asks the key to reboot after applying (tag 0C); it must when the
	// set of USB interfaces changes (§1.7, §1.9).
	Reboot bool
	// CurrentLockCode unlocks a locked configuration (tag 0B); NewLockCode
	// sets, changes or (all zero bytes) clears the lock (tag 0A). Both are
	// LockCodeLen bytes.
	CurrentLockCode, NewLockCode []byte
	// NFCRestricted sends ykman-main's "17 01 01" (firmware 5.7+).
	NFCRestricted bool
}

// Bytes encodes c as WRITE CONFIG data: a length byte, then TLVs in ykman's
// order 0C, 0B, 03, 0E, 06, 07, 08, 0A, 17 (DeviceConfig.get_bytes). The
// firmware accepts any order (.NET uses another), but matching ykman keeps
// transcripts comparable.
func (c Config) Bytes() ([]byte, error) {
	for _, code := range [][]byte{c.CurrentLockCode, c.NewLockCode} {
		if code != nil && len(code) != LockCodeLen {
			return nil, fmt.Errorf("a lock code must be %d bytes (32 hex digits), got %d: %w", LockCodeLen, len(code), device.ErrInvalidArgument)
		}
	}
	var b []byte
	if c.Reboot {
		b = tlv.Append(b, tagReboot, nil)
	}
	if len(c.CurrentLockCode) > 0 {
		b = tlv.Append(b, tagUnlock, c.CurrentLockCode)
	}
	if c.USBEnabled != nil {
		b = tlv.Append(b, tagUSBEnabled, be16(uint16(*c.USBEnabled)))
	}
	if c.NFCEnabled != nil {
		b = tlv.Append(b, tagNFCEnabled, be16(uint16(*c.NFCEnabled)))
	}
	if c.AutoEjectTimeout != nil {
		b = tlv.Append(b, tagAutoEject, be16(*c.AutoEjectTimeout))
	}
	if c.ChalRespTimeout != nil {
		b = tlv.Append(b, tagChalRespTO, []byte{*c.ChalRespTimeout})
	}
	if c.DeviceFlags != nil {
		b = tlv.Append(b, tagDeviceFlags, []byte{*c.DeviceFlags})
	}
	if len(c.NewLockCode) > 0 {
		b = tlv.Append(b, tagConfigLock, c.NewLockCode)
	}
	if c.NFCRestricted {
		b = tlv.Append(b, tagNFCRestricted, []byte{1})
	}
	if len(b) > 0xFF {
		return nil, fmt.Errorf("configuration of %d bytes exceeds 255: %w", len(b), device.ErrInvalidArgument)
	}
	return append([]byte{byte(len(b))}, b...), nil
}

func be16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// ParseLockCode decodes a lock code typed as 32 hex digits (spaces allowed),
// as `ykman config --lock-code` takes it. The error never repeats the input.
func ParseLockCode(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != LockCodeLen {
		return nil, fmt.Errorf("a lock code is %d hex digits (0-9, a-f): %w", 2*LockCodeLen, device.ErrInvalidArgument)
	}
	return b, nil
}

// LockedError reports a write refused because of the configuration lock.
// It matches [device.ErrLocked]; when a lock code was supplied (so it was
// wrong) it also matches [device.ErrWrongPIN]. It never holds the code.
type LockedError struct {
	// CodeSupplied says whether the write carried a lock code.
	CodeSupplied bool
	// SW is the status word the key answered, or 0 when the write was not
	// sent because the key reports a lock and no code was given.
	SW uint16
}

func (e *LockedError) Error() string {
	if e.CodeSupplied {
		return "the key rejected the configuration lock code; check it and try again (it is 32 hex digits, set when the key was locked)"
	}
	return "the key's configuration is locked with a lock code; supply the lock code (32 hex digits) to change it"
}

// Is makes LockedError match device.ErrLocked, and device.ErrWrongPIN when a
// code was supplied.
func (e *LockedError) Is(target error) bool {
	return target == device.ErrLocked || (e.CodeSupplied && target == device.ErrWrongPIN)
}

// WriteConfig sends c (WRITE CONFIG, §1.7). Firmware before 5.0.0 has no
// WRITE CONFIG (ykman require_version(5,0,0)); use [Session.SetMode] on a
// YubiKey 4. A lock refusal is a [*LockedError]: the .NET SDK documents
// SW 6F00 for a wrong or missing lock code (HID variant), and 6982
// "security status not satisfied" is the ISO answer; both are taken as a
// lock refusal (§1.7, §9 open question).
//
// When c.Reboot is set the key reboots after answering: this Session and its
// card are then stale.
func (s *Session) WriteConfig(ctx context.Context, c Config) error {
	if err := s.requireWriteConfig(); err != nil {
		return err
	}
	data, err := c.Bytes()
	if err != nil {
		return fmt.Errorf("writing configuration: %w", err)
	}
	_, err = apdu.Transmit(ctx, s.card, apdu.Command{INS: insWriteConfig, Data: data})
	var se *apdu.StatusError
	if errors.As(err, &se) && (se.SW == apdu.SWNoPreciseDiagnosis || se.SW == apdu.SWSecurityNotSatisfied) {
		return fmt.Errorf("writing configuration: %w", &LockedError{CodeSupplied: len(c.CurrentLockCode) > 0, SW: se.SW})
	}
	if err != nil {
		return fmt.Errorf("writing configuration: %w", err)
	}
	return nil
}

func (s *Session) requireWriteConfig() error {
	if s.version.Major == 3 {
		return fmt.Errorf("writing configuration: YubiKey NEO (firmware %s) is not supported; use a YubiKey 5: %w", s.version, device.ErrUnsupported)
	}
	if s.version.Less(device.Version{Major: 5}) {
		return fmt.Errorf("writing configuration: firmware %s predates WRITE CONFIG (5.0.0); a YubiKey 4 changes its USB interfaces with SetMode: %w", s.version, device.ErrUnsupported)
	}
	return nil
}

// Mode is a YubiKey 4 USB mode for the legacy SET MODE command (§1.10).
type Mode struct {
	// Interfaces to leave on; at least one.
	Interfaces device.USBInterface
	// ChalRespTimeout in seconds, AutoEjectTimeout in seconds.
	ChalRespTimeout  uint8
	AutoEjectTimeout uint16
	// TouchEject (flag 0x80 on the mode byte) is allowed only for CCID alone.
	TouchEject bool
}

// modeCodes is ykman's _MODES: the mode byte is the index (§1.10).
var modeCodes = []device.USBInterface{
	device.IfaceOTP,
	device.IfaceCCID,
	device.IfaceOTP | device.IfaceCCID,
	device.IfaceFIDO,
	device.IfaceOTP | device.IfaceFIDO,
	device.IfaceFIDO | device.IfaceCCID,
	device.IfaceOTP | device.IfaceFIDO | device.IfaceCCID,
}

// Bytes encodes m as SET MODE data: mode code (| 0x80 for touch-eject),
// challenge-response timeout, auto-eject timeout little-endian (ykman
// struct.pack("<BBH"); "N.B. This is little endian!").
func (m Mode) Bytes() ([]byte, error) {
	code := -1
	for i, ifs := range modeCodes {
		if ifs == m.Interfaces {
			code = i
		}
	}
	if code < 0 {
		return nil, fmt.Errorf("USB mode %s is not one a YubiKey 4 can take: %w", interfaceNames(m.Interfaces), device.ErrInvalidArgument)
	}
	if m.TouchEject {
		if m.Interfaces != device.IfaceCCID {
			return nil, fmt.Errorf("touch-eject needs the CCID-only mode: %w", device.ErrInvalidArgument)
		}
		code |= 0x80
	}
	return []byte{byte(code), m.ChalRespTimeout, byte(m.AutoEjectTimeout), byte(m.AutoEjectTimeout >> 8)}, nil
}

// SetMode sends the legacy SET MODE (INS 16, P1 11) a YubiKey 4 uses to
// choose its USB interfaces (§1.10). The key does not reboot: the new mode
// takes effect when it is removed and re-inserted. Firmware 5 uses
// WriteConfig instead, and the NEO (which needs the OTP applet) is refused.
func (s *Session) SetMode(ctx context.Context, m Mode) error {
	switch {
	case s.version.Major == 3:
		return fmt.Errorf("setting USB mode: YubiKey NEO (firmware %s) is not supported; use a YubiKey 5: %w", s.version, device.ErrUnsupported)
	case s.version.Major != 4:
		return fmt.Errorf("setting USB mode: firmware %s has no legacy mode command; use WriteConfig: %w", s.version, device.ErrUnsupported)
	}
	data, err := m.Bytes()
	if err != nil {
		return fmt.Errorf("setting USB mode: %w", err)
	}
	if _, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insSetMode, P1: p1DeviceConfig, Data: data}); err != nil {
		return fmt.Errorf("setting USB mode: %w", err)
	}
	return nil
}

// interfaceNames spells a set of USB interfaces as ykman and the USB product
// string do: "OTP+FIDO+CCID", or "none".
func interfaceNames(i device.USBInterface) string {
	if i == 0 {
		return "none"
	}
	return i.String()
}

// String describes the configuration without lock codes, so logging a
// Config (even with %+v or %#v) cannot leak them.
func (c Config) String() string {
	var parts []string
	if c.USBEnabled != nil {
		parts = append(parts, fmt.Sprintf("USB enabled 0x%04x", uint16(*c.USBEnabled)))
	}
	if c.NFCEnabled != nil {
		parts = append(parts, fmt.Sprintf("NFC enabled 0x%04x", uint16(*c.NFCEnabled)))
	}
	if c.AutoEjectTimeout != nil {
		parts = append(parts, fmt.Sprintf("auto-eject %ds", *c.AutoEjectTimeout))
	}
	if c.ChalRespTimeout != nil {
		parts = append(parts, fmt.Sprintf("challenge-response timeout %ds", *c.ChalRespTimeout))
	}
	if c.DeviceFlags != nil {
		parts = append(parts, fmt.Sprintf("flags 0x%02x", *c.DeviceFlags))
	}
	if c.Reboot {
		parts = append(parts, "reboot")
	}
	if len(c.CurrentLockCode) > 0 {
		parts = append(parts, "current lock code (redacted)")
	}
	if len(c.NewLockCode) > 0 {
		parts = append(parts, "new lock code (redacted)")
	}
	if c.NFCRestricted {
		parts = append(parts, "NFC restricted")
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// GoString is String, for %#v.
func (c Config) GoString() string { return "mgmt.Config{" + c.String() + "}" }
