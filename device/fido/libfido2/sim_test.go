//go:build cgo && linux

package libfido2

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	libfido2 "github.com/keys-pub/go-libfido2"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/device/sim/simhid"
)

// These tests run every call of the adapter through go-libfido2 and the
// system's libfido2 (its CTAPHID framing in src/io.c, channel set-up in
// src/dev.c, PIN protocols in src/pin.c, credential management in
// src/credman.c, reset in src/reset.c, and its Linux HID code in
// src/hid_linux.c) against a simulated key's FIDO HID node
// (device/sim/simhid), listed as an extra path beside libfido2's
// manifest.

var (
	fw543 = device.Version{Major: 5, Minor: 4, Patch: 3}
	fw572 = device.Version{Major: 5, Minor: 7, Patch: 2}
)

// clock is a simulated key's clock, stopped but for Advance: reset's
// power-up window is checked against it, never against the machine's time.
type clock struct{ elapsed atomic.Int64 }

var clockBase = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

func (c *clock) Now() time.Time          { return clockBase.Add(time.Duration(c.elapsed.Load())) }
func (c *clock) Advance(d time.Duration) { c.elapsed.Add(int64(d)) }

// simKey is a simulated 5C NFC whose FIDO side is on a HID node.
type simKey struct {
	t     *testing.T
	fw    device.Version
	auth  *simfido.Authenticator
	clk   *clock
	path  string
	node  *simhid.Node
	p     *Provider
	model string
}

func newSimKey(t *testing.T, fw device.Version) *simKey {
	t.Helper()
	k := &simKey{t: t, fw: fw, clk: &clock{}, model: "YubiKey 5C NFC"}
	k.auth = simfido.New(simfido.Config{Serial: 31000001, Model: k.model, Firmware: fw, Now: k.clk.Now})
	k.path = filepath.Join(t.TempDir(), "fido-hid")
	k.plug()
	k.p = NewProvider(k.path)
	t.Cleanup(func() { k.node.Close() })
	return k
}

func (k *simKey) plug() {
	k.t.Helper()
	n, err := simhid.Create(k.path, k.auth, simhid.Version{Major: k.fw.Major, Minor: k.fw.Minor, Build: k.fw.Patch})
	if err != nil {
		k.t.Fatal(err)
	}
	k.node = n
}

// replug pulls the key out and puts it back: the node goes and comes
// back, and the key powers up (PIN_AUTH_BLOCKED clears, the reset window
// opens again).
func (k *simKey) replug() {
	k.t.Helper()
	if err := k.node.Close(); err != nil {
		k.t.Fatal(err)
	}
	k.auth.PowerCycle()
	k.plug()
}

func (k *simKey) open() fido.Authenticator {
	k.t.Helper()
	a, err := k.p.Open(ctx, k.path)
	if err != nil {
		k.t.Fatalf("Open(%s): %v", k.path, err)
	}
	return a
}

func wantCTAP(t *testing.T, what string, err error, code byte) {
	t.Helper()
	var ce *fido.CTAPError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("%s = %v, want CTAP status 0x%02x", what, err, code)
	}
}

func bothFirmwares(t *testing.T, f func(t *testing.T, fw device.Version)) {
	// 5.4.3: PIN protocol 1 and credentialMgmtPreview (0x41); 5.7.2: PIN
	// protocol 2, permissions and credentialManagement (0x0A). libfido2
	// picks both from getInfo, as with real keys.
	t.Run("5.4.3", func(t *testing.T) { f(t, fw543) })
	t.Run("5.7.2", func(t *testing.T) { f(t, fw572) })
}

