package fido_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/sim/simfido"
)

var ctx = context.Background()

const (
	nanoSerial = 21000001
	nanoModel  = "YubiKey 5C Nano"
	pin        = "271828"
)

var fw543 = device.Version{Major: 5, Minor: 4, Patch: 3}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newNano is a fresh simulated 5C Nano and a Client that knows which key it is.
func newNano(t *testing.T, cfg simfido.Config) (*simfido.Authenticator, *fido.Client) {
	t.Helper()
	if cfg.Serial == 0 {
		cfg.Serial = nanoSerial
	}
	if cfg.Model == "" {
		cfg.Model = nanoModel
	}
	if cfg.Firmware == (device.Version{}) {
		cfg.Firmware = fw543
	}
	a := simfido.New(cfg)
	c := fido.NewClient(a, fido.Options{Serial: cfg.Serial, Model: cfg.Model, Firmware: cfg.Firmware, Match: device.MatchExact})
	t.Cleanup(func() { c.Close() })
	return a, c
}

func mustState(t *testing.T, c *fido.Client) *device.FIDOState {
	t.Helper()
	st, err := c.State(ctx)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st
}

func TestStateFreshKey(t *testing.T) {
	_, c := newNano(t, simfido.Config{})
	st := mustState(t, c)
	want := device.FIDOState{
		Path:         "sim:21000001",
		AAGUID:       "ee882879-721c-4913-9775-3dfcce97072a",
		Versions:     []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"},
		PINSet:       false,
		PINRetries:   8,
		MinPINLength: 4,
		CredMgmt:     true,
		Firmware:     "5.4.3",
	}
	if st.Path != want.Path || st.AAGUID != want.AAGUID || !slices.Equal(st.Versions, want.Versions) ||
		st.PINSet || st.PINRetries != 8 || st.MinPINLength != 4 || !st.CredMgmt || st.Firmware != "5.4.3" || st.ForcePINChange {
		t.Errorf("State = %+v\nwant %+v", *st, want)
	}
}

func TestStateOldFirmware(t *testing.T) {
	// 5.1: no credential management, no minPINLength/firmwareVersion in
	// getInfo (CTAP default 4 applies, firmware unknown).
	_, c := newNano(t, simfido.Config{Model: "YubiKey 5 NFC", Firmware: device.Version{Major: 5, Minor: 1, Patch: 2}})
	st := mustState(t, c)
	if st.CredMgmt || st.MinPINLength != 4 || st.Firmware != "" || st.AAGUID != "fa2b99dc-9e39-4257-8f92-4a30d23c4118" {
		t.Errorf("State = %+v", *st)
	}
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Credentials(ctx, pin); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("Credentials on 5.1 = %v, want ErrUnsupported", err)
	}
}

func TestStateCredMgmtFinal(t *testing.T) {
	_, c := newNano(t, simfido.Config{Model: "YubiKey 5C NFC", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}})
	st := mustState(t, c)
	if !st.CredMgmt || !slices.Contains(st.Versions, "FIDO_2_1") || st.Firmware != "5.7.2" {
		t.Errorf("State = %+v", *st)
	}
}

