package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
)

type fakeDevices struct {
	keys   []device.Key
	err    error
	gotReq *OTPRequest
	closed bool

	// key wipe
	certs                      []byte
	pivErr, replugErr, fidoErr error
	touch                      bool     // ResetFIDO waits for a touch
	calls                      []string // wipe methods called, in order
	confirmed                  []WipeConfirmation
	opened                     bool
	appErr                     map[string]error  // ResetApp fails for these
	appLeft                    map[string]string // ResetApp reads these back not at factory settings
	enableErr                  error
	enabled                    device.Capability // what EnableForWipe was asked to enable
	readBack                   *WipeReadBack     // nil: every application at factory settings
}

func (f *fakeDevices) Keys(ctx context.Context, withPIV bool) ([]device.Key, error) {
	return f.keys, f.err
}

func (f *fakeDevices) DisableOTP(ctx context.Context, req OTPRequest) (OTPResult, error) {
	f.gotReq = &req
	if f.err != nil {
		return OTPResult{}, f.err
	}
	k := f.keys[0]
	k.Info.USBEnabled &^= device.CapOTP
	return OTPResult{Key: k, Changed: []string{"USB: OTP disabled"}}, nil
}

func (f *fakeDevices) WipeTarget(ctx context.Context, serial uint32) (WipeTarget, error) {
	f.calls = append(f.calls, "target")
	if f.err != nil {
		return WipeTarget{}, f.err
	}
	for _, k := range f.keys {
		if k.Serial == serial {
			t := WipeTarget{Key: k, PIVCertificates: f.certs}
			for _, a := range otherApps {
				if k.Info.USBEnabled&a.cap != 0 {
					t.Apps = append(t.Apps, AppContents{App: a.name, Summary: "something of " + a.name})
				}
			}
			return t, nil
		}
	}
	return WipeTarget{}, &device.KeyNotFoundError{Serial: serial}
}

func (f *fakeDevices) ResetPIV(ctx context.Context, c WipeConfirmation) error {
	f.calls = append(f.calls, "piv")
	f.confirmed = append(f.confirmed, c)
	return f.pivErr
}

func (f *fakeDevices) WaitReplug(ctx context.Context, serial uint32, ready func()) error {
	f.calls = append(f.calls, "replug")
	ready()
	return f.replugErr
}

func (f *fakeDevices) ResetFIDO(ctx context.Context, c WipeConfirmation, onTouch func(bool)) error {
	f.calls = append(f.calls, "fido")
	f.confirmed = append(f.confirmed, c)
	if f.touch {
		onTouch(true)
		onTouch(false)
	}
	return f.fidoErr
}

func (f *fakeDevices) EnableForWipe(ctx context.Context, c WipeConfirmation, caps device.Capability) error {
	f.calls = append(f.calls, "enable")
	f.confirmed = append(f.confirmed, c)
	f.enabled = caps
	return f.enableErr
}

func (f *fakeDevices) ResetApp(ctx context.Context, c WipeConfirmation, app string) (AppContents, error) {
	f.calls = append(f.calls, app)
	f.confirmed = append(f.confirmed, c)
	if err := f.appErr[app]; err != nil {
		return AppContents{}, err
	}
	if left, ok := f.appLeft[app]; ok {
		return AppContents{App: app, Summary: left}, nil
	}
	return AppContents{App: app, Factory: true, Summary: "empty"}, nil
}

func (f *fakeDevices) ReadBack(ctx context.Context, serial uint32) (WipeReadBack, error) {
	f.calls = append(f.calls, "readback")
	if f.readBack != nil {
		return *f.readBack, nil
	}
	yes := true
	rb := WipeReadBack{At: time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC),
		PIV:  &device.PIVState{PINRetries: 3, PUKRetries: 3, DefaultPIN: &yes, DefaultPUK: &yes, DefaultMgmtKey: &yes},
		FIDO: &device.FIDOState{}}
	for _, a := range otherApps {
		rb.Apps = append(rb.Apps, AppContents{App: a.name, Factory: true, Summary: "nothing"})
	}
	return rb, nil
}

