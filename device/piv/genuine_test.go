package piv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
)

// genuineSession opens a session on the in-process simulated key.
func genuineSession(t *testing.T, k *sim.Key) *Session {
	t.Helper()
	s, closeS, err := simOpener(k)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeS)
	return s
}

// checkProof checks the proof as the tracker does (tracker/attest): the
// slot certificate is signed by the F9 certificate, which the simulator's
// root signed, and names the key's serial; and it is for the key now in
// the slot.
func checkProof(t *testing.T, k *sim.Key, p *GenuineProof) {
	t.Helper()
	if err := p.Attestation.CheckSignatureFrom(sim.AttestationRoot()); err != nil {
		t.Errorf("F9 certificate not signed by the root: %v", err)
	}
	if err := p.SlotCert.CheckSignatureFrom(p.Attestation); err != nil {
		t.Errorf("slot certificate not signed by F9: %v", err)
	}
	var serial *big.Int
	for _, e := range p.SlotCert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}) {
			asn1.Unmarshal(e.Value, &serial)
		}
	}
	if serial == nil || serial.Uint64() != uint64(k.Serial()) {
		t.Errorf("attested serial %v, want %d", serial, k.Serial())
	}
	pub, err := x509.MarshalPKIXPublicKey(k.PIVPublicKey(p.Slot))
	if err != nil {
		t.Fatalf("slot %02x has no key: %v", p.Slot, err)
	}
	if got, _ := x509.MarshalPKIXPublicKey(p.SlotCert.PublicKey); !bytes.Equal(got, pub) {
		t.Errorf("the attestation is not for the key in slot %02x", p.Slot)
	}
}

// untouched checks that the set-up a person relies on is as it was: the
// factory management key (or not), the PIN's tries, empty 9A-9E.
func untouched(t *testing.T, k *sim.Key, s *Session, wantDefaultMgmt bool) {
	t.Helper()
	ctx := context.Background()
	m, err := s.Metadata(ctx, SlotCardManagement)
	if err != nil || m.IsDefault != wantDefaultMgmt {
		t.Errorf("management key default = %v (%v), want %v", m != nil && m.IsDefault, err, wantDefaultMgmt)
	}
	if pin, puk := k.PIVRetries(); pin != 3 || puk != 3 {
		t.Errorf("PIN/PUK tries %d/%d", pin, puk)
	}
	for _, slot := range []byte{0x9A, 0x9C, 0x9D, 0x9E} {
		if k.PIVPublicKey(slot) != nil {
			t.Errorf("slot %02x has a key", slot)
		}
	}
}

func TestGenuineAttestationGeneratesInFreeRetiredSlot(t *testing.T) {
	ctx := context.Background()
	k := newSim(t, fw571)
	s := genuineSession(t, k)
	if _, err := s.GenuineAttestation(ctx, false); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("factory key without generate: %v, want ErrNotFound", err)
	}
	if k.PIVPublicKey(SlotRetiredLast) != nil {
		t.Fatal("looking generated a key")
	}
	p, err := s.GenuineAttestation(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Slot != SlotRetiredLast || !p.Generated {
		t.Errorf("proof in slot %02x, generated %v; want 95, true", p.Slot, p.Generated)
	}
	checkProof(t, k, p)
	untouched(t, k, s, true)

	// Again: the same key is attested, nothing new is generated.
	p2, err := genuineSession(t, k).GenuineAttestation(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Slot != SlotRetiredLast || p2.Generated || !p2.SlotCert.PublicKey.(*ecdsa.PublicKey).Equal(p.SlotCert.PublicKey) {
		t.Errorf("second proof: slot %02x, generated %v", p2.Slot, p2.Generated)
	}
	if k.PIVPublicKey(SlotRetiredLast-1) != nil {
		t.Error("a second key was generated")
	}
}

func TestGenuineAttestationUsesExistingGeneratedKey(t *testing.T) {
	ctx := context.Background()
	for _, fw := range []device.Version{fw527, fw571} {
		t.Run(fw.String(), func(t *testing.T) {
			k := newSim(t, fw)
			s := genuineSession(t, k)
			// The macOS login key, as the smart-card step makes it.
			alg, err := s.ManagementKeyAlgorithm(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Authenticate(ctx, alg, DefaultManagementKey); err != nil {
				t.Fatal(err)
			}
			if err := s.generateP256(ctx, SlotAuthentication); err != nil {
				t.Fatal(err)
			}
			p, err := genuineSession(t, k).GenuineAttestation(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			if p.Slot != SlotAuthentication || p.Generated {
				t.Errorf("proof in slot %02x, generated %v; want 9a, false", p.Slot, p.Generated)
			}
			checkProof(t, k, p)
			for slot := SlotRetiredFirst; slot <= SlotRetiredLast; slot++ {
				if k.PIVPublicKey(slot) != nil {
					t.Errorf("slot %02x got a key", slot)
				}
			}
		})
	}
}

func TestGenuineAttestationLeavesSetUpAlone(t *testing.T) {
	ctx := context.Background()
	t.Run("own management key", func(t *testing.T) {
		k := newSim(t, fw571)
		own := bytes.Repeat([]byte{0x5A}, 24)
		if err := simKeySetter(k)(ctx, DefaultManagementKey, own); err != nil {
			t.Fatal(err)
		}
		s := genuineSession(t, k)
		_, err := s.GenuineAttestation(ctx, true)
		var nd *ManagementKeyNotDefaultError
		if !errors.As(err, &nd) || !errors.Is(err, device.ErrAuthentication) {
			t.Fatalf("got %v, want ManagementKeyNotDefaultError", err)
		}
		untouched(t, k, s, false)
		for slot := SlotRetiredFirst; slot <= SlotRetiredLast; slot++ {
			if k.PIVPublicKey(slot) != nil {
				t.Errorf("slot %02x got a key", slot)
			}
		}
	})
	t.Run("slot 95 has a certificate", func(t *testing.T) {
		k := newSim(t, fw571)
		s := genuineSession(t, k)
		alg, _ := s.ManagementKeyAlgorithm(ctx)
		if err := s.Authenticate(ctx, alg, DefaultManagementKey); err != nil {
			t.Fatal(err)
		}
		// Someone's certificate without its key (an imported one moved away).
		if err := s.PutObject(ctx, 0x5FC10D+19, []byte{0x70, 0x01, 0x00, 0x71, 0x01, 0x00}); err != nil {
			t.Fatal(err)
		}
		p, err := genuineSession(t, k).GenuineAttestation(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if p.Slot != SlotRetiredLast-1 || !p.Generated {
			t.Errorf("proof in slot %02x, want 94", p.Slot)
		}
		if got, _ := k.PIVObject(0x5FC10D + 19); len(got) == 0 {
			t.Error("the certificate in 95 was removed")
		}
		checkProof(t, k, p)
	})
	t.Run("firmware without metadata", func(t *testing.T) {
		k := newSim(t, fw527)
		_, err := genuineSession(t, k).GenuineAttestation(ctx, true)
		if !errors.Is(err, device.ErrUnsupported) {
			t.Fatalf("got %v, want ErrUnsupported", err)
		}
		for slot := SlotRetiredFirst; slot <= SlotRetiredLast; slot++ {
			if k.PIVPublicKey(slot) != nil {
				t.Errorf("slot %02x got a key", slot)
			}
		}
	})
}
