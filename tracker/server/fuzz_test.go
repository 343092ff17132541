package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// FuzzAPI sends arbitrary bodies to every endpoint that takes one, as IT
// (who may call them all), and checks the server never fails with a 5xx,
// always answers errors in JSON (HTML for the login form), and names a
// field in every 400 that is about one.
func FuzzAPI(f *testing.F) {
	posts := []string{"/v1/auth/exchange", "/v1/reports", "/v1/people", "erase", "invite", "revoke-tokens", "status", "/login", "/v1/keys/1/status", "lost"}
	f.Add(uint8(1), []byte(`{"idempotency_key":"abcdefgh","serial":9,"model":"m","role":"backup","app_version":"1","items":[]}`))
	f.Add(uint8(2), []byte(`{"email":"z@example.com","name":"Z","start_date":"2026-03-02"}`))
	f.Add(uint8(6), []byte(`{"status":"lost","reason":"r"}`))
	f.Add(uint8(7), []byte(`credential=kwt_0123456789abcdef_x`))
	f.Add(uint8(8), []byte(`{"status":"retired","reason":"wiped","erased":["fido2","piv"]}`))
	f.Add(uint8(9), []byte(`{"serial":1,"role":"backup","reason":"gone","at":"2026-03-02T09:00:00Z"}`))
	f.Add(uint8(9), []byte(`{"serial":2,"reason":"","at":"x"}`))
	f.Add(uint8(1), []byte(`{"idempotency_key":"abcdefgh","serial":9,"model":"m","role":"backup","app_version":"1","items":[{"service":"okta","evidence":"self-attested","at":"2026-03-02","x":1}]}`))
	f.Add(uint8(1), []byte(`{"idempotency_key":"abcdefgh","serial":9,"model":"m","role":"backup","app_version":"1","items":[],"attestation":{"certificate":"*","slot":""}}`))

	st, _ := testdb.Open(f, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	admin, tok, err := server.CreateAdmin(ctx, st, tracker.CreatePerson{Email: "it@example.com", Name: "IT"}, now)
	if err != nil {
		f.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, Now: func() time.Time { return now }, AuthRate: 1 << 20, AuthBurst: 1 << 20, Logf: func(string, ...any) {}})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := posts[int(which)%len(posts)]
		switch path {
		case "erase", "invite", "revoke-tokens":
			path = "/v1/people/p_nobody/" + path // 404 after decoding
		case "status":
			path = "/v1/people/" + admin.ID + "/keys/1/status"
		case "lost":
			path = "/v1/me/keys/1/lost" // 404 after decoding: IT has no key 1
		}
		req, _ := http.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if path == "/login" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code < 400 || path == "/login" {
			return
		}
		var e tracker.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Fatalf("POST %s: error body %q is not JSON", path, rec.Body)
		}
		if e.Field != "" && !strings.HasPrefix(e.Error, e.Field+": ") {
			t.Fatalf("POST %s: %q does not start with its field %q", path, e.Error, e.Field)
		}
		// A well-formed JSON object that is refused is refused for its
		// contents: the 400 must say which field.
		if d := bytes.TrimSpace(body); rec.Code == http.StatusBadRequest && e.Field == "" && len(d) > 0 && d[0] == '{' && json.Valid(d) {
			t.Fatalf("POST %s %q: 400 %q names no field", path, body, e.Error)
		}
		if strings.Contains(rec.Body.String(), tok) {
			t.Fatal("token echoed")
		}
	})
}
