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
	"github.com/keywizard/keywizard/device/apdu"
)

// AID is the management application's identifier (docs/yubikey-protocol.md §1.1,
// ykman yubikit/core AID.MANAGEMENT).
var AID = []byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}

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
	resp, err := apdu.Transmit(ctx, card, apdu.Select(AID))
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

// ReadInfo reads the device info (READ CONFIG, §1.2), following the
// MORE_DATA tag across pages. Firmware before 4.1.0 has no READ CONFIG
// (ykman require_version(4,1,0)); then ReadInfo returns an Info holding only
// the version from SELECT, and an error matching [device.ErrUnsupported].
func (s *Session) ReadInfo(ctx context.Context) (device.Info, error) {
	if s.version.Less(device.Version{Major: 4, Minor: 1}) {
		return device.Info{Version: s.version}, fmt.Errorf("reading device info: firmware %s predates READ CONFIG (4.1.0); only the version is known: %w", s.version, device.ErrUnsupported)
	}
	var tlvs []byte
	for page := 0; ; page++ {
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
		tlvs = append(tlvs, body...)
		more, err := moreData(body)
		if err != nil {
			return device.Info{}, fmt.Errorf("reading device info (page %d): %w", page, err)
		}
		if !more {
			break
		}
	}
	info, err := parseTLVs(tlvs, s.version)
	if err != nil {
		return device.Info{}, fmt.Errorf("reading device info: %w", err)
	}
	return info, nil
}

// moreData reports whether a page's MORE_DATA tag (0x10) asks for another
// page. ykman-main reads its value as "pages still to come" and the .NET SDK
// as "01 = one more"; any non-zero value means "read on" under both.
func moreData(body []byte) (bool, error) {
	m, err := tlvMap(body)
	if err != nil {
		return false, err
	}
	v, ok := m[tagMoreData]
	if !ok {
		return false, nil
	}
	for _, b := range v {
		if b != 0 {
			return true, nil
		}
	}
	return false, nil
}
