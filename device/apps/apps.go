// Package apps reads and erases the YubiKey's smart-card applications that
// keywizard never sets up but that can hold a former owner's secrets: OATH
// (TOTP/HOTP accounts), OpenPGP (keys and PINs), YubiHSM Auth (credentials)
// and the two OTP slots (reached over CCID). Each reset is the one Yubico's
// own yubikey-manager performs (docs/yubikey-protocol.md §12); each read
// needs no PIN and says what is left.
//
// Errors are the device package's: a status word unwraps through
// apdu.StatusError, a card gone is device.ErrRemoved.
package apps

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/aid"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// App names one application, as ykman names it.
type App string

// The applications this package handles, in the order a wipe erases them.
const (
	OATH    App = "OATH"
	OpenPGP App = "OpenPGP"
	HSMAuth App = "YubiHSM Auth"
	OTP     App = "OTP"
)

// All is every application this package handles.
var All = []App{OATH, OpenPGP, HSMAuth, OTP}

// Capability is the management application's bit for app
// (docs/yubikey-protocol.md §1.4).
func (a App) Capability() device.Capability {
	switch a {
	case OATH:
		return device.CapOATH
	case OpenPGP:
		return device.CapOpenPGP
	case HSMAuth:
		return device.CapHSMAuth
	case OTP:
		return device.CapOTP
	}
	return 0
}

// aids are the applications' identifiers.
var aids = map[App]aid.AID{
	OATH:    aid.OATH,
	OpenPGP: aid.OpenPGP,
	HSMAuth: aid.HSMAuth,
	OTP:     aid.OTP,
}

// ErrAccessCode is returned when an OTP slot is protected by an access code keywizard
// does not have, so the key refused to delete it. It matches
// device.ErrLocked.
var ErrAccessCode = fmt.Errorf("an OTP slot is protected by an access code: %w", device.ErrLocked)

// swTerminated is 62 85: the OpenPGP application is terminated, a reset
// cut short between TERMINATE and ACTIVATE (OpenPGP card 3.4 §7.2.16;
// ykman/openpgp.py activates on it).
const swTerminated = 0x6285

// Contents is what one application holds, as read without a PIN.
type Contents struct {
	App App
	// Items counts what the application holds: OATH accounts, YubiHSM
	// Auth credentials, programmed OTP slots, OpenPGP keys with a
	// fingerprint or generation time. -1 when it cannot be read (an OATH
	// password hides the accounts).
	Items int
	// Factory: nothing of an owner is readable and the PINs and retry
	// counters are the factory ones where the application shows them.
	Factory bool
	// Summary says it in words: "2 accounts", "slot 1 programmed",
	// "PIN tries 3, reset code 0, admin PIN 3".
	Summary string
}

// Read reads what app holds on the key behind card. An application the
// key does not have, or has disabled, fails with device.ErrNotFound.
func Read(ctx context.Context, card device.Card, app App) (Contents, error) {
	c := Contents{App: app}
	resp, err := selectApp(ctx, card, app)
	var se *apdu.StatusError
	if app == OpenPGP && errors.As(err, &se) && se.SW == swTerminated {
		c.Items, c.Summary = -1, "terminated by a reset that did not finish"
		return c, nil
	}
	if err != nil {
		return c, err
	}
	switch app {
	case OATH:
		if _, locked, _ := tlv.Find(resp, 0x74); locked {
			// yubikit/oath.py _parse_select: a challenge means a password.
			c.Items, c.Summary = -1, "accounts protected by a password"
			return c, nil
		}
		list, err := send(ctx, card, 0xA1, 0, 0, nil)
		if err != nil {
			return c, fmt.Errorf("listing OATH accounts: %w", err)
		}
		n, err := count(list, 0x72)
		if err != nil {
			return c, fmt.Errorf("listing OATH accounts: %w", err)
		}
		c.Items, c.Factory, c.Summary = n, n == 0, plural(n, "account")
	case HSMAuth:
		list, err := send(ctx, card, 0x05, 0, 0, nil)
		if err != nil {
			return c, fmt.Errorf("listing YubiHSM Auth credentials: %w", err)
		}
		n, err := count(list, 0x72)
		if err != nil {
			return c, fmt.Errorf("listing YubiHSM Auth credentials: %w", err)
		}
		c.Items, c.Factory, c.Summary = n, n == 0, plural(n, "credential")
	case OTP:
		slots, err := otpSlots(resp)
		if err != nil {
			return c, err
		}
		var on []string
		for i, s := range slots {
			if s {
				c.Items++
				on = append(on, fmt.Sprint(i+1))
			}
		}
		c.Factory = c.Items == 0
		switch len(on) {
		case 0:
			c.Summary = "both slots empty"
		case 1:
			c.Summary = "slot " + on[0] + " programmed"
		default:
			c.Summary = "slots " + strings.Join(on, " and ") + " programmed"
		}
	case OpenPGP:
		return readOpenPGP(ctx, card, c)
	}
	return c, nil
}

