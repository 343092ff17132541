package steps

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// GenuineAnswer is what the tracker answered about one key's attestation
// (docs/genuine-key.md).
type GenuineAnswer struct {
	Genuine bool   `json:"genuine"`
	Detail  string `json:"detail,omitempty"`
	// CheckedAt is when the tracker's answer arrived.
	CheckedAt time.Time `json:"checked_at"`
}

// GenuineReporter is optionally implemented by a Reporter whose destination
// checks each key's attestation (the tracker, internal/trackerlink): after
// a Report that returned nil, Answers returns the tracker's answer for each
// key serial it answered about. The wizard says "genuine: checked at ..."
// only from these answers, never from having sent an attestation.
// GenuineAnswers is called with the wizard's lock held: it must not block
// (it reads what the tracker already answered).
type GenuineReporter interface {
	Reporter
	GenuineAnswers(ctx context.Context, r Report) map[uint32]GenuineAnswer
}

// recordGenuineLocked keeps the tracker's answers about rep's keys.
func (w *Wizard) recordGenuineLocked(ctx context.Context, rep Report) {
	gr, ok := w.o.Reporter.(GenuineReporter)
	if !ok {
		return
	}
	answers := gr.GenuineAnswers(ctx, rep)
	now := w.o.Clock.Now()
	for serial, a := range answers {
		if w.p.Report.Genuine == nil {
			w.p.Report.Genuine = map[uint32]GenuineAnswer{}
		}
		if a.CheckedAt.IsZero() {
			a.CheckedAt = now
		}
		w.p.Report.Genuine[serial] = a
	}
}

// genuineText says, per assigned key, what the tracker answered about it:
// "Genuine YubiKey: checked at ..." only for a key the tracker found
// genuine; a key it did not says why. Nothing for keys it has not answered
// about.
func (w *Wizard) genuineText() string {
	var parts []string
	for _, k := range w.p.Keys {
		a, ok := w.p.Report.Genuine[k.Serial]
		if !ok {
			continue
		}
		ref, _, _ := w.keyRefLocked(k.Serial)
		if a.Genuine {
			parts = append(parts, fmt.Sprintf("%s: genuine YubiKey, checked at %s by IT's tracker.", ref.Label, a.CheckedAt.Format("2006-01-02 15:04 MST")))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: not confirmed genuine (IT's tracker, %s): %s.", ref.Label, a.CheckedAt.Format("2006-01-02 15:04 MST"), strings.TrimSuffix(a.Detail, ".")))
	}
	return strings.Join(parts, " ")
}

// genuineSummaryLocked is the summary's note on a key: what the tracker
// answered about it, if it did.
func (w *Wizard) genuineSummaryLocked(serial uint32) string {
	a, ok := w.p.Report.Genuine[serial]
	switch {
	case !ok:
		return ""
	case a.Genuine:
		return fmt.Sprintf(" (genuine YubiKey, checked at %s by IT's tracker)", a.CheckedAt.Format("2006-01-02 15:04 MST"))
	}
	return fmt.Sprintf(" (not confirmed genuine: %s)", strings.TrimSuffix(a.Detail, "."))
}
