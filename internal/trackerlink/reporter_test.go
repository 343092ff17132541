package trackerlink_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
)

// TestReportRejected: the person typed an e-mail address other than the one
// IT registered, so the tracker refuses the report for good (403 on
// person_email). The client sets it aside and its queue is empty, but the
// reporter must not answer nil, or the wizard would show "Sent".
func TestReportRejected(t *testing.T) {
	o := setup(t)
	ctx := t.Context()
	dir := t.TempDir()
	o.join(t, "ann", dir)
	// The app's reporter, with its send loop running: whichever of the
	// loop and Report sends the report, Report learns of the refusal.
	r, err := trackerlink.NewAppReporter(ctx, dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	rep := report("ann.lee@example.com", 12345678, "YubiKey 5C Nano", steps.RoleEveryday)
	err = r.Report(ctx, rep)
	var re *steps.ReportRejectedError
	if !errors.Is(err, steps.ErrReportRejected) || !errors.As(err, &re) {
		t.Fatalf("report with another e-mail address: %v, want steps.ErrReportRejected", err)
	}
	if errors.Is(err, steps.ErrReportQueued) {
		t.Errorf("a refused report is said to be queued: %v", err)
	}
	if re.Field != "person_email" || !strings.Contains(err.Error(), "e-mail address") {
		t.Errorf("field %q, message %q; want person_email and a hint to check the e-mail address", re.Field, err)
	}
	tc, err := trackerlink.NewClient(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := o.st.Records(ctx, []string{o.people["ann"].ID})
	if err != nil || len(keys) != 0 {
		t.Errorf("tracker stored %v, %v; want nothing", keys, err)
	}
	if n, err := tc.Pending(); n != 0 || err != nil {
		t.Errorf("pending %d, %v; the refused report should be set aside", n, err)
	}

	// With the registered address the same reporter sends it.
	rep.Person.Email = "ann@example.com"
	if err := r.Report(ctx, rep); err != nil {
		t.Fatalf("report with the registered address: %v", err)
	}
}
