package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// stuckStore is a store whose listing of people hangs (a locked table, a
// lost database connection) until the request's context ends, then fails
// with err, or with the context's error when err is nil.
type stuckStore struct {
	store.Store
	err error
}

var errNoDeadline = errors.New("request context has no deadline")

// TokenPerson ignores the deadline, so that the request reaches People
// however short the timeout.
func (s stuckStore) TokenPerson(ctx context.Context, selector string) (store.Credential, tracker.Person, error) {
	return s.Store.TokenPerson(context.WithoutCancel(ctx), selector)
}

func (s stuckStore) People(ctx context.Context) ([]tracker.Person, error) {
	if _, ok := ctx.Deadline(); !ok {
		return nil, errNoDeadline // would hang for good
	}
	<-ctx.Done()
	if s.err != nil {
		return nil, s.err
	}
	return nil, ctx.Err()
}

func TestRequestTimeout(t *testing.T) {
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	_, tok, err := server.CreateAdmin(context.Background(), st, tracker.CreatePerson{Email: "it@example.com", Name: "IT"}, start)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"context error", nil},
		// What SQLite's driver answers when its context ends.
		{"driver error", errors.New("interrupted (9)")},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, err := server.New(server.Config{Store: stuckStore{st, c.err}, RequestTimeout: 1, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/v1/people", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			var body tracker.ErrorBody
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/json" ||
				json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == "" {
				t.Errorf("stuck store: %d %s %s, want 503 with a JSON error", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		})
	}
}
