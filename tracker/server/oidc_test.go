package server_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// ssoEnv is a tracker with single sign-on through a real provider on
// loopback. Cookies are Secure by default, which a browser would not send
// to this plain-HTTP test server; the Go client below sends them by hand
// where it needs to, and the Secure attribute itself is checked in
// TestLoginCookies.
func ssoEnv(t *testing.T, b testdb.Backend, opts ...func(*server.Config)) (*env, *testOP) {
	t.Helper()
	o := startOP(t)
	cfg := &server.OIDCConfig{}
	e := newEnv(t, b, append([]func(*server.Config){withOIDC(o, cfg)}, opts...)...)
	cfg.RedirectURL = e.http.URL + "/login/oidc/callback"
	o.register(cfg.RedirectURL)
	return e, o
}

// browser is a cookie-keeping client that follows redirects, as a
// browser does, and sends Secure cookies over plain HTTP (the test's
// servers are on loopback).
type browser struct {
	t       *testing.T
	jar     *cookiejar.Jar
	c       *http.Client
	cookies map[string]*http.Cookie // the tracker's, by name, as last set
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, jar: jar, cookies: map[string]*http.Cookie{}}
	b.c = &http.Client{Jar: insecureJar{jar}, Timeout: 30 * time.Second}
	return b
}

// insecureJar strips Secure so that Go's jar keeps and sends the cookie
// over http://127.0.0.1, as Chromium does for loopback.
type insecureJar struct{ *cookiejar.Jar }

func (j insecureJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	out := make([]*http.Cookie, len(cs))
	for i, c := range cs {
		cc := *c
		cc.Secure = false
		out[i] = &cc
	}
	j.Jar.SetCookies(u, out)
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// session is the tracker's session cookie in the jar, or "".
func (b *browser) session(trackerURL string) string {
	u, _ := url.Parse(trackerURL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "kw_token" {
			return c.Value
		}
	}
	return ""
}

// sessionStarts counts the audit's session.start entries whose detail
// mentions how.
func sessionStarts(t *testing.T, e *env, how string) int {
	t.Helper()
	var entries []tracker.AuditEntry
	e.do("it", "GET", "/v1/audit", nil, 200, &entries)
	n := 0
	for _, a := range entries {
		if a.Action == "session.start" && strings.Contains(a.Detail, how) {
			n++
		}
	}
	return n
}

// TestOIDCSignIn signs in through the provider with the authorization code
// flow and checks who the tracker made of it: the provider-verified e-mail
// address maps to the person (whatever its case), the session is audited,
// lasts 12 hours on the server and then stops working.
func TestOIDCSignIn(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e, o := ssoEnv(t, b)
		o.as("ann")
		br := newBrowser(t)

		_, page := br.get(e.http.URL + "/login")
		if !strings.Contains(page, `href="/login/oidc"`) || !strings.Contains(page, "Sign in with Test IdP") {
			t.Fatalf("sign-in page offers no SSO button:\n%s", page)
		}
		resp, page := br.get(e.http.URL + "/login/oidc")
		if resp.StatusCode != 200 || !strings.Contains(page, `id="signedin"`) || resp.Request.URL.Path != "/login/oidc/callback" {
			t.Fatalf("after the provider: %d at %s:\n%s", resp.StatusCode, resp.Request.URL, page)
		}
		if !strings.Contains(page, `http-equiv="refresh" content="0;url=/dashboard"`) {
			t.Error("signed-in page does not move on to the dashboard")
		}
		sess := br.session(e.http.URL)
		if !strings.HasPrefix(sess, "kwt_") {
			t.Fatalf("no session cookie after SSO: %q", sess)
		}
		resp, page = br.get(e.http.URL + "/dashboard")
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/dashboard" || !strings.Contains(page, "ann") {
			t.Fatalf("dashboard after SSO: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		// The session is ann's: her own record, not someone else's.
		var me tracker.Person
		e.tokens["ann-sso"] = sess
		e.do("ann-sso", "GET", "/v1/me", nil, 200, &me)
		if me.ID != e.id("ann") {
			t.Errorf("SSO signed in %s, want ann (%s)", me.ID, e.id("ann"))
		}
		if n := sessionStarts(t, e, "OpenID Connect ("+o.issuer()+")"); n != 1 {
			t.Errorf("%d session.start entries for OpenID Connect, want 1", n)
		}
		// The flow cookie is spent: the same callback does not work twice.
		if c := br.flowCookie(e.http.URL); c != "" {
			t.Errorf("flow cookie left after the callback: %q", c)
		}

		// 12 hours on the server: still working a minute before, not after.
		e.clock.Add(12*time.Hour - time.Minute)
		e.do("ann-sso", "GET", "/v1/me", nil, 200, nil)
		e.clock.Add(2 * time.Minute)
		e.do("ann-sso", "GET", "/v1/me", nil, 401, nil)
		resp, _ = br.get(e.http.URL + "/dashboard")
		if resp.Request.URL.Path != "/login" {
			t.Errorf("dashboard 12 h after SSO: at %s, want /login", resp.Request.URL)
		}
	})
}

