// Package simulation sets up `keywizard --simulate`: simulated YubiKeys
// (device/sim) plugged into the machine's pcscd through vpcd, either in
// this process or as `keywizard sim` processes of their own, with their
// FIDO2 side behind the simulator's registry and a hub over both; and a
// Browser that stands in for the person registering passkeys at each
// service's page.
package simulation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/fido/libfido2"
	"github.com/keywizard/keywizard/device/hub"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/device/sim/vpcdlock"
	"github.com/keywizard/keywizard/internal/keys"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// KeySpec describes one simulated key of a Simulation.
type KeySpec struct {
	Serial   uint32
	Model    string // sim preset: "5c-nano", "5c-nfc", ...
	Firmware device.Version
	// FIDOOverCCID makes the key's FIDO2 application answer on its
	// smart-card reader too (sim.Config.FIDOOverCCID), so that ykman
	// --reader can read its FIDO2 side in tests.
	FIDOOverCCID bool
}

// DefaultKeys are the two keys `keywizard --simulate` plugs in: the
// company's pair, a 5C Nano for the laptop and a 5C NFC for the phone.
var DefaultKeys = []KeySpec{
	{Serial: 31000001, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}},
	{Serial: 31000002, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 7, Patch: 2}},
}

// Simulation is a set of simulated keys plugged into the machine's pcscd
// through vpcd (slot i for key i), with their FIDO2 sides on FIDO HID nodes
// that libfido2 opens (Linux; elsewhere behind the simulator's registry, a
// fido.Provider in libfido2's place), and a hub over both: the same code
// path as real keys.
type Simulation struct {
	Keys        []*sim.Key
	FIDO        map[uint32]*simfido.Authenticator
	Provider    *sim.Registry
	Hub         *hub.Hub
	attachments []*sim.Attachment
	procs       []*simProc // StartProcesses' keys
	unlock      func()
	hid         []*sim.HIDNode // the keys' FIDO HID nodes by slot, nil for none (Linux)
	hidDir      string
	// replaced stops the attachments Replace made (theirs end with
	// Close, not with Start's context).
	replaced []context.CancelFunc
}

// Start creates the keys and attaches them to vpcd, waiting until
// pcscd sees them. With lock set it first takes the machine-wide vpcd lock
// (device/sim/vpcdlock) and holds it until Close; callers that already hold
// it (tests, through internal/testenv) pass false.
func Start(ctx context.Context, specs []KeySpec, lock bool) (*Simulation, error) {
	return StartWith(ctx, specs, Options{Lock: lock})
}

// Options are the settings of StartWith and
// StartProcessesWith.
type Options struct {
	// Lock takes the machine-wide vpcd lock first (see Start).
	Lock bool
	// Progress, when set, is told in plain words what the start-up is
	// waiting for each time that changes ("Waiting for the virtual card
	// readers: another simulation or a test run is using them"), so a
	// window can say it instead of guessing. Called from the starting
	// goroutine; it must return quickly.
	Progress func(waitingFor string)
}

func (o Options) progress(s string) {
	if o.Progress != nil {
		o.Progress(s)
	}
}

// StartWith is Start with options.
func StartWith(ctx context.Context, specs []KeySpec, opts Options) (*Simulation, error) {
	s, err := newSimulation(ctx, specs, opts)
	if err != nil {
		return nil, err
	}
	opts.progress("Plugging in the simulated keys")
	for i, k := range s.Keys {
		a, err := sim.Attach(ctx, k, i)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("attaching simulated key %d to vpcd slot %d (is pcscd with vsmartcard-vpcd running? scripts/pcscd.sh): %w", k.Serial(), i, err)
		}
		s.attachments = append(s.attachments, a)
	}
	for i, a := range s.attachments {
		opts.progress(fmt.Sprintf("Waiting for pcscd to show simulated key %d in virtual reader %d", a.Key().Serial(), i))
		if err := a.Ready(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("waiting for pcscd to see the simulated key: %w", err)
		}
	}
	return s, nil
}

