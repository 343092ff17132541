// Package hub is the one door to the connected keys for the command line and
// the wizard: it composes discovery (device/scan), the management application
// (device/mgmt), PIV provisioning (device/piv) and FIDO2 (device/fido) into
// operations addressed by serial number, so callers never juggle readers,
// HID paths or which interface carries what.
//
// Every operation finds its key afresh: a key unplugged between two calls is
// noticed (device.ErrNotFound), and two keys where one was meant is refused
// (device.ErrAmbiguous), never guessed.
package hub

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apps"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/mgmt"
	"github.com/keywizard/keywizard/device/piv"
	"github.com/keywizard/keywizard/device/scan"
)

// Hub addresses keys by serial. Scanner must be set; OpenCard is the
// connection piv uses for what piv-go cannot write.
type Hub struct {
	Scanner  *scan.Scanner
	OpenCard piv.CardOpener
}

// Keys lists the connected keys, with PIV state when withPIV is set.
func (h *Hub) Keys(ctx context.Context, withPIV bool) ([]device.Key, error) {
	s := *h.Scanner
	s.WithPIV = withPIV
	return s.Keys(ctx)
}

// Find returns the key with serial (0: the only key).
func (h *Hub) Find(ctx context.Context, serial uint32) (device.Key, error) {
	return h.Scanner.Find(ctx, serial)
}

// Watch reports keys arriving and leaving.
func (h *Hub) Watch(ctx context.Context) (<-chan scan.Event, error) {
	return h.Scanner.Watch(ctx)
}

// ChangeApplications enables or disables applications on the key with serial
// (0: the only key; two keys are refused with device.ErrAmbiguous), waits
// for its reboot and reads the result back.
//
// The key's serial, needed to wait for it after the reboot, comes from the
// card held for the change: the connection is inside a PC/SC transaction
// until it is closed, so looking the key up again meanwhile (Find) would
// wait on our own transaction and never return.
func (h *Hub) ChangeApplications(ctx context.Context, serial uint32, req mgmt.Request) (mgmt.Result, error) {
	card, k, err := h.Scanner.OpenKey(ctx, serial)
	if err != nil {
		return mgmt.Result{}, err
	}
	defer card.Close()
	return mgmt.ChangeApplications(ctx, card, req, h.Scanner.Reopener(k.Serial))
}

// DisableOTP turns OTP off over USB, and over NFC when nfc is set and the key
// has NFC (serial 0: the only key).
func (h *Hub) DisableOTP(ctx context.Context, serial uint32, nfc bool, lockCode []byte) (mgmt.Result, error) {
	req := mgmt.Request{USBDisable: device.CapOTP, LockCode: lockCode}
	if nfc {
		k, err := h.Find(ctx, serial)
		if err != nil {
			return mgmt.Result{}, err
		}
		if k.Info.HasNFC {
			req.NFCDisable = device.CapOTP
		}
		// The change goes to the key just read, not to whichever key is
		// the only one by the time it is opened again.
		serial = k.Serial
	}
	return h.ChangeApplications(ctx, serial, req)
}

// FIDO opens the FIDO2 side of the key with serial; onTouch (may be nil) is
// told when an operation waits for a touch. It fails with
// device.ErrAmbiguous when the key's FIDO interface cannot be told apart from
// another key's, and device.ErrNotFound when it has none.
func (h *Hub) FIDO(ctx context.Context, serial uint32, onTouch func(waiting bool)) (*fido.Client, device.Key, error) {
	k, err := h.Find(ctx, serial)
	if err != nil {
		return nil, k, err
	}
	switch {
	case k.FIDOMatch == device.MatchAmbiguous:
		return nil, k, fmt.Errorf("key %d: its FIDO2 interface cannot be told apart from another key's; unplug the other key and try again: %w", k.Serial, device.ErrAmbiguous)
	case k.FIDO == nil || h.Scanner.FIDO == nil:
		return nil, k, fmt.Errorf("key %d: no FIDO2 interface found (is FIDO2 enabled over USB?): %w", k.Serial, device.ErrNotFound)
	}
	a, err := h.Scanner.FIDO.Open(ctx, k.FIDO.Path)
	if err != nil {
		return nil, k, fmt.Errorf("opening FIDO2 interface of key %d: %w", k.Serial, err)
	}
	opts := fido.OptionsFor(&k)
	opts.OnTouch = onTouch
	return fido.NewClient(a, opts), k, nil
}

