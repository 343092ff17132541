package simfido

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// fakeClock is an injected clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func code(t *testing.T, err error) byte {
	t.Helper()
	var ce *fido.CTAPError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *fido.CTAPError", err)
	}
	return ce.Code
}

var ctx = context.Background()

func TestInfoByFirmware(t *testing.T) {
	tests := []struct {
		model      string
		fw         device.Version
		aaguid     string
		versions   []string
		credMgmt   string // option name present, or ""
		minPIN     int
		firmware   int
		remaining  int
		capacityMD int
	}{
		{"YubiKey 5 NFC", device.Version{Major: 5, Minor: 1, Patch: 2}, "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
			[]string{"U2F_V2", "FIDO_2_0"}, "", 0, 0, -1, 0},
		{"YubiKey 5C Nano", device.Version{Major: 5, Minor: 4, Patch: 3}, "ee882879-721c-4913-9775-3dfcce97072a",
			[]string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"}, "credentialMgmtPreview", 4, 0x050403, -1, 25},
		{"YubiKey 5C NFC", device.Version{Major: 5, Minor: 7, Patch: 2}, "a25342c0-3cdc-4414-8e46-f4807fca511c",
			[]string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"}, "credMgmt", 4, 0x050702, 100, 100},
		{"YubiKey 5Ci", device.Version{Major: 5, Minor: 2, Patch: 7}, "c5ef55ff-ad9a-4b9f-b580-adebafe026d0",
			[]string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"}, "credentialMgmtPreview", 0, 0, -1, 25},
	}
	for _, tt := range tests {
		t.Run(tt.model+" "+tt.fw.String(), func(t *testing.T) {
			a := New(Config{Serial: 1, Model: tt.model, Firmware: tt.fw})
			info, err := a.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := fido.FormatAAGUID(info.AAGUID); got != tt.aaguid {
				t.Errorf("AAGUID = %s, want %s", got, tt.aaguid)
			}
			if !slices.Equal(info.Versions, tt.versions) {
				t.Errorf("versions = %v, want %v", info.Versions, tt.versions)
			}
			if v, ok := info.Options["clientPin"]; !ok || v {
				t.Errorf("clientPin = %v,%v; want present and false on a fresh key", v, ok)
			}
			if tt.credMgmt != "" && !info.Options[tt.credMgmt] {
				t.Errorf("option %s missing: %v", tt.credMgmt, info.Options)
			}
			if tt.credMgmt == "" && (info.Options["credMgmt"] || info.Options["credentialMgmtPreview"]) {
				t.Errorf("firmware %s must not offer credential management: %v", tt.fw, info.Options)
			}
			if info.MinPINLength != tt.minPIN || info.FirmwareVersion != tt.firmware {
				t.Errorf("minPINLength, firmwareVersion = %d, %#x; want %d, %#x", info.MinPINLength, info.FirmwareVersion, tt.minPIN, tt.firmware)
			}
			if info.RemainingDiscoverableCredentials != tt.remaining {
				t.Errorf("remaining = %d, want %d", info.RemainingDiscoverableCredentials, tt.remaining)
			}
			if tt.capacityMD == 0 {
				if err := a.SetPIN(ctx, "123456"); err != nil {
					t.Fatal(err)
				}
				if _, _, err := a.CredentialsMetadata(ctx, "123456"); code(t, err) != fido.CTAPInvalidCommand {
					t.Errorf("metadata before 5.2: %v, want INVALID_COMMAND", err)
				}
				return
			}
			if err := a.SetPIN(ctx, "123456"); err != nil {
				t.Fatal(err)
			}
			ex, rem, err := a.CredentialsMetadata(ctx, "123456")
			if err != nil || ex != 0 || rem != tt.capacityMD {
				t.Errorf("metadata = %d, %d, %v; want 0, %d", ex, rem, err, tt.capacityMD)
			}
		})
	}
}

func TestExplicitAAGUID(t *testing.T) {
	a := New(Config{Serial: 2, Model: "Unknown", Firmware: device.Version{Major: 5, Minor: 4}, AAGUID: "00112233-4455-6677-8899-AABBCCDDEEFF"})
	info, err := a.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fido.FormatAAGUID(info.AAGUID); got != "00112233-4455-6677-8899-aabbccddeeff" {
		t.Errorf("AAGUID = %s", got)
	}
}

func TestPINPolicy(t *testing.T) {
	a := New(Config{Serial: 3, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	for _, bad := range []string{"", "123", "a\x00cd", string(make([]byte, 64)), "\xff\xfe\xfd\xfc"} {
		if err := a.SetPIN(ctx, bad); code(t, err) != fido.CTAPPINPolicyViolation {
			t.Errorf("SetPIN(%q) = %v, want PIN_POLICY_VIOLATION", bad, err)
		}
	}
	// Four code points are enough even when they are 8 bytes.
	if err := a.SetPIN(ctx, "ññññ"); err != nil {
		t.Fatalf("SetPIN(4 runes): %v", err)
	}
	if err := a.SetPIN(ctx, "567890"); code(t, err) != fido.CTAPPINAuthInvalid {
		t.Errorf("second SetPIN = %v, want PIN_AUTH_INVALID", err)
	}
	if err := a.ChangePIN(ctx, "ññññ", "12"); code(t, err) != fido.CTAPPINPolicyViolation {
		t.Errorf("ChangePIN to short = %v", err)
	}
	if err := a.ChangePIN(ctx, "ññññ", "new-pin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CredentialsMetadata(ctx, "new-pin"); err != nil {
		t.Errorf("new PIN not accepted: %v", err)
	}
}

func TestPINRetriesAndBlocking(t *testing.T) {
	a := New(Config{Serial: 4, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	if _, err := a.RelyingParties(ctx, "123456"); code(t, err) != fido.CTAPPINNotSet {
		t.Fatalf("no PIN: %v", err)
	}
	if err := a.SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	wrong := func() byte {
		t.Helper()
		_, _, err := a.CredentialsMetadata(ctx, "000000")
		return code(t, err)
	}
	retries := func() int {
		t.Helper()
		n, err := a.PINRetries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := wrong(); got != fido.CTAPPINInvalid {
		t.Fatalf("1st wrong = %#x", got)
	}
	if retries() != 7 {
		t.Fatalf("retries = %d, want 7", retries())
	}
	// A right PIN restores all retries.
	if _, _, err := a.CredentialsMetadata(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	if retries() != 8 {
		t.Fatalf("retries after right PIN = %d", retries())
	}
	// Three in a row: auth-blocked until power cycle, even for the right PIN.
	wrong()
	wrong()
	if got := wrong(); got != fido.CTAPPINAuthBlocked {
		t.Fatalf("3rd wrong = %#x, want PIN_AUTH_BLOCKED", got)
	}
	if _, _, err := a.CredentialsMetadata(ctx, "123456"); code(t, err) != fido.CTAPPINAuthBlocked {
		t.Fatalf("right PIN while auth-blocked: %v", err)
	}
	if retries() != 5 {
		t.Fatalf("retries = %d, want 5", retries())
	}
	a.PowerCycle()
	wrong()
	wrong()
	if got := wrong(); got != fido.CTAPPINAuthBlocked {
		t.Fatalf("6th wrong = %#x", got)
	}
	a.PowerCycle()
	if got := wrong(); got != fido.CTAPPINInvalid {
		t.Fatalf("7th wrong = %#x", got)
	}
	if got := wrong(); got != fido.CTAPPINBlocked {
		t.Fatalf("8th wrong = %#x, want PIN_BLOCKED", got)
	}
	if retries() != 0 {
		t.Fatalf("retries = %d, want 0", retries())
	}
	a.PowerCycle()
	if _, _, err := a.CredentialsMetadata(ctx, "123456"); code(t, err) != fido.CTAPPINBlocked {
		t.Fatalf("right PIN after block: %v", err)
	}
	if err := a.ChangePIN(ctx, "123456", "654321"); code(t, err) != fido.CTAPPINBlocked {
		t.Fatalf("change after block: %v", err)
	}
	// Only reset (just after power-up) recovers.
	if err := a.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if retries() != 8 {
		t.Errorf("retries after reset = %d", retries())
	}
}

func TestCredentialStore(t *testing.T) {
	a := New(Config{Serial: 5, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	if err := a.SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RelyingParties(ctx, "123456"); code(t, err) != fido.CTAPNoCredentials {
		t.Fatalf("empty store: %v, want NO_CREDENTIALS", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.AddCredential("google.com", "Google", "ana@example.com", "Ana"))
	must(a.AddCredential("github.com", "GitHub", "ana-gh", "Ana"))
	must(a.AddCredential("google.com", "Google", "ana2@example.com", "Ana 2"))
	must(a.AddCredential("google.com", "Google", "ana@example.com", "Ana Again")) // replaces
	rps, err := a.RelyingParties(ctx, "123456")
	must(err)
	want := []fido.RelyingParty{{ID: "google.com", Name: "Google"}, {ID: "github.com", Name: "GitHub"}}
	if !slices.Equal(rps, want) {
		t.Errorf("RPs = %v, want %v", rps, want)
	}
	creds, err := a.Credentials(ctx, "123456", "google.com")
	must(err)
	wantC := []fido.Credential{{RPID: "google.com", UserName: "ana@example.com", UserDisplayName: "Ana Again"}, {RPID: "google.com", UserName: "ana2@example.com", UserDisplayName: "Ana 2"}}
	if !slices.Equal(creds, wantC) {
		t.Errorf("creds = %v, want %v", creds, wantC)
	}
	if _, err := a.Credentials(ctx, "123456", "aws.amazon.com"); code(t, err) != fido.CTAPNoCredentials {
		t.Errorf("unknown RP: %v", err)
	}
	if _, err := a.Credentials(ctx, "bad-pin", "google.com"); code(t, err) != fido.CTAPPINInvalid {
		t.Errorf("wrong PIN: %v", err)
	}
	ex, rem, err := a.CredentialsMetadata(ctx, "123456")
	if err != nil || ex != 3 || rem != 22 {
		t.Errorf("metadata = %d, %d, %v; want 3, 22", ex, rem, err)
	}
	// Fill the store: 25 on 5.4.
	for i := 3; i < 25; i++ {
		must(a.AddCredential(fmt.Sprintf("rp%d.example", i), "", "u", ""))
	}
	if err := a.AddCredential("one-too-many.example", "", "u", ""); code(t, err) != CTAPKeyStoreFull {
		t.Errorf("26th credential: %v, want KEY_STORE_FULL", err)
	}
}

func TestResetWindowAndTouch(t *testing.T) {
	clock := newClock()
	touched := 0
	var touchErr error
	a := New(Config{Serial: 6, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}, Now: clock.Now,
		Touch: func(context.Context) error { touched++; return touchErr }})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.SetPIN(ctx, "123456"))
	must(a.AddCredential("github.com", "GitHub", "ana", "Ana"))

	clock.Advance(fido.ResetWindow + time.Millisecond)
	if err := a.Reset(ctx); code(t, err) != fido.CTAPNotAllowed {
		t.Fatalf("late reset: %v, want NOT_ALLOWED", err)
	}
	if touched != 0 {
		t.Errorf("late reset asked for a touch")
	}
	a.PowerCycle()
	clock.Advance(fido.ResetWindow) // the boundary itself is still inside
	touchErr = errors.New("nobody touched")
	if err := a.Reset(ctx); code(t, err) != fido.CTAPActionTimeout {
		t.Fatalf("untouched reset: %v, want ACTION_TIMEOUT", err)
	}
	if info, _ := a.Info(ctx); !info.Options["clientPin"] {
		t.Fatal("untouched reset cleared the PIN")
	}
	touchErr = nil
	must(a.Reset(ctx))
	if touched != 2 {
		t.Errorf("touch asked %d times, want 2", touched)
	}
	info, err := a.Info(ctx)
	must(err)
	if info.Options["clientPin"] || info.RemainingDiscoverableCredentials != 100 {
		t.Errorf("after reset: clientPin=%v remaining=%d", info.Options["clientPin"], info.RemainingDiscoverableCredentials)
	}
	if _, err := a.RelyingParties(ctx, "123456"); code(t, err) != fido.CTAPPINNotSet {
		t.Errorf("after reset: %v, want PIN_NOT_SET", err)
	}
}

func TestNoTouch(t *testing.T) {
	a := New(Config{Serial: 7, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}, Touch: NoTouch})
	if err := a.Reset(ctx); code(t, err) != fido.CTAPActionTimeout {
		t.Fatalf("reset with NoTouch: %v", err)
	}
}

func TestRemoval(t *testing.T) {
	a := New(Config{Serial: 8, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	a.RemoveAfter(2)
	if _, err := a.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PINRetries(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Info(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("3rd op after RemoveAfter(2): %v, want ErrRemoved", err)
	}
	if err := a.AddCredential("x.example", "", "u", ""); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("still removed: %v", err)
	}
	p := NewProvider(a)
	locs, err := p.Locations(ctx)
	if err != nil || len(locs) != 0 {
		t.Fatalf("Locations with the key out = %v, %v", locs, err)
	}
	if _, err := p.Open(ctx, "sim:8"); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("Open removed: %v", err)
	}
	a.Insert()
	if _, err := a.Info(ctx); err != nil {
		t.Fatalf("after Insert: %v", err)
	}
	a.Remove()
	if err := a.Reset(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("Reset removed: %v", err)
	}
}

func TestRemovedDuringTouch(t *testing.T) {
	var a *Authenticator
	a = New(Config{Serial: 9, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3},
		Touch: func(context.Context) error { a.Remove(); return nil }})
	if err := a.Reset(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("pulled during touch: %v, want ErrRemoved", err)
	}
}

func TestProvider(t *testing.T) {
	a := New(Config{Serial: 12345678, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	b := New(Config{Serial: 23456789, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	b.SetUSBInterfaces(device.IfaceFIDO | device.IfaceCCID)
	p := NewProvider(b, a)
	locs, err := p.Locations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []fido.Location{
		{Path: "sim:12345678", VendorID: 0x1050, ProductID: 0x0407, Manufacturer: "Yubico", Product: "YubiKey OTP+FIDO+CCID"},
		{Path: "sim:23456789", VendorID: 0x1050, ProductID: 0x0406, Manufacturer: "Yubico", Product: "YubiKey FIDO+CCID"},
	}
	if !slices.Equal(locs, want) {
		t.Errorf("Locations = %+v\nwant %+v", locs, want)
	}
	got, err := p.Open(ctx, "sim:23456789")
	if err != nil || got.Path() != "sim:23456789" {
		t.Fatalf("Open = %v, %v", got, err)
	}
	if _, err := p.Open(ctx, "sim:1"); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("Open unknown: %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	a := New(Config{Serial: 10, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.Info(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Info(canceled) = %v", err)
	}
}

// TestConcurrent runs operations from many goroutines; with -race it checks
// the locking, and the final count checks no update was lost.
func TestConcurrent(t *testing.T) {
	a := New(Config{Serial: 11, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}})
	if err := a.SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.AddCredential(fmt.Sprintf("rp%d.example", i), "", "u", ""); err != nil {
				t.Error(err)
			}
			if _, err := a.RelyingParties(ctx, "123456"); err != nil {
				t.Error(err)
			}
			if _, err := a.Info(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ex, _, err := a.CredentialsMetadata(ctx, "123456")
	if err != nil || ex != 20 {
		t.Errorf("existing = %d, %v; want 20", ex, err)
	}
}

func TestForcePINChangeOnKey(t *testing.T) {
	a := New(Config{Serial: 13, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}})
	if err := a.SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	a.SetForcePINChange(true)
	if info, _ := a.Info(ctx); !info.ForcePINChange {
		t.Fatal("forcePINChange not in getInfo")
	}
	if _, _, err := a.CredentialsMetadata(ctx, "123456"); code(t, err) != fido.CTAPPINPolicyViolation {
		t.Errorf("PIN token while a change is forced = %v, want PIN_POLICY_VIOLATION", err)
	}
	if err := a.ChangePIN(ctx, "123456", "654321"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CredentialsMetadata(ctx, "654321"); err != nil {
		t.Errorf("after change: %v", err)
	}
}

func TestSetTouch(t *testing.T) {
	a := New(Config{Serial: 14, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	a.SetTouch(NoTouch)
	if err := a.Reset(ctx); code(t, err) != fido.CTAPActionTimeout {
		t.Fatalf("Reset with NoTouch = %v", err)
	}
	a.SetTouch(nil)
	if err := a.Reset(ctx); err != nil {
		t.Fatalf("Reset touched at once = %v", err)
	}
}

func TestCapacity57(t *testing.T) {
	a := New(Config{Serial: 15, Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 1}})
	for i := range 100 {
		if err := a.AddCredential(fmt.Sprintf("rp%d.example", i), "", "u", ""); err != nil {
			t.Fatalf("credential %d: %v", i+1, err)
		}
		if i == 41 {
			if info, _ := a.Info(ctx); info.RemainingDiscoverableCredentials != 58 {
				t.Errorf("remaining after 42 = %d, want 58", info.RemainingDiscoverableCredentials)
			}
		}
	}
	if err := a.AddCredential("one-too-many.example", "", "u", ""); code(t, err) != CTAPKeyStoreFull {
		t.Errorf("101st credential: %v, want KEY_STORE_FULL", err)
	}
	// Replacing an existing user's credential needs no new slot.
	if err := a.AddCredential("rp7.example", "", "u", "again"); err != nil {
		t.Errorf("re-registering on a full key: %v", err)
	}
}

func TestPINRetriesWithoutPIN(t *testing.T) {
	a := New(Config{Serial: 16, Model: "YubiKey 5C Nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	if n, err := a.PINRetries(ctx); n != MaxPINRetries || err != nil {
		t.Errorf("PINRetries on a fresh key = %d, %v", n, err)
	}
	if err := a.ChangePIN(ctx, "123456", "654321"); code(t, err) != fido.CTAPPINNotSet {
		t.Errorf("ChangePIN without PIN = %v", err)
	}
}

// TestPINComplexity: a 5.7 key with PIN complexity (device info tag 0x16)
// refuses a PIN on its easy-guess list with PIN_POLICY_VIOLATION, over the
// CTAP wire (setPIN, protocol 2) and for changePIN, and takes one that is
// not; without complexity the same easy PIN is taken. A refused change
// costs no retry and leaves the old PIN in place.
func TestPINComplexity(t *testing.T) {
	fw := device.Version{Major: 5, Minor: 7, Patch: 4}
	a := New(Config{Serial: 41, Model: "YubiKey 5C NFC", Firmware: fw, PINComplexity: true})
	p := &platform{t: t, a: a, version: 2}
	for _, easy := range []string{"123456", "11111111", "654321", "password", "aaaa"} {
		if st := p.setPIN(easy, false); st != fido.CTAPPINPolicyViolation {
			t.Errorf("setPIN(%q) with complexity: status 0x%02x, want PIN_POLICY_VIOLATION", easy, st)
		}
	}
	if st := p.setPIN("739152", false); st != statusOK {
		t.Fatalf("setPIN(739152) with complexity: status 0x%02x, want success", st)
	}
	for _, easy := range []string{"12345678", "000000", "qwerty"} {
		if err := a.ChangePIN(ctx, "739152", easy); code(t, err) != fido.CTAPPINPolicyViolation {
			t.Errorf("ChangePIN to %q with complexity = %v, want PIN_POLICY_VIOLATION", easy, err)
		}
	}
	if a.retries != MaxPINRetries {
		t.Errorf("retries after refused changes = %d, want %d", a.retries, MaxPINRetries)
	}
	if err := a.ChangePIN(ctx, "739152", "4A7c91x"); err != nil {
		t.Errorf("ChangePIN to a PIN off the list with complexity: %v", err)
	}

	plain := New(Config{Serial: 42, Model: "YubiKey 5C NFC", Firmware: fw})
	if err := plain.SetPIN(ctx, "123456"); err != nil {
		t.Errorf("SetPIN(123456) without complexity: %v", err)
	}
}

func TestEasyPIN(t *testing.T) {
	for pin, want := range map[string]bool{
		"": true, "1111": true, "123456": true, "987654": true, "password": true, "abc123": true,
		"739152": false, "135790": false, "abcdef": false, "4A7c91x": false, "12345670": false,
	} {
		if got := EasyPIN([]byte(pin)); got != want {
			t.Errorf("EasyPIN(%q) = %v, want %v", pin, got, want)
		}
	}
}
