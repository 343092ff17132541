package trackerlink_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker/server"
)

// TestTrackerLinkJoinThenReport is the window's path: the report is kept
// locally until the person pastes IT's invite code; from then on the same
// reporter sends to the tracker, which stores it.
func TestTrackerLinkJoinThenReport(t *testing.T) {
	o := setup(t)
	ctx := context.Background()
	dir := t.TempDir()
	link := &trackerlink.Link{ConfigDir: dir}
	r, err := trackerlink.NewAppReporter(t.Context(), dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := link.Connected(); ok {
		t.Fatal("connected before joining")
	}
	if d := r.Destination(); !strings.Contains(d, "kept locally") {
		t.Errorf("before joining, reports go to %q", d)
	}

	// Typed errors, in the steps package's words.
	if _, err := link.Join(ctx, o.url, "no-such-code"); !errors.Is(err, steps.ErrInviteRejected) {
		t.Errorf("wrong code: %v, want steps.ErrInviteRejected", err)
	}
	if _, err := link.Join(ctx, "https://tracker.invalid", "CODE"); !errors.Is(err, steps.ErrTrackerUnreachable) {
		t.Errorf("unreachable: %v, want steps.ErrTrackerUnreachable", err)
	}
	if _, err := link.Join(ctx, "tracker.example.com", "CODE"); !errors.Is(err, steps.ErrBadTrackerURL) {
		t.Errorf("no scheme: %v, want steps.ErrBadTrackerURL", err)
	}

	inv, err := server.IssueInvite(ctx, o.st, o.people["ann"].ID, o.admin.ID, "test", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := link.Join(ctx, o.url, inv.Code)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if res.URL != o.url || res.Email != "ann@example.com" {
		t.Errorf("joined as %+v", res)
	}
	if url, ok := link.Connected(); !ok || url != o.url {
		t.Errorf("Connected() = %q, %v", url, ok)
	}

	rep := report("ann@example.com", 12345678, "YubiKey 5C Nano", steps.RoleEveryday)
	if err := r.Report(ctx, rep); err != nil {
		t.Fatalf("report after joining: %v", err)
	}
	tc, err := trackerlink.NewClient(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	me, err := tc.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := o.st.Records(ctx, []string{me.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Serial != 12345678 {
		t.Errorf("the tracker holds %+v, want the reported key", keys)
	}
}
