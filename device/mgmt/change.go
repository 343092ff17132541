package mgmt

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device"
)

// Reopener waits for the same key (the caller knows its serial) to come back
// after a reboot and returns a fresh card for it. A PC/SC implementation
// waits for the reader to re-enumerate: on real hardware its name changes
// with the USB interfaces (docs/yubikey-protocol.md §1.9).
type Reopener func(ctx context.Context) (device.Card, error)

// Request says which applications to turn off or on, per transport. Bits not
// named in it are kept exactly as the key reports them, including bits this
// package has no name for (0x0004, 0x0400; §1.8).
type Request struct {
	USBDisable, USBEnable device.Capability
	NFCDisable, NFCEnable device.Capability
	// LockCode is the 16-byte configuration lock code, needed only when the
	// key's configuration is locked (see ParseLockCode).
	LockCode []byte
}

// Result is what ChangeApplications did.
type Result struct {
	Serial uint32
	Model  string
	// Before is the info read first; After is the info read back after the
	// write (after the reboot when there was one). On a YubiKey 4 After is
	// Before: its USB mode cannot be read over CCID, and changes only on
	// re-insertion.
	Before, After device.Info
	// Rebooted says the key rebooted to apply a USB interface change.
	Rebooted bool
	// ReplugRequired says the change takes effect only once the key is
	// removed and re-inserted (YubiKey 4 legacy mode, §1.9-§1.10).
	ReplugRequired bool
	// Changed has one line per change, e.g. "USB: OTP disabled".
	Changed []string
	// Unchanged has one line per requested change that was already in
	// place, e.g. "USB: OTP already disabled". Changed empty means the call
	// sent nothing to the key.
	Unchanged []string
}

// String is a one-line summary for people.
func (r Result) String() string {
	who := fmt.Sprintf("%s (serial %d)", r.Model, r.Serial)
	if len(r.Changed) == 0 {
		s := who + ": nothing to change"
		if len(r.Unchanged) > 0 {
			s += " (" + strings.Join(r.Unchanged, "; ") + ")"
		}
		return s
	}
	s := who + ": " + strings.Join(r.Changed, "; ")
	switch {
	case r.Rebooted:
		s += "; the key rebooted to apply it"
	case r.ReplugRequired:
		s += "; remove and re-insert the key for it to take effect"
	}
	return s
}

// ErrNotApplied reports that the key accepted a configuration write but reads back
// something else. NotAppliedError carries the details.
var ErrNotApplied = errors.New("the key did not apply the configuration change")

// NotAppliedError says which enabled mask differs after a write.
type NotAppliedError struct {
	Transport string // "USB" or "NFC"
	Want, Got device.Capability
}

func (e *NotAppliedError) Error() string {
	return fmt.Sprintf("the key accepted the change but %s now has [%s] (0x%04x) enabled instead of [%s] (0x%04x); read the key again and retry",
		e.Transport, e.Got, uint16(e.Got), e.Want, uint16(e.Want))
}

// Is makes NotAppliedError match ErrNotApplied.
func (e *NotAppliedError) Is(target error) bool { return target == ErrNotApplied }

