package steps

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/keywizard/keywizard/tracker"
)

// TrackerReports turns the wizard's report into the tracker's vocabulary:
// one tracker.Report per key (the tracker API takes one key per report),
// validated, ready for tracker/client's Recorder.
//
// Each report's idempotency key is derived from its content, so handing the
// same progress to the client twice (the wizard re-sends a pending report)
// is stored once, while new progress makes a new report.
func (r Report) TrackerReports() ([]tracker.Report, error) {
	out := make([]tracker.Report, 0, len(r.Keys))
	version := r.AppVersion
	if version == "" {
		version = "dev"
	}
	for _, k := range r.Keys {
		tr := tracker.Report{
			PersonEmail: r.Person.Email,
			Serial:      k.Serial,
			Model:       k.Model,
			Role:        tracker.KeyRole(k.Role),
			AppVersion:  version,
			Items:       make([]tracker.ReportItem, 0, len(k.Items)),
		}
		for _, it := range k.Items {
			tr.Items = append(tr.Items, tracker.ReportItem{Service: it.Service, Evidence: tracker.Evidence(it.Level), At: it.At.UTC(), CheckedAt: it.CheckedAt.UTC()})
		}
		for _, s := range r.Services {
			tr.Services = append(tr.Services, tracker.Service{ID: s.ID, Name: s.Name})
		}
		if a := k.Attestation; a != nil {
			dev, slot := pemDER(a.DevicePEM), pemDER(a.SlotPEM)
			// Only a complete pair is worth sending: the tracker checks the
			// slot certificate against the device certificate against
			// Yubico's roots (docs/yubikey-protocol.md §4.10).
			if dev != nil && slot != nil {
				tr.Attestation = &tracker.Attestation{Certificate: dev, Slot: slot}
			}
		}
		content, err := json.Marshal(tr)
		if err != nil {
			return nil, fmt.Errorf("encoding the report: %w", err)
		}
		sum := sha256.Sum256(content)
		tr.IdempotencyKey = "kw-" + hex.EncodeToString(sum[:16])
		if err := tr.Validate(); err != nil {
			return nil, fmt.Errorf("report for key %d: %w", k.Serial, err)
		}
		out = append(out, tr)
	}
	return out, nil
}

// pemDER returns the DER of the first CERTIFICATE block, or nil.
func pemDER(s string) []byte {
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes
		}
	}
}
