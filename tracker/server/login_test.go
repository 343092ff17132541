package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// sessionCookie is the kw_token cookie resp set, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "kw_token" && c.Value != "" {
			return c
		}
	}
	return nil
}

// TestLoginCrossSite: a sign-in form posted from another site is refused
// and signs nobody in, whichever credential it carries, so a page elsewhere
// cannot sign IT's browser in as someone else. The same form from the
// tracker's own page works.
func TestLoginCrossSite(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		var inv tracker.Invite
		e.do("it", "POST", "/v1/people/"+e.id("eve")+"/invite", tracker.Reasoned{Reason: "browser"}, 201, &inv)
		for _, hdr := range [][]string{
			{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"}, // a sibling subdomain is another origin
			{"Origin", "https://evil.example"},
		} {
			for _, cred := range []string{e.tokens["mid"], inv.Code} {
				resp, page := e.post(nil, "/login", "", url.Values{"credential": {cred}}, hdr...)
				if resp.StatusCode != 403 || sessionCookie(resp) != nil || !strings.Contains(page, "not sent from this site") {
					t.Errorf("login with %v (%.4s): %d, cookie %v\n%s", hdr, cred, resp.StatusCode, sessionCookie(resp) != nil, page)
				}
			}
		}
		if n := sessionStarts(t, e, ""); n != 0 {
			t.Errorf("%d sessions started by cross-site forms", n)
		}
		// The invite was not spent by the refused forms, and the
		// tracker's own page signs in with it.
		resp, _ := e.post(nil, "/login", "", url.Values{"credential": {inv.Code}}, "Origin", e.http.URL, "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode != 303 || sessionCookie(resp) == nil {
			t.Errorf("same-origin invite login: %d", resp.StatusCode)
		}
		resp, _ = e.post(nil, "/login", "", url.Values{"credential": {e.tokens["mid"]}}, "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode != 303 || sessionCookie(resp) == nil {
			t.Errorf("same-origin token login: %d", resp.StatusCode)
		}
	})
}

// TestLoginSessionLasts12Hours: whatever the credential (a token, an
// invite code, single sign-on in TestOIDCSignIn), the browser's session
// works for 12 hours on the server and then stops; an invite code no
// longer yields a year-long token.
func TestLoginSessionLasts12Hours(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		var inv tracker.Invite
		e.do("it", "POST", "/v1/people/"+e.id("eve")+"/invite", tracker.Reasoned{Reason: "browser"}, 201, &inv)
		var cookies []*http.Cookie
		for _, cred := range []string{inv.Code, e.tokens["mid"]} {
			resp, _ := e.post(nil, "/login", "", url.Values{"credential": {cred}})
			c := sessionCookie(resp)
			if resp.StatusCode != 303 || c == nil {
				t.Fatalf("login with %.4s: %d", cred, resp.StatusCode)
			}
			if c.MaxAge != int((12 * time.Hour).Seconds()) {
				t.Errorf("login with %.4s: cookie Max-Age %d, want 12 h", cred, c.MaxAge)
			}
			cookies = append(cookies, c)
		}
		e.clock.Add(12*time.Hour - time.Minute)
		for i, c := range cookies {
			if code, _ := e.get("/dashboard", c); code != 200 {
				t.Errorf("session %d just before 12 h: %d", i, code)
			}
		}
		e.clock.Add(2 * time.Minute)
		for i, c := range cookies {
			// A copy of the cookie kept past its Max-Age is refused by
			// the server too.
			if code, _ := e.get("/dashboard", c); code != 303 {
				t.Errorf("session %d after 12 h: %d, want 303 to /login", i, code)
			}
		}
		// The token the person pasted is untouched by the session ending.
		e.do("mid", "GET", "/v1/me", nil, 200, nil)
	})
}

// TestLoginCookies: the session cookie is Secure, HttpOnly and
// SameSite=Strict by default; InsecureCookies (serve --insecure-cookies)
// drops Secure only.
func TestLoginCookies(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN}, func(c *server.Config) { c.InsecureCookies = insecure })
		resp, _ := e.post(nil, "/login", "", url.Values{"credential": {e.tokens["mid"]}})
		c := sessionCookie(resp)
		if c == nil {
			t.Fatalf("insecure=%v: no cookie (%d)", insecure, resp.StatusCode)
		}
		if c.Secure == insecure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("insecure=%v: cookie Secure=%v HttpOnly=%v SameSite=%v", insecure, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
}
