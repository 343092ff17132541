package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// signIn signs who in at /login with their token and returns the session
// cookie and its form token, as a browser would hold them.
func (e *env) signIn(who string) (*http.Cookie, string) {
	e.t.Helper()
	resp, err := noRedirect.PostForm(e.http.URL+"/login", url.Values{"credential": {e.tokens[who]}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "kw_token" && c.Value != "" {
			return c, e.formToken(c)
		}
	}
	e.t.Fatalf("login as %s: %d, no cookie", who, resp.StatusCode)
	return nil, ""
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken reads the session's form token off the dashboard; "" if the
// cookie does not sign in.
func (e *env) formToken(c *http.Cookie) string {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.http.URL+"/dashboard", nil)
	req.AddCookie(c)
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

// post sends a dashboard form with the cookie (nil: none), the form token
// (csrf, "" for none) and extra headers.
func (e *env) post(c *http.Cookie, path, csrf string, vals url.Values, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	form := url.Values{}
	for k, v := range vals {
		form[k] = v
	}
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c != nil {
		req.AddCookie(c)
	}
	return e.send(req)
}

// send does req without following redirects and reads the whole body.
func (e *env) send(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// get fetches a page with the given cookies.
func (e *env) get(path string, cs ...*http.Cookie) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.http.URL+path, nil)
	for _, c := range cs {
		req.AddCookie(c)
	}
	resp, body := e.send(req)
	return resp.StatusCode, body
}

// auditLog returns the log's entries, newest first, but for listings,
// audit reads and refusals, which any request may add
// (TestReadsAndRefusalsAudited): a count says whether an action (a change,
// or a person's export) happened.
func (e *env) auditLog() []tracker.AuditEntry {
	e.t.Helper()
	es, err := e.st.Audit(context.Background(), "", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(es, func(a tracker.AuditEntry) bool { return readOrRefusal[a.Action] })
}

var readOrRefusal = map[string]bool{"export.csv": true, "export.json": true, "people.list": true,
	"team.read": true, "audit.read": true, "request.refused": true, "scim.read": true, "scim.list": true}

// newAudit returns the entries added since the log had n entries.
func (e *env) newAudit(n int) []tracker.AuditEntry {
	es := e.auditLog()
	return es[:len(es)-n] // newest first
}

func personPath(id string) string { return "/dashboard/people/" + id }

func TestPersonPage(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		seedTeam(t, e)
		it, _ := e.signIn("it")
		mid, _ := e.signIn("mid")
		eve, _ := e.signIn("eve")
		ann := personPath(e.id("ann"))

		code, page := e.get(ann, it)
		if code != 200 {
			t.Fatalf("IT: %d", code)
		}
		for _, want := range []string{"ann@example.com", "31000005", "31000006", `<span class="pill lost">lost</span>`, "YubiKey 5C NFC",
			"firmware", "google", "verified-on-key", `id="form-erase"`, `id="form-invite"`, `id="form-revoke"`, `id="form-export"`,
			`id="audit"`, "left on a train", "key.lost", "IT Desk", `action="/dashboard/people/` + e.id("ann") + `/keys/31000005/status"`} {
			if !strings.Contains(page, want) {
				t.Errorf("IT's page lacks %q", want)
			}
		}
		code, page = e.get(ann, mid)
		if code != 200 {
			t.Fatalf("manager: %d", code)
		}
		if !strings.Contains(page, "31000006") || !strings.Contains(page, `id="readonly"`) {
			t.Error("manager's page lacks the keys or the read-only note")
		}
		for _, not := range []string{"<form class=\"act", "/status\"", `id="audit"`, "left on a train"} {
			if strings.Contains(page, not) {
				t.Errorf("manager's page has %q: forms and audit are IT's", not)
			}
		}
		if code, _ := e.get(ann, eve); code != 403 {
			t.Errorf("another team's manager: %d, want 403", code)
		}
		if code, _ := e.get(ann); code != 303 {
			t.Errorf("no session: %d, want 303 to /login", code)
		}
		// The matrix and the lost-keys list link to the person.
		if _, dash := e.get("/dashboard", it); strings.Count(dash, `href="`+ann+`"`) != 2 {
			t.Errorf("dashboard links to ann's page %d times, want 2 (matrix, lost keys)", strings.Count(dash, `href="`+ann+`"`))
		}
		// Names are escaped.
		var p tracker.Person
		e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: "x@example.com", Name: `<b>x</b>`, StartDate: "2026-03-02"}, 201, &p)
		if _, page := e.get(personPath(p.ID), it); strings.Contains(page, "<b>x</b>") || !strings.Contains(page, "&lt;b&gt;x&lt;/b&gt;") {
			t.Error("person's name not escaped")
		}
	})
}