func (b *browser) flowCookie(trackerURL string) string {
	u, _ := url.Parse(trackerURL + "/login/oidc/callback")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "kw_oidc" {
			return c.Value
		}
	}
	return ""
}

// TestOIDCRefusals: an address the provider did not verify, one not on the
// roster, and a leaver's are refused with an HTML page saying why, and no
// session is started.
func TestOIDCRefusals(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e, o := ssoEnv(t, b)
		e.do("it", "POST", "/v1/people/"+e.id("bob")+"/leave", tracker.Leave{Reason: "last day 2026-03-01"}, 200, nil)
		for _, c := range []struct{ user, headline string }{
			{"unverified", "Your e-mail address is not verified"},
			{"stranger", "You are not on the tracker&#39;s roster"},
			{"bob", "Your account has been closed"},
		} {
			o.as(c.user)
			br := newBrowser(t)
			resp, page := br.get(e.http.URL + "/login/oidc")
			if resp.StatusCode != 403 || !strings.Contains(page, c.headline) || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d %s\n%s", c.user, resp.StatusCode, resp.Header.Get("Content-Type"), page)
			}
			if !strings.Contains(page, `href="/login"`) {
				t.Errorf("%s: refusal page has no way back to sign-in", c.user)
			}
			if s := br.session(e.http.URL); s != "" {
				t.Errorf("%s: refused, yet a session cookie was set", c.user)
			}
		}
		if n := sessionStarts(t, e, "OpenID Connect"); n != 0 {
			t.Errorf("%d sessions started by refused sign-ins", n)
		}
	})
}