func TestSetPINFlow(t *testing.T) {
	a, c := newNano(t, simfido.Config{})
	tests := []struct {
		name string
		pin  string
		rule string
	}{
		{"too short", "123", "at least 4 characters"},
		{"empty", "", "at least 4 characters"},
		{"three runes in six bytes", "ñññ", "at least 4 characters"},
		{"too long", strings.Repeat("1", 64), "at most 63 bytes"},
		{"too long in bytes only", strings.Repeat("ñ", 32), "at most 63 bytes"},
		{"NUL", "12\x0034", "no NUL"},
		{"invalid UTF-8", "\xff\xfe\xfd\xfc", "valid text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.SetPIN(ctx, tt.pin)
			if !errors.Is(err, device.ErrPINPolicy) {
				t.Fatalf("SetPIN = %v, want ErrPINPolicy", err)
			}
			var pe *fido.PINPolicyError
			if !errors.As(err, &pe) || !strings.Contains(pe.Rule, tt.rule) {
				t.Errorf("rule = %v, want it to say %q", err, tt.rule)
			}
			if tt.pin != "" && strings.Contains(err.Error(), tt.pin) {
				t.Errorf("error %q contains the PIN", err)
			}
		})
	}
	// Nothing reached the key.
	if mustState(t, c).PINSet {
		t.Fatal("a rejected PIN was set")
	}
	// 63 bytes is the limit, inclusive; 4 code points of 2 bytes is fine.
	if err := fido.CheckPIN(strings.Repeat("1", 63), 4); err != nil {
		t.Errorf("63 bytes: %v", err)
	}
	if err := fido.CheckPIN("ññññ", 0); err != nil {
		t.Errorf("4 runes: %v", err)
	}
	if err := fido.CheckPIN("12345", 6); !errors.Is(err, device.ErrPINPolicy) {
		t.Errorf("key minimum 6: %v", err)
	}

	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatalf("SetPIN: %v", err)
	}
	st := mustState(t, c)
	if !st.PINSet || st.PINRetries != 8 {
		t.Errorf("after SetPIN: %+v", *st)
	}
	// Setting again is refused before reaching the key.
	a.RemoveAfter(1) // the Info read succeeds; a SetPIN sent to the key would see ErrRemoved
	err := c.SetPIN(ctx, "314159")
	if !errors.Is(err, device.ErrInvalidArgument) || errors.Is(err, device.ErrRemoved) {
		t.Errorf("second SetPIN = %v, want ErrInvalidArgument without touching the key", err)
	}
}

func TestChangePIN(t *testing.T) {
	_, c := newNano(t, simfido.Config{})
	if err := c.ChangePIN(ctx, pin, "314159"); !errors.Is(err, device.ErrPINNotSet) {
		t.Fatalf("ChangePIN with no PIN = %v, want ErrPINNotSet", err)
	}
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangePIN(ctx, pin, "12"); !errors.Is(err, device.ErrPINPolicy) {
		t.Errorf("ChangePIN to short = %v", err)
	}
	// A refused new PIN must not have cost a retry.
	if n, _ := c.PINRetries(ctx); n != 8 {
		t.Errorf("retries = %d after a policy refusal", n)
	}
	err := c.ChangePIN(ctx, "999999", "314159")
	var pe *device.PINError
	if !errors.As(err, &pe) || pe.Retries != 7 || pe.Which != device.FIDO2PIN {
		t.Fatalf("ChangePIN with wrong old PIN = %v, want PINError 7 retries", err)
	}
	if err := c.ChangePIN(ctx, pin, "314159"); err != nil {
		t.Fatalf("ChangePIN: %v", err)
	}
	if _, err := c.Credentials(ctx, "314159"); err != nil {
		t.Errorf("new PIN: %v", err)
	}
	if _, err := c.Credentials(ctx, pin); !errors.Is(err, device.ErrWrongPIN) {
		t.Errorf("old PIN still works: %v", err)
	}
}

