package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Report is what the wizard tells the onboarding tracker. It holds no
// secrets; attestation certificates are public.
type Report struct {
	Person      Person      `json:"person"`
	Deadline    time.Time   `json:"deadline"`
	AppVersion  string      `json:"app_version"`
	GeneratedAt time.Time   `json:"generated_at"`
	Keys        []ReportKey `json:"keys"`
	// Complete is true when every applicable step is done on both keys.
	Complete bool `json:"complete"`
	// Remaining lists, in plain words, what is left.
	Remaining []string `json:"remaining,omitempty"`
	// Services are the catalogue's services in its order, those that do
	// not apply here included: the tracker's columns come from them.
	Services []ReportService `json:"services,omitempty"`
}

// ReportService is a catalogue service as the report names it.
type ReportService struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ReportKey is one key's part of a report.
type ReportKey struct {
	Serial   uint32 `json:"serial"`
	Model    string `json:"model"`
	Role     Role   `json:"role"`
	Firmware string `json:"firmware,omitempty"`
	// Items has one entry per step with evidence that the step table
	// reports: each service, and "otp".
	Items []ReportItem `json:"items"`
	// NotApplicable lists services that do not apply here, with why.
	NotApplicable []ReportSkip `json:"not_applicable,omitempty"`
	OTPDisabled   bool         `json:"otp_disabled"`
	// Attestation is the key's PIV attestation; AttestationError says why
	// there is none.
	Attestation      *Attestation `json:"attestation,omitempty"`
	AttestationError string       `json:"attestation_error,omitempty"`
}

// ReportItem is one service result on one key.
type ReportItem struct {
	Service string    `json:"service"`
	Level   Level     `json:"level"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at"`
	// CheckedAt is when keywizard last found the result still there
	// (Evidence.Checked).
	CheckedAt time.Time `json:"checked_at"`
}

// ReportSkip is a service that does not apply, with the reason.
type ReportSkip struct {
	Service string `json:"service"`
	Reason  string `json:"reason"`
}

// LocalReporter is the Reporter to use when no tracker is configured: it
// appends each report as one JSON line to a local file, so the person (or IT)
// still has the record.
type LocalReporter struct {
	Path string
}

// Destination says where the report went.
func (l *LocalReporter) Destination() string {
	return "no tracker configured, kept locally in " + l.Path
}

// ReportLost appends the loss report to the same file, marked as a loss,
// and returns a *KeptLocallyError: with no tracker configured IT has not
// been told, and the lost-key step says so.
func (l *LocalReporter) ReportLost(ctx context.Context, r LossReport) error {
	return l.append(struct {
		Lost LossReport `json:"lost"`
	}{r})
}

// Report appends r to the file and returns a *KeptLocallyError: the record
// is kept, but IT has not received it, and the wizard must not say "sent".
func (l *LocalReporter) Report(ctx context.Context, r Report) error {
	return l.append(r)
}

// append writes v as one JSON line.
func (l *LocalReporter) append(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return fmt.Errorf("keeping the report locally: %w", err)
	}
	f, err := os.OpenFile(l.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("keeping the report locally: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("keeping the report locally: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("keeping the report locally: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keeping the report locally: %w", err)
	}
	return &KeptLocallyError{Path: l.Path}
}
