package cli

import (
	"context"
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
	if !slices.Equal(f.calls, []string{"target", "piv", "replug", "fido"}) {
		t.Fatalf("calls %v: PIV, then the replug, then FIDO2 right after it", f.calls)
	}
	want := WipeConfirmation{Serial: 12345678, Model: "YubiKey 5C Nano"}
	if len(f.confirmed) != 2 || f.confirmed[0] != want || f.confirmed[1] != want {
		t.Fatalf("confirmations %+v, want %+v twice", f.confirmed, want)
	}
	for _, s := range []string{
		"YubiKey 5C Nano, serial 12345678 (firmware 5.4.3, Nano (USB-C))",
		"all passkeys", "FIDO2 PIN is set",
		"certificates in slots 9a, 9d", "changed: PIN, PUK, management key",
		"OATH", "Type the serial number 12345678",
		"unplug the key and plug it back in", "Touch the key now",
		"is erased (PIV and FIDO2 back to factory settings)",
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
	if code != 0 || !slices.Equal(f.calls, []string{"target", "piv", "replug", "fido"}) {
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
			[]string{"PIV: may be partly erased", "FIDO2: not erased", "run 'keywizard key wipe --serial 12345678' again"}},
		{"removed during FIDO2", func(f *fakeDevices) { f.fidoErr = removed }, ExitRemoved,
			[]string{"target", "piv", "replug", "fido"},
			[]string{"PIV: erased", "FIDO2: may be partly erased"}},
		{"FIDO2 reset too late after plugging in", func(f *fakeDevices) {
			f.fidoErr = fmt.Errorf("resetting FIDO on YubiKey 5C Nano 12345678: %w", ErrResetNotAllowed)
		}, ExitError,
			[]string{"target", "piv", "replug", "fido"},
			[]string{"PIV: erased", "FIDO2: not erased", "more than 5 seconds", "plug it straight back in"}},
		{"not touched", func(f *fakeDevices) { f.fidoErr = fmt.Errorf("resetting FIDO: %w", device.ErrTouchRequired) }, ExitError,
			[]string{"target", "piv", "replug", "fido"},
			[]string{"PIV: erased", "FIDO2: not erased", "not touched in time"}},
		{"never plugged back in", func(f *fakeDevices) { f.replugErr = context.DeadlineExceeded }, ExitError,
			[]string{"target", "piv", "replug"},
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
	// A YubiKey 4 has no FIDO2: PIV alone is erased, with no replug.
	k := wipeKey()
	k.Info.Version = device.Version{Major: 4, Minor: 3, Patch: 7}
	k.Info.USBSupported &^= device.CapFIDO2
	k.Info.USBEnabled &^= device.CapFIDO2
	k.Model = k.Info.Model()
	k.FIDO, k.FIDOMatch = nil, device.MatchNone
	f := &fakeDevices{keys: []device.Key{k}}
	out, stderr, code := run(t, f, "12345678\n", "key", "wipe", "--serial", "12345678")
	if code != 0 || !slices.Equal(f.calls, []string{"target", "piv"}) {
		t.Fatalf("exit %d, calls %v\n%s%s", code, f.calls, out, stderr)
	}
	if strings.Contains(out, "FIDO2:") || strings.Contains(out, "unplug") || !strings.Contains(out, "(PIV back to factory settings)") {
		t.Fatalf("output:\n%s", out)
	}
}
