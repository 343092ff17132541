package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func report(serial uint32, services ...string) tracker.Report {
	r := tracker.Report{Serial: serial, Model: "YubiKey 5C Nano", Role: tracker.RoleEveryday}
	for _, s := range services {
		r.Items = append(r.Items, tracker.ReportItem{Service: s, Evidence: tracker.EvidenceOnKey, At: t0})
	}
	return r
}

// person creates someone directly in the store and returns their token.
func person(t *testing.T, st store.Store, email, manager string) (tracker.Person, string) {
	t.Helper()
	ctx := context.Background()
	p := tracker.Person{ID: store.NewID("p_"), Email: email, Name: email, Team: "Eng", ManagerID: manager, StartDate: "2026-03-02", CreatedAt: t0}
	if _, err := st.CreatePerson(ctx, p, tracker.AuditEntry{At: t0, Actor: "test", Action: "person.create", Subject: p.ID}); err != nil {
		t.Fatal(err)
	}
	tok, err := server.AdminToken(ctx, st, p.ID, "test", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p, tok
}

func fastSleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lossyTransport drops the response of every nth report after the server
// has processed it, as a connection reset would: the client cannot know
// whether the report arrived and must resend it.
type lossyTransport struct {
	n       int64
	count   atomic.Int64
	dropped atomic.Int64
}

func (l *lossyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.URL.Path != "/v1/reports" {
		return resp, err
	}
	if l.count.Add(1)%l.n == 0 {
		resp.Body.Close()
		l.dropped.Add(1)
		return nil, errors.New("simulated connection reset after the server answered")
	}
	return resp, nil
}

// TestNoLossAcrossRestart sends 1,000 reports from several clients while
// the server is stopped and restarted on the same database, with some
// responses lost on the way back; every report must be stored exactly once.
func TestNoLossAcrossRestart(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		const clients, perClient = 5, 200
		dsn := b.DSN(t)
		ctx := context.Background()
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		tokens := make([]string, clients)
		for i := range tokens {
			_, tokens[i] = person(t, st, fmt.Sprintf("p%d@example.com", i), "")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		serve := func(ln net.Listener, st store.Store) *http.Server {
			// Each client stands for a person with hundreds of keys, far
			// past a real person's limits: lift them, this test is about
			// not losing reports.
			srv, err := server.New(server.Config{Store: st, Logf: func(string, ...any) {},
				Limits: store.Limits{Keys: 1 << 20, Services: 1 << 20, Items: 1 << 20}, ReportRate: 1 << 20, ReportBurst: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			hs := &http.Server{Handler: srv.Handler()}
			go hs.Serve(ln)
			return hs
		}
		hs := serve(ln, st)

		lossy := &lossyTransport{n: 13}
		down := make(chan struct{})
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		cs := make([]*client.Client, clients)
		for i := range cs {
			c, err := client.New(client.Config{
				BaseURL: "http://" + addr, Dir: t.TempDir(), Tokens: &client.MemoryStore{Value: tokens[i]}, AppVersion: "test",
				HTTPClient: &http.Client{Transport: lossy, Timeout: 5 * time.Second},
				MinBackoff: 2 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Sleep: fastSleep,
			})
			if err != nil {
				t.Fatal(err)
			}
			cs[i] = c
			wg.Go(func() { c.Run(runCtx) })
			wg.Go(func() {
				// Half now; the other half while the server is down, as
				// a wizard finishing a key during a restart would.
				for j := range perClient {
					if j == perClient/2 {
						<-down
					}
					if _, err := c.Enqueue(report(uint32(i*10000+j+1), "google")); err != nil {
						t.Error(err)
					}
				}
			})
		}
		pending := func() int {
			n := 0
			for _, c := range cs {
				p, err := c.Pending()
				if err != nil {
					t.Fatal(err)
				}
				n += p
			}
			return n
		}
		waitUntil := func(what string, cond func() bool) {
			t.Helper()
			for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for %s (%d pending)", what, pending())
				}
			}
		}
		// Stop mid-way: abruptly, with requests in flight.
		waitUntil("300 reports stored", func() bool { n, _ := st.ReportCount(ctx); return n >= 300 })
		hs.Close()
		st.Close()
		close(down)
		time.Sleep(100 * time.Millisecond) // clients retry against a closed port
		before := pending()
		st, err = store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for deadline := time.Now().Add(5 * time.Second); ; {
			if ln, err = net.Listen("tcp", addr); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("relistening on %s: %v", addr, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		hs = serve(ln, st)
		defer hs.Close()
		waitUntil("all queues empty", func() bool { return pending() == 0 })
		stop()
		wg.Wait()

		n, err := st.ReportCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys, items, err := st.Records(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n != clients*perClient || len(keys) != clients*perClient || len(items) != clients*perClient {
			t.Errorf("stored %d reports, %d keys, %d items; want %d of each", n, len(keys), len(items), clients*perClient)
		}
		seen := map[uint32]bool{}
		for _, k := range keys {
			if seen[k.Serial] {
				t.Errorf("serial %d stored twice", k.Serial)
			}
			seen[k.Serial] = true
		}
		t.Logf("%d responses dropped, %d reports pending at the restart", lossy.dropped.Load(), before)
		if lossy.dropped.Load() == 0 || before == 0 {
			t.Error("the test did not exercise lost responses or the restart")
		}
	})
}

func TestQueueRejectsAndRetries(t *testing.T) {
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	_, tokA := person(t, st, "a@example.com", "")
	_, tokB := person(t, st, "b@example.com", "")
	srv, _ := server.New(server.Config{Store: st, Logf: t.Logf})
	var down atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	defer hs.Close()
	newClient := func(tok string) *client.Client {
		c, err := client.New(client.Config{BaseURL: hs.URL, Dir: t.TempDir(), Tokens: &client.MemoryStore{Value: tok}, AppVersion: "1.0"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := newClient(tokA), newClient(tokB)
	ctx := context.Background()

	// Offline: Record keeps the report and does not fail.
	down.Store(true)
	if err := a.Record(ctx, report(1, "google")); !errors.Is(err, client.ErrQueued) {
		t.Fatalf("Record while the tracker is down: %v, want ErrQueued", err)
	}
	if n, _ := a.Pending(); n != 1 {
		t.Fatalf("pending %d, want 1", n)
	}
	var ae *client.APIError
	if _, err := a.Flush(ctx); !errors.As(err, &ae) || ae.Status != 503 {
		t.Errorf("flush while down: %v", err)
	}
	down.Store(false)
	if sent, err := a.Flush(ctx); sent != 1 || err != nil {
		t.Errorf("flush when back: %d, %v", sent, err)
	}

	// A report the tracker refuses for good (b reporting a's key) is set
	// aside and does not block the ones behind it.
	if _, err := b.Enqueue(report(1, "google")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Enqueue(report(2, "google")); err != nil {
		t.Fatal(err)
	}
	if sent, err := b.Flush(ctx); sent != 1 || err != nil {
		t.Errorf("flush with a rejected report: %d, %v", sent, err)
	}
	if n, _ := b.Pending(); n != 0 {
		t.Errorf("pending %d after rejection", n)
	}

	// Record says so when the tracker rejects a report for good.
	// Typed, with the tracker's answer, so the wizard can explain it.
	err := b.Record(ctx, report(1, "github"))
	var re *client.RejectedError
	if !errors.Is(err, client.ErrRejected) || errors.Is(err, client.ErrQueued) || !errors.As(err, &re) || re.Err.Status/100 != 4 {
		t.Errorf("Record of a rejected report: %v", err)
	}

	// Invalid reports never enter the queue.
	if _, err := a.Enqueue(tracker.Report{Serial: 3, Model: "x", Role: "spare"}); err == nil {
		t.Error("invalid report queued")
	}

	// A revoked token surfaces as ErrUnauthorized and the report stays.
	if err := st.RevokeTokens(ctx, mustMe(t, a).ID, tracker.AuditEntry{Actor: "it", Action: "token.revoke"}); err != nil {
		t.Fatal(err)
	}
	a.Enqueue(report(4, "github"))
	if _, err := a.Flush(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("revoked token: %v", err)
	}
	if n, _ := a.Pending(); n != 1 {
		t.Errorf("pending %d, want the report kept", n)
	}
}

func mustMe(t *testing.T, c *client.Client) tracker.Person {
	p, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExchangeKeyringAndTeam(t *testing.T) {
	keyring.MockInit()
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	boss, _ := person(t, st, "boss@example.com", "")
	ann, tokAnn := person(t, st, "ann@example.com", boss.ID)
	srv, _ := server.New(server.Config{Store: st, Services: []string{"google"}, Logf: t.Logf})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	ctx := context.Background()
	inv, err := server.IssueInvite(ctx, st, boss.ID, "it", "new manager", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ks := client.KeyringStore{Service: "keywizard-tracker-test", User: hs.URL}
	if _, err := ks.Token(); !errors.Is(err, client.ErrNoToken) {
		t.Fatalf("empty keyring: %v", err)
	}
	c, err := client.New(client.Config{BaseURL: hs.URL, Dir: t.TempDir(), Tokens: ks})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Team(ctx, ""); !errors.Is(err, client.ErrNoToken) {
		t.Errorf("team without token: %v", err)
	}
	p, err := c.Exchange(ctx, inv.Code, "test")
	if err != nil || p.ID != boss.ID {
		t.Fatalf("exchange: %v %v", p, err)
	}
	if tok, err := ks.Token(); err != nil || tok == "" {
		t.Fatalf("token not in keyring: %v", err)
	}
	if _, err := c.Exchange(ctx, inv.Code, "test"); err == nil {
		t.Error("invite reused")
	}

	a, _ := client.New(client.Config{BaseURL: hs.URL, Dir: t.TempDir(), Tokens: &client.MemoryStore{Value: tokAnn}, AppVersion: "1"})
	if err := a.Record(ctx, report(77, "google", "otp")); err != nil {
		t.Fatal(err)
	}
	v, err := c.Team(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Rows) != 1 || v.Rows[0].Person.ID != ann.ID || v.Rows[0].Everyday.Serial != 77 || !v.Rows[0].Everyday.OTPDisabled || v.Rows[0].Complete {
		t.Errorf("team view: %+v", v.Rows)
	}
	if err := ks.DeleteToken(); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Token(); !errors.Is(err, client.ErrNoToken) {
		t.Errorf("after delete: %v", err)
	}
}

func TestLocalRecorder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kw")
	l, err := client.NewLocalRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := report(5, "google")
	r.IdempotencyKey = "local-key-1"
	r.AppVersion = "1"
	for range 2 {
		if err := l.Record(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	r2 := report(6, "github")
	r2.AppVersion = "1"
	if err := l.Record(context.Background(), r2); err != nil {
		t.Fatal(err)
	}
	// A torn last line (crash mid-write) is skipped.
	f, _ := os.OpenFile(l.Path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"serial":`)
	f.Close()
	got, err := l.Records()
	if err != nil || len(got) != 2 || got[0].Serial != 5 || got[1].Serial != 6 {
		t.Errorf("records: %+v, %v", got, err)
	}
	if d := l.Destination(); !filepath.IsAbs(l.Path) || !strings.Contains(d, l.Path) || !strings.Contains(d, "No onboarding tracker") {
		t.Errorf("Destination: %q", d)
	}
}
