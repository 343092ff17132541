package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// wipeKey is a 5C Nano with a FIDO2 PIN and changed PIV secrets, as a found
// key of a former colleague would be.
func wipeKey() device.Key {
	k := nano()
	no := false
	k.PIV = &device.PIVState{PINRetries: 3, PUKRetries: 3, DefaultPIN: &no, DefaultPUK: &no, DefaultMgmtKey: &no}
	return k
}

func wipeFake() *fakeDevices {
	return &fakeDevices{keys: []device.Key{wipeKey()}, certs: []byte{0x9A, 0x9D}}
}

func TestWipeConfirmedByTyping(t *testing.T) {
	f := wipeFake()
	f.touch = true
	out, stderr, code := run(t, f, "12345678\n", "key", "wipe", "--serial", "12345678")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if !slices.Equal(f.calls, allCalls) {
		t.Fatalf("calls %v: PIV, OATH, OpenPGP, YubiHSM Auth, OTP, then the replug, FIDO2 right after it, and the read-back", f.calls)
	}
	want := WipeConfirmation{Serial: 12345678, Model: "YubiKey 5C Nano"}
	if len(f.confirmed) != 6 {
		t.Fatalf("confirmations %+v, want %+v for each of the 6 erasing calls", f.confirmed, want)
	}
	for _, c := range f.confirmed {
		if c != want {
			t.Fatalf("confirmations %+v, want %+v for each", f.confirmed, want)
		}
	}
	for _, s := range []string{
		"YubiKey 5C Nano, serial 12345678 (firmware 5.4.3, Nano (USB-C))",
		"all passkeys", "FIDO2 PIN is set",
		"certificates in slots 9a, 9d", "changed: PIN, PUK, management key",
		"OATH: every TOTP/HOTP account and its password (now: something of OATH)",
		"OpenPGP: keys, certificates, PINs and retry counters (now: something of OpenPGP)",
		"YubiHSM Auth: every credential (now: something of YubiHSM Auth)",
		"OTP: both slots, Yubico's factory credential in slot 1 too (now: something of OTP)",
		"Type the serial number 12345678",
		"OATH erased (empty).", "OTP erased (empty).",
		"unplug the key and plug it back in", "Touch the key now",
		"Read back at 17:30:00 UTC:\n  PIV: no certificates; PIN tries 3, PUK tries 3; default PIN, PUK and management key\n  OATH: nothing\n",
		"  FIDO2: no FIDO2 PIN set\n",
		"is erased (PIV, OATH, OpenPGP, YubiHSM Auth, OTP and FIDO2 back to factory settings)",
		"mark serial 12345678 retired",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if !f.closed {
		t.Error("devices not closed")
	}
}

// allCalls is a whole wipe of a YubiKey 5 with everything enabled.
var allCalls = []string{"target", "piv", "OATH", "OpenPGP", "YubiHSM Auth", "OTP", "replug", "fido", "readback"}

func TestWipeNotConfirmedChangesNothing(t *testing.T) {
	for _, stdin := range []string{"", "\n", "1234567\n", "123456789\n", "yes\n", "wrong-answer-42\n"} {
		f := wipeFake()
		out, stderr, code := run(t, f, stdin, "key", "wipe", "--serial", "12345678")
		if code != ExitError {
			t.Errorf("typed %q: exit %d, want %d", stdin, code, ExitError)
		}
		if !slices.Equal(f.calls, []string{"target"}) {
			t.Errorf("typed %q: calls %v; only the key may be read", stdin, f.calls)
		}
		if !strings.Contains(stderr, "not confirmed") || !strings.Contains(stderr, "nothing was changed") {
			t.Errorf("typed %q: stderr %q", stdin, stderr)
		}
		if strings.Contains(stderr+out, "wrong-answer-42") {
			t.Errorf("what was typed is echoed back: %q", stderr)
		}
	}
}

func TestWipeConfirmSerialFlag(t *testing.T) {
	f := wipeFake()
	out, stderr, code := run(t, f, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678")
	if code != 0 || !slices.Equal(f.calls, allCalls) {
		t.Fatalf("exit %d, calls %v\n%s%s", code, f.calls, out, stderr)
	}
	if strings.Contains(out, "Type the serial") || !strings.Contains(out, "serial 12345678") {
		t.Fatalf("--confirm-serial must replace the question, not the description:\n%s", out)
	}

	f = wipeFake()
	_, stderr, code = run(t, f, "12345678\n", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345679")
	if code != ExitError || f.opened || !strings.Contains(stderr, "not confirmed") || !strings.Contains(stderr, "nothing was changed") {
		t.Fatalf("mismatch: exit %d, devices opened %v, stderr %q", code, f.opened, stderr)
	}
}

func TestWipeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"key", "wipe"},
		{"key", "wipe", "--confirm-serial", "12345678"},
		{"key", "wipe", "--serial", "0"},
		{"key", "wipe", "--serial", "abc"},
		{"key", "wipe", "--serial", "12345678", "--confirm-serial", "x"},
		{"key", "wipe", "--serial", "12345678", "--yes"},
		{"key"},
	} {
		f := wipeFake()
		_, stderr, code := run(t, f, "12345678\n", args...)
		if code != ExitUsage || f.opened {
			t.Errorf("%v: exit %d, devices opened %v (stderr %q)", args, code, f.opened, stderr)
		}
	}
	_, stderr, _ := run(t, wipeFake(), "", "key", "wipe", "--serial", "12345678", "--yes")
	if !strings.Contains(stderr, "--confirm-serial 12345678") {
		t.Errorf("--yes alone must say what is needed instead: %q", stderr)
	}
}

