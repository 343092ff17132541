package ui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/zalando/go-keyring"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/server/servertest"
	"github.com/keywizard/keywizard/tracker/store"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// realTracker is the onboarding tracker (server over SQLite on httptest)
// with IT and the flow's person, Alice.
type realTracker struct {
	url   string
	st    store.Store
	alice tracker.Person
	code  string // Alice's invite code
}

func newRealTracker(t *testing.T) *realTracker {
	t.Helper()
	// The fake keys' attestations do not chain to Yubico's roots
	// (docs/yubikey-protocol.md §4.10), so completion here is the policy
	// without the genuine-key check: both keys, every service, OTP off.
	return newRealTrackerWith(t, func(c *server.Config) { c.Policy = &tracker.LegacyPolicy })
}

// newRealTrackerWith is newRealTracker with the server's configuration
// changed by configure first.
func newRealTrackerWith(t *testing.T, configure func(*server.Config)) *realTracker {
	t.Helper()
	ctx := context.Background()
	tr := servertest.Start(t, servertest.Options{Configure: configure})
	st, admin, now := tr.Store, tr.Admin, time.Now()
	alice, err := st.CreatePerson(ctx, tracker.Person{Email: "alice@example.com", Name: "Alice Example", Team: "Eng",
		StartDate: "2026-11-23", CreatedAt: now}, tracker.AuditEntry{Actor: admin.ID, Action: "person.create", At: now})
	if err != nil {
		t.Fatal(err)
	}
	return &realTracker{url: tr.URL, st: st, alice: alice, code: tr.Invite(t, alice.ID)}
}

// complete reads whether Alice is complete now, from the tracker's store.
func (r *realTracker) complete(t *testing.T) bool {
	t.Helper()
	p, err := r.st.Person(context.Background(), r.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Complete
}

func (r *realTracker) key(t *testing.T, serial uint32) tracker.KeyRecord {
	t.Helper()
	rec, err := r.st.KeyRecord(context.Background(), serial)
	if err != nil {
		t.Fatalf("key %d: %v", serial, err)
	}
	return rec
}

// replaced checks the tracker after a lost backup key was replaced: Alice
// complete again, the replacement her active backup key, the lost key
// still reported lost, and her completion history complete, incomplete,
// complete.
func (r *realTracker) replaced(t *testing.T, replacement, lost uint32) {
	t.Helper()
	if !r.complete(t) {
		t.Fatal("the tracker does not have Alice complete after the replacement")
	}
	if k := r.key(t, replacement); k.Status != tracker.KeyActive || k.Role != tracker.RoleBackup {
		t.Fatalf("replacement %s %s", k.Status, k.Role)
	}
	if k := r.key(t, lost); k.Status != tracker.KeyReportedLost {
		t.Fatalf("the lost key is %s at the end", k.Status)
	}
	hist, err := r.st.CompletionHistory(context.Background(), []string{r.alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	var seq []bool
	for _, c := range hist[r.alice.ID] {
		seq = append(seq, c.Complete)
	}
	if fmt.Sprint(seq) != "[true false true]" {
		t.Fatalf("completion history %+v, want complete, incomplete, complete", hist[r.alice.ID])
	}
}

// TestLostKeyRealTracker: the lost-key flow through the window, reporting
// to a real tracker through the app's adapters (internal/trackerlink, the
// keychain mocked): after the loss the tracker has the backup key
// reported lost and Alice incomplete; after the replacement, Alice is
// complete again with the history of both changes, and the everyday key's
// record is as it was.
func TestLostKeyRealTracker(t *testing.T) {
	keyring.MockInit()
	t.Setenv("KEYWIZARD_TRACKER", "")
	rt := newRealTracker(t)
	ctx := t.Context()
	dir := t.TempDir()
	link := &trackerlink.Link{ConfigDir: dir}
	rep, err := trackerlink.NewAppReporter(ctx, dir, "test")
	if err != nil {
		t.Fatal(err)
	}

	uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	e, err := screens.NewEnvWith(fyne.CurrentApp(), w, screens.EnvConfig{GOOS: "darwin", Dir: t.TempDir(), UI: ui.Options{},
		Reporter: rep, LossReporter: rep, Tracker: link})
	if err != nil {
		t.Fatal(err)
	}
	e.UseUI()
	t.Cleanup(e.UI.Close)
	d := &driver{t: t, e: e, w: w}

	if err := e.Wizard.Join(ctx, rt.url, rt.code); err != nil {
		t.Fatal(err)
	}
	if err := e.AdvanceTo(steps.StepSummary); err != nil {
		t.Fatal(err)
	}
	d.settle()
	if !rt.complete(t) {
		st, _ := e.UI.Snapshot().Step(steps.StepReport)
		keys, _, err := rt.st.Records(context.Background(), []string{rt.alice.ID})
		t.Fatalf("the tracker does not have Alice complete after both keys (report step %s %q; tracker keys %+v %v)", st.Status, st.Reason, keys, err)
	}
	everyday := rt.key(t, screens.Everyday)

	runLostKeyFlow(t, d, lostFlowChecks{
		afterLoss: func(t *testing.T) {
			if k := rt.key(t, screens.Backup); k.Status != tracker.KeyReportedLost || k.OwnerEmail != "alice@example.com" {
				t.Fatalf("the tracker has the backup key %s (owner %s), want reported-lost", k.Status, k.OwnerEmail)
			}
			if rt.complete(t) {
				t.Fatal("the tracker has Alice complete with her backup key reported lost")
			}
		},
		atEnd: func(t *testing.T) {
			rt.replaced(t, screens.Replacement, screens.Backup)
			if k := rt.key(t, screens.Everyday); k.Status != tracker.KeyActive || len(k.History) != len(everyday.History) || k.Role != everyday.Role {
				t.Fatalf("the everyday key changed: %+v, was %+v", k, everyday)
			}
		},
	})
}
