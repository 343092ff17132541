package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// TestLossReportQueued: a loss report made while the tracker is down is
// kept in the queue with the reports and delivered, in order, once it is
// up; one for a key that is not the caller's is refused and set aside,
// not dropped; IT's client finds the key and changes its status.
func TestLossReportQueued(t *testing.T) {
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	srv, err := server.New(server.Config{Store: st, Logf: t.Logf, Services: []string{"google"}})
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	ann, annTok := person(t, st, "ann@example.com", "")
	_, itTok, err := server.CreateAdmin(context.Background(), st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk", Team: "IT"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	c, err := client.New(client.Config{BaseURL: hs.URL, Dir: dir, Tokens: &client.MemoryStore{Value: annTok}, AppVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Record(ctx, report(700, "google", "otp")); err != nil {
		t.Fatal(err)
	}

	down.Store(true)
	// A report and then the loss of that same key, both while the
	// tracker is down: the loss must not overtake the report.
	if _, err := c.Enqueue(report(701, "google")); err != nil {
		t.Fatal(err)
	}
	err = c.ReportLost(ctx, tracker.LossReport{Serial: 701, Role: tracker.RoleEveryday, Reason: "dropped it in the lake", At: t0})
	if !errors.Is(err, client.ErrQueued) {
		t.Fatalf("loss report while down: %v, want ErrQueued", err)
	}
	if n, _ := c.Pending(); n != 2 {
		t.Errorf("%d queued, want the report and the loss report", n)
	}
	down.Store(false)
	if sent, err := c.Flush(ctx); err != nil || sent != 2 {
		t.Fatalf("flush: %d sent, %v", sent, err)
	}
	rec, err := st.KeyRecord(ctx, 701)
	if err != nil || rec.Status != tracker.KeyReportedLost || rec.PersonID != ann.ID {
		t.Errorf("key 701 after the flush: %+v, %v; want ann's, reported lost", rec, err)
	}

	// Not her key: refused for good, kept aside.
	err = c.ReportLost(ctx, tracker.LossReport{Serial: 999, Reason: "which one?", At: t0})
	var rej *client.RejectedError
	if !errors.As(err, &rej) || rej.Err.Status != http.StatusNotFound {
		t.Fatalf("someone else's key: %v, want a 404 rejection", err)
	}
	if _, err := os.Stat(rej.Path); err != nil || filepath.Dir(rej.Path) != filepath.Join(dir, "rejected") {
		t.Errorf("the refused loss report is not kept aside: %s, %v", rej.Path, err)
	}
	// An invalid one never reaches the queue.
	if err := c.ReportLost(ctx, tracker.LossReport{Serial: 701, At: t0}); err == nil {
		t.Error("a loss report without a reason was accepted")
	}

	itc, err := client.New(client.Config{BaseURL: hs.URL, Dir: t.TempDir(), Tokens: &client.MemoryStore{Value: itTok}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := itc.FindKey(ctx, 701)
	if err != nil || got.OwnerEmail != "ann@example.com" || len(got.History) != 2 {
		t.Errorf("FindKey: %+v, %v", got, err)
	}
	if _, err := itc.FindKey(ctx, 999); !errors.Is(err, client.ErrNoSuchKey) {
		t.Errorf("FindKey of an unknown key: %v", err)
	}
	got, err = itc.SetKeyStatus(ctx, 701, tracker.KeyStatusChange{Status: tracker.KeyRetired, Reason: "wiped", Erased: []string{"fido2", "piv"}})
	if err != nil || got.Status != tracker.KeyRetired || len(got.History) != 3 {
		t.Errorf("SetKeyStatus: %+v, %v", got, err)
	}
	// Ann's client is no IT.
	if _, err := c.SetKeyStatus(ctx, 700, tracker.KeyStatusChange{Status: tracker.KeyLost, Reason: "x"}); err == nil {
		t.Error("a person's SetKeyStatus was accepted")
	}
}
