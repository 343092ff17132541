// Package mgmt is a client of the YubiKey management application over a
// smart-card connection ([device.Card]): it reads the key's device info
// (serial, firmware, form factor, which applications are supported and
// enabled over USB and NFC) and writes the application configuration, which
// is how keywizard turns off the OTP interface. It does what
// `ykman config usb --disable OTP` does, following ykman's byte formats
// (docs/yubikey-protocol.md §1) but without ykman 4.0.9's bugs: it keeps every
// capability bit it was not asked to change (§1.8) and reads the result back.
//
// # Layers
//
//   - [Open] selects the application and yields a [Session]; [Session.ReadInfo],
//     [Session.WriteConfig] and [Session.SetMode] are single protocol steps.
//   - [ParseInfo], [ParseVersion] and [Config.Bytes] are the pure codecs, so
//     they can be table-tested and fuzzed without a card.
//   - [ChangeApplications] is the whole operation a caller wants: read, decide,
//     write, wait for the reboot through a [Reopener], read back, verify.
//
// # Errors
//
// Every error matches one of the device package's sentinels with errors.Is:
// a card that is not a YubiKey matches [device.ErrNotFound] and
// [device.ErrUnsupported]; a configuration lock matches [device.ErrLocked]
// (see [LockedError]); old firmware matches [device.ErrUnsupported]; bytes that
// do not decode match [device.ErrInvalidResponse]; an unplugged key matches
// [device.ErrRemoved]. Lock codes never appear in error messages.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package mgmt

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/aid"
	"github.com/keywizard/keywizard/device/apdu"
)

// Management instructions (ykman-4.0.9 yubikit/management.py, §1.2, §1.7, §1.10).
const (
	insReadConfig  = 0x1D
	insWriteConfig = 0x1C
	insSetMode     = 0x16
	p1DeviceConfig = 0x11
)

// maxPages bounds READ CONFIG paging (§1.2). Each page carries at most 255
// bytes of TLVs and current firmware uses at most two; a key still asking for
// more after this many is looping.
const maxPages = 16

// Session is an open management application on one card. It is not safe for
// concurrent use: the card has one selected application at a time.
type Session struct {
	card    device.Card
	version device.Version
}

// Open selects the management application on card and parses the firmware
// version from the SELECT response (§1.1). A card without the application
// (SW 6A82: not a YubiKey, or a YubiKey with CCID management disabled) gives
// an error matching both [device.ErrNotFound] and [device.ErrUnsupported].
//
// YubiKey NEO (firmware 3.x) routes management commands through the OTP
// applet (ykman's "de-select" workaround, §1.1); keywizard does not configure
// NEOs, so Open succeeds but ReadInfo, WriteConfig and SetMode refuse them.
func Open(ctx context.Context, card device.Card) (*Session, error) {
	if card == nil {
		return nil, fmt.Errorf("opening management application: no card: %w", device.ErrInvalidArgument)
	}
	resp, err := apdu.Transmit(ctx, card, apdu.Select(aid.Management.Bytes()))
	if err != nil {
		if errors.Is(err, device.ErrNotFound) {
			return nil, fmt.Errorf("selecting management application: this card is not a YubiKey, or its management interface is off (%w): %w", device.ErrUnsupported, err)
		}
		return nil, fmt.Errorf("selecting management application: %w", err)
	}
	v, err := ParseVersion(resp)
	if err != nil {
		return nil, fmt.Errorf("selecting management application: %w", err)
	}
	return &Session{card: card, version: v}, nil
}

// Version is the firmware version the key gave in its SELECT response.
func (s *Session) Version() device.Version { return s.version }