func (f *fakeDevices) Close() error { f.closed = true; return nil }

func nano() device.Key {
	info := device.Info{Serial: 12345678, Version: device.Version{Major: 5, Minor: 4, Patch: 3},
		FormFactor: device.FormUSBCNano, USBSupported: 0x033F, USBEnabled: 0x033F}
	return device.Key{Serial: 12345678, Model: info.Model(), Info: info, Reader: "Virtual PCD 00 00",
		FIDO: &device.FIDOState{PINSet: true, PINRetries: 8}, FIDOMatch: device.MatchUnique}
}

func run(t *testing.T, f *fakeDevices, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runWith(t, f, nil, stdin, args...)
}

// runWith is run with the Env changed by set first.
func runWith(t *testing.T, f *fakeDevices, set func(*Env), stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Out: &out, Err: &errb, In: strings.NewReader(stdin),
		OpenDevices: func(context.Context) (Devices, error) { f.opened = true; return f, nil },
		RunSim:      func(context.Context, SimOptions) error { return nil }}
	if set != nil {
		set(&env)
	}
	root := NewRoot(env, "test", func(bool) error { return errors.New("no gui in tests") })
	code := Execute(context.Background(), root, args)
	return out.String(), errb.String(), code
}

func TestKeysJSON(t *testing.T) {
	f := &fakeDevices{keys: []device.Key{nano()}}
	out, _, code := run(t, f, "", "keys", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got) != 1 {
		t.Fatalf("got %d keys", len(got))
	}
	k := got[0]
	if k["serial"] != float64(12345678) || k["model"] != "YubiKey 5C Nano" || k["form_factor"] != "Nano (USB-C)" ||
		k["firmware"] != "5.4.3" || k["fido_pin_set"] != true || k["reader"] != "Virtual PCD 00 00" {
		t.Fatalf("fields wrong: %v", k)
	}
	usb, _ := k["usb_enabled"].([]any)
	if fmt.Sprint(usb) != "[OTP U2F FIDO2 OATH PIV OPENPGP HSMAUTH]" {
		t.Fatalf("usb_enabled = %v", usb)
	}
	if nfc, ok := k["nfc_enabled"].([]any); !ok || len(nfc) != 0 {
		t.Fatalf("nfc_enabled must be an empty array, got %#v", k["nfc_enabled"])
	}
	if !f.closed {
		t.Fatal("devices not closed")
	}
}

func TestKeysJSONUnknownFIDOIsNull(t *testing.T) {
	k := nano()
	k.FIDO, k.FIDOMatch = nil, device.MatchAmbiguous
	out, _, _ := run(t, &fakeDevices{keys: []device.Key{k}}, "", "keys", "--json")
	if !strings.Contains(out, `"fido_pin_set": null`) || !strings.Contains(out, `"fido_match": "ambiguous"`) {
		t.Fatalf("an untied FIDO interface must be reported as unknown, got\n%s", out)
	}
}

func TestKeysTableAndEmpty(t *testing.T) {
	out, _, code := run(t, &fakeDevices{keys: []device.Key{nano()}}, "", "keys")
	if code != 0 || !strings.Contains(out, "12345678") || !strings.Contains(out, "set (8 tries left)") {
		t.Fatalf("table: exit %d\n%s", code, out)
	}
	out, _, code = run(t, &fakeDevices{}, "", "keys")
	if code != 0 || !strings.Contains(out, "No YubiKey found") {
		t.Fatalf("empty: exit %d %q", code, out)
	}
	out, _, _ = run(t, &fakeDevices{}, "", "keys", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty JSON must be [], got %q", out)
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{&device.AmbiguousError{Serials: []uint32{1, 2}}, ExitAmbiguous},
		{&device.KeyNotFoundError{Serial: 9}, ExitNotFound},
		{fmt.Errorf("writing config: %w", device.ErrLocked), ExitLocked},
		{fmt.Errorf("reading back: %w", device.ErrRemoved), ExitRemoved},
		{device.ErrUnsupported, ExitUnsupported},
		{errors.New("boom"), ExitError},
	}
	for _, tc := range tests {
		_, stderr, code := run(t, &fakeDevices{keys: []device.Key{nano()}, err: tc.err}, "", "otp", "disable")
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, code, tc.code)
		}
		if !strings.HasPrefix(stderr, "keywizard: error: ") {
			t.Errorf("%v: stderr %q", tc.err, stderr)
		}
	}
}