// ChangeApplications turns applications off and on, the way
// `ykman config usb --disable OTP` does but reading the result back:
//
//  1. It reads the device info and refuses, before writing anything: bits
//     outside the named applications, an application both enabled and
//     disabled, applications the key does not support on that transport,
//     NFC changes on a key without NFC, a change that leaves no application
//     enabled over USB, and a locked configuration without a lock code.
//  2. It clears and sets only the requested bits; every other bit is kept as
//     read (§1.8 ykman 4.0.9 gotcha). Nothing to change means nothing is
//     sent, and the Result says so.
//  3. It asks for a reboot only when the set of USB interfaces (OTP, FIDO,
//     CCID) changes, as ykman does (§1.7). Then it calls reopen, which must
//     not be nil, and reads the info back from the fresh card (closing that
//     card before returning; card itself is the caller's to close, and is
//     stale after a reboot).
//  4. It checks that the applications enabled on each transport read back
//     exactly as asked (bits that name no application are the firmware's
//     to keep or drop): otherwise a [*NotAppliedError], returned with the
//     Result filled in.
//
// A YubiKey 4 has no WRITE CONFIG: the change is made with the legacy
// SetMode (whole USB interfaces only; §1.10), which takes effect on re-plug
// (Result.ReplugRequired). Its current mode cannot be read over CCID, so the
// new mode is the interfaces it supports minus those turned off, plus those
// turned on. A NEO is refused.
//
// If the key goes away during the write, the error matches
// [device.ErrRemoved] and nothing else is attempted: the write may or may
// not have been applied.
func ChangeApplications(ctx context.Context, card device.Card, req Request, reopen Reopener) (Result, error) {
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	s, err := Open(ctx, card)
	if err != nil {
		return Result{}, err
	}
	if s.version.Major == 3 {
		return Result{}, fmt.Errorf("changing applications: YubiKey NEO (firmware %s) is not supported; use a YubiKey 5: %w", s.version, device.ErrUnsupported)
	}
	before, err := s.ReadInfo(ctx)
	if err != nil {
		if errors.Is(err, device.ErrUnsupported) {
			return Result{}, fmt.Errorf("changing applications: firmware %s cannot report its configuration; use Yubico's YubiKey Manager for this key: %w", s.version, err)
		}
		return Result{}, err
	}
	res := Result{Serial: before.Serial, Model: before.Model(), Before: before, After: before}
	who := fmt.Sprintf("the %s (serial %d)", res.Model, res.Serial)

	// Support checks (ykman: "%s not supported over USB on this YubiKey.").
	if bad := (req.USBDisable | req.USBEnable) &^ before.USBSupported; bad != 0 {
		return res, fmt.Errorf("%s does not support %s over USB: %w", who, bad, device.ErrUnsupported)
	}
	nfcReq := req.NFCDisable | req.NFCEnable
	if nfcReq != 0 {
		if !before.NFCPresent() {
			return res, fmt.Errorf("%s has no NFC, so NFC applications cannot be changed: %w", who, device.ErrUnsupported)
		}
		if bad := nfcReq &^ before.NFCSupported; bad != 0 {
			return res, fmt.Errorf("%s does not support %s over NFC: %w", who, bad, device.ErrUnsupported)
		}
	}

	if before.Version.Less(device.Version{Major: 5}) {
		return changeLegacy(ctx, s, req, res, who)
	}

	usb := before.USBEnabled&^req.USBDisable | req.USBEnable
	nfc := before.NFCEnabled&^req.NFCDisable | req.NFCEnable
	res.Changed, res.Unchanged = describe("USB", before.USBEnabled, req.USBDisable, req.USBEnable)
	nc, nu := describe("NFC", before.NFCEnabled, req.NFCDisable, req.NFCEnable)
	res.Changed, res.Unchanged = append(res.Changed, nc...), append(res.Unchanged, nu...)
	if len(res.Changed) == 0 {
		return res, nil
	}
	if usb&allApplications() == 0 {
		// ykman: "Can not disable all applications over USB." The key would
		// be unreachable for any further configuration over USB.
		return res, fmt.Errorf("refusing to disable every application over USB on %s: the key could not be configured again; keep at least one enabled: %w", who, device.ErrInvalidArgument)
	}

	cfg := Config{}
	if usb != before.USBEnabled {
		cfg.USBEnabled = &usb
	}
	if nfc != before.NFCEnabled {
		cfg.NFCEnabled = &nfc
	}
	cfg.Reboot = usb.Interfaces() != before.USBEnabled.Interfaces()
	if cfg.Reboot && reopen == nil {
		return res, fmt.Errorf("changing USB interfaces on %s reboots it, and no way to find it again was given: %w", who, device.ErrInvalidArgument)
	}
	if before.ConfigLocked {
		if len(req.LockCode) == 0 {
			return res, fmt.Errorf("changing applications on %s: %w", who, &LockedError{})
		}
		cfg.CurrentLockCode = req.LockCode
	}
	// An unlocked key gets no UNLOCK tag even if a code was given: it would
	// not be checked, and ykman refuses to send one ("Configuration is not
	// locked").

	if err := s.WriteConfig(ctx, cfg); err != nil {
		if errors.Is(err, device.ErrRemoved) {
			return res, fmt.Errorf("%s was removed while its configuration was being written; the change may or may not have been applied: plug it back in and check: %w", who, err)
		}
		return res, fmt.Errorf("changing applications on %s: %w", who, err)
	}

	readSession := s
	if cfg.Reboot {
		res.Rebooted = true
		fresh, err := reopen(ctx)
		if err != nil {
			return res, fmt.Errorf("waiting for %s to come back after rebooting: %w", who, err)
		}
		if fresh == nil {
			return res, fmt.Errorf("waiting for %s to come back after rebooting: the reopener returned no card: %w", who, device.ErrInvalidArgument)
		}
		defer fresh.Close()
		readSession, err = Open(ctx, fresh)
		if err != nil {
			return res, fmt.Errorf("reopening %s after rebooting: %w", who, err)
		}
	}
	after, err := readSession.ReadInfo(ctx)
	if err != nil {
		return res, fmt.Errorf("reading back %s after the change: %w", who, err)
	}
	res.After = after
	if after.Serial != before.Serial {
		return res, fmt.Errorf("reading back after the change: %w", &device.KeyNotFoundError{Serial: before.Serial, Present: []uint32{after.Serial}})
	}
	// Verify the applications. Bits without an application (0x0004,
	// 0x0400) were sent back as read, but the firmware owns them: a key may
	// normalise them (the simulator drops unsupported bits, as real keys are
	// expected to), and that is not a failed change.
	apps := allApplications()
	if after.USBEnabled&apps != usb&apps {
		return res, fmt.Errorf("verifying %s: %w", who, &NotAppliedError{Transport: "USB", Want: usb, Got: after.USBEnabled})
	}
	if after.NFCEnabled&apps != nfc&apps {
		return res, fmt.Errorf("verifying %s: %w", who, &NotAppliedError{Transport: "NFC", Want: nfc, Got: after.NFCEnabled})
	}
	return res, nil
}

