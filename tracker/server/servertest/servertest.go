// Package servertest runs a real onboarding tracker (tracker/server over a
// SQLite store in the test's temporary directory) on httptest, with IT's
// administrator, for the tests of the packages that talk to a tracker: the
// wizard's tracker link, the key wipe's record, the window's lost-key flow.
// Only tests import it.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// Tracker is a running tracker; the test's cleanup stops it.
type Tracker struct {
	URL   string
	Store store.Store
	// Admin is IT's administrator, and AdminToken its API token.
	Admin      tracker.Person
	AdminToken string
}

// Options change the tracker before it starts.
type Options struct {
	// Configure changes the server's configuration (policy, roots...).
	Configure func(*server.Config)
	// Wrap puts a handler in front of the tracker's (e.g. one that answers
	// 503 for a while, as a tracker restarting behind a load balancer).
	Wrap func(http.Handler) http.Handler
}

// Start runs a tracker with IT's administrator (it@example.com).
func Start(t testing.TB, o Options) *Tracker {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "tracker.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Store: st, Logf: t.Logf}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
	admin, tok, err := server.CreateAdmin(ctx, st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk", Team: "IT"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &Tracker{URL: hs.URL, Store: st, Admin: admin, AdminToken: tok}
}

// AddPerson creates p as IT does, through POST /v1/people.
func (tr *Tracker) AddPerson(t testing.TB, p tracker.CreatePerson) tracker.Person {
	t.Helper()
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest("POST", tr.URL+"/v1/people", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+tr.AdminToken)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating %s: %s", p.Email, resp.Status)
	}
	var person tracker.Person
	if err := json.NewDecoder(resp.Body).Decode(&person); err != nil {
		t.Fatalf("creating %s: %v", p.Email, err)
	}
	return person
}

// Invite issues an invite code for the person with id, valid for an hour.
func (tr *Tracker) Invite(t testing.TB, id string) string {
	t.Helper()
	inv, err := server.IssueInvite(context.Background(), tr.Store, id, tr.Admin.ID, "test", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return inv.Code
}