func TestWipeRefusedBeforeErasing(t *testing.T) {
	ambiguousFIDO := wipeKey()
	ambiguousFIDO.FIDO, ambiguousFIDO.FIDOMatch = nil, device.MatchAmbiguous
	fidoOff := wipeKey()
	fidoOff.Info.USBEnabled &^= device.CapFIDO2
	fidoOff.FIDO, fidoOff.FIDOMatch = nil, device.MatchNone
	fidoUnseen := wipeKey()
	fidoUnseen.FIDO, fidoUnseen.FIDOMatch = nil, device.MatchNone
	for _, tc := range []struct {
		name   string
		f      *fakeDevices
		serial string
		code   int
		says   string
	}{
		{"not found", wipeFake(), "99", ExitNotFound, "no key with serial 99"},
		{"two keys with that serial", &fakeDevices{err: &device.AmbiguousError{Serials: []uint32{12345678, 12345678}}}, "12345678", ExitAmbiguous, "keywizard keys"},
		{"FIDO2 side could be another key's", &fakeDevices{keys: []device.Key{ambiguousFIDO}}, "12345678", ExitAmbiguous, "told apart"},
		{"FIDO2 disabled over USB", &fakeDevices{keys: []device.Key{fidoOff}}, "12345678", ExitUnsupported, "--enable FIDO2"},
		{"FIDO2 interface not found", &fakeDevices{keys: []device.Key{fidoUnseen}}, "12345678", ExitNotFound, "FIDO2 interface was not found"},
		{"removed while being read", &fakeDevices{err: fmt.Errorf("reading device info: %w", device.ErrRemoved)}, "12345678", ExitRemoved, "removed"},
	} {
		_, stderr, code := run(t, tc.f, "12345678\n", "key", "wipe", "--serial", tc.serial)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tc.name, code, tc.code, stderr)
		}
		if !slices.Equal(tc.f.calls, []string{"target"}) {
			t.Errorf("%s: calls %v; nothing may be erased", tc.name, tc.f.calls)
		}
		if !strings.Contains(stderr, tc.says) || !strings.Contains(stderr, "Nothing was changed") {
			t.Errorf("%s: stderr %q", tc.name, stderr)
		}
	}
}

