package server_test

import (
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/internal/testdb"
)

// TestOIDCSignInChromium signs in to the dashboard in headless Chromium
// through the provider on loopback, from the sign-in page's own link to
// the dashboard: the tracker's redirect to the provider, the provider's
// redirect back, the signed-in page moving on, and the SameSite=Strict,
// Secure session cookie (Chromium keeps Secure cookies for loopback) sent
// with the dashboard request. A refused account gets the HTML refusal.
func TestOIDCSignInChromium(t *testing.T) {
	bin := chromium(t)
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e, o := ssoEnv(t, b)
		e.do("it", "POST", "/v1/people/"+e.id("bob")+"/leave", map[string]string{"reason": "last day 2026-03-01"}, 200, nil)

		o.page()
		o.as("boss")
		// The virtual time budget lets the page's meta refresh run
		// before the DOM is dumped.
		dom := string(runChromium(t, bin, "--virtual-time-budget=10000", "--dump-dom", e.http.URL+"/login/oidc"))
		for _, want := range []string{"Team of boss", `id="matrix"`, "ann@example.com"} {
			if !strings.Contains(dom, want) {
				t.Errorf("dashboard after SSO in Chromium lacks %q:\n%.2000s", want, dom)
			}
		}
		if n := sessionStarts(t, e, "OpenID Connect"); n != 1 {
			t.Errorf("%d OpenID Connect sessions, want 1", n)
		}

		o.as("bob")
		dom = string(runChromium(t, bin, "--virtual-time-budget=10000", "--dump-dom", e.http.URL+"/login/oidc"))
		if !strings.Contains(dom, "Your account has been closed") || strings.Contains(dom, `id="matrix"`) {
			t.Errorf("leaver's SSO in Chromium:\n%.2000s", dom)
		}
	})
}