// readOpenPGP reads the application related data (6E): key fingerprints
// (C5), generation times (CD) and the PW status bytes (C4) (OpenPGP card
// 3.4 §4.4.1; yubikit/openpgp.py ApplicationRelatedData).
func readOpenPGP(ctx context.Context, card device.Card, c Contents) (Contents, error) {
	data, err := send(ctx, card, 0xCA, 0x00, 0x6E, nil)
	if err != nil {
		return c, fmt.Errorf("reading OpenPGP data: %w", err)
	}
	outer, ok, err := tlv.Find(data, 0x6E)
	if err == nil && ok {
		data = outer
	}
	disc, ok, err := tlv.Find(data, 0x73)
	if err != nil || !ok {
		return c, fmt.Errorf("reading OpenPGP data: no discretionary data objects: %w", device.ErrInvalidResponse)
	}
	m, err := tlv.Map(disc)
	if err != nil {
		return c, fmt.Errorf("reading OpenPGP data: %w: %w", err, device.ErrInvalidResponse)
	}
	pw, fps, times := m[0xC4], m[0xC5], m[0xCD]
	if len(pw) < 7 {
		return c, fmt.Errorf("reading OpenPGP PIN status: %d bytes: %w", len(pw), device.ErrInvalidResponse)
	}
	for i := 0; i < 3; i++ {
		fp := window(fps, i*20, 20)
		t := window(times, i*4, 4)
		if !zero(fp) || !zero(t) {
			c.Items++
		}
	}
	// A factory OpenPGP application allows 3 user PIN tries, no reset
	// code and 3 admin PIN tries (ykman/_cli/openpgp.py after a reset).
	c.Factory = c.Items == 0 && pw[4] == 3 && pw[5] == 0 && pw[6] == 3
	c.Summary = fmt.Sprintf("%s; PIN tries %d, reset code %d, admin PIN %d", plural(c.Items, "key"), pw[4], pw[5], pw[6])
	return c, nil
}

// Reset erases app on the key behind card and returns what it holds
// afterwards, read back. A key without the application fails with
// device.ErrNotFound before anything is sent but the SELECT.
func Reset(ctx context.Context, card device.Card, app App) (Contents, error) {
	var err error
	switch app {
	case OATH:
		err = resetOATH(ctx, card)
	case OpenPGP:
		err = resetOpenPGP(ctx, card)
	case HSMAuth:
		err = resetHSMAuth(ctx, card)
	case OTP:
		err = resetOTP(ctx, card)
	default:
		return Contents{App: app}, fmt.Errorf("unknown application %q: %w", app, device.ErrInvalidArgument)
	}
	if err != nil {
		return Contents{App: app}, err
	}
	c, err := Read(ctx, card, app)
	if err != nil {
		return c, fmt.Errorf("reading %s back: %w", app, err)
	}
	return c, nil
}

// resetOATH is yubikey-manager yubikit/oath.py OathSession.reset: RESET
// (04) with P1 P2 DE AD. It needs no password.
func resetOATH(ctx context.Context, card device.Card) error {
	if _, err := selectApp(ctx, card, OATH); err != nil {
		return err
	}
	if _, err := send(ctx, card, 0x04, 0xDE, 0xAD, nil); err != nil {
		return fmt.Errorf("resetting OATH: %w", err)
	}
	return nil
}

// resetHSMAuth is yubikey-manager yubikit/hsmauth.py HsmAuthSession.reset:
// RESET (06) with P1 P2 DE AD.
func resetHSMAuth(ctx context.Context, card device.Card) error {
	if _, err := selectApp(ctx, card, HSMAuth); err != nil {
		return err
	}
	if _, err := send(ctx, card, 0x06, 0xDE, 0xAD, nil); err != nil {
		return fmt.Errorf("resetting YubiHSM Auth: %w", err)
	}
	return nil
}

// invalidPIN is what yubikit/openpgp.py verifies to spend the tries
// (_INVALID_PIN: eight zero bytes).
var invalidPIN = make([]byte, 8)

// maxPGPTries bounds the wrong verifies per PIN: a PIN allows at most 15
// tries (the retry counter is a nibble in 63 Cx).
const maxPGPTries = 16

