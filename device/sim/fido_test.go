package sim

import (
	"context"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// One sim.Key is one physical key: its FIDO side has the AAGUID Yubico
// lists for the model and firmware, and follows plugging and reboots.
func TestFIDOSide(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		model string
		fw    device.Version
	}{
		{"5c-nano", fw571}, {"5c-nfc", fw571}, {"5ci", fw543}, {"5-nfc", device.Version{Major: 5, Minor: 2, Patch: 7}},
	} {
		k := newKey(t, Config{Serial: 31415926, Model: tt.model, Firmware: tt.fw})
		a := k.FIDO()
		if a == nil {
			t.Fatalf("%s: no FIDO side", tt.model)
		}
		info, err := a.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := fido.AAGUIDFor(k.Info().Model(), tt.fw)
		if !ok {
			t.Fatalf("no AAGUID listed for %s %s", k.Info().Model(), tt.fw)
		}
		wantB, _ := fido.ParseAAGUID(want)
		if info.AAGUID != wantB || a.Path() != "sim:31415926" {
			t.Errorf("%s %s: AAGUID %x path %s, want %s", tt.model, tt.fw, info.AAGUID, a.Path(), want)
		}
	}
	if newKey(t, Config{Serial: 4, Model: "4"}).FIDO() != nil {
		t.Error("a YubiKey 4 has no FIDO2 application")
	}
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	nano := newKey(t, Config{Serial: 1001, Model: "5c-nano"})
	nfc := newKey(t, Config{Serial: 1002, Model: "5c-nfc"})
	r := NewRegistry(nano, nfc)
	paths := func() []string {
		locs, err := r.Locations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var p []string
		for _, l := range locs {
			p = append(p, l.Path)
		}
		return p
	}
	if got := paths(); len(got) != 2 || got[0] != "sim:1001" || got[1] != "sim:1002" {
		t.Fatalf("Locations = %v", got)
	}
	locs, _ := r.Locations(ctx)
	if locs[0].VendorID != 0x1050 || locs[0].ProductID != 0x0407 || locs[0].Product != "YubiKey OTP+FIDO+CCID" {
		t.Errorf("factory location %+v", locs[0])
	}

	// Unplugging the key takes its FIDO side with it.
	nano.Unplug()
	if got := paths(); len(got) != 1 || got[0] != "sim:1002" {
		t.Fatalf("after unplug: %v", got)
	}
	if _, err := r.Open(ctx, "sim:1001"); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("Open(unplugged) = %v", err)
	}
	nano.Plug()
	if _, err := r.Open(ctx, "sim:1001"); err != nil {
		t.Fatal(err)
	}

	// Disabling OTP (reboot) changes the USB identity: 0406 FIDO+CCID.
	c := nano.Card()
	send(t, c, selMgmt)
	expect(t, c, "00 1C 00 00 07 06 0C 00 03 02 03 3E", "9000")
	locs, _ = r.Locations(ctx)
	if locs[0].ProductID != 0x0406 || locs[0].Product != "YubiKey FIDO+CCID" {
		t.Errorf("after disabling OTP: %+v", locs[0])
	}
	// Disabling FIDO2 and U2F over USB removes the FIDO interface.
	c = nano.Card()
	send(t, c, selMgmt)
	expect(t, c, "00 1C 00 00 07 06 0C 00 03 02 01 3C", "9000")
	if got := paths(); len(got) != 1 || got[0] != "sim:1002" {
		t.Fatalf("after disabling FIDO: %v", got)
	}
	c = nano.Card()
	send(t, c, selMgmt)
	expect(t, c, "00 1C 00 00 07 06 0C 00 03 02 03 3E", "9000")
	if got := paths(); len(got) != 2 {
		t.Fatalf("after re-enabling FIDO: %v", got)
	}

	// Removal mid-operation on the CCID side removes the whole key.
	nfc.RemoveAfter(0)
	if _, err := nfc.Card().Transmit(ctx, unhex(t, selMgmt)); !errors.Is(err, device.ErrRemoved) {
		t.Fatal(err)
	}
	if _, err := nfc.FIDO().Info(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("FIDO side of a removed key: %v", err)
	}

	var nf *device.KeyNotFoundError
	if _, err := r.Key(999); !errors.As(err, &nf) || len(nf.Present) != 2 {
		t.Fatalf("Key(999) = %v", err)
	}
	if k, err := r.Key(1002); err != nil || k != nfc {
		t.Fatalf("Key(1002) = %v, %v", k, err)
	}
	r.Remove(1002)
	if len(r.Keys()) != 1 {
		t.Fatal("Remove did not forget the key")
	}
}

// A key whose management application reports PIN complexity (tag 0x16:
// the Enhanced PIN preset, firmware 5.7.4) enforces it on its FIDO side
// too: an easy PIN is refused with PIN_POLICY_VIOLATION. The same model
// without complexity takes it.
func TestFIDOSidePINComplexity(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, Config{Serial: 27182818, Model: "5c-nfc-epin"})
	if !k.Info().PINComplexity {
		t.Fatal("the 5c-nfc-epin preset does not report PIN complexity")
	}
	var ce *fido.CTAPError
	if err := k.FIDO().SetPIN(ctx, "123456"); !errors.As(err, &ce) || ce.Code != fido.CTAPPINPolicyViolation {
		t.Errorf("SetPIN(123456) on an Enhanced PIN key = %v, want PIN_POLICY_VIOLATION", err)
	}
	if err := k.FIDO().SetPIN(ctx, "739152"); err != nil {
		t.Errorf("SetPIN(739152) on an Enhanced PIN key: %v", err)
	}
	plain := newKey(t, Config{Serial: 27182819, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 4}})
	if err := plain.FIDO().SetPIN(ctx, "123456"); err != nil {
		t.Errorf("SetPIN(123456) without PIN complexity: %v", err)
	}
}