func TestWrongPINRetriesAndBlocking(t *testing.T) {
	a, c := newNano(t, simfido.Config{})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	wrong := func() error {
		t.Helper()
		_, err := c.Credentials(ctx, "000000")
		if err == nil {
			t.Fatal("wrong PIN accepted")
		}
		return err
	}
	// 1st and 2nd: PINError with the retries left.
	for want := 7; want >= 6; want-- {
		err := wrong()
		var pe *device.PINError
		if !errors.As(err, &pe) || pe.Retries != want || !errors.Is(err, device.ErrWrongPIN) || errors.Is(err, device.ErrBlocked) {
			t.Fatalf("wrong PIN = %v, want PINError with %d retries", err, want)
		}
		var ce *fido.CTAPError
		if !errors.As(err, &ce) || ce.Code != fido.CTAPPINInvalid {
			t.Errorf("raw CTAP status lost: %v", err)
		}
	}
	// 3rd: auth-blocked until power cycle; matches ErrBlocked, says replug.
	err := wrong()
	var pc *fido.PowerCycleError
	if !errors.As(err, &pc) || !errors.Is(err, device.ErrBlocked) || pc.Retries != 5 {
		t.Fatalf("3rd wrong PIN = %v, want PowerCycleError (5 left)", err)
	}
	if !strings.Contains(err.Error(), "unplug it and plug it back in") {
		t.Errorf("message %q does not say to replug", err)
	}
	// Even the right PIN is refused until replugged.
	if _, err := c.Credentials(ctx, pin); !errors.As(err, &pc) {
		t.Fatalf("right PIN while auth-blocked = %v", err)
	}
	a.PowerCycle()
	if _, err := c.Credentials(ctx, pin); err != nil {
		t.Fatalf("right PIN after replug = %v", err)
	}
	if st := mustState(t, c); st.PINRetries != 8 {
		t.Errorf("retries after right PIN = %d", st.PINRetries)
	}
	// 8 wrong in total (replugging every 3): blocked for good.
	for i := 1; i <= 8; i++ {
		err = wrong()
		if i%3 == 0 {
			a.PowerCycle()
		}
	}
	var pe *device.PINError
	if !errors.As(err, &pe) || pe.Retries != 0 || !errors.Is(err, device.ErrBlocked) {
		t.Fatalf("8th wrong PIN = %v, want blocked PINError", err)
	}
	a.PowerCycle()
	if _, err := c.Credentials(ctx, pin); !errors.Is(err, device.ErrBlocked) || errors.As(err, &pc) {
		t.Errorf("right PIN after block = %v, want permanent ErrBlocked", err)
	}
	if st := mustState(t, c); st.PINRetries != 0 {
		t.Errorf("State retries = %d", st.PINRetries)
	}
}

func TestEnteredPINThatCannotBeRight(t *testing.T) {
	_, c := newNano(t, simfido.Config{})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "12", strings.Repeat("9", 64)} {
		if _, err := c.Credentials(ctx, p); !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("Credentials(%q) = %v, want ErrInvalidArgument", p, err)
		}
	}
	if n, _ := c.PINRetries(ctx); n != 8 {
		t.Errorf("impossible PINs cost retries: %d left", n)
	}
}

