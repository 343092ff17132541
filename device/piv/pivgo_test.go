//go:build cgo

package piv

import (
	"errors"
	"fmt"
	"testing"

	pivgo "github.com/go-piv/piv-go/v2/piv"

	"github.com/keywizard/keywizard/device"
)

// TestMapErr covers the piv-go error values that can be built outside
// piv-go; its unexported status and PC/SC errors are exercised through
// pcscd in vpcd_test.go (wrong PIN, blocked PIN, empty slot, removal).
func TestMapErr(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      error
		which   device.Credential
		is      []error
		retries int
	}{
		{"wrong PIN", fmt.Errorf("verify pin: %w", pivgo.AuthErr{Retries: 2}), device.PIVPIN, []error{device.ErrWrongPIN}, 2},
		{"blocked PUK", pivgo.AuthErr{Retries: 0}, device.PIVPUK, []error{device.ErrWrongPIN, device.ErrBlocked}, 0},
		{"not found", fmt.Errorf("command failed: %w", pivgo.ErrNotFound), "", []error{device.ErrNotFound, pivgo.ErrNotFound}, -1},
		{"AuthErr without a credential stays piv-go's", pivgo.AuthErr{Retries: 1}, "", nil, -1},
		{"untyped", errors.New("scard response too short: 0"), "", nil, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mapErr(tc.in, tc.which)
			for _, target := range tc.is {
				if !errors.Is(got, target) {
					t.Errorf("%v does not match %v", got, target)
				}
			}
			var pe *device.PINError
			if errors.As(got, &pe) != (tc.retries >= 0) {
				t.Fatalf("%v: PINError %v, want %v", got, pe, tc.retries >= 0)
			}
			if pe != nil && (pe.Retries != tc.retries || pe.Which != tc.which) {
				t.Errorf("PINError %+v", pe)
			}
			for _, sentinel := range []error{device.ErrRemoved, device.ErrAuthentication} {
				if errors.Is(got, sentinel) {
					t.Errorf("%v matches %v", got, sentinel)
				}
			}
		})
	}
	if mapErr(nil, device.PIVPIN) != nil {
		t.Error("mapErr(nil) != nil")
	}
	if _, ok := pcscCode(errors.New("x")); ok {
		t.Error("pcscCode found a code in a plain error")
	}
}

func TestSlotFor(t *testing.T) {
	for b, want := range map[byte]pivgo.Slot{0x9A: pivgo.SlotAuthentication, 0x9C: pivgo.SlotSignature, 0x9D: pivgo.SlotKeyManagement, 0x9E: pivgo.SlotCardAuthentication} {
		if got, ok := slotFor(b); !ok || got != want {
			t.Errorf("slotFor(%02x) = %v, %v", b, got, ok)
		}
	}
	if s, ok := slotFor(0x82); !ok || s.Key != 0x82 {
		t.Errorf("retired slot 82: %v %v", s, ok)
	}
	for _, b := range []byte{0x00, 0x9B, 0xF9, 0x96} {
		if _, ok := slotFor(b); ok {
			t.Errorf("slotFor(%02x) accepted", b)
		}
	}
}