// TestSimLocationsAndInfo: the node is listed beside libfido2's manifest
// and getInfo arrives whole, including the fields go-libfido2 drops
// (through the cgo shim over fido_cbor_info_*).
func TestSimLocationsAndInfo(t *testing.T) {
	bothFirmwares(t, func(t *testing.T, fw device.Version) {
		k := newSimKey(t, fw)
		locs, err := k.p.Locations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(locs, func(l fido.Location) bool { return l.Path == k.path }) {
			t.Fatalf("Locations = %+v, want %s listed", locs, k.path)
		}
		info, err := k.open().Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := fido.AAGUIDFor(k.model, fw)
		if got := fido.FormatAAGUID(info.AAGUID); got != want || want == "" {
			t.Errorf("AAGUID = %s, want %s", got, want)
		}
		if info.MinPINLength != 4 {
			t.Errorf("MinPINLength = %d, want 4", info.MinPINLength)
		}
		if wantFW := int(fw.Major)<<16 | int(fw.Minor)<<8 | int(fw.Patch); info.FirmwareVersion != wantFW {
			t.Errorf("FirmwareVersion = %#x, want %#x", info.FirmwareVersion, wantFW)
		}
		if info.ForcePINChange {
			t.Error("ForcePINChange on a fresh key")
		}
		wantRemaining := -1 // remainingDiscoverableCredentials from 5.7
		if fw == fw572 {
			wantRemaining = 100
		}
		if info.RemainingDiscoverableCredentials != wantRemaining {
			t.Errorf("RemainingDiscoverableCredentials = %d, want %d", info.RemainingDiscoverableCredentials, wantRemaining)
		}
		if set, ok := info.Options["clientPin"]; !ok || set {
			t.Errorf("clientPin option = %v,%v; want present and false", set, ok)
		}
		if fw == fw572 && !slices.Contains(info.Versions, "FIDO_2_1") {
			t.Errorf("versions = %v", info.Versions)
		}

		// The Client's view: firmware for matching, the key's minimum.
		st, err := fido.NewClient(k.open(), fido.Options{}).State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Firmware != fw.String() || st.MinPINLength != 4 || st.PINSet || st.PINRetries != 8 || !st.CredMgmt {
			t.Errorf("State = %+v", st)
		}

		// forcePINChange (an administrator's setMinPINLength) shows.
		k.auth.SetForcePINChange(true)
		st, err = fido.NewClient(k.open(), fido.Options{}).State(ctx)
		if err != nil || !st.ForcePINChange {
			t.Errorf("State with forcePINChange = %+v, %v", st, err)
		}
	})
}

// TestSimPIN: set, set again, change, a wrong current PIN, a PIN the key
// refuses, and the retries counter, through libfido2's PIN protocols.
func TestSimPIN(t *testing.T) {
	bothFirmwares(t, func(t *testing.T, fw device.Version) {
		k := newSimKey(t, fw)
		a := k.open()
		if n, err := a.PINRetries(ctx); err != nil || n != 8 {
			t.Fatalf("PINRetries = %d, %v", n, err)
		}
		if err := a.SetPIN(ctx, "123456"); err != nil {
			t.Fatalf("SetPIN: %v", err)
		}
		// setPIN with a PIN set: the key answers PIN_AUTH_INVALID.
		wantCTAP(t, "SetPIN twice", a.SetPIN(ctx, "654321"), fido.CTAPPINAuthInvalid)
		wantCTAP(t, "ChangePIN with a wrong PIN", a.ChangePIN(ctx, "000000", "654321"), fido.CTAPPINInvalid)
		if n, err := a.PINRetries(ctx); err != nil || n != 7 {
			t.Fatalf("PINRetries after a wrong PIN = %d, %v", n, err)
		}
		wantCTAP(t, "ChangePIN to 3 digits", a.ChangePIN(ctx, "123456", "123"), fido.CTAPPINPolicyViolation)
		if err := a.ChangePIN(ctx, "123456", "pässwörd"); err != nil {
			t.Fatalf("ChangePIN: %v", err)
		}
		if n, err := a.PINRetries(ctx); err != nil || n != 8 {
			t.Fatalf("PINRetries after the right PIN = %d, %v", n, err)
		}
		if _, _, err := a.CredentialsMetadata(ctx, "pässwörd"); err != nil {
			t.Fatalf("the changed PIN does not work: %v", err)
		}
		if _, _, err := a.CredentialsMetadata(ctx, "123456"); err == nil {
			t.Fatal("the old PIN still works")
		}

		// The Client's rules over the adapter: a wrong PIN is a
		// PINError with the retries left.
		c := fido.NewClient(k.open(), fido.Options{})
		var pe *device.PINError
		if err := c.ChangePIN(ctx, "99999999", "abcdefgh"); !errors.As(err, &pe) || pe.Retries != 6 {
			t.Errorf("Client.ChangePIN with a wrong PIN = %v, want PINError with 6 retries", err)
		}
	})
}

