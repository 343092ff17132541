package trackerlink_test

import (
	"testing"
	"time"

	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
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
	rep := steps.Report{
		Person:   steps.Person{Name: "ann", Email: "ann@example.com", StartDate: time.Now()},
		Deadline: time.Now().Add(30 * 24 * time.Hour), AppVersion: "test", GeneratedAt: time.Now(),
		Keys: []steps.ReportKey{{Serial: 12345678, Model: "YubiKey 5C Nano", Role: steps.RoleEveryday,
			Items: []steps.ReportItem{{Service: "github", Level: steps.SelfAttested, Detail: "confirmed", At: time.Now()}}}},
	}
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