func TestCredentialsAndHasCredential(t *testing.T) {
	a, c := newNano(t, simfido.Config{})
	if _, err := c.Credentials(ctx, pin); !errors.Is(err, device.ErrPINNotSet) {
		t.Fatalf("Credentials without PIN = %v, want ErrPINNotSet", err)
	}
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	list, err := c.Credentials(ctx, pin)
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty key: %v, %v; want an empty non-nil list", list, err)
	}
	if ok, err := c.HasCredential(ctx, pin, "google.com", ""); ok || err != nil {
		t.Fatalf("HasCredential on empty key = %v, %v", ok, err)
	}
	for _, r := range [][4]string{
		{"google.com", "Google", "ana@example.com", "Ana Lima"},
		{"github.com", "GitHub", "ana-lima", "Ana Lima"},
		{"google.com", "Google", "ana.admin@example.com", "Ana (admin)"},
	} {
		if err := a.AddCredential(r[0], r[1], r[2], r[3]); err != nil {
			t.Fatal(err)
		}
	}
	list, err = c.Credentials(ctx, pin)
	if err != nil {
		t.Fatal(err)
	}
	want := []fido.RPCredentials{
		{RP: fido.RelyingParty{ID: "github.com", Name: "GitHub"}, Credentials: []fido.Credential{{RPID: "github.com", UserName: "ana-lima", UserDisplayName: "Ana Lima"}}},
		{RP: fido.RelyingParty{ID: "google.com", Name: "Google"}, Credentials: []fido.Credential{
			{RPID: "google.com", UserName: "ana@example.com", UserDisplayName: "Ana Lima"},
			{RPID: "google.com", UserName: "ana.admin@example.com", UserDisplayName: "Ana (admin)"},
		}},
	}
	if !slices.EqualFunc(list, want, func(x, y fido.RPCredentials) bool {
		return x.RP == y.RP && slices.Equal(x.Credentials, y.Credentials)
	}) {
		t.Errorf("Credentials = %+v\nwant %+v", list, want)
	}
	for _, tt := range []struct {
		rp, user string
		want     bool
	}{
		{"google.com", "", true},
		{"GOOGLE.com", "ana@example.com", true},
		{"google.com", "bob@example.com", false},
		{"google.com", "Ana@Example.COM", true}, // SameUserName: case does not matter
		{"github.com", "ANA-LIMA", true},
		{"google.com", "ana@example.co", false},
		{"github.com", "ana-lima", true},
		{"aws.amazon.com", "", false},
		{"1password.com", "ana", false},
	} {
		got, err := c.HasCredential(ctx, pin, tt.rp, tt.user)
		if err != nil || got != tt.want {
			t.Errorf("HasCredential(%s, %q) = %v, %v; want %v", tt.rp, tt.user, got, err, tt.want)
		}
	}
	if _, err := c.HasCredential(ctx, pin, "", ""); !errors.Is(err, device.ErrInvalidArgument) {
		t.Errorf("HasCredential with no RP = %v", err)
	}
	_, err = c.HasCredential(ctx, "000000", "google.com", "")
	var pe *device.PINError
	if !errors.As(err, &pe) || pe.Retries != 7 {
		t.Errorf("HasCredential wrong PIN = %v", err)
	}
}

func TestRemovedMidOperation(t *testing.T) {
	a, c := newNano(t, simfido.Config{})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	for _, rp := range []string{"google.com", "github.com"} {
		if err := a.AddCredential(rp, "", "ana", ""); err != nil {
			t.Fatal(err)
		}
	}
	// Credentials does getInfo, metadata, RPs, then one call per RP: pull
	// the key out after each prefix of that sequence.
	for n := 0; n < 5; n++ {
		a.Insert()
		a.RemoveAfter(n)
		_, err := c.Credentials(ctx, pin)
		if !errors.Is(err, device.ErrRemoved) {
			t.Errorf("removed after %d operations: %v, want ErrRemoved", n, err)
		}
	}
	a.Insert()
	a.RemoveAfter(0)
	if _, err := c.State(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Errorf("State = %v", err)
	}
	a.Insert()
	a.RemoveAfter(1) // getInfo works, getPINRetries does not
	if _, err := c.State(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Errorf("State with retries read failing = %v", err)
	}
	a.Insert()
	a.RemoveAfter(1)
	if err := c.ChangePIN(ctx, pin, "314159"); !errors.Is(err, device.ErrRemoved) {
		t.Errorf("ChangePIN = %v", err)
	}
}