// TestSimPINAuthBlockedAndBlocked: three wrong PINs in a row block PIN
// use until the key is replugged (PIN_AUTH_BLOCKED, even for the right
// PIN); eight in all block the PIN for good (PIN_BLOCKED).
func TestSimPINAuthBlockedAndBlocked(t *testing.T) {
	bothFirmwares(t, func(t *testing.T, fw device.Version) {
		k := newSimKey(t, fw)
		if err := k.open().SetPIN(ctx, "123456"); err != nil {
			t.Fatal(err)
		}
		a := k.open()
		wantCTAP(t, "1st wrong PIN", metadataErr(a, "000000"), fido.CTAPPINInvalid)
		wantCTAP(t, "2nd wrong PIN", metadataErr(a, "000000"), fido.CTAPPINInvalid)
		wantCTAP(t, "3rd wrong PIN", metadataErr(a, "000000"), fido.CTAPPINAuthBlocked)
		wantCTAP(t, "right PIN while auth-blocked", metadataErr(a, "123456"), fido.CTAPPINAuthBlocked)
		c := fido.NewClient(k.open(), fido.Options{})
		var pc *fido.PowerCycleError
		if _, err := c.Credentials(ctx, "123456"); !errors.As(err, &pc) || pc.Retries != 5 {
			t.Errorf("Client while auth-blocked = %v, want PowerCycleError with 5 retries", err)
		}
		if n, err := a.PINRetries(ctx); err != nil || n != 5 {
			t.Fatalf("PINRetries while auth-blocked = %d, %v", n, err)
		}

		// Unplugging clears the block (only that): the right PIN works
		// and restores the retries.
		k.replug()
		a = k.open()
		if err := metadataErr(a, "123456"); err != nil {
			t.Fatalf("right PIN after replug: %v", err)
		}
		if n, _ := a.PINRetries(ctx); n != 8 {
			t.Fatalf("PINRetries after the right PIN = %d", n)
		}

		// Eight wrong PINs, replugging after every third.
		for i := 1; i <= 8; i++ {
			err := metadataErr(a, "000000")
			switch {
			case i == 8:
				wantCTAP(t, "8th wrong PIN", err, fido.CTAPPINBlocked)
			case i%3 == 0:
				wantCTAP(t, "3rd wrong PIN in a row", err, fido.CTAPPINAuthBlocked)
				k.replug()
				a = k.open()
			default:
				wantCTAP(t, "wrong PIN", err, fido.CTAPPINInvalid)
			}
		}
		if n, err := a.PINRetries(ctx); err != nil || n != 0 {
			t.Fatalf("PINRetries when blocked = %d, %v", n, err)
		}
		k.replug()
		wantCTAP(t, "right PIN when blocked, after replug", metadataErr(k.open(), "123456"), fido.CTAPPINBlocked)
		var pe *device.PINError
		if _, err := fido.NewClient(k.open(), fido.Options{}).Credentials(ctx, "123456"); !errors.As(err, &pe) || pe.Retries != 0 || !errors.Is(err, device.ErrBlocked) {
			t.Errorf("Client when blocked = %v, want a blocked PINError", err)
		}
	})
}

func metadataErr(a fido.Authenticator, pin string) error {
	_, _, err := a.CredentialsMetadata(ctx, pin)
	return err
}

