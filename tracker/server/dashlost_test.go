package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
)

// TestDashboardLostKeys: the dashboard lists a key its owner reported
// lost with its date; IT alone gets the confirm-lost and mark-found
// buttons, which work like the person page's form (same-origin, form
// token); after the replacement the row names it with its date; the
// person page shows the key and completion history.
func TestDashboardLostKeys(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ann := e.id("ann")
		e.do("ann", "POST", "/v1/reports", fullReport("ann-everyday", 7100, tracker.RoleEveryday), 200, nil)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-backup", 7200, tracker.RoleBackup), 200, nil)
		e.clock.Add(time.Hour)
		e.do("ann", "POST", "/v1/me/keys/7200/lost", tracker.LossReport{Serial: 7200, Reason: "left it on the train", At: start}, 200, nil)

		it, itCSRF := e.signIn("it")
		mid, midCSRF := e.signIn("mid")
		form := regexp.MustCompile(`(?s)<tr id="lost-7200">.*?action="/dashboard/people/` + ann + `/keys/7200/status".*?value="lost">Confirm lost</button><button type="submit" name="status" value="active">Mark found`)
		_, page := e.get("/dashboard", it)
		if !strings.Contains(page, `<tr id="lost-7200">`) || !strings.Contains(page, "reported lost by the person") || !strings.Contains(page, "<td>2026-03-02</td>") ||
			!strings.Contains(page, "not yet") || !form.MatchString(page) {
			t.Errorf("IT's dashboard does not list key 7200 as reported lost with its buttons:\n%s", page)
		}
		_, page = e.get("/dashboard", mid)
		if !strings.Contains(page, `<tr id="lost-7200">`) || strings.Contains(page, "Confirm lost") {
			t.Errorf("mid's dashboard: the lost key must be listed without IT's buttons")
		}
		// A manager's post of the form is refused and changes nothing.
		if resp, _ := e.post(mid, personPath(ann)+"/keys/7200/status", midCSRF, url.Values{"status": {"lost"}, "reason": {"I saw it"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("mid confirming: %d", resp.StatusCode)
		}
		// So is IT's without a reason, or from another site.
		if resp, _ := e.post(it, personPath(ann)+"/keys/7200/status", itCSRF, url.Values{"status": {"lost"}}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("confirming without a reason: %d", resp.StatusCode)
		}
		if resp, _ := e.post(it, personPath(ann)+"/keys/7200/status", itCSRF, url.Values{"status": {"lost"}, "reason": {"x"}}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("confirming from another site: %d", resp.StatusCode)
		}
		var rec tracker.KeyRecord
		e.do("it", "GET", "/v1/keys/7200", nil, 200, &rec)
		if rec.Status != tracker.KeyReportedLost {
			t.Fatalf("after the refused posts key 7200 is %s", rec.Status)
		}
		resp, _ := e.post(it, personPath(ann)+"/keys/7200/status", itCSRF, url.Values{"status": {"lost"}, "reason": {"ticket IT-9: confirmed by phone"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("IT confirming: %d", resp.StatusCode)
		}
		e.do("it", "GET", "/v1/keys/7200", nil, 200, &rec)
		if rec.Status != tracker.KeyLost || rec.History[len(rec.History)-1].Reason != "ticket IT-9: confirmed by phone" {
			t.Errorf("after IT's confirmation: %+v", rec)
		}
		_, page = e.get("/dashboard", it)
		if regexp.MustCompile(`(?s)<tr id="lost-7200">.*?Confirm lost.*?</tr>`).MatchString(page) {
			t.Error("a confirmed loss still offers the confirm buttons")
		}

		// The replacement: the row names it and its date.
		e.clock.Add(24 * time.Hour)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-backup-2", 7300, tracker.RoleBackup), 200, nil)
		it, _ = e.signIn("it") // a day later: new sessions
		mid, _ = e.signIn("mid")
		_, page = e.get("/dashboard", mid)
		if !regexp.MustCompile(`(?s)<tr id="lost-7200">.*?<td>7300, enrolled 2026-03-03</td>`).MatchString(page) {
			t.Errorf("the lost key's row does not name its replacement")
		}
		// Ann's page: key history and completion history; the reasons
		// are for IT and her, not her manager.
		annCookie, _ := e.signIn("ann")
		for who, c := range map[string]*http.Cookie{"it": it, "ann": annCookie, "mid": mid} {
			_, page := e.get(personPath(ann), c)
			for _, want := range []string{`id="key-history"`, `id="completion"`, "key 7200 reported lost", "report for key 7300 (backup)"} {
				if !strings.Contains(page, want) {
					t.Errorf("%s: ann's page lacks %q", who, want)
				}
			}
			if got := strings.Contains(page, "left it on the train"); got != (who != "mid") {
				t.Errorf("%s: ann's reason shown %v", who, got)
			}
		}
	})
}

// TestDashboardSearch: a serial or part of a name, answered only from
// what the caller may see; searches are audited without the query.
func TestDashboardSearch(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-everyday", 7100, tracker.RoleEveryday), 200, nil)
		e.do("zed", "POST", "/v1/reports", fullReport("zed-everyday", 7500, tracker.RoleEveryday), 200, nil)
		e.do("ann", "POST", "/v1/me/keys/7100/lost", tracker.LossReport{Serial: 7100, Reason: "gone", At: start}, 200, nil)
		it, _ := e.signIn("it")
		mid, _ := e.signIn("mid")
		eve, _ := e.signIn("eve")
		ann, _ := e.signIn("ann")
		results := regexp.MustCompile(`(?s)<table id="results">.*</table>`)
		for _, c := range []struct {
			who    string
			cookie *http.Cookie
			q      string
			want   []string // in the results
			absent []string
		}{
			{"it", it, "7100", []string{"ann@example.com", "reported-lost", "Confirm lost"}, nil},
			{"it", it, "ZED", []string{"zed@example.com"}, []string{"ann@example.com"}},
			{"mid", mid, "7100", []string{"ann@example.com", "reported-lost"}, []string{"Confirm lost"}},
			{"mid", mid, "7500", nil, []string{"zed@example.com"}},
			{"mid", mid, "zed", nil, []string{"zed@example.com"}},
			{"eve", eve, "zed", []string{"zed@example.com"}, nil},
			{"eve", eve, "7100", nil, []string{"ann@example.com"}},
			{"ann", ann, "example.com", []string{"ann@example.com"}, []string{"mid@example.com", "zed@example.com"}},
		} {
			code, page := e.get("/dashboard/search?q="+url.QueryEscape(c.q), c.cookie)
			got := results.FindString(page)
			if code != 200 || (len(c.want) > 0 && got == "") || (len(c.want) == 0 && !strings.Contains(page, `id="no-results"`)) {
				t.Errorf("%s searching %q: %d, results %q", c.who, c.q, code, got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s searching %q: no %q in %s", c.who, c.q, w, got)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(page, a) && !strings.Contains(a, c.who) {
					t.Errorf("%s searching %q: %q shown", c.who, c.q, a)
				}
			}
		}
		es := e.entries("search")
		if len(es) != 8 {
			t.Errorf("%d searches audited, want 8", len(es))
		}
		for _, a := range es {
			if strings.Contains(a.Detail, "zed") || strings.Contains(a.Detail, "7100") {
				t.Errorf("the query is in the audit log: %+v", a)
			}
		}
		if code, page := e.get("/dashboard/search?q=ann"); code != http.StatusSeeOther || strings.Contains(page, "ann@example.com") {
			t.Errorf("signed out: %d %s, want a redirect to /login", code, page)
		}
	})
}