// newSimulation takes the vpcd lock when asked and creates the keys, with
// their FIDO2 sides in the registry and a hub over both; the caller plugs
// the cards in (in this process, or as processes of their own).
func newSimulation(ctx context.Context, specs []KeySpec, opts Options) (*Simulation, error) {
	if len(specs) > 2 {
		return nil, fmt.Errorf("vpcd has two virtual readers; %d simulated keys asked for: %w", len(specs), device.ErrInvalidArgument)
	}
	s := &Simulation{FIDO: map[uint32]*simfido.Authenticator{}, Provider: sim.NewRegistry()}
	if opts.Lock {
		// One try first (Lock tries once before it looks at an ended
		// context): only a lock someone else holds is worth saying.
		done, cancel := context.WithCancel(ctx)
		cancel()
		unlock, err := vpcdlock.Lock(done)
		if err != nil {
			opts.progress("Waiting for the virtual card readers: another keywizard --simulate or a test run is using them")
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			unlock, err = vpcdlock.Lock(lctx)
			cancel()
			if err != nil {
				return nil, err
			}
		}
		s.unlock = unlock
	}
	for _, sp := range specs {
		k, err := sim.New(sim.Config{Serial: sp.Serial, Model: sp.Model, Firmware: sp.Firmware, FIDOOverCCID: sp.FIDOOverCCID})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("simulated key %d: %w", sp.Serial, err)
		}
		s.Keys = append(s.Keys, k)
		s.FIDO[sp.Serial] = k.FIDO()
		s.Provider.Add(k)
	}
	fp, err := s.fidoProvider()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Hub = keys.NewHub(fp)
	return s, nil
}

// fidoProvider is how keywizard reaches the simulated keys' FIDO2 sides.
// On Linux with libfido2 each key's FIDO2 side is on a FIDO HID node
// (device/sim/simhid) in a private directory, and keywizard reaches it
// through go-libfido2 and libfido2 as it reaches a USB key
// (docs/fido-hid.md); elsewhere the simulator's registry stands in for
// libfido2.
func (s *Simulation) fidoProvider() (fido.Provider, error) {
	if runtime.GOOS != "linux" || !libfido2.Available() {
		return s.Provider, nil
	}
	dir, err := os.MkdirTemp("", "keywizard-sim-fido-")
	if err != nil {
		return nil, fmt.Errorf("making the simulated keys' FIDO HID nodes: %w", err)
	}
	s.hidDir = dir
	var paths []string
	s.hid = make([]*sim.HIDNode, len(s.Keys))
	for i, k := range s.Keys {
		// One node path per vpcd slot, like a USB port: a key put in the
		// slot by Replace gets its node at the same path, which the
		// provider (made once, here) already lists.
		path := s.hidPath(i)
		paths = append(paths, path)
		if k.FIDO() == nil {
			continue // a YubiKey 4: no FIDO2
		}
		h, err := k.ServeHID(path)
		if err != nil {
			return nil, fmt.Errorf("simulated key %d: %w", k.Serial(), err)
		}
		s.hid[i] = h
	}
	return libfido2.NewProvider(paths...), nil
}

// hidPath is the FIDO HID node path of the key in vpcd slot.
func (s *Simulation) hidPath(slot int) string {
	return filepath.Join(s.hidDir, fmt.Sprintf("fido-slot%d", slot))
}