// action is one IT form, with how to see that it did (or did not) act.
type action struct {
	name string
	path func(e *env) string
	form func(e *env) url.Values
	// code is IT's status; audit the action recorded, with reason.
	code   int
	audit  string
	reason string
	// done reports whether the action's effect is in the store.
	done func(e *env) bool
	// self: the person may do this about themselves (exporting their data).
	self bool
}

func actions() []action {
	ctx := context.Background()
	return []action{
		{name: "key lost", code: 303, audit: "key.lost", reason: "left on a train",
			path: func(e *env) string { return personPath(e.id("ann")) + "/keys/5000/status" },
			form: func(*env) url.Values { return url.Values{"status": {"lost"}, "reason": {"left on a train"}} },
			done: func(e *env) bool {
				keys, _, err := e.st.Records(ctx, []string{e.id("ann")})
				if err != nil {
					e.t.Fatal(err)
				}
				return len(keys) == 1 && keys[0].Status == tracker.KeyLost
			}},
		{name: "invite", code: 200, audit: "invite.issue", reason: "replacement key",
			path: func(e *env) string { return personPath(e.id("ann")) + "/invite" },
			form: func(*env) url.Values { return url.Values{"reason": {"replacement key"}} },
			done: func(e *env) bool {
				return len(e.auditOf("invite.issue")) > 0
			}},
		{name: "revoke tokens", code: 303, audit: "token.revoke", reason: "laptop stolen",
			path: func(e *env) string { return personPath(e.id("ann")) + "/revoke-tokens" },
			form: func(*env) url.Values { return url.Values{"reason": {"laptop stolen"}, "confirm": {"yes"}} },
			done: func(e *env) bool {
				code, _ := e.call("ann", "GET", "/v1/me", nil)
				return code == 401
			}},
		{name: "export", code: 200, audit: "person.export",
			path: func(e *env) string { return personPath(e.id("ann")) + "/export" },
			form: func(*env) url.Values { return url.Values{} },
			done: func(e *env) bool { return len(e.auditOf("person.export")) > 0 }, self: true},
		{name: "erase", code: 303, audit: "person.erase", reason: "person-request",
			path: func(e *env) string { return personPath(e.id("ann")) + "/erase" },
			form: func(*env) url.Values {
				return url.Values{"reason": {"person-request"}, "confirm_email": {"ann@example.com"}}
			},
			done: func(e *env) bool {
				_, err := e.st.Person(ctx, e.id("ann"))
				return errors.Is(err, store.ErrNotFound)
			}},
	}
}