func TestResetRefusals(t *testing.T) {
	a, _ := newNano(t, simfido.Config{})
	confirm := fido.Confirmation{Serial: nanoSerial, Model: nanoModel}
	tests := []struct {
		name string
		opts fido.Options
		conf fido.Confirmation
		want error
	}{
		{"identity unknown", fido.Options{}, confirm, device.ErrAmbiguous},
		{"ambiguous correlation", fido.Options{Serial: nanoSerial, Model: nanoModel, Match: device.MatchAmbiguous}, confirm, device.ErrAmbiguous},
		{"correlation not done", fido.Options{Serial: nanoSerial, Model: nanoModel}, confirm, device.ErrAmbiguous},
		{"confirmation for another serial", fido.Options{Serial: nanoSerial, Model: nanoModel, Match: device.MatchExact}, fido.Confirmation{Serial: 1, Model: nanoModel}, device.ErrInvalidArgument},
		{"confirmation for another model", fido.Options{Serial: nanoSerial, Model: nanoModel, Match: device.MatchExact}, fido.Confirmation{Serial: nanoSerial, Model: "YubiKey 5C NFC"}, device.ErrInvalidArgument},
		{"empty confirmation", fido.Options{Serial: nanoSerial, Model: nanoModel, Match: device.MatchExact}, fido.Confirmation{}, device.ErrInvalidArgument},
		{"AAGUID of another model", fido.Options{Serial: nanoSerial, Model: "YubiKey 5C NFC", Firmware: fw543, Match: device.MatchUnique}, fido.Confirmation{Serial: nanoSerial, Model: "YubiKey 5C NFC"}, device.ErrAmbiguous},
		{"firmware of another key", fido.Options{Serial: nanoSerial, Model: nanoModel, Firmware: device.Version{Major: 5, Minor: 4, Patch: 2}, Match: device.MatchUnique}, confirm, device.ErrAmbiguous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := a.SetPIN(ctx, pin); err != nil && !errors.As(err, new(*fido.CTAPError)) {
				t.Fatal(err)
			}
			c := fido.NewClient(a, tt.opts)
			if err := c.Reset(ctx, tt.conf); !errors.Is(err, tt.want) {
				t.Fatalf("Reset = %v, want %v", err, tt.want)
			}
			if st := mustState(t, c); !st.PINSet {
				t.Fatal("a refused reset erased the key")
			}
		})
	}
}

func TestResetWindow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)}
	a, c := newNano(t, simfido.Config{Now: clk.Now})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	if err := a.AddCredential("google.com", "Google", "ana@example.com", "Ana"); err != nil {
		t.Fatal(err)
	}
	confirm := fido.Confirmation{Serial: nanoSerial, Model: nanoModel}

	clk.Advance(fido.ResetWindow + time.Second)
	err := c.Reset(ctx, confirm)
	if !errors.Is(err, fido.ErrResetNotAllowed) {
		t.Fatalf("late Reset = %v, want ErrResetNotAllowed", err)
	}
	if !strings.Contains(err.Error(), "unplug and re-insert the key") {
		t.Errorf("message %q does not say what to do", err)
	}
	if ok, _ := c.HasCredential(ctx, pin, "google.com", ""); !ok {
		t.Fatal("late reset erased credentials")
	}

	a.PowerCycle()
	clk.Advance(2 * time.Second)
	if err := c.Reset(ctx, confirm); err != nil {
		t.Fatalf("Reset within the window: %v", err)
	}
	st := mustState(t, c)
	if st.PINSet || st.PINRetries != 8 {
		t.Errorf("after reset: %+v", *st)
	}
	if _, err := c.Credentials(ctx, pin); !errors.Is(err, device.ErrPINNotSet) {
		t.Errorf("credentials after reset = %v, want ErrPINNotSet", err)
	}
	if err := c.SetPIN(ctx, "314159"); err != nil {
		t.Fatalf("SetPIN after reset: %v", err)
	}
	if list, err := c.Credentials(ctx, "314159"); err != nil || len(list) != 0 {
		t.Errorf("credentials survived reset: %v, %v", list, err)
	}
}

func TestResetClearsBlockedPIN(t *testing.T) {
	a, c := newNano(t, simfido.Config{})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 8; i++ {
		c.Credentials(ctx, "000000")
		if i%3 == 0 {
			a.PowerCycle()
		}
	}
	if _, err := c.Credentials(ctx, pin); !errors.Is(err, device.ErrBlocked) {
		t.Fatalf("not blocked: %v", err)
	}
	a.PowerCycle()
	if err := c.Reset(ctx, fido.Confirmation{Serial: nanoSerial, Model: nanoModel}); err != nil {
		t.Fatal(err)
	}
	if st := mustState(t, c); st.PINSet || st.PINRetries != 8 {
		t.Errorf("after reset: %+v", *st)
	}
}

