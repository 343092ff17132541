package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// roles in the matrix. The unauthenticated ones are first.
var (
	anonRoles = []string{"none", "forged", "expired", "revoked", "malformed"}
	userRoles = []string{"ann", "mid", "boss", "eve", "it"}
	// serviceRoles are provisioning clients (SCIM): a working token and a
	// revoked one. Where a case names no status for them they get the
	// unauthenticated roles' status: their tokens work nowhere else.
	serviceRoles = []string{"scim", "scim-revoked"}
)

// scimOnly gives the SCIM client code and everyone else 401.
func scimOnly(code int) expect {
	return users(http.StatusUnauthorized).with("scim", code)
}

type expect map[string]int

// users gives every signed-in role the same status.
func users(code int) expect {
	e := expect{}
	for _, r := range userRoles {
		e[r] = code
	}
	return e
}

func adminOnly(code int) expect {
	e := users(http.StatusForbidden)
	e["it"] = code
	return e
}

func (x expect) with(kv ...any) expect {
	out := expect{}
	for k, v := range x {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1].(int)
	}
	return out
}

type authCase struct {
	name         string
	method, path string // path's route pattern, for coverage
	url          func(e *env, role string, n int) string
	body         func(e *env, role string, n int) any
	want         expect
	anon         int // status for the unauthenticated roles; default 401
	// form: a dashboard form, sent as a browser does (the role's token as
	// the session cookie, the session's form token, body as url.Values).
	form bool
}

const scimEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func TestAuthorizationMatrix(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		// With single sign-on configured, so its routes answer as they
		// would in use.
		e, _ := ssoEnv(t, b)
		ctx := context.Background()
		// Extra credentials for the unauthenticated roles.
		exp, err := server.AdminToken(ctx, e.st, e.id("ann"), "old", time.Hour, start.Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		rev, err := server.AdminToken(ctx, e.st, e.id("bob"), "old", 0, start)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens["expired"] = exp
		e.tokens["revoked"] = rev
		e.do("it", "POST", "/v1/people/"+e.id("bob")+"/revoke-tokens", tracker.Reasoned{Reason: "laptop stolen"}, http.StatusNoContent, nil)
		// A well-formed token for ann with the wrong secret.
		e.tokens["forged"] = e.tokens["ann"][:len("kwt_")+17] + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		e.tokens["malformed"] = "not-a-token"
		oldSCIM, err := server.IssueSCIMToken(ctx, e.st, "old-idp", start)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.st.RevokeServiceTokens(ctx, tracker.AuditEntry{At: start, Actor: "test", Action: "scim.token.revoke"}); err != nil {
			t.Fatal(err)
		}
		e.tokens["scim-revoked"] = oldSCIM
		if e.tokens["scim"], err = server.IssueSCIMToken(ctx, e.st, "okta", start); err != nil {
			t.Fatal(err)
		}
		// Ann already has a key, for the status change; eve one that
		// only she may report lost.
		e.do("ann", "POST", "/v1/reports", fullReport("ann-initial-key", 5000, tracker.RoleEveryday), http.StatusOK, nil)
		e.do("eve", "POST", "/v1/reports", fullReport("eve-initial-key", 5100, tracker.RoleBackup), http.StatusOK, nil)

		fixed := func(p string) func(*env, string, int) string { return func(*env, string, int) string { return p } }
		of := func(name, suffix string) func(*env, string, int) string {
			return func(e *env, _ string, _ int) string { return "/v1/people/" + e.id(name) + suffix }
		}
		cases := []authCase{
			{name: "health", method: "GET", path: "/healthz", url: fixed("/healthz"), want: users(200), anon: 200},
			{name: "openapi", method: "GET", path: "/v1/openapi.json", url: fixed("/v1/openapi.json"), want: users(200), anon: 200},
			{name: "signing key", method: "GET", path: "/v1/signing-key", url: fixed("/v1/signing-key"), want: users(200), anon: 200},
			{name: "exchange bad code", method: "POST", path: "/v1/auth/exchange", url: fixed("/v1/auth/exchange"),
				body: func(*env, string, int) any { return tracker.Exchange{InviteCode: "kwi_0123456789abcdef_nope"} }, want: users(401)},
			{name: "me", method: "GET", path: "/v1/me", url: fixed("/v1/me"), want: users(200)},
			{name: "report own key", method: "POST", path: "/v1/reports", url: fixed("/v1/reports"),
				body: func(_ *env, role string, n int) any {
					return fullReport(fmt.Sprintf("matrix-%s-%d", role, n), uint32(7000+n), tracker.RoleBackup)
				}, want: users(200)},
			{name: "report for someone else", method: "POST", path: "/v1/reports", url: fixed("/v1/reports"),
				body: func(_ *env, role string, n int) any {
					r := fullReport(fmt.Sprintf("other-%s-%d", role, n), uint32(8000+n), tracker.RoleBackup)
					r.PersonEmail = "zed@example.com"
					return r
				}, want: users(403)},
			{name: "own team", method: "GET", path: "/v1/team", url: fixed("/v1/team"), want: users(200)},
			{name: "team of mid", method: "GET", path: "/v1/team", url: func(e *env, _ string, _ int) string { return "/v1/team?manager=" + e.id("mid") },
				want: expect{"ann": 403, "mid": 200, "boss": 200, "eve": 403, "it": 200}},
			{name: "team of eve", method: "GET", path: "/v1/team", url: func(e *env, _ string, _ int) string { return "/v1/team?manager=" + e.id("eve") },
				want: expect{"ann": 403, "mid": 403, "boss": 403, "eve": 200, "it": 200}},
			{name: "list people", method: "GET", path: "/v1/people", url: fixed("/v1/people"), want: adminOnly(200)},
			{name: "create person", method: "POST", path: "/v1/people", url: fixed("/v1/people"),
				body: func(_ *env, role string, n int) any {
					return tracker.CreatePerson{Email: fmt.Sprintf("new%d-%s@example.com", n, role), Name: "New", StartDate: "2026-03-02"}
				}, want: adminOnly(201)},
			{name: "get ann", method: "GET", path: "/v1/people/{id}", url: of("ann", ""), want: expect{"ann": 200, "mid": 200, "boss": 200, "eve": 403, "it": 200}},
			{name: "get zed", method: "GET", path: "/v1/people/{id}", url: of("zed", ""), want: expect{"ann": 403, "mid": 403, "boss": 403, "eve": 200, "it": 200}},
			{name: "get nobody", method: "GET", path: "/v1/people/{id}", url: fixed("/v1/people/p_nobody"), want: users(403).with("it", 404)},
			{name: "export ann", method: "GET", path: "/v1/people/{id}/export", url: of("ann", "/export"), want: expect{"ann": 200, "mid": 403, "boss": 403, "eve": 403, "it": 200}},
			{name: "erase", method: "POST", path: "/v1/people/{id}/erase",
				url: func(e *env, role string, n int) string {
					var p tracker.Person
					e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: fmt.Sprintf("victim%d-%s@example.com", n, role), Name: "V", StartDate: "2026-01-01"}, 201, &p)
					return "/v1/people/" + p.ID + "/erase"
				},
				body: func(*env, string, int) any { return tracker.Erasure{Reason: tracker.ErasurePersonRequest} }, want: adminOnly(204)},
			{name: "invite", method: "POST", path: "/v1/people/{id}/invite", url: of("zed", "/invite"),
				body: func(*env, string, int) any { return tracker.Reasoned{Reason: "new laptop"} }, want: adminOnly(201)},
			{name: "revoke tokens", method: "POST", path: "/v1/people/{id}/revoke-tokens", url: of("bob", "/revoke-tokens"),
				body: func(*env, string, int) any { return tracker.Reasoned{Reason: "offboarding"} }, want: adminOnly(204)},
			{name: "key status", method: "POST", path: "/v1/people/{id}/keys/{serial}/status", url: of("ann", "/keys/5000/status"),
				body: func(*env, string, int) any {
					return tracker.KeyStatusChange{Status: tracker.KeyActive, Reason: "found it"}
				}, want: adminOnly(204)},
			// Lost keys (lost.go): a person reports only their own key;
			// IT alone finds and changes keys by serial.
			{name: "report own key lost", method: "POST", path: "/v1/me/keys/{serial}/lost",
				url: func(e *env, role string, n int) string {
					if _, ok := e.tokens[role]; ok && slices.Contains(userRoles, role) {
						e.do(role, "POST", "/v1/reports", fullReport(fmt.Sprintf("lost-%s-%d", role, n), uint32(9000+n), tracker.RoleBackup), http.StatusOK, nil)
					}
					return fmt.Sprintf("/v1/me/keys/%d/lost", 9000+n)
				},
				body: func(_ *env, _ string, n int) any {
					return tracker.LossReport{Serial: uint32(9000 + n), Role: tracker.RoleBackup, Reason: "left on the train", At: start}
				}, want: users(200)},
			{name: "report eve's key lost", method: "POST", path: "/v1/me/keys/{serial}/lost", url: fixed("/v1/me/keys/5100/lost"),
				body: func(*env, string, int) any {
					return tracker.LossReport{Serial: 5100, Role: tracker.RoleBackup, Reason: "left on the train", At: start}
				}, want: users(404).with("eve", 200)},
			{name: "find key", method: "GET", path: "/v1/keys/{serial}", url: fixed("/v1/keys/5000"), want: adminOnly(200)},
			{name: "find unknown key", method: "GET", path: "/v1/keys/{serial}", url: fixed("/v1/keys/4242"), want: adminOnly(404)},
			{name: "key status by serial", method: "POST", path: "/v1/keys/{serial}/status", url: fixed("/v1/keys/5000/status"),
				body: func(*env, string, int) any {
					return tracker.KeyStatusChange{Status: tracker.KeyActive, Reason: "found it"}
				}, want: adminOnly(200)},
			{name: "audit", method: "GET", path: "/v1/audit", url: fixed("/v1/audit"), want: adminOnly(200)},
			{name: "audit chain", method: "GET", path: "/v1/audit/chain", url: fixed("/v1/audit/chain"), want: adminOnly(200)},
			{name: "csv", method: "GET", path: "/v1/export.csv", url: fixed("/v1/export.csv"), want: users(200)},
			{name: "csv of mid", method: "GET", path: "/v1/export.csv", url: func(e *env, _ string, _ int) string { return "/v1/export.csv?manager=" + e.id("mid") },
				want: expect{"ann": 403, "mid": 200, "boss": 200, "eve": 403, "it": 200}},
			{name: "json", method: "GET", path: "/v1/export.json", url: fixed("/v1/export.json"), want: users(200)},
			{name: "json of eve", method: "GET", path: "/v1/export.json", url: func(e *env, _ string, _ int) string { return "/v1/export.json?manager=" + e.id("eve") },
				want: expect{"ann": 403, "mid": 403, "boss": 403, "eve": 200, "it": 200}},
			{name: "dashboard", method: "GET", path: "/dashboard", url: fixed("/dashboard"), want: users(200), anon: 303},
			{name: "dashboard of mid", method: "GET", path: "/dashboard", url: func(e *env, _ string, _ int) string { return "/dashboard?manager=" + e.id("mid") },
				want: expect{"ann": 403, "mid": 200, "boss": 200, "eve": 403, "it": 200}, anon: 303},
			{name: "login form", method: "GET", path: "/login", url: fixed("/login"), want: users(200), anon: 200},
			{name: "login bad", method: "POST", path: "/login", url: fixed("/login"), want: users(401)},
			{name: "logout", method: "POST", path: "/logout", url: fixed("/logout"), want: users(303), anon: 303},
			// Single sign-on (oidc.go): anyone may start it, and a bearer
			// token is no substitute for the browser's flow cookie.
			{name: "sso start", method: "GET", path: "/login/oidc", url: fixed("/login/oidc"), want: users(302).with("scim", 302), anon: 302},
			{name: "sso callback without a flow", method: "GET", path: "/login/oidc/callback", url: fixed("/login/oidc/callback?state=s&code=c"),
				want: users(400).with("scim", 400), anon: 400},
			{name: "person page of ann", method: "GET", path: "/dashboard/people/{id}", url: func(e *env, _ string, _ int) string { return "/dashboard/people/" + e.id("ann") },
				want: expect{"ann": 200, "mid": 200, "boss": 200, "eve": 403, "it": 200}, anon: 303},
			{name: "person page of zed", method: "GET", path: "/dashboard/people/{id}", url: func(e *env, _ string, _ int) string { return "/dashboard/people/" + e.id("zed") },
				want: expect{"ann": 403, "mid": 403, "boss": 403, "eve": 200, "it": 200}, anon: 303},
			{name: "search", method: "GET", path: "/dashboard/search", url: fixed("/dashboard/search?q=5000"), want: users(200), anon: 303},
			{name: "form key status", method: "POST", path: "/dashboard/people/{id}/keys/{serial}/status", form: true,
				url:  func(e *env, _ string, _ int) string { return "/dashboard/people/" + e.id("ann") + "/keys/5000/status" },
				body: func(*env, string, int) any { return url.Values{"status": {"active"}, "reason": {"found it"}} }, want: adminOnly(303)},
			{name: "form invite", method: "POST", path: "/dashboard/people/{id}/invite", form: true,
				url:  func(e *env, _ string, _ int) string { return "/dashboard/people/" + e.id("zed") + "/invite" },
				body: func(*env, string, int) any { return url.Values{"reason": {"new laptop"}} }, want: adminOnly(200)},
			{name: "form revoke tokens", method: "POST", path: "/dashboard/people/{id}/revoke-tokens", form: true,
				url:  func(e *env, _ string, _ int) string { return "/dashboard/people/" + e.id("bob") + "/revoke-tokens" },
				body: func(*env, string, int) any { return url.Values{"reason": {"offboarding"}, "confirm": {"yes"}} }, want: adminOnly(303)},
			{name: "form export", method: "POST", path: "/dashboard/people/{id}/export", form: true,
				url: func(e *env, _ string, _ int) string { return "/dashboard/people/" + e.id("ann") + "/export" }, want: adminOnly(200).with("ann", 200)},
			// The roster (roster.go).
			{name: "edit zed", method: "PATCH", path: "/v1/people/{id}", url: of("zed", ""),
				body: func(_ *env, role string, n int) any {
					team := fmt.Sprintf("Ops %d", n)
					return tracker.PersonUpdate{Team: &team, Reason: "reorganisation"}
				}, want: adminOnly(200)},
			{name: "leave", method: "POST", path: "/v1/people/{id}/leave",
				url: func(e *env, role string, n int) string {
					var p tracker.Person
					e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: fmt.Sprintf("leaver%d-%s@example.com", n, role), Name: "L", StartDate: "2026-01-01"}, 201, &p)
					return "/v1/people/" + p.ID + "/leave"
				},
				body: func(*env, string, int) any { return tracker.Leave{Reason: "last day 2026-03-01"} }, want: adminOnly(200)},
			{name: "import dry run", method: "POST", path: "/v1/people/import", url: fixed("/v1/people/import?dry_run=true"),
				body: func(_ *env, role string, n int) any {
					return "email,name,team,manager_email,start_date\nann@example.com,ann,Eng,mid@example.com,2026-01-05\n"
				}, want: adminOnly(200)},
			{name: "form edit", method: "POST", path: "/dashboard/people/{id}/edit", form: true,
				url: func(e *env, _ string, _ int) string { return "/dashboard/people/" + e.id("zed") + "/edit" },
				body: func(_ *env, _ string, n int) any {
					return url.Values{"email": {"zed@example.com"}, "name": {"zed"}, "team": {fmt.Sprintf("Eng %d", n)}, "manager_email": {"eve@example.com"},
						"start_date": {"2026-02-01"}, "due_date": {""}, "reason": {"typo"}}
				}, want: adminOnly(303)},
			{name: "form leave", method: "POST", path: "/dashboard/people/{id}/leave", form: true,
				url: func(e *env, role string, n int) string {
					var p tracker.Person
					e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: fmt.Sprintf("formleaver%d-%s@example.com", n, role), Name: "L", StartDate: "2026-01-01"}, 201, &p)
					return "/dashboard/people/" + p.ID + "/leave"
				},
				body: func(*env, string, int) any { return url.Values{"reason": {"last day"}, "confirm": {"yes"}} }, want: adminOnly(303)},
			// SCIM (scim.go): the provisioning token only.
			{name: "scim config", method: "GET", path: "/scim/v2/ServiceProviderConfig", url: fixed("/scim/v2/ServiceProviderConfig"), want: scimOnly(200)},
			{name: "scim schemas", method: "GET", path: "/scim/v2/Schemas", url: fixed("/scim/v2/Schemas"), want: scimOnly(200)},
			{name: "scim user schema", method: "GET", path: "/scim/v2/Schemas/{id}", url: fixed("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"), want: scimOnly(200)},
			{name: "scim resource types", method: "GET", path: "/scim/v2/ResourceTypes", url: fixed("/scim/v2/ResourceTypes"), want: scimOnly(200)},
			{name: "scim user type", method: "GET", path: "/scim/v2/ResourceTypes/{id}", url: fixed("/scim/v2/ResourceTypes/User"), want: scimOnly(200)},
			{name: "scim list users", method: "GET", path: "/scim/v2/Users", url: fixed("/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "ann@example.com"`)), want: scimOnly(200)},
			{name: "scim create user", method: "POST", path: "/scim/v2/Users", url: fixed("/scim/v2/Users"),
				body: func(_ *env, role string, n int) any {
					return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": fmt.Sprintf("scim%d-%s@example.com", n, role),
						"name": map[string]any{"formatted": "Sam Scim"}}
				}, want: scimOnly(201)},
			{name: "scim get user", method: "GET", path: "/scim/v2/Users/{id}", url: func(e *env, _ string, _ int) string { return "/scim/v2/Users/" + e.id("ann") }, want: scimOnly(200)},
			{name: "scim replace user", method: "PUT", path: "/scim/v2/Users/{id}", url: func(e *env, _ string, _ int) string { return "/scim/v2/Users/" + e.id("zed") },
				body: func(e *env, _ string, _ int) any {
					return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "zed@example.com", "displayName": "zed",
						scimEnterprise: map[string]any{"department": "Eng", "manager": map[string]any{"value": e.id("eve")}}}
				}, want: scimOnly(200)},
			{name: "scim patch user", method: "PATCH", path: "/scim/v2/Users/{id}", url: func(e *env, _ string, _ int) string { return "/scim/v2/Users/" + e.id("zed") },
				body: func(*env, string, int) any {
					return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
						"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "zed"}}}
				}, want: scimOnly(200)},
			{name: "scim delete user", method: "DELETE", path: "/scim/v2/Users/{id}", url: func(e *env, _ string, _ int) string { return "/scim/v2/Users/" + e.id("zed") }, want: scimOnly(501)},
			{name: "form erase", method: "POST", path: "/dashboard/people/{id}/erase", form: true,
				url: func(e *env, role string, n int) string {
					var p tracker.Person
					e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: fmt.Sprintf("formvictim%d-%s@example.com", n, role), Name: "V", StartDate: "2026-01-01"}, 201, &p)
					return "/dashboard/people/" + p.ID + "/erase"
				},
				body: func(_ *env, role string, n int) any {
					return url.Values{"reason": {"person-request"}, "confirm_email": {fmt.Sprintf("formvictim%d-%s@example.com", n, role)}}
				}, want: adminOnly(303)},
		}
		covered := map[string]bool{}
		n := 0
		for _, c := range cases {
			covered[c.method+" "+c.path] = true
			for _, role := range append(append(append([]string{}, anonRoles...), userRoles...), serviceRoles...) {
				n++
				want, ok := c.want[role]
				if !ok {
					want = c.anon
					if want == 0 {
						want = http.StatusUnauthorized
					}
				}
				var body any
				if c.body != nil {
					body = c.body(e, role, n)
				}
				who := role
				if role == "none" {
					who = ""
				}
				var code int
				var data []byte
				if c.form {
					code, data = e.callForm(who, c.url(e, role, n), body)
				} else {
					code, data = e.call(who, c.method, c.url(e, role, n), body)
				}
				if code != want {
					t.Errorf("%s as %s: %d %s, want %d", c.name, role, code, data, want)
				}
				if code == 401 || code == 403 {
					// No data on refusal: nothing about any person.
					if strings.Contains(string(data), "@example.com") || strings.Contains(string(data), e.id("ann")) {
						t.Errorf("%s as %s: refusal leaks data: %s", c.name, role, data)
					}
				}
			}
		}
		for _, r := range e.srv.Routes() {
			if !covered[r.Method+" "+r.Path] {
				t.Errorf("route %s %s is not in the authorization matrix", r.Method, r.Path)
			}
		}
	})
}

// callForm posts a dashboard form as who ("" for none) from a browser
// signed in with who's token: the token is the session cookie and the form
// token is read off the dashboard, as a browser's page would carry it.
func (e *env) callForm(who, path string, body any) (int, []byte) {
	e.t.Helper()
	vals, _ := body.(url.Values)
	var cookie *http.Cookie
	csrf := ""
	if who != "" {
		tok, ok := e.tokens[who]
		if !ok {
			tok = who
		}
		cookie = &http.Cookie{Name: "kw_token", Value: tok}
		csrf = e.formToken(cookie)
	}
	resp, data := e.post(cookie, path, csrf, vals)
	return resp.StatusCode, []byte(data)
}