func TestOTPDisable(t *testing.T) {
	f := &fakeDevices{keys: []device.Key{nano()}}
	out, _, code := run(t, f, "", "otp", "disable", "--serial", "12345678", "--nfc")
	if code != 0 || f.gotReq == nil || f.gotReq.Serial != 12345678 || !f.gotReq.NFC {
		t.Fatalf("exit %d req %+v", code, f.gotReq)
	}
	if !strings.Contains(out, "USB: OTP disabled") || strings.Contains(out, "Now enabled over USB: OTP") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestOTPLockCodeFromStdin(t *testing.T) {
	f := &fakeDevices{keys: []device.Key{nano()}}
	_, _, code := run(t, f, "00112233445566778899aabbccddeeff\n", "otp", "disable", "--lock-code-stdin")
	if code != 0 || len(f.gotReq.LockCode) != 16 || f.gotReq.LockCode[15] != 0xff {
		t.Fatalf("exit %d req %+v", code, f.gotReq)
	}
	f = &fakeDevices{keys: []device.Key{nano()}}
	_, stderr, code := run(t, f, "secretbutnothex\n", "otp", "disable", "--lock-code-stdin")
	if code != ExitUsage || f.gotReq != nil || strings.Contains(stderr, "secret") {
		t.Fatalf("bad lock code: exit %d, sent %v, stderr %q", code, f.gotReq, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"otp", "disable", "--serial", "abc"},
		{"otp", "disable", "--bogus"},
		{"keys", "extra"},
		{"nonsense"},
		{"sim", "--slot", "0"},
		{"sim", "--serial", "5", "--slot", "2"},
	} {
		f := &fakeDevices{keys: []device.Key{nano()}}
		_, stderr, code := run(t, f, "", args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, ExitUsage, stderr)
		}
		if f.gotReq != nil {
			t.Errorf("%v: a usage error reached the key", args)
		}
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"keys", "--help"}, {"otp", "--help"}, {"otp", "disable", "--help"}, {"sim", "--help"},
		{"key", "--help"}, {"key", "wipe", "--help"}} {
		out, _, code := run(t, &fakeDevices{}, "", args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
}

func TestKeysPartialFailure(t *testing.T) {
	f := &fakeDevices{keys: []device.Key{nano()}, err: errors.New(`reader "Virtual PCD 00 01": the key is in use by another program`)}
	out, stderr, code := run(t, f, "", "keys", "--json")
	var got []KeyJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("the readable key must still be listed as JSON: %v\n%s", err, out)
	}
	if code != ExitError || !strings.Contains(stderr, "in use by another program") {
		t.Fatalf("exit %d, stderr %q: the unreadable reader must be reported", code, stderr)
	}
}

// TestSimOptions: keywizard sim's flags arrive in SimOptions, --hid
// included.
func TestSimOptions(t *testing.T) {
	var got SimOptions
	var out, errb bytes.Buffer
	env := Env{Out: &out, Err: &errb, In: strings.NewReader(""),
		RunSim: func(_ context.Context, o SimOptions) error { got = o; return nil }}
	root := NewRoot(env, "test", func(bool) error { return errors.New("no gui in tests") })
	code := Execute(context.Background(), root, []string{"sim", "--serial", "31000001", "--model", "5c-nfc", "--firmware", "5.7.2", "--slot", "1", "--hid", "/run/kw/fido", "--state", "/var/lib/kw/key.json", "--no-fido-ccid"})
	want := SimOptions{Serial: 31000001, Model: "5c-nfc", Firmware: "5.7.2", Slot: 1, HID: "/run/kw/fido", State: "/var/lib/kw/key.json", NoFIDOCCID: true}
	if code != 0 || got != want {
		t.Fatalf("exit %d, options %+v; want %+v (stderr %q)", code, got, want, errb.String())
	}
}
