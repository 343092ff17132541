package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// TestColumnsFromReports: with no --services, the required services and
// the dashboard's columns are those the reports' catalogues named, the
// latest report's first, in its order and with its names; the list only
// grows; a report naming none (an older wizard) changes nothing, and with
// no list yet nobody is complete.
func TestColumnsFromReports(t *testing.T) {
	for _, b := range testdb.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st, _ := testdb.Open(t, b)
			srv, err := server.New(server.Config{Store: st, Now: func() time.Time { return start }, Logf: t.Logf, Policy: &tracker.LegacyPolicy})
			if err != nil {
				t.Fatal(err)
			}
			h := httptest.NewServer(srv.Handler())
			t.Cleanup(func() { h.Close(); srv.Close() })
			ctx := context.Background()
			_, tok, err := server.CreateAdmin(ctx, st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk", Team: "IT", StartDate: "2026-03-01"}, start)
			if err != nil {
				t.Fatal(err)
			}
			call := func(method, path string, body any, out any) {
				t.Helper()
				var r io.Reader
				if body != nil {
					data, _ := json.Marshal(body)
					r = bytes.NewReader(data)
				}
				req, _ := http.NewRequest(method, h.URL+path, r)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				data, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
				}
				if out != nil {
					if err := json.Unmarshal(data, out); err != nil {
						t.Fatal(err)
					}
				}
			}
			report := func(key string, serial uint32, role tracker.KeyRole, named []tracker.Service, items ...string) tracker.ReportResult {
				t.Helper()
				r := tracker.Report{IdempotencyKey: key, Serial: serial, Model: "YubiKey 5C NFC", Role: role, AppVersion: "1.0.0", Services: named}
				for _, s := range items {
					r.Items = append(r.Items, tracker.ReportItem{Service: s, Evidence: tracker.EvidenceSelf, At: start})
				}
				var res tracker.ReportResult
				call("POST", "/v1/reports", r, &res)
				return res
			}
			team := func() tracker.TeamView {
				t.Helper()
				var v tracker.TeamView
				call("GET", "/v1/team", nil, &v)
				return v
			}

			// An older wizard's reports name no catalogue: no columns,
			// and however much is done, nobody is complete.
			if res := report("old-every-1", 11, tracker.RoleEveryday, nil, "google", "otp"); res.Complete {
				t.Error("complete with no list of services")
			}
			if res := report("old-backup-1", 12, tracker.RoleBackup, nil, "google", "otp"); res.Complete {
				t.Error("complete with no list of services")
			}
			if v := team(); len(v.Services) != 0 {
				t.Errorf("columns %v before any report named a catalogue", v.Services)
			}

			// A catalogue with Slack, in its order: the columns follow it,
			// and Slack is now required.
			cat := []tracker.Service{{ID: "google", Name: "Google Workspace"}, {ID: "slack", Name: "Slack"}}
			if res := report("new-every-1", 11, tracker.RoleEveryday, cat, "google", "otp"); res.Complete {
				t.Error("complete without Slack")
			}
			v := team()
			if !slices.Equal(v.Services, []string{"google", "slack"}) || v.ServiceNames["google"] != "Google Workspace" || v.ServiceNames["slack"] != "Slack" {
				t.Fatalf("columns %v names %v", v.Services, v.ServiceNames)
			}
			report("new-every-2", 11, tracker.RoleEveryday, cat, "google", "slack", "otp")
			if res := report("new-backup-1", 12, tracker.RoleBackup, cat, "google", "slack", "otp"); !res.Complete {
				t.Error("not complete with every named service on both keys")
			}
			req, _ := http.NewRequest("GET", h.URL+"/dashboard", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `title="google">Google Workspace</th>`) {
				t.Errorf("dashboard %d: the column is not headed with the service's name:\n%s", resp.StatusCode, page)
			}

			// A report that leaves Slack out (a catalogue without it, or a
			// person's client lying to get complete) does not drop it: any
			// person may name services, and no one may shrink what everyone
			// must do. A new service it names is added, in its order.
			lean := []tracker.Service{{ID: "google", Name: "Google Workspace"}, {ID: "okta", Name: "Okta"}}
			report("new-every-3", 11, tracker.RoleEveryday, lean, "google", "okta", "otp")
			if v := team(); !slices.Equal(v.Services, []string{"google", "okta", "slack"}) {
				t.Errorf("columns %v after a report left Slack out, want google, okta, slack", v.Services)
			}
		})
	}
}