// allApplications is every named application bit.
func allApplications() device.Capability {
	var all device.Capability
	for _, a := range device.Applications {
		all |= a
	}
	return all
}

func (r Request) validate() error {
	all := allApplications()
	for _, x := range []struct {
		name string
		c    device.Capability
	}{{"USB disable", r.USBDisable}, {"USB enable", r.USBEnable}, {"NFC disable", r.NFCDisable}, {"NFC enable", r.NFCEnable}} {
		if bad := x.c &^ all; bad != 0 {
			return fmt.Errorf("%s: 0x%04x is not an application (use device.CapOTP, device.CapPIV, ...): %w", x.name, uint16(bad), device.ErrInvalidArgument)
		}
	}
	if both := r.USBDisable & r.USBEnable; both != 0 {
		return fmt.Errorf("%s is both enabled and disabled over USB: %w", both, device.ErrInvalidArgument)
	}
	if both := r.NFCDisable & r.NFCEnable; both != 0 {
		return fmt.Errorf("%s is both enabled and disabled over NFC: %w", both, device.ErrInvalidArgument)
	}
	if r.LockCode != nil && len(r.LockCode) != LockCodeLen {
		return fmt.Errorf("a lock code must be %d bytes (32 hex digits): %w", LockCodeLen, device.ErrInvalidArgument)
	}
	return nil
}

