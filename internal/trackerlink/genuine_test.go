package trackerlink_test

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/keywizard/keywizard/device/piv"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker/attest"
	"github.com/keywizard/keywizard/tracker/server"
)

// The app's reporter passes on what the tracker answered about each key,
// and nothing before the tracker answered.
func TestGenuineAnswersAfterTheTrackerAnswered(t *testing.T) {
	o := setup(t)
	ctx := t.Context()
	dir := t.TempDir()
	o.join(t, "ann", dir)
	r, err := trackerlink.NewAppReporter(ctx, dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	rep := report("ann@example.com", 12345678, "YubiKey 5C Nano", steps.RoleEveryday)
	if got := r.GenuineAnswers(ctx, rep); len(got) != 0 {
		t.Errorf("answers before sending: %+v", got)
	}
	if err := r.Report(ctx, rep); err != nil {
		t.Fatal(err)
	}
	got := r.GenuineAnswers(ctx, rep)
	if a, ok := got[12345678]; !ok || a.Genuine || a.Detail != "no attestation received" {
		t.Errorf("answers after sending: %+v", got)
	}
}

// End to end on a factory-fresh simulated key, as on Linux or Windows:
// device/piv makes the proof in a retired slot, the wizard's report
// carries it, the tracker (trusting the simulator's root here, Yubico's in
// production) verifies and stores it, and its answer comes back.
func TestGenuineEndToEnd(t *testing.T) {
	keyring.MockInit()
	t.Setenv("KEYWIZARD_TRACKER", "")
	roots := x509.NewCertPool()
	roots.AddCert(sim.AttestationRoot())
	o := newOrg(t, func(c *server.Config) { c.Verifier = &attest.Verifier{Roots: roots} })
	ctx := t.Context()
	dir := t.TempDir()
	o.join(t, "ann", dir)

	k, err := sim.New(sim.Config{Serial: 18000099, Model: "5c-nano"})
	if err != nil {
		t.Fatal(err)
	}
	card := k.Card()
	defer card.Close()
	s, err := piv.NewSession(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := s.GenuineAttestation(ctx, true)
	if err != nil || proof.Slot != piv.SlotRetiredLast {
		t.Fatalf("proof %+v, %v", proof, err)
	}
	pemOf := func(der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}

	r, err := trackerlink.NewAppReporter(ctx, dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	rep := report("ann@example.com", k.Serial(), "YubiKey 5C Nano", steps.RoleEveryday)
	rep.Keys[0].Attestation = &steps.Attestation{DevicePEM: pemOf(proof.Attestation.Raw), SlotPEM: pemOf(proof.SlotCert.Raw), Slot: proof.Slot}
	if err := r.Report(ctx, rep); err != nil {
		t.Fatal(err)
	}
	if a := r.GenuineAnswers(ctx, rep)[k.Serial()]; !a.Genuine || !strings.Contains(a.Detail, "Simulated Yubico PIV Root CA") {
		t.Errorf("the tracker's answer: %+v", a)
	}
	keys, _, err := o.st.Records(ctx, []string{o.people["ann"].ID})
	if err != nil || len(keys) != 1 || !keys[0].Genuine || !strings.Contains(keys[0].GenuineDetail, "Simulated Yubico PIV Root CA") {
		t.Errorf("stored %+v, %v", keys, err)
	}
}