func (e *env) auditOf(action string) []tracker.AuditEntry {
	var out []tracker.AuditEntry
	for _, a := range e.auditLog() {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

// TestDashboardActions: each IT form works for IT and is audited with the
// actor and reason; a manager, the person, no session, a missing or wrong
// form token and a cross-site request are refused with nothing changed.
func TestDashboardActions(t *testing.T) {
	for _, a := range actions() {
		t.Run(a.name, func(t *testing.T) {
			testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
				e := newEnv(t, b)
				e.do("ann", "POST", "/v1/reports", fullReport("ann-key-5000", 5000, tracker.RoleEveryday), 200, nil)
				it, itCSRF := e.signIn("it")
				_, otherCSRF := e.signIn("it") // IT's second session
				mid, midCSRF := e.signIn("mid")
				ann, annCSRF := e.signIn("ann")
				path, form := a.path(e), a.form(e)

				refusals := []struct {
					name   string
					cookie *http.Cookie
					csrf   string
					hdr    []string
					want   int
				}{
					{"no session", nil, itCSRF, nil, 401},
					{"manager", mid, midCSRF, nil, 403},
					{"the person", ann, annCSRF, nil, 403},
					{"IT without form token", it, "", nil, 403},
					{"IT with another session's form token", it, otherCSRF, nil, 403},
					{"IT with a forged form token", it, strings.Repeat("A", len(itCSRF)), nil, 403},
					{"IT from another site", it, itCSRF, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403},
					{"IT with only a bearer token", nil, itCSRF, []string{"Authorization", "Bearer " + e.tokens["it"]}, 401},
				}
				for _, r := range refusals {
					if a.self && r.name == "the person" {
						continue // allowed, and tested in TestOwnPageAndExport
					}
					n := len(e.auditLog())
					resp, body := e.post(r.cookie, path, r.csrf, form, r.hdr...)
					if resp.StatusCode != r.want {
						t.Errorf("%s: %d %s, want %d", r.name, resp.StatusCode, body, r.want)
					}
					if a.done(e) || len(e.auditLog()) != n {
						t.Fatalf("%s: the action happened", r.name)
					}
					if strings.Contains(body, "ann@example.com") {
						t.Errorf("%s: refusal shows data: %s", r.name, body)
					}
				}

				n := len(e.auditLog())
				resp, body := e.post(it, path, itCSRF, form, "Origin", e.http.URL, "Sec-Fetch-Site", "same-origin")
				if resp.StatusCode != a.code {
					t.Fatalf("IT: %d %s, want %d", resp.StatusCode, body, a.code)
				}
				if !a.done(e) {
					t.Fatal("IT: the action did not happen")
				}
				added := e.newAudit(n)
				if len(added) != 1 || added[0].Action != a.audit || added[0].Actor != e.id("it") || added[0].Subject != e.id("ann") || added[0].Reason != a.reason {
					t.Errorf("audit: %+v, want one %s by %s about %s with reason %q", added, a.audit, e.id("it"), e.id("ann"), a.reason)
				}
				if a.code == 303 {
					// The redirect's page shows the flash message once.
					var flash *http.Cookie
					for _, c := range resp.Cookies() {
						if c.Name == "kw_flash" {
							flash = c
						}
					}
					loc := resp.Header.Get("Location")
					if flash == nil || loc == "" {
						t.Fatalf("no flash or redirect: %v %q", resp.Cookies(), loc)
					}
					code, page := e.get(loc, it, flash)
					if code != 200 || !strings.Contains(page, `id="flash"`) {
						t.Errorf("after redirect to %s: %d, no flash", loc, code)
					}
				}
				if a.name == "key lost" {
					// Lost everywhere: the dashboard's list, the team view, the CSV.
					if _, dash := e.get("/dashboard", it); !regexp.MustCompile(`(?s)id="lost".*<td>5000</td>`).MatchString(dash) {
						t.Error("lost key not in the dashboard's lost keys")
					}
					var v tracker.TeamView
					e.do("it", "GET", "/v1/team", nil, 200, &v)
					if len(v.LostKeys) != 1 || v.LostKeys[0].Key.Serial != 5000 {
						t.Errorf("team view lost keys: %+v", v.LostKeys)
					}
					if _, csv := e.call("it", "GET", "/v1/export.csv", nil); !strings.Contains(string(csv), ",5000,everyday,YubiKey 5C NFC,lost,") {
						t.Errorf("CSV does not show the key lost:\n%s", csv)
					}
				}
				if a.name == "export" {
					var x tracker.PersonExport
					if err := json.Unmarshal([]byte(body), &x); err != nil || x.Person.Email != "ann@example.com" || len(x.Keys) != 1 {
						t.Errorf("export: %v %+v", err, x)
					}
					if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
						t.Errorf("export is not a download: %q", cd)
					}
				}
			})
		})
	}
}

// TestDashboardInviteShownOnce: the new invite code is on the invite
// form's own response (never in a cookie or a URL), works for the wizard,
// and is not shown again.
func TestDashboardInviteShownOnce(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	it, csrf := e.signIn("it")
	var old tracker.Invite
	e.do("it", "POST", "/v1/people/"+e.id("ann")+"/invite", tracker.Reasoned{Reason: "first"}, 201, &old)
	resp, page := e.post(it, personPath(e.id("ann"))+"/invite", csrf, url.Values{"reason": {"replacement key"}})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("invite: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	m := regexp.MustCompile(`<code id="invite-code">(kwi_[^<]+)</code>`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Earlier invite codes") {
		t.Fatalf("no invite code or note on the page")
	}
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Value, m[1]) || strings.Contains(mustB64(c.Value), m[1]) {
			t.Errorf("cookie %s carries the invite code", c.Name)
		}
	}
	var got tracker.ExchangeResult
	e.do("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: m[1], Device: "wizard"}, 200, &got)
	if got.Person.ID != e.id("ann") {
		t.Errorf("code is for %s", got.Person.ID)
	}
	if code, _ := e.call("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: old.Code, Device: "wizard"}); code != 401 {
		t.Errorf("earlier code: %d, want 401", code)
	}
	// The next load of the page shows no code.
	if _, page := e.get(personPath(e.id("ann")), append([]*http.Cookie{it}, resp.Cookies()...)...); strings.Contains(page, "kwi_") {
		t.Error("invite code shown again")
	}
}