func TestResetNoTouch(t *testing.T) {
	_, c := newNano(t, simfido.Config{Touch: simfido.NoTouch})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	err := c.Reset(ctx, fido.Confirmation{Serial: nanoSerial, Model: nanoModel})
	if !errors.Is(err, device.ErrTouchRequired) {
		t.Fatalf("Reset without touch = %v, want ErrTouchRequired", err)
	}
	if !mustState(t, c).PINSet {
		t.Error("untouched reset erased the key")
	}
}

// TestTouchNotifier: while the key waits for a touch, OnTouch(true) comes;
// the simulated user touches only once the prompt is up; then
// OnTouch(false). No timing is asserted: the touch waits for the prompt.
func TestTouchNotifier(t *testing.T) {
	prompted := make(chan struct{})
	var mu sync.Mutex
	var events []bool
	a := simfido.New(simfido.Config{Serial: nanoSerial, Model: nanoModel, Firmware: fw543,
		Touch: func(ctx context.Context) error {
			select {
			case <-prompted:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}})
	c := fido.NewClient(a, fido.Options{Serial: nanoSerial, Model: nanoModel, Firmware: fw543, Match: device.MatchExact,
		TouchDelay: time.Millisecond,
		OnTouch: func(waiting bool) {
			mu.Lock()
			events = append(events, waiting)
			mu.Unlock()
			if waiting {
				close(prompted)
			}
		}})
	if err := c.Reset(ctx, fido.Confirmation{Serial: nanoSerial, Model: nanoModel}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, []bool{true, false}) {
		t.Errorf("OnTouch calls = %v, want [true false]", events)
	}
}

// TestTouchNotifierQuietWhenRefused: a reset the key refuses at once never
// shows a touch prompt (the delay is far longer than the test).
func TestTouchNotifierQuietWhenRefused(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)}
	a := simfido.New(simfido.Config{Serial: nanoSerial, Model: nanoModel, Firmware: fw543, Now: clk.Now})
	called := false
	c := fido.NewClient(a, fido.Options{Serial: nanoSerial, Model: nanoModel, Match: device.MatchExact,
		TouchDelay: time.Hour, OnTouch: func(bool) { called = true }})
	clk.Advance(time.Minute)
	if err := c.Reset(ctx, fido.Confirmation{Serial: nanoSerial, Model: nanoModel}); !errors.Is(err, fido.ErrResetNotAllowed) {
		t.Fatal(err)
	}
	if called {
		t.Error("OnTouch called for a refused reset")
	}
}

func TestForcePINChange(t *testing.T) {
	a, c := newNano(t, simfido.Config{})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	a.SetForcePINChange(true)
	if !mustState(t, c).ForcePINChange {
		t.Fatal("ForcePINChange not reported")
	}
	if _, err := c.Credentials(ctx, pin); !errors.Is(err, device.ErrPINPolicy) {
		t.Errorf("Credentials while a change is forced = %v, want ErrPINPolicy", err)
	}
	if err := c.ChangePIN(ctx, pin, "314159"); err != nil {
		t.Fatal(err)
	}
	if mustState(t, c).ForcePINChange {
		t.Error("ForcePINChange still set after a change")
	}
}

func TestErrorsNeverCarryPIN(t *testing.T) {
	const secret = "s3cr3t-PIN"
	a, c := newNano(t, simfido.Config{})
	var errs []error
	errs = append(errs, c.ChangePIN(ctx, secret, secret))
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	_, err := c.Credentials(ctx, secret)
	errs = append(errs, err)
	_, err = c.HasCredential(ctx, secret, "google.com", secret)
	errs = append(errs, err)
	errs = append(errs, c.ChangePIN(ctx, secret, secret+"x"))
	errs = append(errs, c.ChangePIN(ctx, pin, secret+strings.Repeat("x", 60)))
	a.Remove()
	errs = append(errs, c.ChangePIN(ctx, secret, secret))
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q carries the PIN", err)
		}
	}
}