// versionPattern is ykman's _VERSION_STRING_PATTERN (yubikit/core/__init__.py):
// the first word-bounded "major<any>minor<any>patch" with single-digit minor
// and patch. The "." really is "any character" in ykman, and it is kept so:
// a key answering "5-4-3" is read as 5.4.3 by ykman too. Two deliberate
// differences, both outside what YubiKeys send (ASCII): Python's \d and \b
// are Unicode-aware where Go's are ASCII-only, and ykman fails on data that
// is not UTF-8 where this pattern just searches the bytes.
var versionPattern = regexp.MustCompile(`\b(\d+).(\d).(\d)\b`)

// ParseVersion extracts the firmware version from the management SELECT
// response data, e.g. "Virtual mgr - FW version 5.7.2" (§1.1). A trailing
// "90 00" inside the data is dropped first: the YubiKey Edge repeats its
// status word (ykman _ManagementSmartCardBackend). Data without a version
// matches [device.ErrInvalidResponse] and [device.ErrUnsupported].
func ParseVersion(data []byte) (device.Version, error) {
	if n := len(data); n >= 2 && data[n-2] == 0x90 && data[n-1] == 0x00 {
		data = data[:n-2]
	}
	m := versionPattern.FindSubmatch(data)
	if m == nil {
		return device.Version{}, fmt.Errorf("no firmware version in the management SELECT response; not a YubiKey? (%w): %w", device.ErrUnsupported, device.ErrInvalidResponse)
	}
	major, err := strconv.ParseUint(string(m[1]), 10, 8)
	if err != nil {
		return device.Version{}, fmt.Errorf("firmware major version %q out of range: %w", m[1], device.ErrInvalidResponse)
	}
	return device.Version{Major: uint8(major), Minor: m[2][0] - '0', Patch: m[3][0] - '0'}, nil
}

// ReadInfo reads the device info as ykman's read_info does: READ CONFIG
// page by page (§1.2) while the MORE_DATA tag asks for more, the pages'
// TLVs merged (a later page's value wins), then the NFC tags of keys known
// to have no NFC dropped ([DropMisreportedNFC]). Firmware before 4.1.0 has
// no READ CONFIG (ykman require_version(4,1,0)); then ReadInfo returns an
// Info holding only the version from SELECT, and an error matching
// [device.ErrUnsupported].
func (s *Session) ReadInfo(ctx context.Context) (device.Info, error) {
	if s.version.Less(device.Version{Major: 4, Minor: 1}) {
		return device.Info{Version: s.version}, fmt.Errorf("reading device info: firmware %s predates READ CONFIG (4.1.0); only the version is known: %w", s.version, device.ErrUnsupported)
	}
	var tlvs []byte
	// ykman-main ManagementSession._do_read_device_info: more_data starts
	// at 1; each page read takes one off, and a page's MORE_DATA value
	// (big-endian) replaces the count of pages still to read.
	more := uint64(1)
	for page := 0; more > 0; page++ {
		more--
		if page == maxPages {
			return device.Info{}, fmt.Errorf("reading device info: the key still reports more data after %d pages: %w", maxPages, device.ErrInvalidResponse)
		}
		resp, err := apdu.Transmit(ctx, s.card, apdu.Command{INS: insReadConfig, P1: byte(page)})
		if err != nil {
			return device.Info{}, fmt.Errorf("reading device info (page %d): %w", page, err)
		}
		body, err := pageBody(resp)
		if err != nil {
			return device.Info{}, fmt.Errorf("reading device info (page %d): %w", page, err)
		}
		m, err := tlvMap(body)
		if err != nil {
			return device.Info{}, fmt.Errorf("reading device info (page %d): %w", page, err)
		}
		if v, ok := m[tagMoreData]; ok {
			if more, err = beUint(v, 1); err != nil {
				return device.Info{}, fmt.Errorf("reading device info (page %d): more-data tag: %w", page, err)
			}
		}
		tlvs = append(tlvs, body...)
	}
	info, err := parseTLVs(tlvs, s.version)
	if err != nil {
		return device.Info{}, fmt.Errorf("reading device info: %w", err)
	}
	return DropMisreportedNFC(info), nil
}