// TestOIDCFlowBinding tampers with each of the flow's bindings in turn:
// the callback's state (login CSRF: someone else's code in this browser),
// the PKCE verifier (a stolen code without it) and the nonce (an ID token
// from another sign-in). Each is refused and starts no session; so is a
// callback in a browser that never started a sign-in.
func TestOIDCFlowBinding(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e, o := ssoEnv(t, b)
		o.as("it")
		// toCallback runs a flow up to the provider's redirect back,
		// returning the callback URL and the flow cookie's parts.
		toCallback := func() (*url.URL, []string) {
			t.Helper()
			br := newBrowser(t)
			br.c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
				if r.URL.Path == "/login/oidc/callback" {
					return http.ErrUseLastResponse
				}
				return nil
			}
			resp, _ := br.get(e.http.URL + "/login/oidc")
			loc, err := resp.Location()
			if err != nil || loc.Path != "/login/oidc/callback" {
				t.Fatalf("provider did not redirect back: %d %v", resp.StatusCode, err)
			}
			return loc, strings.Split(br.flowCookie(e.http.URL), ".")
		}
		// callback calls it as a browser with the flow cookie flow (none
		// if nil) would; a session cookie is an error unless ok.
		callback := func(u *url.URL, flow []string, ok ...bool) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", u.String(), nil)
			if flow != nil {
				req.AddCookie(&http.Cookie{Name: "kw_oidc", Value: strings.Join(flow, ".")})
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			for _, c := range resp.Cookies() {
				if c.Name == "kw_token" && c.Value != "" && len(ok) == 0 {
					t.Errorf("callback %s set a session cookie", u.RawQuery)
				}
			}
			return resp.StatusCode, string(data)
		}

		u, flow := toCallback()
		if code, page := callback(u, nil); code != 400 || !strings.Contains(page, "Sign-in did not complete") {
			t.Errorf("callback without a flow cookie: %d\n%s", code, page)
		}
		bad := *u
		q := bad.Query()
		q.Set("state", flow[0]+"x")
		bad.RawQuery = q.Encode()
		if code, page := callback(&bad, flow); code != 400 || !strings.Contains(page, "state does not match") {
			t.Errorf("callback with another state: %d\n%s", code, page)
		}

		u, flow = toCallback()
		if code, page := callback(u, []string{flow[0], flow[1], "wrong-verifier-" + strings.Repeat("a", 43)}); code != 400 || !strings.Contains(page, "did not accept the sign-in code") {
			t.Errorf("callback with another PKCE verifier: %d\n%s", code, page)
		}

		u, flow = toCallback()
		if code, page := callback(u, []string{flow[0], "another-nonce", flow[2]}); code != 400 || !strings.Contains(page, "nonce does not match") {
			t.Errorf("callback with another nonce: %d\n%s", code, page)
		}

		// The flow as it came: works, once.
		u, flow = toCallback()
		if code, page := callback(u, flow, true); code != 200 || !strings.Contains(page, `id="signedin"`) {
			t.Errorf("untouched callback: %d\n%s", code, page)
		}
		if code, _ := callback(u, flow); code != 400 {
			t.Errorf("replayed callback: %d, want 400", code)
		}
		if n := sessionStarts(t, e, "OpenID Connect"); n != 1 {
			t.Errorf("%d sessions started, want 1 (the untouched flow)", n)
		}
	})
}

// TestOIDCNotConfigured: without a provider the routes say so in a page,
// and the sign-in page offers no button.
func TestOIDCNotConfigured(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	for _, p := range []string{"/login/oidc", "/login/oidc/callback?state=x&code=y"} {
		code, page := e.get(p)
		if code != 404 || !strings.Contains(page, "single sign-on is not configured") {
			t.Errorf("%s without SSO: %d\n%s", p, code, page)
		}
	}
	if _, page := e.get("/login"); strings.Contains(page, "/login/oidc") {
		t.Error("sign-in page offers SSO that is not configured")
	}
}

// TestOIDCEntraDomainVerified: Entra ID sends no email_verified; its
// xms_edov claim (the address's domain owner verified) stands in for it,
// and without it the address is refused like any unverified one.
func TestOIDCEntraDomainVerified(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e, o := ssoEnv(t, b)
		o.as("entra")
		br := newBrowser(t)
		if resp, page := br.get(e.http.URL + "/login/oidc"); resp.StatusCode != 200 || !strings.Contains(page, `id="signedin"`) {
			t.Fatalf("xms_edov sign-in: %d\n%s", resp.StatusCode, page)
		}
		e.tokens["eve-sso"] = br.session(e.http.URL)
		var me tracker.Person
		e.do("eve-sso", "GET", "/v1/me", nil, 200, &me)
		if me.ID != e.id("eve") {
			t.Errorf("signed in %s, want eve", me.ID)
		}
		o.as("entra-unowned")
		br = newBrowser(t)
		if resp, page := br.get(e.http.URL + "/login/oidc"); resp.StatusCode != 403 || !strings.Contains(page, "not verified") {
			t.Errorf("xms_edov false: %d\n%s", resp.StatusCode, page)
		}
	})
}
