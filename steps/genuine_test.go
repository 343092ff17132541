package steps_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// genuineReporter answers as the tracker does about each key's attestation.
type genuineReporter struct {
	*stepstest.Reporter
	answers map[uint32]steps.GenuineAnswer
}

func (g genuineReporter) GenuineAnswers(ctx context.Context, r steps.Report) map[uint32]steps.GenuineAnswer {
	return g.answers
}

// The report step says a key is genuine only from the tracker's answer,
// with when it was checked; a key the tracker did not find genuine says
// why; a reporter that gives no answers (a local record) claims nothing.
func TestGenuineOnlyFromTheTrackersAnswer(t *testing.T) {
	e := newEnv(t, "linux", twoKeys()...)
	gr := genuineReporter{Reporter: e.reporter, answers: map[uint32]steps.GenuineAnswer{
		nano: {Genuine: true, Detail: "attested by Yubico PIV Root CA Serial 263751"},
		nfc:  {Genuine: false, Detail: "not a genuine YubiKey: certificate chain does not lead to a Yubico root: unknown issuer"},
	}}
	e.opts.Reporter = gr
	e.w = e.newWizard()
	e.setup(nano, nfc)
	e.must("report", e.w.Report(e.ctx))
	st := step(e.w.Snapshot(), steps.StepReport)
	at := e.clock.Now().Format("2006-01-02 15:04 MST")
	if st.Status != steps.StatusDone || !strings.Contains(st.Reason, "genuine YubiKey, checked at "+at+" by IT's tracker") ||
		!strings.Contains(st.Reason, "not confirmed genuine (IT's tracker, "+at+"): not a genuine YubiKey") {
		t.Errorf("report step %s %q", st.Status, st.Reason)
	}
	// Each key's report carried its attestation.
	sent := e.reporter.Sent()
	for _, k := range sent[len(sent)-1].Keys {
		if k.Attestation == nil || k.AttestationError != "" {
			t.Errorf("key %d sent without attestation (%q)", k.Serial, k.AttestationError)
		}
	}
	sum := e.w.Summary()
	if !strings.Contains(sum, "(genuine YubiKey, checked at "+at+" by IT's tracker)") || !strings.Contains(sum, "(not confirmed genuine: not a genuine YubiKey") {
		t.Errorf("summary:\n%s", sum)
	}
	// The answer is kept with the progress.
	e.w = e.newWizard()
	if st := step(e.w.Snapshot(), steps.StepReport); !strings.Contains(st.Reason, "checked at "+at) {
		t.Errorf("after a restart: %q", st.Reason)
	}

	plain := newEnv(t, "linux", twoKeys()...)
	plain.setup(nano, nfc)
	plain.must("report", plain.w.Report(plain.ctx))
	if st := step(plain.w.Snapshot(), steps.StepReport); st.Status != steps.StatusDone || strings.Contains(strings.ToLower(st.Reason), "genuine") {
		t.Errorf("no answers, yet %q", st.Reason)
	}
	if sum := plain.w.Summary(); strings.Contains(strings.ToLower(sum), "genuine") {
		t.Errorf("no answers, yet the summary says:\n%s", sum)
	}
}
