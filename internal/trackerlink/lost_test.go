package trackerlink_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker"
)

// TestReportLost: the app's reporter tells a real tracker that a key is
// lost. Offline it waits in the queue (steps.ErrReportQueued) and the next
// try delivers it; a serial that is not the person's is refused for good;
// with no tracker configured it is kept locally and says so.
func TestReportLost(t *testing.T) {
	o := setup(t)
	ctx := t.Context()
	dir := t.TempDir()
	r, err := trackerlink.NewAppReporter(ctx, dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	loss := steps.LossReport{PersonEmail: "ann@example.com", Serial: 23456789, Role: steps.RoleBackup, Reason: "left on the train", At: time.Now()}
	if err := r.ReportLost(ctx, loss); !errors.Is(err, steps.ErrKeptLocally) {
		t.Fatalf("no tracker configured: %v, want steps.ErrKeptLocally", err)
	}

	o.join(t, "ann", dir)
	rep := report("ann@example.com", 23456789, "YubiKey 5C NFC", steps.RoleBackup)
	if err := r.Report(ctx, rep); err != nil {
		t.Fatal(err)
	}

	// The tracker restarting: queued, then delivered by the next try.
	o.down.Store(1000)
	if err := r.ReportLost(ctx, loss); !errors.Is(err, steps.ErrReportQueued) {
		t.Fatalf("offline: %v, want steps.ErrReportQueued", err)
	}
	if rec, err := o.st.KeyRecord(ctx, 23456789); err != nil || rec.Status != tracker.KeyActive {
		t.Fatalf("while offline the tracker has %+v, %v", rec, err)
	}
	o.down.Store(0)
	if err := r.ReportLost(ctx, loss); err != nil {
		t.Fatalf("back online: %v", err)
	}
	rec, err := o.st.KeyRecord(ctx, 23456789)
	if err != nil || rec.Status != tracker.KeyReportedLost || rec.OwnerEmail != "ann@example.com" {
		t.Fatalf("the tracker has %+v, %v; want reported-lost", rec, err)
	}

	// Not the person's key.
	other := loss
	other.Serial = 99999999
	if err := r.ReportLost(ctx, other); !errors.Is(err, steps.ErrReportRejected) {
		t.Fatalf("someone else's key: %v, want steps.ErrReportRejected", err)
	}
}