// Provisioner returns a PIV provisioner for the key with serial.
func (h *Hub) Provisioner(ctx context.Context, serial uint32) (*piv.Provisioner, device.Key, error) {
	k, err := h.Find(ctx, serial)
	if err != nil {
		return nil, k, err
	}
	return &piv.Provisioner{Reader: k.Reader, OpenCard: h.OpenCard}, k, nil
}

// PIVState reads the PIV state of the key with serial.
func (h *Hub) PIVState(ctx context.Context, serial uint32) (*device.PIVState, error) {
	card, _, err := h.Scanner.OpenCard(ctx, serial)
	if err != nil {
		return nil, err
	}
	defer card.Close()
	return piv.ReadState(ctx, card)
}

// PIVCertificateSlots lists the PIV slots of the key with serial that hold
// a certificate (no PIN needed), for showing what a reset would erase.
func (h *Hub) PIVCertificateSlots(ctx context.Context, serial uint32) ([]byte, error) {
	card, _, err := h.Scanner.OpenCard(ctx, serial)
	if err != nil {
		return nil, err
	}
	defer card.Close()
	s, err := piv.NewSession(ctx, card)
	if err != nil {
		return nil, err
	}
	return s.CertificateSlots(ctx)
}

// AppContents reads what app (OATH, OpenPGP, YubiHSM Auth, OTP) holds on
// the key with serial; no PIN is needed.
func (h *Hub) AppContents(ctx context.Context, serial uint32, app apps.App) (apps.Contents, error) {
	card, _, err := h.Scanner.OpenCard(ctx, serial)
	if err != nil {
		return apps.Contents{App: app}, err
	}
	defer card.Close()
	return apps.Read(ctx, card, app)
}

// ResetApp erases app on the key with serial and returns what it holds
// afterwards, read back. It refuses, before erasing, a key in the reader
// that is not the model the person confirmed (device.ErrInvalidArgument).
func (h *Hub) ResetApp(ctx context.Context, serial uint32, model string, app apps.App) (apps.Contents, error) {
	if serial == 0 {
		return apps.Contents{App: app}, fmt.Errorf("erasing %s needs the key's serial: %w", app, device.ErrInvalidArgument)
	}
	card, k, err := h.Scanner.OpenKey(ctx, serial)
	if err != nil {
		return apps.Contents{App: app}, err
	}
	defer card.Close()
	if k.Serial != serial || k.Model != model {
		return apps.Contents{App: app}, fmt.Errorf("the key in the reader is a %s with serial %d, not the %s %d confirmed; nothing was erased: %w", k.Model, k.Serial, model, serial, device.ErrInvalidArgument)
	}
	return apps.Reset(ctx, card, app)
}

// Attestation reads the key's attestation certificate and the certificate it
// issued for the key in slot (GenuineAttestation finds or makes the key the
// wizard's genuine-key check attests).
func (h *Hub) Attestation(ctx context.Context, serial uint32, slot byte) (att, slotCert *x509.Certificate, err error) {
	p, _, err := h.Provisioner(ctx, serial)
	if err != nil {
		return nil, nil, err
	}
	return p.Attestation(ctx, slot)
}

// GenuineAttestation proves the key genuine by a PIV attestation without
// changing its set-up: of a key already generated on it, or (generate) of
// one generated in a free retired slot (piv.Session.GenuineAttestation,
// docs/genuine-key.md).
func (h *Hub) GenuineAttestation(ctx context.Context, serial uint32, generate bool) (*piv.GenuineProof, error) {
	p, _, err := h.Provisioner(ctx, serial)
	if err != nil {
		return nil, err
	}
	return p.GenuineAttestation(ctx, generate)
}

// PublicKeyHash is the identity hash macOS's `sc_auth identities` shows for
// a certificate: SHA-1 over the subject public key bits, upper-case hex.
// docs/services.md §2 marks the algorithm unconfirmed on current macOS; the
// wizard therefore matches pairings both ways (this hash, or whatever
// sc_auth lists for the inserted key) before claiming a pairing.
func PublicKeyHash(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", errors.New("no certificate")
	}
	spki, err := subjectPublicKeyBits(cert.RawSubjectPublicKeyInfo)
	if err != nil {
		return "", err
	}
	sum := sha1.Sum(spki)
	return fmt.Sprintf("%X", sum[:]), nil
}

// subjectPublicKeyBits extracts the BIT STRING of a SubjectPublicKeyInfo
// (RFC 5280 §4.1): for an EC key, the uncompressed point.
func subjectPublicKeyBits(der []byte) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("parsing subject public key info: %w", device.ErrInvalidResponse)
	}
	return spki.PublicKey.Bytes, nil
}
