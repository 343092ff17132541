package steps_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// TestJoinTracker: with no tracker connected the report is kept on this
// computer; connecting with IT's invite code makes it due again, and the
// code never reaches the saved progress.
func TestJoinTracker(t *testing.T) {
	const code = "K7QX-2M9P-WWRT"
	tr := &stepstest.Tracker{Codes: map[string]steps.JoinResult{code: {Name: "Alice Example", Email: "alice@example.com"}}}
	e := newEnv(t, "linux", twoKeys()...)
	e.opts.Tracker = tr
	e.w = e.newWizard()
	e.setup(nano, nfc)
	if got := e.w.Snapshot().Tracker; got.Connected || !got.CanJoin {
		t.Fatalf("before joining: %+v", got)
	}
	e.must("report", e.w.Report(e.ctx))
	// Handed over while no tracker is connected: IT has received nothing,
	// so it is not done, and the step says how to connect.
	if st := step(e.w.Snapshot(), steps.StepReport); st.Status == steps.StatusDone || !strings.Contains(st.Reason, "Not sent: IT has not received this") ||
		!strings.Contains(st.Reason, "invite code") {
		t.Fatalf("kept locally: report step %s %q", st.Status, st.Reason)
	}
	if s := e.w.Snapshot(); s.Complete || strings.Contains(e.w.Summary(), "all done") || strings.Contains(e.w.Summary(), "you are done") {
		t.Errorf("complete %v before IT received the report; summary:\n%s", s.Complete, e.w.Summary())
	}

	// Bad input is refused before anything is asked of the tracker.
	for _, c := range []struct {
		url, code string
		want      error
	}{
		{"", code, steps.ErrBadTrackerURL},
		{"https://tracker.example.com", "  ", steps.ErrNoInviteCode},
	} {
		if err := e.w.Join(e.ctx, c.url, c.code); !errors.Is(err, c.want) {
			t.Errorf("Join(%q, %q) = %v, want %v", c.url, c.code, err, c.want)
		}
	}
	if tr.Joins != 0 {
		t.Fatalf("the tracker was asked %d times with bad input", tr.Joins)
	}
	if err := e.w.Join(e.ctx, "https://tracker.example.com", "WRONG-CODE"); !errors.Is(err, steps.ErrInviteRejected) {
		t.Errorf("wrong code: %v", err)
	}
	tr.Err = steps.ErrTrackerUnreachable
	if err := e.w.Join(e.ctx, "https://tracker.example.com", code); !errors.Is(err, steps.ErrTrackerUnreachable) {
		t.Errorf("offline: %v", err)
	}
	if got := e.w.Snapshot().Tracker; got.Connected {
		t.Fatalf("connected after failures: %+v", got)
	}
	tr.Err = nil

	e.must("join", e.w.Join(e.ctx, " https://tracker.example.com ", " "+code+" "))
	s := e.w.Snapshot()
	if !s.Tracker.Connected || s.Tracker.URL != "https://tracker.example.com" {
		t.Errorf("after joining: %+v", s.Tracker)
	}
	st := step(s, steps.StepReport)
	if st.Status == steps.StatusDone || !strings.Contains(st.Reason, "now connected") || !strings.Contains(st.Reason, "Not sent") {
		t.Errorf("a report kept locally is not due again: %s %q", st.Status, st.Reason)
	}
	e.must("report to the tracker", e.w.Report(e.ctx))
	if st := step(e.w.Snapshot(), steps.StepReport); st.Status != steps.StatusDone {
		t.Errorf("after sending: %s %q", st.Status, st.Reason)
	}
	if n := len(e.reporter.Sent()); n != 2 {
		t.Errorf("reports handed to the reporter: %d, want 2", n)
	}
	saved, err := os.ReadFile(e.store.Path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(saved), code) {
		t.Error("the invite code reached the progress file")
	}
	// A wizard started later asks the tracker where it reports.
	if got := e.newWizard().Snapshot().Tracker; !got.Connected {
		t.Errorf("restarted: %+v", got)
	}
}

func TestJoinWithoutTracker(t *testing.T) {
	e := newEnv(t, "linux", twoKeys()...)
	if got := e.w.Snapshot().Tracker; got.CanJoin || got.Connected {
		t.Errorf("no Tracker: %+v", got)
	}
	if err := e.w.Join(e.ctx, "https://tracker.example.com", "CODE"); !errors.Is(err, steps.ErrNotApplicable) {
		t.Errorf("Join without a Tracker: %v", err)
	}
}