func TestWipeStoppedPartWay(t *testing.T) {
	removed := fmt.Errorf("resetting: %w", device.ErrRemoved)
	for _, tc := range []struct {
		name  string
		set   func(*fakeDevices)
		code  int
		calls []string
		says  []string
	}{
		{"removed during PIV", func(f *fakeDevices) { f.pivErr = removed }, ExitRemoved,
			[]string{"target", "piv"},
			[]string{"PIV: may be partly erased", "OATH: not erased", "OTP: not erased", "FIDO2: not erased", "run 'keywizard key wipe --serial 12345678' again"}},
		{"removed during FIDO2", func(f *fakeDevices) { f.fidoErr = removed }, ExitRemoved,
			allCalls[:8],
			[]string{"PIV: erased", "OATH: erased", "OpenPGP: erased", "YubiHSM Auth: erased", "OTP: erased", "FIDO2: may be partly erased"}},
		{"removed during OpenPGP", func(f *fakeDevices) { f.appErr = map[string]error{AppOpenPGP: removed} }, ExitRemoved,
			allCalls[:4],
			[]string{"PIV: erased", "OATH: erased", "OpenPGP: may be partly erased (the key was removed while OpenPGP was being erased; its PINs may be blocked until the wipe is finished)",
				"YubiHSM Auth: not erased", "OTP: not erased", "FIDO2: not erased"}},
		{"OTP slot with an access code", func(f *fakeDevices) {
			f.appErr = map[string]error{AppOTP: fmt.Errorf("slot 2: %w", device.ErrLocked)}
		}, ExitLocked,
			allCalls[:8],
			[]string{"PIV: erased", "OpenPGP: erased", "OTP: not erased (a slot is protected by an access code", "ykman otp --access-code CODE delete SLOT", "FIDO2: erased"}},
		{"OATH still holds accounts after its reset", func(f *fakeDevices) { f.appLeft = map[string]string{AppOATH: "1 account"} }, ExitError,
			allCalls[:8],
			[]string{"OATH: not erased (read back after the reset: 1 account)", "OTP: erased", "FIDO2: erased"}},
		{"the read-back finds a FIDO2 PIN", func(f *fakeDevices) {
			yes := true
			f.readBack = &WipeReadBack{PIV: &device.PIVState{PINRetries: 3, PUKRetries: 3, DefaultPIN: &yes, DefaultPUK: &yes, DefaultMgmtKey: &yes},
				FIDO: &device.FIDOState{PINSet: true}, Apps: []AppContents{{App: AppOATH, Factory: true}, {App: AppOpenPGP, Factory: true}, {App: AppHSMAuth, Factory: true}, {App: AppOTP, Factory: true}}}
		}, ExitError,
			allCalls,
			[]string{"PIV: erased", "FIDO2: not erased (read back: a FIDO2 PIN is set)"}},
		{"enabling the disabled applications refused by a lock code", func(f *fakeDevices) {
			f.keys[0].Info.USBEnabled &^= device.CapOTP | device.CapOATH
			f.enableErr = fmt.Errorf("writing config: %w", device.ErrLocked)
		}, ExitLocked,
			[]string{"target", "enable"},
			[]string{"PIV: not erased (the key's configuration is locked with a lock code", "OTP: not erased", "FIDO2: not erased"}},
		{"FIDO2 reset too late after plugging in", func(f *fakeDevices) {
			f.fidoErr = fmt.Errorf("resetting FIDO on YubiKey 5C Nano 12345678: %w", ErrResetNotAllowed)
		}, ExitError,
			allCalls[:8],
			[]string{"PIV: erased", "FIDO2: not erased", "more than 5 seconds", "plug it straight back in"}},
		{"not touched", func(f *fakeDevices) { f.fidoErr = fmt.Errorf("resetting FIDO: %w", device.ErrTouchRequired) }, ExitError,
			allCalls[:8],
			[]string{"PIV: erased", "FIDO2: not erased", "not touched in time"}},
		{"never plugged back in", func(f *fakeDevices) { f.replugErr = context.DeadlineExceeded }, ExitError,
			allCalls[:7],
			[]string{"PIV: erased", "FIDO2: not erased", "not plugged back in within 2m0s"}},
		{"key swapped before PIV", func(f *fakeDevices) {
			f.pivErr = fmt.Errorf("the key in the reader is another one; nothing was erased: %w", device.ErrInvalidArgument)
		}, ExitError,
			[]string{"target", "piv"},
			[]string{"PIV: not erased", "FIDO2: not erased"}},
	} {
		f := wipeFake()
		tc.set(f)
		out, stderr, code := run(t, f, "12345678\n", "key", "wipe", "--serial", "12345678")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d", tc.name, code, tc.code)
		}
		if !slices.Equal(f.calls, tc.calls) {
			t.Errorf("%s: calls %v, want %v", tc.name, f.calls, tc.calls)
		}
		for _, s := range tc.says {
			if !strings.Contains(stderr, s) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, s, stderr)
			}
		}
		if strings.Contains(out, "is erased") {
			t.Errorf("%s: success claimed:\n%s", tc.name, out)
		}
	}
}