// resetOpenPGP is yubikey-manager ykman/openpgp.py safe_reset (and
// yubikit/openpgp.py OpenPgpSession.reset): block the user PIN (81) and
// the admin PIN (83) by verifying a wrong one until the key answers
// something other than 69 82, then TERMINATE (E6) and ACTIVATE (44).
// safe_reset needs no readable data, so a damaged application resets too.
// The reset needs application version 1.0.6 (YubiKey NEO; every YubiKey 4
// and 5 has it). An application left terminated by a reset cut short
// answers SELECT with 62 85 and needs only ACTIVATE.
func resetOpenPGP(ctx context.Context, card device.Card) error {
	_, err := selectApp(ctx, card, OpenPGP)
	var se *apdu.StatusError
	terminated := errors.As(err, &se) && se.SW == swTerminated
	if err != nil && !terminated {
		return err
	}
	if !terminated {
		v, err := send(ctx, card, 0xF1, 0, 0, nil)
		if err != nil {
			return fmt.Errorf("reading the OpenPGP version: %w", err)
		}
		if len(v) >= 3 && v[0] == 0x01 && (v[1] == 0 && v[2] < 0x06) {
			return fmt.Errorf("OpenPGP application %x.%x.%x cannot be reset (1.0.6 or later can): %w", v[0], v[1], v[2], device.ErrUnsupported)
		}
		for _, pw := range []byte{0x81, 0x83} {
			for range maxPGPTries {
				_, err := send(ctx, card, 0x20, 0x00, pw, invalidPIN)
				if !errors.As(err, &se) || se.SW != apdu.SWSecurityNotSatisfied {
					if errors.Is(err, device.ErrRemoved) {
						return err
					}
					break
				}
			}
		}
		if _, err := send(ctx, card, 0xE6, 0, 0, nil); err != nil {
			return fmt.Errorf("terminating OpenPGP: %w", err)
		}
	}
	if _, err := send(ctx, card, 0x44, 0, 0, nil); err != nil {
		return fmt.Errorf("activating OpenPGP: %w", err)
	}
	return nil
}

// OTP slot commands over CCID (yubikit/yubiotp.py CONFIG_SLOT; INS_CONFIG
// 01 with the slot command in P1).
const (
	otpConfig1    = 0x01
	otpConfig2    = 0x03
	otpConfigSize = 52 // CONFIG_SIZE
	otpAccCode    = 6  // ACC_CODE_SIZE
)

// resetOTP deletes each programmed slot as yubikit/yubiotp.py
// YubiOtpSession.delete_slot does: CONFIG_1 or CONFIG_2 with 52 zero bytes
// and the current access code (none known: six zero bytes). A slot with
// an access code stays programmed (the status comes back unchanged), which
// fails with ErrAccessCode after the other slot is deleted.
func resetOTP(ctx context.Context, card device.Card) error {
	resp, err := selectApp(ctx, card, OTP)
	if err != nil {
		return err
	}
	slots, err := otpSlots(resp)
	if err != nil {
		return err
	}
	var protected []string
	for i, cmd := range []byte{otpConfig1, otpConfig2} {
		if !slots[i] {
			continue
		}
		st, err := send(ctx, card, 0x01, cmd, 0, make([]byte, otpConfigSize+otpAccCode))
		if err != nil {
			return fmt.Errorf("deleting OTP slot %d: %w", i+1, err)
		}
		after, err := otpSlots(st)
		if err != nil {
			return fmt.Errorf("deleting OTP slot %d: %w", i+1, err)
		}
		if after[i] {
			protected = append(protected, fmt.Sprint(i+1))
		}
	}
	if len(protected) > 0 {
		return fmt.Errorf("slot %s: %w", strings.Join(protected, " and "), ErrAccessCode)
	}
	return nil
}

// otpSlots reads which slots are programmed from the OTP status: version
// (3 bytes), programming sequence, touch level little-endian with bits 01
// and 02 for slots 1 and 2 (yubikit/yubiotp.py ConfigState, CFGSTATE).
func otpSlots(status []byte) ([2]bool, error) {
	if len(status) < 6 {
		return [2]bool{}, fmt.Errorf("OTP status of %d bytes: %w", len(status), device.ErrInvalidResponse)
	}
	flags := binary.LittleEndian.Uint16(status[4:6])
	return [2]bool{flags&0x01 != 0, flags&0x02 != 0}, nil
}

func selectApp(ctx context.Context, card device.Card, app App) ([]byte, error) {
	resp, err := apdu.Transmit(ctx, card, apdu.Select(aids[app].Bytes()))
	if err != nil {
		return nil, fmt.Errorf("selecting %s: %w", app, err)
	}
	return resp, nil
}

func send(ctx context.Context, card device.Card, ins, p1, p2 byte, data []byte) ([]byte, error) {
	return apdu.Transmit(ctx, card, apdu.Command{INS: ins, P1: p1, P2: p2, Data: data})
}

// count counts the top-level TLVs with tag in b.
func count(b []byte, tag uint32) (int, error) {
	ts, err := tlv.Parse(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", err, device.ErrInvalidResponse)
	}
	n := 0
	for _, t := range ts {
		if t.Tag == tag {
			n++
		}
	}
	return n, nil
}

func window(b []byte, at, n int) []byte {
	if at+n > len(b) {
		return nil
	}
	return b[at : at+n]
}

func zero(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }

func plural(n int, what string) string {
	switch n {
	case 0:
		return "no " + what + "s"
	case 1:
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
