package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest/attesttest"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// hook records webhook deliveries.
type hook struct {
	mu   sync.Mutex
	msgs []string
	// events are the posts' X-Keywizard-Event headers, in step with msgs.
	events []string
	srv    *httptest.Server
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		json.NewDecoder(r.Body).Decode(&m)
		h.mu.Lock()
		h.msgs = append(h.msgs, m.Text)
		h.events = append(h.events, r.Header.Get("X-Keywizard-Event"))
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// eventsOf returns the messages of one event kind.
func (h *hook) eventsOf(kind string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for i, e := range h.events {
		if e == kind {
			out = append(out, h.msgs[i])
		}
	}
	return out
}

func (h *hook) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

// env is a tracker with an org chart:
//
//	it (admin)
//	boss ── mid ── ann
//	     └─ bob
//	eve ── zed
type env struct {
	t      *testing.T
	st     store.Store
	srv    *server.Server
	http   *httptest.Server
	clock  *clock
	hook   *hook
	ca     *attesttest.CA
	people map[string]tracker.Person
	tokens map[string]string
	signer *evidence.Signer
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, b testdb.Backend, opts ...func(*server.Config)) *env {
	t.Helper()
	st, _ := testdb.Open(t, b)
	e := &env{t: t, st: st, clock: &clock{t: start}, hook: newHook(t), ca: attesttest.NewCA(t), people: map[string]tracker.Person{}, tokens: map[string]string{}}
	signer, err := evidence.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	e.signer = signer
	cfg := server.Config{
		Store: st, Verifier: e.ca.Verifier(), Services: []string{"google", "github"}, Now: e.clock.Now, Signer: signer,
		Logf: t.Logf, WebhookURL: e.hook.srv.URL, AuthRate: 1000, AuthBurst: 1000,
		// These tests predate the configurable policy and test it as it
		// was (genuine keys not required); integrity_test.go tests the
		// default, which requires them.
		Policy: &tracker.LegacyPolicy,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.http = httptest.NewServer(srv.Handler())
	t.Cleanup(func() { e.http.Close(); srv.Close() })
	ctx := context.Background()
	p, tok, err := server.CreateAdmin(ctx, st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk", Team: "IT"}, start)
	if err != nil {
		t.Fatal(err)
	}
	e.people["it"], e.tokens["it"] = p, tok
	// The roster was loaded two months before the test's day, so a
	// person's default due date (a month after the later of their start
	// and the day they were added, tracker.Person.Due) follows their start
	// date: ann, who started in January, is overdue; bob, who started
	// yesterday, is not.
	e.clock.Add(-60 * 24 * time.Hour)
	defer e.clock.Add(60 * 24 * time.Hour)
	for _, x := range []struct{ name, manager, startDate string }{
		{"boss", "", "2025-01-01"}, {"mid", "boss", "2025-06-01"}, {"ann", "mid", "2026-01-05"},
		{"bob", "boss", "2026-03-01"}, {"eve", "", "2025-01-01"}, {"zed", "eve", "2026-02-01"},
	} {
		req := tracker.CreatePerson{Email: x.name + "@example.com", Name: x.name, Team: "Eng", StartDate: x.startDate}
		if x.manager != "" {
			req.ManagerEmail = x.manager + "@example.com"
		}
		var p tracker.Person
		e.do("it", "POST", "/v1/people", req, http.StatusCreated, &p)
		e.people[x.name] = p
		tok, err := server.AdminToken(ctx, st, p.ID, "test", 0, start)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[x.name] = tok
	}
	return e
}

// call makes a request as who ("" for none) and returns status and body.
func (e *env) call(who, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.http.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if tok, ok := e.tokens[who]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if who != "" {
		req.Header.Set("Authorization", "Bearer "+who) // a raw (forged) token
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do is call that fails the test unless the status is want, and decodes the
// JSON answer into out.
func (e *env) do(who, method, path string, body any, want int, out any) {
	e.t.Helper()
	code, data := e.call(who, method, path, body)
	if code != want {
		e.t.Fatalf("%s %s as %q: %d %s, want %d", method, path, who, code, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

func (e *env) id(name string) string { return e.people[name].ID }

// fullReport reports a key with every required service and OTP off.
func fullReport(key string, serial uint32, role tracker.KeyRole) tracker.Report {
	r := tracker.Report{IdempotencyKey: key, Serial: serial, Model: "YubiKey 5C NFC", Role: role, AppVersion: "1.0.0"}
	for _, s := range []string{"google", "github", "otp"} {
		r.Items = append(r.Items, tracker.ReportItem{Service: s, Evidence: tracker.EvidenceOnKey, At: start})
	}
	return r
}

// csvExport is the CSV export as one caller got it: its records after the
// header, each by column name, and the raw file.
type csvExport struct {
	rows []map[string]string
	file []byte
}

// exportCSV fetches the CSV export as who, checks it answered 200 and that
// its signature verifies, and reads its records by the header's column
// names (the "#" lines are the signed preamble).
func (e *env) exportCSV(who string) csvExport {
	e.t.Helper()
	code, file := e.call(who, "GET", "/v1/export.csv", nil)
	if code != http.StatusOK {
		e.t.Fatalf("CSV export as %s: %d %s", who, code, file)
	}
	if _, err := evidence.Verify(e.signer.PublicKey(), file); err != nil {
		e.t.Fatalf("the CSV export as %s does not verify: %v", who, err)
	}
	// Every record has the header's fields (csv.Reader's default checks it).
	r := csv.NewReader(bytes.NewReader(file))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		e.t.Fatalf("reading the CSV export as %s: %v (%d records)", who, err, len(recs))
	}
	x := csvExport{file: file}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, c := range recs[0] {
			row[c] = rec[i]
		}
		x.rows = append(x.rows, row)
	}
	return x
}
