package fido

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// TestMeaning is the CTAP status → keywizard error table (CTAP 2.1 §8.2),
// checked through interpret as callers see it: errors.Is on the meaning,
// errors.As on the typed errors and on the raw *CTAPError.
func TestMeaning(t *testing.T) {
	tests := []struct {
		code     byte
		retries  int
		is       []error // must match
		isNot    []error // must not match
		retryOut int     // PINError / PowerCycleError retries; -2 = not such an error
		message  string  // substring of the message
	}{
		{CTAPPINInvalid, 5, []error{device.ErrWrongPIN}, []error{device.ErrBlocked}, 5, "5 tries left"},
		{CTAPPINInvalid, 1, []error{device.ErrWrongPIN}, []error{device.ErrBlocked}, 1, "1 try left"},
		{CTAPPINInvalid, -1, []error{device.ErrWrongPIN}, []error{device.ErrBlocked}, -1, "wrong FIDO2 PIN"},
		{CTAPPINBlocked, 3, []error{device.ErrWrongPIN, device.ErrBlocked}, nil, 0, "blocked"},
		{CTAPPINAuthBlocked, 5, []error{device.ErrBlocked}, []error{device.ErrWrongPIN}, 5, "unplug it and plug it back in"},
		{CTAPPINNotSet, -1, []error{device.ErrPINNotSet}, []error{device.ErrWrongPIN}, -2, "no FIDO2 PIN"},
		{CTAPPUATRequired, -1, []error{device.ErrPINNotSet}, nil, -2, ""},
		{CTAPPINPolicyViolation, -1, []error{device.ErrPINPolicy}, nil, -2, "rules"},
		{CTAPUserActionTimeout, -1, []error{device.ErrTouchRequired}, nil, -2, "touch"},
		{CTAPActionTimeout, -1, []error{device.ErrTouchRequired}, nil, -2, "touch"},
		{CTAPUPRequired, -1, []error{device.ErrTouchRequired}, nil, -2, "touch"},
		{CTAPNoCredentials, -1, []error{device.ErrNotFound}, nil, -2, ""},
		{CTAPInvalidCommand, -1, []error{device.ErrUnsupported}, nil, -2, ""},
		{CTAPUnsupportedOption, -1, []error{device.ErrUnsupported}, nil, -2, ""},
		{CTAPKeepaliveCancel, -1, []error{context.Canceled}, nil, -2, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("0x%02x/%d", tt.code, tt.retries), func(t *testing.T) {
			raw := &CTAPError{Code: tt.code}
			err := fmt.Errorf("doing something: %w", interpret(raw, tt.retries))
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("%v does not match %v", err, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(err, target) {
					t.Errorf("%v matches %v", err, target)
				}
			}
			var ce *CTAPError
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Errorf("raw status lost from %v", err)
			}
			got := -2
			var pe *device.PINError
			var pc *PowerCycleError
			switch {
			case errors.As(err, &pe):
				got = pe.Retries
				if pe.Which != device.FIDO2PIN {
					t.Errorf("Which = %q", pe.Which)
				}
			case errors.As(err, &pc):
				got = pc.Retries
			}
			if got != tt.retryOut {
				t.Errorf("retries = %d, want %d", got, tt.retryOut)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("message %q lacks %q", err, tt.message)
			}
			if needsRetries(tt.code) != (tt.code == CTAPPINInvalid || tt.code == CTAPPINAuthBlocked) {
				t.Errorf("needsRetries(0x%02x) wrong", tt.code)
			}
		})
	}
}

// TestMeaningUnknown: codes without a meaning stay as they were (wrapped
// with context by the caller), and non-CTAP errors pass through.
func TestMeaningUnknown(t *testing.T) {
	for _, code := range []byte{CTAPInvalidParameter, CTAPInvalidLength, CTAPOperationDenied, CTAPPINAuthInvalid, CTAPNotAllowed, 0x7F} {
		raw := &CTAPError{Code: code}
		if got := interpret(raw, 3); got != raw {
			t.Errorf("interpret(0x%02x) = %v, want the raw error", code, got)
		}
	}
	removed := fmt.Errorf("hid: %w", device.ErrRemoved)
	if got := interpret(removed, -1); got != removed {
		t.Errorf("interpret(removed) = %v", got)
	}
	if interpret(nil, 0) != nil {
		t.Error("interpret(nil) != nil")
	}
}

func TestFirmwareString(t *testing.T) {
	for v, want := range map[int]string{0: "", -1: "", 0x050403: "5.4.3", 0x050702: "5.7.2", 0x0a0b0c: "10.11.12"} {
		if got := firmwareString(v); got != want {
			t.Errorf("firmwareString(%#x) = %q, want %q", v, got, want)
		}
	}
}

func TestPowerCycleErrorMessage(t *testing.T) {
	for retries, want := range map[int]string{-1: "try again", 1: "(1 try left", 4: "(4 tries left"} {
		if got := (&PowerCycleError{Retries: retries}).Error(); !strings.Contains(got, want) {
			t.Errorf("Retries %d: %q lacks %q", retries, got, want)
		}
	}
}

// FuzzParseAAGUID: ParseAAGUID accepts exactly the strings FormatAAGUID
// produces (in either letter case), and never panics.
func FuzzParseAAGUID(f *testing.F) {
	f.Add("ee882879-721c-4913-9775-3dfcce97072a")
	f.Add("EE882879-721C-4913-9775-3DFCCE97072A")
	f.Add("")
	f.Add("ee882879721c491397753dfcce97072a")
	f.Add("ee882879-721c-4913-9775-3dfcce97072g")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseAAGUID(s)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if got := FormatAAGUID(b); got != strings.ToLower(s) {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}
