package apps_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/apps"
	"github.com/keywizard/keywizard/device/sim"
)

func newKey(t *testing.T, cfg sim.Config) *sim.Key {
	t.Helper()
	if cfg.Serial == 0 {
		cfg.Serial = 5550001
	}
	if cfg.Model == "" {
		cfg.Model = "5c-nfc"
	}
	k, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// raw sends hex APDUs in order and fails on anything but 90 00.
func raw(t *testing.T, c device.Card, cmds ...string) {
	t.Helper()
	for _, s := range cmds {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := apdu.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apdu.Transmit(context.Background(), c, cmd); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

const (
	selOATH    = "00A4040007A0000005272101"
	selPGP     = "00A4040006D27600012401"
	selHSMAuth = "00A4040008A000000527210701"
	selOTP     = "00A4040007A0000005272001"
)

// provision stores something of an owner in each application: two OATH
// accounts, an OpenPGP signature key with its fingerprint and changed
// retries, a YubiHSM Auth credential, OTP slot 2 (slot 1 comes programmed).
func provision(t *testing.T, c device.Card) {
	t.Helper()
	raw(t, c, selOATH,
		// PUT name "a" key 21 (TOTP SHA1) 06 digits, secret 0102
		"0001000009 7101 61 7304 21060102",
		"0001000009 7101 62 7304 21060304")
	raw(t, c, selPGP,
		"0020008308 3132333435363738",
		"0047800002B600",
		"00DA00C714"+strings.Repeat("AB", 20),
		"00F2000003050505")
	raw(t, c, selHSMAuth,
		"000100003F 7B10"+strings.Repeat("00", 16)+"7101 68 7401 26 7510"+strings.Repeat("11", 16)+"7610"+strings.Repeat("22", 16)+"7A01 00")
	cfg := strings.Repeat("11", 38) + strings.Repeat("00", 14) + strings.Repeat("00", 6)
	raw(t, c, selOTP, "000103003A"+cfg)
}

func TestReadAndReset(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, sim.Config{})
	c := k.Card()
	defer c.Close()
	// A key as shipped: only OTP slot 1 is programmed (Yubico's credential).
	for _, app := range apps.All {
		got, err := apps.Read(ctx, c, app)
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		if got.Factory != (app != apps.OTP) {
			t.Errorf("new key, %s: %+v", app, got)
		}
	}
	provision(t, c)
	want := map[apps.App]string{
		apps.OATH:    "2 accounts",
		apps.OpenPGP: "1 key; PIN tries 5, reset code 5, admin PIN 5",
		apps.HSMAuth: "1 credential",
		apps.OTP:     "slots 1 and 2 programmed",
	}
	for _, app := range apps.All {
		got, err := apps.Read(ctx, c, app)
		if err != nil || got.Factory || got.Summary != want[app] {
			t.Errorf("provisioned %s: %+v, %v; want %q", app, got, err, want[app])
		}
	}
	if k.OpenPGPKeys() != 1 {
		t.Fatalf("OpenPGP keys on the key: %d", k.OpenPGPKeys())
	}
	for _, app := range apps.All {
		got, err := apps.Reset(ctx, c, app)
		if err != nil || !got.Factory {
			t.Errorf("reset %s: %+v, %v", app, got, err)
		}
	}
	if s1, s2 := k.OTPSlots(); len(k.OATHAccounts())+k.OpenPGPKeys()+len(k.HSMAuthCredentials()) != 0 || s1 || s2 {
		t.Fatalf("left on the key: %q, %d OpenPGP keys, %q, OTP %v %v", k.OATHAccounts(), k.OpenPGPKeys(), k.HSMAuthCredentials(), s1, s2)
	}
	// OpenPGP's PINs are the factory ones again.
	raw(t, c, selPGP, "0020008106 313233343536", "0020008308 3132333435363738")
}

func TestOTPAccessCode(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, sim.Config{})
	c := k.Card()
	defer c.Close()
	// Slot 2 with access code 010203040506 (bytes 38-43 of the config).
	cfg := strings.Repeat("11", 38) + "010203040506" + strings.Repeat("00", 8) + strings.Repeat("00", 6)
	raw(t, c, selOTP, "000103003A"+cfg)
	_, err := apps.Reset(ctx, c, apps.OTP)
	if !errors.Is(err, apps.ErrAccessCode) || !errors.Is(err, device.ErrLocked) || !strings.Contains(err.Error(), "slot 2") {
		t.Fatalf("reset: %v", err)
	}
	if s1, s2 := k.OTPSlots(); s1 || !s2 {
		t.Fatalf("slot 1 must be deleted, slot 2 kept: %v %v", s1, s2)
	}
}

func TestOpenPGPResetCutShort(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, sim.Config{})
	c := k.Card()
	provision(t, c)
	c.Close()
	// Pulled out right after TERMINATE: SELECT, GET VERSION, 5 wrong
	// PINs and 5 wrong admin PINs (the retries were set to 5), TERMINATE.
	k.RemoveAfter(1 + 1 + 5 + 5 + 1)
	c = k.Card()
	if _, err := apps.Reset(ctx, c, apps.OpenPGP); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("reset cut short: %v", err)
	}
	k.Plug()
	c = k.Card()
	defer c.Close()
	got, err := apps.Read(ctx, c, apps.OpenPGP)
	if err != nil || got.Items != -1 || !strings.Contains(got.Summary, "terminated") {
		t.Fatalf("after the cut: %+v, %v", got, err)
	}
	if got, err = apps.Reset(ctx, c, apps.OpenPGP); err != nil || !got.Factory {
		t.Fatalf("finishing the reset: %+v, %v", got, err)
	}
}

func TestDisabledApplication(t *testing.T) {
	k := newKey(t, sim.Config{USBEnabled: device.CapPIV | device.CapFIDO2 | device.CapU2F | device.CapOpenPGP})
	c := k.Card()
	defer c.Close()
	for _, app := range []apps.App{apps.OATH, apps.HSMAuth, apps.OTP} {
		if _, err := apps.Reset(context.Background(), c, app); !errors.Is(err, device.ErrNotFound) {
			t.Errorf("%s disabled: %v", app, err)
		}
	}
	// A YubiKey 4 has no YubiHSM Auth at all.
	k4 := newKey(t, sim.Config{Model: "4"})
	c4 := k4.Card()
	defer c4.Close()
	if _, err := apps.Read(context.Background(), c4, apps.HSMAuth); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("YubiKey 4 YubiHSM Auth: %v", err)
	}
}
