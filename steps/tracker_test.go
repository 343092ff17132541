package steps_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/tracker"
)

func TestTrackerReports(t *testing.T) {
	h := stepstest.NewHarness(t, "darwin")
	h.AdvanceTo(t, steps.StepSummary)
	sent := h.Reporter.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d reports", len(sent))
	}
	trs, err := sent[0].TrackerReports()
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 2 {
		t.Fatalf("%d tracker reports", len(trs))
	}
	want := map[string]tracker.Evidence{"google": tracker.EvidenceOnKey, "aws": tracker.EvidenceSelf, "1password": tracker.EvidenceSelf,
		"github": tracker.EvidenceOnKey, "macos": tracker.EvidenceBySystem, "otp": tracker.EvidenceBySystem}
	for i, tr := range trs {
		if err := tr.Validate(); err != nil {
			t.Errorf("report %d invalid: %v", i, err)
		}
		if tr.PersonEmail != "alice@example.com" || tr.AppVersion != "test" || tr.Model == "" {
			t.Errorf("report %d: %+v", i, tr)
		}
		if len(tr.Items) != len(want) {
			t.Errorf("report %d items %+v", i, tr.Items)
		}
		for _, it := range tr.Items {
			if want[it.Service] != it.Evidence || !it.At.Equal(stepstest.FlowNow) {
				t.Errorf("report %d item %+v", i, it)
			}
		}
		// The report names its catalogue, in order, for the tracker's
		// columns; macOS login applies here, but would be named anyway.
		if got := tracker.ServiceIDs(tr.Services); !slices.Equal(got, []string{"google", "aws", "1password", "github", "macos"}) {
			t.Errorf("report %d names services %v", i, got)
		}
		if tr.Services[0].Name != "Google Workspace" {
			t.Errorf("report %d names google %q", i, tr.Services[0].Name)
		}
		if tr.Attestation == nil || !bytes.Contains(tr.Attestation.Certificate, []byte("device")) || !bytes.Contains(tr.Attestation.Slot, []byte("slot 95")) {
			t.Errorf("report %d attestation %+v", i, tr.Attestation)
		}
	}
	if trs[0].Serial != stepstest.HarnessEveryday || trs[0].Role != tracker.RoleEveryday || trs[1].Role != tracker.RoleBackup {
		t.Errorf("keys %d/%s %d/%s", trs[0].Serial, trs[0].Role, trs[1].Serial, trs[1].Role)
	}
	// Same content, same idempotency key; different key per physical key.
	again, _ := sent[0].TrackerReports()
	if again[0].IdempotencyKey != trs[0].IdempotencyKey || trs[0].IdempotencyKey == trs[1].IdempotencyKey {
		t.Errorf("idempotency keys %q %q %q", trs[0].IdempotencyKey, again[0].IdempotencyKey, trs[1].IdempotencyKey)
	}
	// New progress, new key.
	changed := sent[0]
	changed.Keys = append([]steps.ReportKey(nil), changed.Keys...)
	changed.Keys[0].Items = changed.Keys[0].Items[:1]
	c, _ := changed.TrackerReports()
	if c[0].IdempotencyKey == trs[0].IdempotencyKey || c[1].IdempotencyKey != trs[1].IdempotencyKey {
		t.Error("idempotency key does not follow content")
	}
	// A missing or broken attestation is left out, not sent half-made.
	changed.Keys[0].Attestation = &steps.Attestation{DevicePEM: "junk", SlotPEM: "junk"}
	changed.Keys[1].Attestation = nil
	c, err = changed.TrackerReports()
	if err != nil || c[0].Attestation != nil || c[1].Attestation != nil {
		t.Errorf("broken attestation: %v %+v", err, c)
	}
}
