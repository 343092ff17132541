package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/internal/testdb"
)

// TestBrowserErrorPages: a browser gets an HTML page with a headline and
// a next step for a refusal, on the dashboard's paths always and
// elsewhere when it asks for HTML; API clients and SCIM keep JSON.
func TestBrowserErrorPages(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		boss, bossCSRF := e.signIn("boss")
		get := func(path, accept string, ck *http.Cookie) (*http.Response, string) {
			req, _ := http.NewRequest("GET", e.http.URL+path, nil)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			if ck != nil {
				req.AddCookie(ck)
			}
			return e.send(req)
		}
		const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
		html := func(what string, resp *http.Response, body string, code int, headline string) {
			t.Helper()
			if resp.StatusCode != code || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(body, `id="error-headline">`+headline+`<`) || strings.Contains(body, `"error":`) {
				t.Errorf("%s: %d %s %s", what, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
		resp, body := get("/dashboard?manager="+e.id("eve"), browser, boss)
		html("another team's dashboard", resp, body, 403, "You cannot see or do this")
		resp, body = get("/dashboard/people/"+e.id("zed"), "", boss)
		html("another team's person, no Accept", resp, body, 403, "You cannot see or do this")
		resp, body = get("/dashboard/people/p_nobody/extra", browser, boss)
		html("no such page", resp, body, 404, "Nothing here")
		resp, body = get("/v1/export.csv?manager="+e.id("eve"), browser, boss)
		html("an export link followed in the browser", resp, body, 403, "You cannot see or do this")
		resp, body = e.post(boss, "/dashboard/people/"+e.id("ann")+"/erase", bossCSRF, nil)
		html("IT's form posted by a manager", resp, body, 403, "You cannot see or do this")
		resp, body = e.post(boss, "/dashboard/people/"+e.id("ann")+"/erase", "", nil)
		html("a form without its token", resp, body, 403, "This form has expired")
		// The API and SCIM answer JSON, whatever the Accept header.
		resp, body = get("/v1/export.csv?manager="+e.id("eve"), "application/json", boss)
		if resp.StatusCode != 403 || !strings.Contains(body, `"error"`) {
			t.Errorf("export asked for as JSON: %d %s", resp.StatusCode, body)
		}
		req, _ := http.NewRequest("GET", e.http.URL+"/scim/v2/Users", nil)
		req.Header.Set("Accept", browser)
		resp, body = e.send(req)
		if resp.StatusCode != 401 || !strings.Contains(body, scimErrURN) {
			t.Errorf("SCIM from a browser: %d %s", resp.StatusCode, body)
		}
		if code, body := e.call("boss", "GET", "/v1/team?manager="+e.id("eve"), nil); code != 403 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("API refusal: %d %s", code, body)
		}
	})
}

// TestOwnExport: a person downloads their own data from the dashboard,
// audited as the API's export is; not anyone else's.
func TestOwnExport(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ann, annCSRF := e.signIn("ann")
		n := len(e.auditOf("person.export"))
		resp, body := e.post(ann, "/dashboard/people/"+e.id("ann")+"/export", annCSRF, nil, "Origin", e.http.URL, "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode != 200 || !strings.Contains(body, `"email": "ann@example.com"`) || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("own export: %d %s", resp.StatusCode, body)
		}
		es := e.auditOf("person.export")
		if len(es) != n+1 || es[0].Actor != e.id("ann") || es[0].Subject != e.id("ann") {
			t.Errorf("export audit: %+v", es)
		}
		resp, body = e.post(ann, "/dashboard/people/"+e.id("bob")+"/export", annCSRF, nil)
		if resp.StatusCode != 403 || strings.Contains(body, "bob@example.com") {
			t.Errorf("ann exporting bob: %d %s", resp.StatusCode, body)
		}
		resp, _ = e.post(ann, "/dashboard/people/"+e.id("ann")+"/export", "", nil)
		if resp.StatusCode != 403 {
			t.Errorf("own export without the form token: %d", resp.StatusCode)
		}
	})
}
