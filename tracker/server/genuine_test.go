package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest/attesttest"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// TestGenuineCheckedAt: when the tracker checked a key's attestation (the
// receipt of the report that carried it) is kept and shown wherever the
// genuine result is: the key's record and the team view in the API, the
// person page and the dashboard, and both signed exports. A later report
// without an attestation leaves it; a key never attested shows no time.
func TestGenuineCheckedAt(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ann := e.id("ann")
		attested := fullReport("ann-everyday-1", 8100, tracker.RoleEveryday)
		dev := e.ca.Device(t, 8100, attesttest.Options{})
		attested.Attestation = &tracker.Attestation{Certificate: dev.Attestation, Slot: dev.Slot}
		var res tracker.ReportResult
		e.do("ann", "POST", "/v1/reports", attested, http.StatusOK, &res)
		if !res.Genuine {
			t.Fatalf("the attested key is not genuine: %+v", res)
		}
		checked := start
		e.clock.Add(time.Hour)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-everyday-2", 8100, tracker.RoleEveryday), http.StatusOK, nil) // no attestation
		e.do("ann", "POST", "/v1/reports", fullReport("ann-backup-1", 8200, tracker.RoleBackup), http.StatusOK, nil)

		var rec tracker.KeyRecord
		e.do("it", "GET", "/v1/keys/8100", nil, http.StatusOK, &rec)
		if !rec.Genuine || !rec.GenuineCheckedAt.Equal(checked) || !rec.UpdatedAt.Equal(start.Add(time.Hour)) {
			t.Errorf("key 8100: genuine %v checked at %v updated %v; want genuine checked at %v, updated an hour later", rec.Genuine, rec.GenuineCheckedAt, rec.UpdatedAt, checked)
		}
		code, body := e.call("it", "GET", "/v1/keys/8200", nil)
		if code != http.StatusOK || strings.Contains(string(body), "genuine_checked_at") {
			t.Errorf("key 8200, never attested: %d %s; want no genuine_checked_at", code, body)
		}

		var v tracker.TeamView
		e.do("mid", "GET", "/v1/team", nil, http.StatusOK, &v)
		if len(v.Rows) != 1 || !v.Rows[0].Everyday.GenuineCheckedAt.Equal(checked) || !v.Rows[0].Backup.GenuineCheckedAt.IsZero() {
			t.Errorf("mid's team view: %+v; want ann's everyday key checked at %v, her backup key not", v.Rows, checked)
		}

		it, _ := e.signIn("it")
		_, page := e.get(personPath(ann), it)
		row := func(serial string) string {
			i := strings.Index(page, `<tr id="key-`+serial+`">`)
			if i < 0 {
				t.Fatalf("person page has no row for key %s:\n%s", serial, page)
			}
			r, _, _ := strings.Cut(page[i:], "</tr>")
			return r
		}
		if r := row("8100"); !strings.Contains(r, "✓</span> firmware 5.7.1") || !strings.Contains(r, ", checked at 2026-03-02 09:00 UTC") {
			t.Errorf("person page, key 8100: %s; want genuine, checked at 2026-03-02 09:00 UTC", r)
		}
		if r := row("8200"); strings.Contains(r, "checked at") {
			t.Errorf("person page, key 8200: %s; a key never attested has no check time", r)
		}
		_, page = e.get("/dashboard", it)
		if !strings.Contains(page, `title="genuine YubiKey, serial 8100, firmware 5.7.1, checked at 2026-03-02 09:00 UTC"`) ||
			!strings.Contains(page, `title="not attested, serial 8200"`) {
			t.Errorf("dashboard: want key 8100 genuine checked at 2026-03-02 09:00 UTC and key 8200 not attested, without a time:\n%s", page)
		}

		got := map[string]string{}
		for _, r := range e.exportCSV("it").rows {
			if r["record"] == "key" {
				got[r["serial"]] = r["genuine"] + " " + r["genuine_checked_at"]
			}
		}
		if got["8100"] != "true 2026-03-02T09:00:00Z" || got["8200"] != "false " {
			t.Errorf("CSV key rows (genuine, genuine_checked_at): %q; want 8100 true at 2026-03-02T09:00:00Z, 8200 false with none", got)
		}
		var jx server.Export
		e.do("it", "GET", "/v1/export.json", nil, http.StatusOK, &jx)
		found := 0
		for _, k := range jx.Keys {
			switch k.Serial {
			case 8100:
				found++
				if !k.GenuineCheckedAt.Equal(checked) {
					t.Errorf("JSON export, key 8100: checked at %v, want %v", k.GenuineCheckedAt, checked)
				}
			case 8200:
				found++
				if !k.GenuineCheckedAt.IsZero() {
					t.Errorf("JSON export, key 8200: checked at %v, want none", k.GenuineCheckedAt)
				}
			}
		}
		if found != 2 {
			t.Errorf("JSON export has %d of ann's keys, want 2", found)
		}
	})
}

// TestItemCheckedAt: the report's checked_at of each item is kept and
// shown: the person page's "Last checked" ("not reported" when the report
// did not say), the CSV and JSON exports; one in the future is refused
// like an item's time.
func TestItemCheckedAt(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ann := e.id("ann")
		e.clock.Add(3 * time.Hour)
		checked := start.Add(2 * time.Hour)
		rep := fullReport("ann-everyday-1", 8300, tracker.RoleEveryday)
		for i := range rep.Items {
			if rep.Items[i].Service == "google" {
				rep.Items[i].CheckedAt = checked
			}
		}
		future := rep
		future.IdempotencyKey = "ann-everyday-future"
		future.Items = append([]tracker.ReportItem(nil), rep.Items...)
		future.Items[0].CheckedAt = e.clock.Now().Add(time.Hour)
		if code, body := e.call("ann", "POST", "/v1/reports", future); code != http.StatusBadRequest || !strings.Contains(string(body), `"field": "items[0].checked_at"`) {
			t.Errorf("checked_at in the future: %d %s; want 400 on items[0].checked_at", code, body)
		}
		e.do("ann", "POST", "/v1/reports", rep, http.StatusOK, nil)

		it, _ := e.signIn("it")
		_, page := e.get(personPath(ann), it)
		if !strings.Contains(page, "<td>2026-03-02 09:00</td><td>2026-03-02 11:00</td>") || !strings.Contains(page, "<td>2026-03-02 09:00</td><td>not reported</td>") {
			t.Errorf("person page: want google last checked 2026-03-02 11:00 and the other items not reported:\n%s", page)
		}
		got := map[string]string{}
		for _, r := range e.exportCSV("it").rows {
			if r["record"] == "item" && r["serial"] == "8300" {
				got[r["service"]] = r["checked_at"]
			}
		}
		if got["google"] != "2026-03-02T11:00:00Z" || got["github"] != "" {
			t.Errorf("CSV item rows (checked_at by service): %q; want google 2026-03-02T11:00:00Z, github none", got)
		}
		var jx server.Export
		e.do("it", "GET", "/v1/export.json", nil, http.StatusOK, &jx)
		n := 0
		for _, item := range jx.Items {
			if item.Serial == 8300 && item.Service == "google" {
				n++
				if !item.CheckedAt.Equal(checked) {
					t.Errorf("JSON export, google on 8300: checked at %v, want %v", item.CheckedAt, checked)
				}
			}
		}
		if n != 1 {
			t.Errorf("JSON export has %d google items of key 8300, want 1", n)
		}
	})
}