// staleInfo reports a key without a PIN although one is set, as when
// another program sets the PIN between getInfo and setPIN.
type staleInfo struct{ fido.Authenticator }

func (s staleInfo) Info(ctx context.Context) (*fido.RawInfo, error) {
	info, err := s.Authenticator.Info(ctx)
	if err == nil {
		info.Options["clientPin"] = false
	}
	return info, err
}

func TestSetPINRaceAlreadySet(t *testing.T) {
	a, c := newNano(t, simfido.Config{})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	stale := fido.NewClient(staleInfo{a}, fido.Options{})
	err := stale.SetPIN(ctx, "314159")
	var ce *fido.CTAPError
	if !errors.Is(err, device.ErrInvalidArgument) || !errors.As(err, &ce) || ce.Code != fido.CTAPPINAuthInvalid {
		t.Fatalf("SetPIN over a PIN set meanwhile = %v, want ErrInvalidArgument from PIN_AUTH_INVALID", err)
	}
	if _, err := c.Credentials(ctx, pin); err != nil {
		t.Errorf("the first PIN no longer works: %v", err)
	}
}

func TestResetCanceledWhileWaitingForTouch(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := simfido.New(simfido.Config{Serial: nanoSerial, Model: nanoModel, Firmware: fw543,
		Touch: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	var mu sync.Mutex
	var events []bool
	c := fido.NewClient(a, fido.Options{Serial: nanoSerial, Model: nanoModel, Match: device.MatchExact, TouchDelay: time.Millisecond,
		OnTouch: func(w bool) {
			mu.Lock()
			events = append(events, w)
			mu.Unlock()
			if w {
				cancel() // the user gives up in the UI
			}
		}})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(cctx, fido.Confirmation{Serial: nanoSerial, Model: nanoModel}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Reset = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, []bool{true, false}) {
		t.Errorf("OnTouch calls = %v, want [true false]", events)
	}
	if !mustState(t, c).PINSet {
		t.Error("canceled reset erased the key")
	}
}

func TestOptionsFor(t *testing.T) {
	k := &device.Key{Serial: 7, Model: nanoModel, Info: device.Info{Version: fw543}, FIDOMatch: device.MatchUnique}
	want := fido.Options{Serial: 7, Model: nanoModel, Firmware: fw543, Match: device.MatchUnique}
	if got := fido.OptionsFor(k); got.Serial != want.Serial || got.Model != want.Model || got.Firmware != want.Firmware || got.Match != want.Match {
		t.Errorf("OptionsFor = %+v, want %+v", got, want)
	}
}

// infoEdit changes what getInfo reports, to cover keys the simulator's
// presets do not produce.
type infoEdit struct {
	fido.Authenticator
	edit func(*fido.RawInfo)
	// retriesCalls counts getPINRetries.
	retriesCalls int
}

func (e *infoEdit) Info(ctx context.Context) (*fido.RawInfo, error) {
	info, err := e.Authenticator.Info(ctx)
	if err == nil {
		e.edit(info)
	}
	return info, err
}

func (e *infoEdit) PINRetries(ctx context.Context) (int, error) {
	e.retriesCalls++
	return e.Authenticator.PINRetries(ctx)
}

func TestKeyWithoutClientPIN(t *testing.T) {
	a, _ := newNano(t, simfido.Config{})
	e := &infoEdit{Authenticator: a, edit: func(i *fido.RawInfo) { delete(i.Options, "clientPin") }}
	c := fido.NewClient(e, fido.Options{})
	st := mustState(t, c)
	if st.PINSet || st.PINRetries != -1 || e.retriesCalls != 0 {
		t.Errorf("State = %+v after %d retries calls; want retries -1, not asked", *st, e.retriesCalls)
	}
	if err := c.SetPIN(ctx, pin); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("SetPIN = %v, want ErrUnsupported", err)
	}
	if err := c.ChangePIN(ctx, pin, "314159"); !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("ChangePIN = %v, want ErrUnsupported", err)
	}
}

