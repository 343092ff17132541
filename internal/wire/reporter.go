package wire

import (
	"context"
	"fmt"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker/client"
)

// TrackerReporter sends the wizard's report to the onboarding tracker
// through the client's durable queue: each key's report is queued on disk
// with its idempotency key first, then sent, so a report made offline or
// during a server restart arrives exactly once, later.
type TrackerReporter struct {
	Client *client.Client
}

var _ steps.Reporter = (*TrackerReporter)(nil)

// Report queues and tries to send r.
func (t *TrackerReporter) Report(ctx context.Context, r steps.Report) error {
	reports, err := r.TrackerReports()
	if err != nil {
		return fmt.Errorf("preparing the report: %w", err)
	}
	for _, tr := range reports {
		if _, err := t.Client.Enqueue(tr); err != nil {
			return fmt.Errorf("saving the report: %w", err)
		}
	}
	if _, err := t.Client.Flush(ctx); err != nil {
		return fmt.Errorf("%w: %w", steps.ErrReportQueued, err)
	}
	// Flush stops early without an error when the server asks to retry
	// later; what is still queued is sent by the client's Run loop.
	if n, err := t.Client.Pending(); err == nil && n > 0 {
		return steps.ErrReportQueued
	}
	return nil
}

// Destination says where reports go.
func (t *TrackerReporter) Destination() string { return t.Client.Destination() }