func TestWipeKeyWithoutFIDO2(t *testing.T) {
	// A YubiKey 4 has no FIDO2 and no YubiHSM Auth: the rest is erased,
	// with no replug.
	k := wipeKey()
	k.Info.Version = device.Version{Major: 4, Minor: 3, Patch: 7}
	k.Info.USBSupported &^= device.CapFIDO2 | device.CapHSMAuth
	k.Info.USBEnabled &^= device.CapFIDO2 | device.CapHSMAuth
	k.Model = k.Info.Model()
	k.FIDO, k.FIDOMatch = nil, device.MatchNone
	f := &fakeDevices{keys: []device.Key{k}}
	out, stderr, code := run(t, f, "12345678\n", "key", "wipe", "--serial", "12345678")
	if code != 0 || !slices.Equal(f.calls, []string{"target", "piv", "OATH", "OpenPGP", "OTP", "readback"}) {
		t.Fatalf("exit %d, calls %v\n%s%s", code, f.calls, out, stderr)
	}
	if strings.Contains(out, "FIDO2:") || strings.Contains(out, "unplug") || !strings.Contains(out, "(PIV, OATH, OpenPGP and OTP back to factory settings)") ||
		!strings.Contains(out, "YubiHSM Auth: not on this key") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestWipeEnablesDisabledApplicationsFirst(t *testing.T) {
	// keywizard disables OTP on every key it sets up; the wipe turns it
	// (and any other disabled one) back on to erase it.
	f := wipeFake()
	f.keys[0].Info.USBEnabled &^= device.CapOTP | device.CapOpenPGP
	out, stderr, code := run(t, f, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678")
	if code != 0 || !slices.Equal(f.calls, append([]string{"target", "enable"}, allCalls[1:]...)) {
		t.Fatalf("exit %d, calls %v\n%s%s", code, f.calls, out, stderr)
	}
	if f.enabled != device.CapOTP|device.CapOpenPGP {
		t.Fatalf("enabled %v, want OTP and OpenPGP", f.enabled)
	}
	for _, s := range []string{"OpenPGP: keys, certificates, PINs and retry counters (disabled over USB: it is enabled first)",
		"Enabling OpenPGP and OTP over USB"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// fakeRecorder is the tracker as key wipe --tracker sees it.
type fakeRecorder struct {
	got []WipeRecord
	err error
}

func (r *fakeRecorder) RecordWipe(ctx context.Context, w WipeRecord) (WipeRecorded, error) {
	r.got = append(r.got, w)
	if r.err != nil {
		return WipeRecorded{}, r.err
	}
	return WipeRecorded{Owner: "Alice Example", Status: "retired"}, nil
}

func (r *fakeRecorder) Destination() string { return "https://tracker.example" }

func TestWipeRecordedInTracker(t *testing.T) {
	rec := &fakeRecorder{}
	var url string
	withTracker := func(env *Env) {
		env.OpenWipeRecorder = func(ctx context.Context, u string) (WipeRecorder, error) { url = u; return rec, nil }
	}
	f := wipeFake()
	out, stderr, code := runWith(t, f, withTracker, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678", "--tracker", "https://tracker.example")
	if code != 0 || url != "https://tracker.example" {
		t.Fatalf("exit %d, tracker %q\n%s%s", code, url, out, stderr)
	}
	want := WipeRecord{Serial: 12345678, Erased: []string{"PIV", "OATH", "OpenPGP", "YubiHSM Auth", "OTP", "FIDO2"}}
	if len(rec.got) != 1 || rec.got[0].Serial != want.Serial || !slices.Equal(rec.got[0].Erased, want.Erased) {
		t.Fatalf("recorded %+v, want %+v", rec.got, want)
	}
	if !strings.Contains(out, `Recorded in the tracker at https://tracker.example: serial 12345678 (former owner Alice Example) is retired, reason "wiped"`) ||
		strings.Contains(out, "mark serial 12345678 retired on its former owner's page") {
		t.Fatalf("output:\n%s", out)
	}

	// --record: the tracker this computer signed in to (the recorder
	// is opened without a URL and finds the saved one).
	rec.got, url = nil, "unset"
	f = wipeFake()
	out, stderr, code = runWith(t, f, withTracker, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678", "--record")
	if code != 0 || url != "" || len(rec.got) != 1 || !strings.Contains(out, "Recorded in the tracker at https://tracker.example") {
		t.Fatalf("--record: exit %d, tracker %q, recorded %+v\n%s%s", code, url, rec.got, out, stderr)
	}

	// A wipe cut short is not recorded.
	rec.got = nil
	f = wipeFake()
	f.fidoErr = fmt.Errorf("resetting: %w", device.ErrRemoved)
	_, _, code = runWith(t, f, withTracker, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678", "--tracker", "https://tracker.example")
	if code != ExitRemoved || len(rec.got) != 0 {
		t.Fatalf("cut short: exit %d, recorded %+v", code, rec.got)
	}

	// The tracker not answering: the key is erased, and the person is
	// told how to record it instead.
	rec.err = errors.New("connection refused")
	f = wipeFake()
	_, stderr, code = runWith(t, f, withTracker, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678", "--tracker", "https://tracker.example")
	if code != ExitError || !strings.Contains(stderr, "key 12345678 is erased, but the tracker at https://tracker.example did not record the wipe") ||
		!strings.Contains(stderr, "--reason wiped") {
		t.Fatalf("tracker down: exit %d\n%s", code, stderr)
	}

	// No token: refused before anything is read or erased.
	f = wipeFake()
	noToken := func(env *Env) {
		env.OpenWipeRecorder = func(context.Context, string) (WipeRecorder, error) {
			return nil, errors.New("no token in the keychain")
		}
	}
	_, stderr, code = runWith(t, f, noToken, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678", "--tracker", "https://tracker.example")
	if code != ExitError || f.opened || !strings.Contains(stderr, "Nothing was changed") {
		t.Fatalf("no token: exit %d, devices opened %v\n%s", code, f.opened, stderr)
	}
	// A build without a recorder says so, before anything.
	f = wipeFake()
	_, stderr, code = run(t, f, "", "key", "wipe", "--serial", "12345678", "--confirm-serial", "12345678", "--tracker", "https://tracker.example")
	if code != ExitUnsupported || f.opened || !strings.Contains(stderr, "nothing was changed") {
		t.Fatalf("no recorder: exit %d, devices opened %v\n%s", code, f.opened, stderr)
	}
}
