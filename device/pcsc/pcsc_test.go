package pcsc

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
)

func TestErrorIs(t *testing.T) {
	all := []error{ErrNoService, ErrInUse, ErrTimeout, ErrCancelled, device.ErrRemoved, device.ErrNotFound, device.ErrInvalidArgument}
	tests := []struct {
		code Code
		want []error
	}{
		{CodeNoService, []error{ErrNoService}},
		{CodeServiceStopped, []error{ErrNoService}},
		{CodeSharingViolation, []error{ErrInUse}},
		{CodeTimeout, []error{ErrTimeout}},
		{CodeCancelled, []error{ErrCancelled}},
		{CodeSystemCancelled, []error{ErrCancelled}},
		{CodeRemovedCard, []error{device.ErrRemoved}},
		{CodeResetCard, []error{device.ErrRemoved}},
		{CodeReaderUnavailable, []error{device.ErrRemoved}},
		{CodeNoSmartcard, []error{device.ErrRemoved}},
		{CodeUnpoweredCard, []error{device.ErrRemoved}},
		{CodeUnknownReader, []error{device.ErrNotFound}},
		{CodeInvalidParameter, []error{device.ErrInvalidArgument}},
		{CodeInvalidValue, []error{device.ErrInvalidArgument}},
		{CodeCommDataLost, nil},
		{CodeInternalError, nil},
		{Code(0x80100099), nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%08X", uint32(tc.code)), func(t *testing.T) {
			err := fmt.Errorf("doing something: %w", &Error{Code: tc.code})
			for _, target := range all {
				want := false
				for _, w := range tc.want {
					if w == target {
						want = true
					}
				}
				if got := errors.Is(err, target); got != want {
					t.Errorf("errors.Is(%v, %q) = %v, want %v", err, target, got, want)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Errorf("errors.As did not recover code %08X", uint32(tc.code))
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("0x%08X", uint32(tc.code))) {
				t.Errorf("message %q does not name the code", err)
			}
		})
	}
}

func TestNoServiceMessageSaysStartPCSCD(t *testing.T) {
	for _, err := range []error{&Error{Code: CodeNoService}, ErrNoService} {
		if !strings.Contains(err.Error(), "start pcscd") {
			t.Errorf("%q does not tell the user to start pcscd", err)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := check(0); err != nil {
		t.Errorf("check(0) = %v", err)
	}
	var pe *Error
	if err := check(0x80100069); !errors.As(err, &pe) || pe.Code != CodeRemovedCard {
		t.Errorf("check(0x80100069) = %v", err)
	}
}

func TestState(t *testing.T) {
	s := State(0x00030122)
	if s.Count() != 3 || s.Flags() != 0x0122 || !s.Present() {
		t.Errorf("State(%#x): Count %d Flags %#x Present %v", uint32(s), s.Count(), uint32(s.Flags()), s.Present())
	}
	if State(0x00050010).Present() {
		t.Error("empty reader reported present")
	}
	if ProtocolT1.String() != "T=1" || ProtocolT0.String() != "T=0" || Protocol(4).String() != "protocol 0x4" {
		t.Error("protocol names")
	}
}

func TestSplitMultiString(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"\x00", []string{}},
		{"\x00\x00", []string{}},
		{"Virtual PCD 00 00\x00\x00", []string{"Virtual PCD 00 00"}},
		{"Virtual PCD 00 00\x00Virtual PCD 00 01\x00\x00", []string{"Virtual PCD 00 00", "Virtual PCD 00 01"}},
		{"Yubico YubiKey OTP+FIDO+CCID 00 00\x00", []string{"Yubico YubiKey OTP+FIDO+CCID 00 00"}},
		{"no terminator", []string{}},
		{"a\x00b", []string{"a"}},
	}
	for _, tc := range tests {
		if got := splitMultiString([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitMultiString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSplitMultiString(f *testing.F) {
	f.Add([]byte("Virtual PCD 00 00\x00Virtual PCD 00 01\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := splitMultiString(b)
		total := 0
		for _, s := range got {
			if s == "" || strings.ContainsRune(s, 0) {
				t.Fatalf("bad element %q", s)
			}
			total += len(s) + 1
		}
		if total > len(b) {
			t.Fatalf("elements longer than input")
		}
		// Re-encoding the result is a prefix of the input.
		enc := strings.Join(got, "\x00")
		if len(got) > 0 && !strings.HasPrefix(string(b), enc+"\x00") {
			t.Fatalf("%q is not a prefix of %q", enc, b)
		}
	})
}

func TestTransmitError(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		err     error
		removed bool
		code    Code
	}{
		{"ok", 2, nil, false, 0},
		{"empty response", 0, nil, true, 0},
		{"one byte", 1, nil, true, 0},
		{"not transacted", 0, &Error{Code: CodeNotTransacted}, true, CodeNotTransacted},
		{"removed", 0, &Error{Code: CodeRemovedCard}, true, CodeRemovedCard},
		{"sharing", 0, &Error{Code: CodeSharingViolation}, false, CodeSharingViolation},
	}
	for _, tc := range tests {
		err := transmitError(tc.n, tc.err)
		if tc.name == "ok" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("%s: nil error", tc.name)
		}
		if errors.Is(err, device.ErrRemoved) != tc.removed {
			t.Errorf("%s: errors.Is(%v, ErrRemoved) = %v", tc.name, err, !tc.removed)
		}
		var pe *Error
		if tc.code != 0 && (!errors.As(err, &pe) || pe.Code != tc.code) {
			t.Errorf("%s: code not kept in %v", tc.name, err)
		}
	}
}