// describe lists, per requested application, whether it changes.
func describe(transport string, enabled, disable, enable device.Capability) (changed, unchanged []string) {
	for _, a := range device.Applications {
		switch {
		case disable&a != 0 && enabled&a != 0:
			changed = append(changed, transport+": "+a.Name()+" disabled")
		case disable&a != 0:
			unchanged = append(unchanged, transport+": "+a.Name()+" already disabled")
		case enable&a != 0 && enabled&a == 0:
			changed = append(changed, transport+": "+a.Name()+" enabled")
		case enable&a != 0:
			unchanged = append(unchanged, transport+": "+a.Name()+" already enabled")
		}
	}
	return changed, unchanged
}

// changeLegacy applies a USB change to a YubiKey 4 with SET MODE (§1.10).
func changeLegacy(ctx context.Context, s *Session, req Request, res Result, who string) (Result, error) {
	if req.NFCDisable|req.NFCEnable != 0 {
		return res, fmt.Errorf("%s cannot change NFC applications (firmware %s predates WRITE CONFIG): %w", who, s.version, device.ErrUnsupported)
	}
	if req.USBDisable|req.USBEnable == 0 {
		return res, nil
	}
	sup := res.Before.USBSupported
	// Interface-level only: an interface goes off when every application on
	// it that the key supports is disabled, and disabling part of one is
	// impossible on this firmware.
	off := device.USBInterface(0)
	for _, iface := range []device.USBInterface{device.IfaceOTP, device.IfaceFIDO, device.IfaceCCID} {
		apps := appsOn(iface) & sup
		d := req.USBDisable & apps
		switch {
		case d == 0:
		case d == apps:
			off |= iface
		default:
			return res, fmt.Errorf("%s (firmware %s) can only turn whole USB interfaces on or off; disable all of [%s] or none: %w", who, s.version, apps, device.ErrUnsupported)
		}
	}
	on := req.USBEnable.Interfaces()
	ifaces := sup.Interfaces()&^off | on
	if ifaces == 0 {
		return res, fmt.Errorf("refusing to disable every USB interface on %s: keep at least one enabled: %w", who, device.ErrInvalidArgument)
	}
	m := Mode{Interfaces: ifaces, ChalRespTimeout: res.Before.ChalRespTimeout, AutoEjectTimeout: res.Before.AutoEjectTimeout}
	if err := s.SetMode(ctx, m); err != nil {
		if errors.Is(err, device.ErrRemoved) {
			return res, fmt.Errorf("%s was removed while its USB mode was being set; it may or may not have been applied: %w", who, err)
		}
		return res, fmt.Errorf("changing the USB mode of %s: %w", who, err)
	}
	// The current mode cannot be read over CCID, so every requested
	// application is reported as changed, and the resulting mode is named.
	for _, a := range device.Applications {
		if req.USBDisable&a != 0 {
			res.Changed = append(res.Changed, "USB: "+a.Name()+" disabled")
		}
		if req.USBEnable&a != 0 {
			res.Changed = append(res.Changed, "USB: "+a.Name()+" enabled")
		}
	}
	res.Changed = append(res.Changed, "USB interfaces after re-insertion: "+interfaceNames(ifaces))
	res.ReplugRequired = true
	return res, nil
}

// appsOn is the applications carried by one USB interface.
func appsOn(i device.USBInterface) device.Capability {
	switch i {
	case device.IfaceOTP:
		return device.CapOTP
	case device.IfaceFIDO:
		return device.CapU2F | device.CapFIDO2
	case device.IfaceCCID:
		return device.CapOpenPGP | device.CapPIV | device.CapOATH | device.CapHSMAuth
	}
	return 0
}

// String describes the request without the lock code, so logging a Request
// (even with %+v or %#v) cannot leak it.
func (r Request) String() string {
	lock := "none"
	if len(r.LockCode) > 0 {
		lock = "given (redacted)"
	}
	return fmt.Sprintf("USB disable [%s] enable [%s], NFC disable [%s] enable [%s], lock code %s",
		r.USBDisable, r.USBEnable, r.NFCDisable, r.NFCEnable, lock)
}

// GoString is String, for %#v.
func (r Request) GoString() string { return "mgmt.Request{" + r.String() + "}" }