// mustB64 decodes a flash cookie's value, or returns "".
func mustB64(v string) string {
	b, _ := base64.RawURLEncoding.DecodeString(v)
	return string(b)
}

// TestDashboardFormErrors: a refused form shows the page again, naming the
// field, with nothing changed.
func TestDashboardFormErrors(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	e.do("ann", "POST", "/v1/reports", fullReport("ann-key-5000", 5000, tracker.RoleEveryday), 200, nil)
	it, csrf := e.signIn("it")
	ann := personPath(e.id("ann"))
	for _, c := range []struct {
		name, path string
		form       url.Values
		field      string
	}{
		{"key without reason", ann + "/keys/5000/status", url.Values{"status": {"lost"}}, "reason"},
		{"key with a bad status", ann + "/keys/5000/status", url.Values{"status": {"stolen"}, "reason": {"x"}}, "status"},
		{"invite without reason", ann + "/invite", url.Values{}, "reason"},
		{"revoke unconfirmed", ann + "/revoke-tokens", url.Values{"reason": {"left"}}, "confirm"},
		{"erase with the wrong e-mail", ann + "/erase", url.Values{"reason": {"person-request"}, "confirm_email": {"bob@example.com"}}, "confirm_email"},
		{"erase without reason", ann + "/erase", url.Values{"confirm_email": {"ann@example.com"}}, "reason"},
	} {
		n := len(e.auditLog())
		resp, page := e.post(it, c.path, csrf, c.form)
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", c.name, resp.StatusCode)
		}
		if !strings.Contains(page, `<p class="err" role="alert">`+c.field+":") || !strings.Contains(page, `aria-invalid="true"`) {
			t.Errorf("%s: page does not name the field %s", c.name, c.field)
		}
		if len(e.auditLog()) != n {
			t.Errorf("%s: something was done", c.name)
		}
	}
	if code, _ := e.call("ann", "GET", "/v1/me", nil); code != 200 {
		t.Error("ann's token stopped working")
	}
	// IT cannot erase themselves, and is told so on the page.
	resp, page := e.post(it, personPath(e.id("it"))+"/erase", csrf, url.Values{"reason": {"created-in-error"}, "confirm_email": {"it@example.com"}})
	if resp.StatusCode != 409 || !strings.Contains(page, "cannot erase themselves") {
		t.Errorf("self-erase: %d", resp.StatusCode)
	}
}

// TestLogoutRevokesSession: signing out revokes the session's token on
// the server, so a copy of the cookie stops working, while the token that
// was pasted to sign in keeps working; without the form token nothing
// happens.
func TestLogoutRevokesSession(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		c, csrf := e.signIn("mid")
		if c.Value == e.tokens["mid"] {
			t.Fatal("the session cookie is the pasted token")
		}
		if resp, _ := e.post(c, "/logout", "", nil); resp.StatusCode != 403 {
			t.Errorf("logout without form token: %d, want 403", resp.StatusCode)
		}
		if code, _ := e.get("/dashboard", c); code != 200 {
			t.Fatalf("session ended by a logout without form token: %d", code)
		}
		n := len(e.auditLog())
		resp, _ := e.post(c, "/logout", csrf, nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if code, _ := e.get("/dashboard", c); code != 303 {
			t.Errorf("old cookie after logout: %d, want 303 to /login", code)
		}
		if code, _ := e.call("mid", "GET", "/v1/me", nil); code != 200 {
			t.Errorf("pasted token after logout: %d, want 200", code)
		}
		added := e.newAudit(n)
		if len(added) != 1 || added[0].Action != "session.end" || added[0].Actor != e.id("mid") {
			t.Errorf("audit: %+v, want one session.end by mid", added)
		}
		// Signing out again with the dead cookie just clears it.
		if resp, _ := e.post(c, "/logout", csrf, nil); resp.StatusCode != 303 {
			t.Errorf("second logout: %d", resp.StatusCode)
		}
	})
}
