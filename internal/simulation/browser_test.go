//go:build linux && cgo

package simulation

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/fido/libfido2"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// TestBrowserRegistersThroughLibfido2: on Linux the simulated browser
// registers a passkey on each of the person's keys through go-libfido2 and
// libfido2 on the key's FIDO HID node, with the PIN the person set: the
// key then holds a discoverable credential under the site's user handle
// for the account, which signs in through libfido2. A key whose PIN the
// person does not know refuses (PIN required), and one nobody touches
// times out: neither would happen to AddCredential. The keys are not
// plugged into vpcd (the browser only needs their FIDO2 side), so no vpcd
// slot is taken.
func TestBrowserRegistersThroughLibfido2(t *testing.T) {
	ctx := context.Background()
	if !libfido2.Available() {
		t.Fatal("this Linux build with cgo has no libfido2")
	}
	s, err := newSimulation(ctx, DefaultKeys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const pin = "4821-fido"
	person := &Person{}
	var serials []uint32
	var views []steps.KeyView
	for _, k := range s.Keys {
		path, ok := s.HIDPath(k.Serial())
		if !ok {
			t.Fatalf("key %d has no HID node", k.Serial())
		}
		// The person sets the PIN in the wizard (here straight through
		// libfido2; the wizard's adapters need pcscd to find a key).
		a, err := libfido2.NewProvider(path).Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.SetPIN(ctx, pin); err != nil {
			t.Fatal(err)
		}
		person.remember(k.Serial(), pin)
		serials = append(serials, k.Serial())
		views = append(views, steps.KeyView{Serial: k.Serial()})
	}
	cat := stepstest.Catalogue()
	snap := steps.Snapshot{Person: steps.Person{Name: "Ana Lima", Email: "ana@example.com", Accounts: map[string]string{"github": "Ana-Lima"}}, Keys: views}
	b := &Browser{Sim: s, Catalogue: cat, Snapshot: func() steps.Snapshot { return snap }, PIN: person.FIDOPIN}
	if err := b.Open("https://github.com/settings/security"); err != nil {
		t.Fatalf("opening GitHub's page: %v", err)
	}
	for _, serial := range serials {
		creds, err := s.FIDO[serial].Credentials(ctx, pin, "github.com")
		if err != nil || len(creds) != 1 || creds[0] != (fido.Credential{RPID: "github.com", UserName: "Ana-Lima", UserDisplayName: "Ana Lima"}) {
			t.Fatalf("key %d after the visit: %+v, %v", serial, creds, err)
		}
		path, _ := s.HIDPath(serial)
		c := make([]byte, 32)
		rand.Read(c)
		as, err := libfido2.NewProvider(path).GetAssertion(ctx, path, pin, libfido2.AssertionRequest{RPID: "github.com", ClientDataHash: c})
		if err != nil {
			t.Fatalf("signing in with key %d's passkey: %v", serial, err)
		}
		if !bytes.Equal(as.UserID, userHandle("github.com", "Ana-Lima")) {
			t.Errorf("key %d: user handle %x, want the site's handle for the account", serial, as.UserID)
		}
	}

	// A PIN the person does not know: the key asks for one.
	b.PIN = nil
	var ce *fido.CTAPError
	if err := b.Open("https://myaccount.google.com/signinoptions/passkeys"); !errors.As(err, &ce) || ce.Code != fido.CTAPPUATRequired {
		t.Fatalf("registering without the PIN = %v, want PIN required (CTAP 0x36)", err)
	}
	b.PIN = person.FIDOPIN
	// Nobody touches the first key.
	s.FIDO[serials[0]].SetTouch(simfido.NoTouch)
	if err := b.Open("https://myaccount.google.com/signinoptions/passkeys"); !errors.As(err, &ce) || ce.Code != fido.CTAPActionTimeout {
		t.Fatalf("registering with no touch = %v, want ACTION_TIMEOUT", err)
	}
	// Only the touched key has the Google passkey.
	if creds, err := s.FIDO[serials[1]].Credentials(ctx, pin, "google.com"); err != nil || len(creds) != 1 {
		t.Errorf("touched key: %+v, %v", creds, err)
	}
	if _, err := s.FIDO[serials[0]].Credentials(ctx, pin, "google.com"); !errors.As(err, &ce) || ce.Code != fido.CTAPNoCredentials {
		t.Errorf("untouched key has a Google passkey: %v", err)
	}
}

// TestBrowserWithoutHIDNode: with no HID node (as on other systems) the
// browser puts the credential on the simulated key directly.
func TestBrowserWithoutHIDNode(t *testing.T) {
	k, err := sim.New(sim.Config{Serial: 31000005, Model: "5c-nano", Firmware: DefaultKeys[0].Firmware})
	if err != nil {
		t.Fatal(err)
	}
	s := &Simulation{Keys: []*sim.Key{k}, FIDO: map[uint32]*simfido.Authenticator{k.Serial(): k.FIDO()}}
	if _, ok := s.HIDPath(k.Serial()); ok {
		t.Fatal("a HID path without a node")
	}
	snap := steps.Snapshot{Person: steps.Person{Name: "Ana Lima", Email: "ana@example.com"}, Keys: []steps.KeyView{{Serial: k.Serial()}}}
	b := &Browser{Sim: s, Catalogue: stepstest.Catalogue(), Snapshot: func() steps.Snapshot { return snap }}
	if err := b.Open("https://myaccount.google.com/signinoptions/passkeys"); err != nil {
		t.Fatal(err)
	}
	if err := k.FIDO().SetPIN(context.Background(), "123456"); err != nil {
		t.Fatal(err)
	}
	if creds, err := k.FIDO().Credentials(context.Background(), "123456", "google.com"); err != nil || len(creds) != 1 || creds[0].UserName != "ana@example.com" {
		t.Fatalf("after the visit: %+v, %v", creds, err)
	}
}

// TestPersonRemembersPINs: the person knows a key's PIN once the wizard
// set, changed or checked it successfully, and not a PIN the key refused.
func TestPersonRemembersPINs(t *testing.T) {
	ctx := context.Background()
	fk := stepstest.NewFakeKeys(stepstest.NewKey(1, true), stepstest.NewKey(2, false))
	p := &Person{}
	keys := p.Keys(fk)
	if _, ok := p.FIDOPIN(1); ok {
		t.Fatal("a PIN known before any was typed")
	}
	if err := keys.SetFIDOPIN(ctx, 1, "1111"); err != nil {
		t.Fatal(err)
	}
	if err := keys.ChangeFIDOPIN(ctx, 1, "9999", "2222"); err == nil {
		t.Fatal("ChangeFIDOPIN with a wrong PIN succeeded")
	}
	if pin, ok := p.FIDOPIN(1); !ok || pin != "1111" {
		t.Fatalf("after a refused change the person knows %q, %v; want 1111", pin, ok)
	}
	if err := keys.ChangeFIDOPIN(ctx, 1, "1111", "2222"); err != nil {
		t.Fatal(err)
	}
	if pin, _ := p.FIDOPIN(1); pin != "2222" {
		t.Fatalf("after the change the person knows %q", pin)
	}
	if _, ok := p.FIDOPIN(2); ok {
		t.Fatal("a PIN known for a key never touched")
	}
}