// TestSimCredentials: credential management with enumeration of relying
// parties and their credentials, and the metadata.
func TestSimCredentials(t *testing.T) {
	bothFirmwares(t, func(t *testing.T, fw device.Version) {
		k := newSimKey(t, fw)
		a := k.open()
		wantCTAP(t, "metadata without a PIN set", metadataErr(a, "123456"), fido.CTAPPINNotSet)
		if err := a.SetPIN(ctx, "123456"); err != nil {
			t.Fatal(err)
		}
		capacity := 25
		if fw == fw572 {
			capacity = 100
		}
		if n, rem, err := a.CredentialsMetadata(ctx, "123456"); err != nil || n != 0 || rem != capacity {
			t.Fatalf("CredentialsMetadata on an empty key = %d, %d, %v", n, rem, err)
		}
		_, err := a.RelyingParties(ctx, "123456")
		wantCTAP(t, "RelyingParties on an empty key", err, fido.CTAPNoCredentials)

		for _, r := range [][4]string{
			{"google.com", "Google", "ana@example.com", "Ana Lima"},
			{"github.com", "GitHub", "ana-lima", "Ana Lima"},
			{"google.com", "Google", "ana.admin@example.com", "Ana (admin)"},
		} {
			if err := k.auth.AddCredential(r[0], r[1], r[2], r[3]); err != nil {
				t.Fatal(err)
			}
		}
		if n, rem, err := a.CredentialsMetadata(ctx, "123456"); err != nil || n != 3 || rem != capacity-3 {
			t.Fatalf("CredentialsMetadata = %d, %d, %v", n, rem, err)
		}
		rps, err := a.RelyingParties(ctx, "123456")
		if err != nil {
			t.Fatal(err)
		}
		if want := []fido.RelyingParty{{ID: "google.com", Name: "Google"}, {ID: "github.com", Name: "GitHub"}}; !slices.Equal(rps, want) {
			t.Errorf("RelyingParties = %+v, want %+v", rps, want)
		}
		creds, err := a.Credentials(ctx, "123456", "google.com")
		if err != nil {
			t.Fatal(err)
		}
		want := []fido.Credential{
			{RPID: "google.com", UserName: "ana@example.com", UserDisplayName: "Ana Lima"},
			{RPID: "google.com", UserName: "ana.admin@example.com", UserDisplayName: "Ana (admin)"},
		}
		if !slices.Equal(creds, want) {
			t.Errorf("Credentials(google.com) = %+v, want %+v", creds, want)
		}
		_, err = a.Credentials(ctx, "123456", "example.org")
		wantCTAP(t, "Credentials of an RP without any", err, fido.CTAPNoCredentials)

		// The Client's enumeration and look-up over the adapter.
		c := fido.NewClient(k.open(), fido.Options{})
		if ok, err := c.HasCredential(ctx, "123456", "github.com", "ana-lima"); err != nil || !ok {
			t.Errorf("HasCredential(github.com, ana-lima) = %v, %v", ok, err)
		}
		if ok, err := c.HasCredential(ctx, "123456", "github.com", "someone-else"); err != nil || ok {
			t.Errorf("HasCredential(github.com, someone-else) = %v, %v", ok, err)
		}
	})
}

