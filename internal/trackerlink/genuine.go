package trackerlink

import (
	"context"

	"github.com/keywizard/keywizard/steps"
)

var _ steps.GenuineReporter = (*Reporter)(nil)

// GenuineAnswers returns the tracker's answer about each key of r whose
// report it has answered since the client started: genuine or not, and
// why. Each key's report is found by its idempotency key, which
// steps.Report.TrackerReports derives from the report's content, so the
// same r finds the reports Report sent.
func (t *Reporter) GenuineAnswers(ctx context.Context, r steps.Report) map[uint32]steps.GenuineAnswer {
	reports, err := r.TrackerReports()
	if err != nil {
		return nil
	}
	out := map[uint32]steps.GenuineAnswer{}
	for _, tr := range reports {
		res, ok := t.Client.Answer(tr.IdempotencyKey)
		if !ok {
			continue
		}
		out[tr.Serial] = steps.GenuineAnswer{Genuine: res.Genuine, Detail: res.GenuineDetail}
	}
	return out
}

var _ steps.GenuineReporter = (*AppReporter)(nil)

// GenuineAnswers passes on the answers of the reporter the settings chose;
// a local record has none.
func (r *AppReporter) GenuineAnswers(ctx context.Context, rep steps.Report) map[uint32]steps.GenuineAnswer {
	cur, err := r.current()
	if err != nil {
		return nil
	}
	if gr, ok := cur.(steps.GenuineReporter); ok {
		return gr.GenuineAnswers(ctx, rep)
	}
	return nil
}
