// Package trackerlink links the app to the onboarding tracker: the
// wizard's Reporter (through tracker/client's durable queue, or a local
// record when no tracker is set), its Tracker (joining from the window, as
// `keywizard tracker join` does), and the team view's Source, found at
// start with a backoff while the tracker cannot be reached. It builds every
// tracker client the app uses from the settings (internal/settings) and the
// token in the OS keychain.
package trackerlink

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
)

// Reporter sends the wizard's report to the onboarding tracker
// through the client's durable queue: each key's report is queued on disk
// with its idempotency key first, then sent, so a report made offline or
// during a server restart arrives exactly once, later.
type Reporter struct {
	Client *client.Client
}

var (
	_ steps.Reporter     = (*Reporter)(nil)
	_ steps.LossReporter = (*Reporter)(nil)
)

// Report queues and tries to send r. A report the tracker refuses for
// good is set aside by the client without stopping its queue, so it is
// looked for by key: it returns a *steps.ReportRejectedError, never nil
// (the wizard would show "Sent").
func (t *Reporter) Report(ctx context.Context, r steps.Report) error {
	reports, err := r.TrackerReports()
	if err != nil {
		return fmt.Errorf("preparing the report: %w", err)
	}
	keys := make([]string, 0, len(reports))
	for _, tr := range reports {
		key, err := t.Client.Enqueue(tr)
		if err != nil {
			return fmt.Errorf("saving the report: %w", err)
		}
		keys = append(keys, key)
	}
	_, flushErr := t.Client.Flush(ctx)
	// A refusal comes first: it needs the person to act, and a later
	// flush will not change it.
	for _, key := range keys {
		if err := t.Client.Rejected(key); err != nil {
			return rejectedError(err)
		}
	}
	if flushErr != nil {
		return fmt.Errorf("%w: %w", steps.ErrReportQueued, flushErr)
	}
	// Flush stops early without an error when the server asks to retry
	// later; what is still queued is sent by the client's Run loop.
	if n, err := t.Client.Pending(); err == nil && n > 0 {
		return steps.ErrReportQueued
	}
	return nil
}

// ReportLost tells the tracker that one of the person's keys is lost
// (POST /v1/me/keys/{serial}/lost): tracker/client queues it durably like
// a report, then sends it. nil means the tracker answered; offline it
// stays queued (steps.ErrReportQueued) and the client's send loop delivers
// it later, never dropping it; a key that is not the person's is refused
// for good (*steps.ReportRejectedError).
func (t *Reporter) ReportLost(ctx context.Context, l steps.LossReport) error {
	err := t.Client.ReportLost(ctx, tracker.LossReport{Serial: l.Serial, Role: tracker.KeyRole(l.Role), Reason: l.Reason, At: l.At.UTC()})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrRejected):
		return rejectedError(err)
	case errors.Is(err, client.ErrQueued):
		return fmt.Errorf("%w: %w", steps.ErrReportQueued, err)
	}
	// Not even queued (an invalid report, a full disk): nothing will
	// send it later, so it is not "waiting to send".
	return fmt.Errorf("telling the tracker about the lost key: %w", err)
}

// rejectedError puts the client's refusal in the steps package's words,
// keeping the field the tracker named so the wizard can say what to check.
func rejectedError(err error) error {
	re := &steps.ReportRejectedError{Err: err}
	var ae *client.APIError
	if errors.As(err, &ae) {
		re.Field, re.Reason = ae.Body.Field, ae.Body.Error
	}
	return re
}

// Destination says where reports go.
func (t *Reporter) Destination() string { return t.Client.Destination() }