// TestSimReset: authenticatorReset within the power-up window with a
// touch erases PIN and credentials; too late is NOT_ALLOWED; no touch is
// ACTION_TIMEOUT; a touch that takes a while is waited for (libfido2
// reads the key's keep-alives meanwhile); cancelling the context sends
// CTAPHID_CANCEL and erases nothing.
func TestSimReset(t *testing.T) {
	k := newSimKey(t, fw572)
	if err := k.open().SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	if err := k.auth.AddCredential("github.com", "GitHub", "ana-lima", "Ana Lima"); err != nil {
		t.Fatal(err)
	}

	k.clk.Advance(fido.ResetWindow + time.Second)
	wantCTAP(t, "Reset after the power-up window", k.open().Reset(ctx), fido.CTAPNotAllowed)

	k.replug()
	k.auth.SetTouch(simfido.NoTouch)
	wantCTAP(t, "Reset without a touch", k.open().Reset(ctx), fido.CTAPActionTimeout)

	// Cancelled while waiting for the touch.
	waiting := make(chan struct{})
	k.auth.SetTouch(func(c context.Context) error {
		close(waiting)
		<-c.Done()
		return c.Err()
	})
	cctx, cancel := context.WithCancel(ctx)
	go func() { <-waiting; cancel() }()
	if err := k.open().Reset(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Reset = %v, want context.Canceled", err)
	}
	if n, _, err := k.open().CredentialsMetadata(ctx, "123456"); err != nil || n != 1 {
		t.Fatalf("after a cancelled reset: %d credentials, %v", n, err)
	}

	// A touch several keep-alive intervals late.
	touched := make(chan struct{})
	k.auth.SetTouch(func(c context.Context) error {
		select {
		case <-touched:
			return nil
		case <-c.Done():
			return c.Err()
		}
	})
	go func() { time.Sleep(5 * simhid.KeepaliveInterval); close(touched) }()
	if err := k.open().Reset(ctx); err != nil {
		t.Fatalf("Reset with a touch: %v", err)
	}
	st, err := fido.NewClient(k.open(), fido.Options{}).State(ctx)
	if err != nil || st.PINSet || st.PINRetries != 8 {
		t.Fatalf("after reset: %+v, %v", st, err)
	}
	if err := k.open().SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	if n, _, err := k.open().CredentialsMetadata(ctx, "123456"); err != nil || n != 0 {
		t.Fatalf("after reset: %d credentials, %v", n, err)
	}

	// The Client's reset over the adapter, with the key's identity
	// checked against getInfo (firmware from the cgo shim).
	k.replug()
	k.auth.SetTouch(nil)
	var touchShown []bool
	opts := fido.Options{Serial: 31000001, Model: k.model, Firmware: fw572, Match: device.MatchUnique, OnTouch: func(w bool) { touchShown = append(touchShown, w) }}
	if err := fido.NewClient(k.open(), opts).Reset(ctx, fido.Confirmation{Serial: 31000001, Model: k.model}); err != nil {
		t.Fatalf("Client.Reset: %v", err)
	}
	opts.Firmware = fw543
	if err := fido.NewClient(k.open(), opts).Reset(ctx, fido.Confirmation{Serial: 31000001, Model: k.model}); !errors.Is(err, device.ErrAmbiguous) {
		t.Fatalf("Client.Reset of a key with other firmware = %v, want ErrAmbiguous", err)
	}
}

// TestSimRemoved: once the node is gone (the simulator ended), the device
// is no longer listed, cannot be opened, and an open handle reports the
// removal.
func TestSimRemoved(t *testing.T) {
	k := newSimKey(t, fw572)
	a := k.open()
	if _, err := a.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k.node.Close(); err != nil {
		t.Fatal(err)
	}
	locs, err := k.p.Locations(ctx)
	if err != nil || slices.ContainsFunc(locs, func(l fido.Location) bool { return l.Path == k.path }) {
		t.Fatalf("Locations after removal = %+v, %v", locs, err)
	}
	if _, err := a.Info(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Errorf("Info after removal = %v, want ErrRemoved", err)
	}
	if _, err := k.p.Open(ctx, k.path); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("Open after removal = %v, want ErrNotFound", err)
	}
	k.plug()
	if _, err := k.open().Info(ctx); err != nil {
		t.Errorf("Info after plugging back in: %v", err)
	}
}

// TestSimU2FVersion: go-libfido2 can also talk to the node's CTAPHID_MSG
// side; libfido2 reads U2F_V2 in the version strings of getInfo, and
// fido_dev_is_fido2 holds (the CBOR capability of CTAPHID_INIT).
func TestSimU2FVersion(t *testing.T) {
	k := newSimKey(t, fw572)
	d, err := libfido2.NewDevice(k.path)
	if err != nil {
		t.Fatal(err)
	}
	typ, err := d.Type()
	if err != nil || typ != libfido2.FIDO2 {
		t.Fatalf("Type = %v, %v; want FIDO2", typ, err)
	}
}

func TestEnvPaths(t *testing.T) {
	t.Setenv(EnvHIDPaths, "/run/kw/a"+string(filepath.ListSeparator)+"relative"+string(filepath.ListSeparator)+string(filepath.ListSeparator)+"/run/kw/b")
	if got := EnvPaths(); !slices.Equal(got, []string{"/run/kw/a", "/run/kw/b"}) {
		t.Errorf("EnvPaths = %v", got)
	}
	t.Setenv(EnvHIDPaths, "")
	if got := EnvPaths(); len(got) != 0 {
		t.Errorf("EnvPaths with nothing set = %v", got)
	}
}