// TestKeyMinimumPINLength: a key that reports minPINLength 6 (an
// administrator's setMinPINLength) gets no shorter PIN.
func TestKeyMinimumPINLength(t *testing.T) {
	a, _ := newNano(t, simfido.Config{})
	c := fido.NewClient(&infoEdit{Authenticator: a, edit: func(i *fido.RawInfo) { i.MinPINLength = 6 }}, fido.Options{})
	if st := mustState(t, c); st.MinPINLength != 6 {
		t.Errorf("MinPINLength = %d", st.MinPINLength)
	}
	err := c.SetPIN(ctx, "12345")
	var pe *fido.PINPolicyError
	if !errors.As(err, &pe) || !strings.Contains(pe.Rule, "at least 6") {
		t.Fatalf("SetPIN(5 digits) = %v, want the 6-character rule", err)
	}
	if err := c.SetPIN(ctx, "123456"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangePIN(ctx, "123456", "12345"); !errors.As(err, &pe) {
		t.Errorf("ChangePIN to 5 digits = %v", err)
	}
}

// vanishingRP lists an RP whose credentials are gone by the time they are
// enumerated (deleted by another program in between).
type vanishingRP struct{ fido.Authenticator }

func (v vanishingRP) RelyingParties(ctx context.Context, pin string) ([]fido.RelyingParty, error) {
	rps, err := v.Authenticator.RelyingParties(ctx, pin)
	return append(rps, fido.RelyingParty{ID: "gone.example"}), err
}

func TestCredentialsRPWithoutCredentials(t *testing.T) {
	a, _ := newNano(t, simfido.Config{})
	c := fido.NewClient(vanishingRP{a}, fido.Options{})
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	if err := a.AddCredential("github.com", "GitHub", "ana", "Ana"); err != nil {
		t.Fatal(err)
	}
	list, err := c.Credentials(ctx, pin)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[1].RP.ID != "gone.example" || list[1].Credentials == nil || len(list[1].Credentials) != 0 {
		t.Errorf("Credentials = %+v, want gone.example with an empty list", list)
	}
	if ok, err := c.HasCredential(ctx, pin, "gone.example", ""); ok || err != nil {
		t.Errorf("HasCredential(gone.example) = %v, %v", ok, err)
	}
}

// TestConcurrentClients: two clients on one key from many goroutines; with
// -race this checks the Client keeps no unsynchronised state.
func TestConcurrentClients(t *testing.T) {
	a, c1 := newNano(t, simfido.Config{})
	c2 := fido.NewClient(a, fido.Options{})
	if err := c1.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	if err := a.AddCredential("github.com", "GitHub", "ana", "Ana"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := c.HasCredential(ctx, pin, "github.com", "ana"); !ok || err != nil {
				t.Errorf("HasCredential = %v, %v", ok, err)
			}
			if _, err := c.State(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// TestSameUserName pins the one rule for matching a credential to an
// account: letter case never matters, anything else does.
func TestSameUserName(t *testing.T) {
	for _, tc := range []struct {
		stored, account string
		want            bool
	}{
		{"ana@example.com", "ana@example.com", true},
		{"Ana@Example.com", "ana@example.com", true},
		{"ana-lima", "ANA-LIMA", true},
		{"ana@example.com", "ana@example.com ", false},
		{"ana@example.com", "ana.lima@example.com", false},
		{"ana", "", false},
	} {
		if got := fido.SameUserName(tc.stored, tc.account); got != tc.want {
			t.Errorf("SameUserName(%q, %q) = %v, want %v", tc.stored, tc.account, got, tc.want)
		}
	}
}