// Close unplugs every simulated key.
func (s *Simulation) Close() {
	for _, a := range s.attachments {
		a.Detach()
	}
	s.attachments = nil
	for _, cancel := range s.replaced {
		cancel()
	}
	s.replaced = nil
	for _, h := range s.hid {
		if h != nil {
			h.Close()
		}
	}
	s.hid = nil
	if s.hidDir != "" {
		os.RemoveAll(s.hidDir)
		s.hidDir = ""
	}
	s.stopProcs()
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// HIDPath is the FIDO HID node of the key with serial, where it has one
// (Linux with libfido2: fidoProvider); false elsewhere.
func (s *Simulation) HIDPath(serial uint32) (string, bool) {
	for i, k := range s.Keys {
		if k.Serial() == serial && i < len(s.hid) && s.hid[i] != nil {
			return s.hid[i].Path(), true
		}
	}
	return "", false
}

// Browser stands in for the person at each service's website: opening a
// service's page registers a passkey for its relying party on each of the
// person's keys, as the instructions ask. Pages of services that keywizard
// cannot verify from the key, and pages opened from a lost key's removal
// checklist, are just recorded.
//
// A key with a FIDO HID node (Linux) is registered on as a browser
// registers on a USB key: authenticatorMakeCredential with rk=true through
// go-libfido2 and libfido2 (device/fido/libfido2 MakeCredential), with the
// FIDO2 PIN the person set, as they would type it into the browser's PIN
// prompt, and the key's touch as the simulation gives it (at once, unless
// the key's touch was changed, simfido.Authenticator.SetTouch). Without a
// node (other systems, or a build without libfido2) the credential is put
// on the simulated key directly (simfido.Authenticator.AddCredential),
// with no PIN or touch.
type Browser struct {
	Sim       *Simulation
	Catalogue *catalogue.Catalogue
	// Snapshot gives the person and their keys at the time of the visit.
	Snapshot func() steps.Snapshot
	// PIN gives the FIDO2 PIN the person set on the key with serial
	// (Person.FIDOPIN); nil or false: the person knows none, and a key
	// with a PIN refuses the registration (PIN required). The PIN is
	// never logged: the trace has its length only.
	PIN func(serial uint32) (string, bool)

	mu     sync.Mutex
	Opened []string
}

// Open "visits" url.
func (b *Browser) Open(url string) error {
	b.mu.Lock()
	b.Opened = append(b.Opened, url)
	b.mu.Unlock()
	svc, ok := b.service(url)
	if !ok || svc.Verification.Kind != catalogue.KindFIDOCredential {
		return nil
	}
	snap := b.Snapshot()
	if snap.CurrentStep().Kind == steps.KindLost {
		// The page is open to remove the lost key (a service's removal
		// page is often its sign-in options page): nothing is registered.
		return nil
	}
	user := snap.Person.Email
	if acct := snap.Person.Accounts[svc.ID]; acct != "" {
		user = acct
	}
	var errs []error
	for _, kv := range snap.Keys {
		if err := b.register(kv.Serial, svc, user, snap.Person.Name); err != nil {
			errs = append(errs, fmt.Errorf("simulated registration on key %d: %w", kv.Serial, err))
		}
	}
	return errors.Join(errs...)
}

// register makes the passkey for svc on the key with serial.
func (b *Browser) register(serial uint32, svc catalogue.Service, user, display string) error {
	rpID := svc.Verification.RPID
	path, ok := b.Sim.HIDPath(serial)
	if !ok {
		fa, ok := b.Sim.FIDO[serial]
		if !ok {
			return nil // a key without FIDO2 (YubiKey 4)
		}
		return fa.AddCredential(rpID, svc.Name, user, display)
	}
	pin := ""
	if b.PIN != nil {
		pin, _ = b.PIN(serial)
	}
	_, err := libfido2.NewProvider(path).MakeCredential(context.Background(), path, pin, libfido2.Registration{
		ClientDataHash:  clientDataHash(rpID),
		RPID:            rpID,
		RPName:          svc.Name,
		UserID:          userHandle(rpID, user),
		UserName:        user,
		UserDisplayName: display,
	})
	return err
}

// clientDataHash is what a browser hashes for a registration (WebAuthn
// §5.8.1 CollectedClientData: type, a challenge the site sent, the
// origin); the site's challenge is random here.
func clientDataHash(rpID string) []byte {
	challenge := make([]byte, 32)
	rand.Read(challenge)
	cd := fmt.Sprintf(`{"type":"webauthn.create","challenge":%q,"origin":%q,"crossOrigin":false}`,
		base64.RawURLEncoding.EncodeToString(challenge), "https://"+rpID)
	h := sha256.Sum256([]byte(cd))
	return h[:]
}

// userHandle is the site's user handle for the account: opaque, as
// WebAuthn §14.6.1 asks (a hash, not the name), and stable per account, so
// that the same account registering again replaces its passkey on the
// key, as at a real site.
func userHandle(rpID, user string) []byte {
	h := sha256.Sum256([]byte("simulated user handle\x00" + rpID + "\x00" + strings.ToLower(user)))
	return h[:16]
}

// Pages is a copy of Opened, safe while the wizard may open more.
func (b *Browser) Pages() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.Opened...)
}

func (b *Browser) service(url string) (catalogue.Service, bool) {
	for _, s := range b.Catalogue.Services {
		if s.URL != "" && strings.HasPrefix(url, s.URL) {
			return s, true
		}
		for _, l := range s.AlternateURLs {
			if l.URL != "" && strings.HasPrefix(url, l.URL) {
				return s, true
			}
		}
	}
	return catalogue.Service{}, false
}
