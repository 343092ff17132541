package team

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
)

// TestThroughTrackerClient renders what the real tracker client makes of
// the tracker's answers to GET /v1/team: the JSON view-model (decoded, so
// times and maps come back as the wire has them) and each refusal, whose
// typed errors explain must recognise.
func TestThroughTrackerClient(t *testing.T) {
	body, err := json.Marshal(fiveTeam())
	if err != nil {
		t.Fatal(err)
	}
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/team" || r.Header.Get("Authorization") != "Bearer kwt_0123456789abcdef_x" {
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(tracker.ErrorBody{Error: http.StatusText(status)})
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	tokens := &client.MemoryStore{Value: "kwt_0123456789abcdef_x"}
	cl, err := client.New(client.Config{BaseURL: srv.URL, Dir: t.TempDir(), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	src := sourceFunc(func(ctx context.Context) (tracker.TeamView, error) { return cl.Team(ctx, "") })

	status = http.StatusOK
	v, _ := open(t, src)
	if rows, _ := v.Table.Length(); rows != 5 || cellAt(t, v, 0, 0).name != "Ann Lee" || v.Updated.Text != "Updated 2 Mar 2026 09:30" {
		t.Errorf("decoded view: %d rows, first %q, %q", rows, cellAt(t, v, 0, 0).name, v.Updated.Text)
	}
	if got, want := details(v.view, v.view.Rows[0]), details(fiveTeam(), fiveTeam().Rows[0]); got != want {
		t.Errorf("details after the wire:\n%s\nwant\n%s", got, want)
	}

	for _, tc := range []struct {
		status int
		want   string
	}{
		{http.StatusUnauthorized, msgTokenGone},
		{http.StatusForbidden, msgForbidden},
		{http.StatusTooManyRequests, msgBusy},
		{http.StatusInternalServerError, "The tracker failed (HTTP 500): showing nothing; press Refresh in a few minutes, and tell IT if it keeps failing."},
	} {
		status = tc.status
		v.refresh()
		v.Wait()
		if v.Message.Text != tc.want || v.Table.Visible() {
			t.Errorf("HTTP %d: message %q (table %v), want %q", tc.status, v.Message.Text, v.Table.Visible(), tc.want)
		}
	}

	// Not joined: no token in the keychain.
	tokens.Value = ""
	v.refresh()
	v.Wait()
	if v.Message.Text != msgNoToken {
		t.Errorf("no token: %q", v.Message.Text)
	}
}
