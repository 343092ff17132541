package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

const (
	scimUserURN = "urn:ietf:params:scim:schemas:core:2.0:User"
	patchOpURN  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	scimErrURN  = "urn:ietf:params:scim:api:messages:2.0:Error"
)

type scimErrBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType"`
	Detail   string   `json:"detail"`
}

// scimErr decodes a SCIM error body and checks it is one (RFC 7644 §3.12).
func scimErr(t *testing.T, body []byte) scimErrBody {
	t.Helper()
	var e scimErrBody
	if err := json.Unmarshal(body, &e); err != nil || len(e.Schemas) != 1 || e.Schemas[0] != scimErrURN || e.Status == "" {
		t.Errorf("not a SCIM error: %s", body)
	}
	return e
}

type scimUser struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
	UserName   string `json:"userName"`
	Active     bool   `json:"active"`
	Name       struct {
		Formatted string `json:"formatted"`
	} `json:"name"`
	Enterprise struct {
		Department string `json:"department"`
		Manager    struct {
			Value string `json:"value"`
		} `json:"manager"`
	} `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	Meta struct {
		ResourceType string `json:"resourceType"`
		Location     string `json:"location"`
	} `json:"meta"`
}

// scimDo sends a SCIM request as an identity provider does
// (application/scim+json) and returns the response and body.
func (e *env) scimDo(method, path string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.http.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+e.tokens["scim"])
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, data := e.send(req)
	return resp, []byte(data)
}

func TestSCIM(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		var err error
		if e.tokens["scim"], err = server.IssueSCIMToken(ctx, e.st, "okta", start); err != nil {
			t.Fatal(err)
		}

		// Discovery (RFC 7644 §4).
		resp, body := e.scimDo("GET", "/scim/v2/ServiceProviderConfig", nil)
		var spc struct {
			Patch, Filter struct{ Supported bool }
			Bulk          struct{ Supported bool }
			Auth          []struct{ Type string } `json:"authenticationSchemes"`
		}
		json.Unmarshal(body, &spc)
		if resp.StatusCode != 200 || !spc.Patch.Supported || !spc.Filter.Supported || spc.Bulk.Supported || len(spc.Auth) != 1 || spc.Auth[0].Type != "oauthbearertoken" {
			t.Errorf("ServiceProviderConfig: %d %s", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/scim+json" {
			t.Errorf("content type %q", ct)
		}
		resp, body = e.scimDo("GET", "/scim/v2/Schemas", nil)
		for _, urn := range []string{scimUserURN, scimEnterprise, "urn:keywizard:params:scim:schemas:extension:onboarding:2.0:User"} {
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"`+urn+`"`) {
				t.Errorf("Schemas lacks %s: %d", urn, resp.StatusCode)
			}
		}
		resp, body = e.scimDo("GET", "/scim/v2/ResourceTypes/User", nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"/Users"`) {
			t.Errorf("ResourceTypes/User: %d %s", resp.StatusCode, body)
		}

		// Only the provisioning token works here, and only here.
		for _, who := range []string{"it", "", "kws_0123456789abcdef_forged"} {
			code, body := e.call(who, "GET", "/scim/v2/Users", nil)
			if code != 401 || scimErr(t, body).Status != "401" {
				t.Errorf("SCIM as %q: %d %s", who, code, body)
			}
		}
		if code, _ := e.call("scim", "GET", "/v1/me", nil); code != 401 {
			t.Errorf("provisioning token on the API: %d", code)
		}

		// Create, as RFC 7644 §3.3's example, with an e-mail address as
		// userName (the roster's key).
		create := map[string]any{
			"schemas":    []string{scimUserURN},
			"userName":   "bjensen@example.com",
			"externalId": "bjensen",
			"name":       map[string]any{"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
		}
		resp, body = e.scimDo("POST", "/scim/v2/Users", create)
		var u scimUser
		json.Unmarshal(body, &u)
		if resp.StatusCode != 201 || u.ID == "" || u.UserName != "bjensen@example.com" || u.ExternalID != "bjensen" || !u.Active ||
			u.Meta.ResourceType != "User" || resp.Header.Get("Location") != "/scim/v2/Users/"+u.ID || u.Meta.Location != "/scim/v2/Users/"+u.ID {
			t.Fatalf("create: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		var p tracker.Person
		e.do("it", "GET", "/v1/people/"+u.ID, nil, 200, &p)
		if p.Name != "Ms. Barbara J Jensen III" || p.Email != "bjensen@example.com" || p.ExternalID != "bjensen" || p.StartDate != "2026-03-02" {
			t.Errorf("created person: %+v", p)
		}
		if es := e.auditActions(u.ID, "person.create"); len(es) != 1 || es[0].Actor != "scim:okta" {
			t.Errorf("create audit: %+v", es)
		}
		// The same userName again: 409 uniqueness. RFC 7644's literal
		// "bjensen" is no e-mail address: 400 naming userName.
		resp, body = e.scimDo("POST", "/scim/v2/Users", create)
		if se := scimErr(t, body); resp.StatusCode != 409 || se.ScimType != "uniqueness" {
			t.Errorf("duplicate: %d %s", resp.StatusCode, body)
		}
		create["userName"] = "bjensen"
		resp, body = e.scimDo("POST", "/scim/v2/Users", create)
		if se := scimErr(t, body); resp.StatusCode != 400 || se.ScimType != "invalidValue" || !strings.HasPrefix(se.Detail, "userName:") {
			t.Errorf("userName not an address: %d %s", resp.StatusCode, body)
		}

		// Filter by userName (RFC 7644 §3.4.2.2; operators are case-insensitive).
		var list struct {
			TotalResults int        `json:"totalResults"`
			Resources    []scimUser `json:"Resources"`
			Schemas      []string   `json:"schemas"`
		}
		_, body = e.scimDo("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName Eq "bjensen@example.com"`), nil)
		json.Unmarshal(body, &list)
		if list.TotalResults != 1 || len(list.Resources) != 1 || list.Resources[0].ID != u.ID {
			t.Errorf("filter: %s", body)
		}
		_, body = e.scimDo("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "nobody@example.com"`), nil)
		list.TotalResults, list.Resources = -1, nil
		json.Unmarshal(body, &list)
		if list.TotalResults != 0 || len(list.Resources) != 0 {
			t.Errorf("filter without a match: %s", body)
		}
		resp, body = e.scimDo("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq`), nil)
		if se := scimErr(t, body); resp.StatusCode != 400 || se.ScimType != "invalidFilter" {
			t.Errorf("bad filter: %d %s", resp.StatusCode, body)
		}

		// Replace (RFC 7644 §3.5.1's example, adapted likewise), with the
		// enterprise extension's department and manager.
		put := map[string]any{
			"schemas":      []string{scimUserURN, scimEnterprise},
			"id":           u.ID,
			"userName":     "bjensen@example.com",
			"externalId":   "bjensen",
			"name":         map[string]any{"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"},
			"roles":        []any{},
			"emails":       []any{map[string]any{"value": "bjensen@example.com"}, map[string]any{"value": "babs@jensen.org"}},
			scimEnterprise: map[string]any{"department": "Platform", "manager": map[string]any{"value": e.id("boss")}},
		}
		resp, body = e.scimDo("PUT", "/scim/v2/Users/"+u.ID, put)
		u = scimUser{}
		json.Unmarshal(body, &u)
		if resp.StatusCode != 200 || u.Enterprise.Department != "Platform" || u.Enterprise.Manager.Value != e.id("boss") {
			t.Errorf("replace: %d %s", resp.StatusCode, body)
		}
		e.do("boss", "GET", "/v1/people/"+u.ID, nil, 200, &p)
		if p.Team != "Platform" || p.ManagerID != e.id("boss") {
			t.Errorf("after replace: %+v", p)
		}
		if es := e.auditActions(u.ID, "person.update"); len(es) != 1 || es[0].Actor != "scim:okta" || !strings.Contains(es[0].Detail, `"field":"team","before":"","after":"Platform"`) {
			t.Errorf("replace audit: %+v", es)
		}
		// A manager who does not exist, or a loop, is refused.
		put[scimEnterprise] = map[string]any{"manager": map[string]any{"value": "p_nobody"}}
		resp, body = e.scimDo("PUT", "/scim/v2/Users/"+u.ID, put)
		if se := scimErr(t, body); resp.StatusCode != 400 || !strings.Contains(se.Detail, "manager") {
			t.Errorf("unknown manager: %d %s", resp.StatusCode, body)
		}
		put[scimEnterprise] = map[string]any{"manager": map[string]any{"value": e.id("ann")}}
		resp, body = e.scimDo("PUT", "/scim/v2/Users/"+e.id("mid"), put)
		if resp.StatusCode != 400 && resp.StatusCode != 409 {
			t.Errorf("mid under ann, who reports to mid: %d %s", resp.StatusCode, body)
		}

		// PATCH (RFC 7644 §3.5.2.3's replace without a path), then
		// deprovisioning as identity providers do it: active=false.
		resp, body = e.scimDo("PATCH", "/scim/v2/Users/"+u.ID, map[string]any{"schemas": []string{patchOpURN},
			"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{
				"emails": []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}}, "nickName": "Babs"}}}})
		if resp.StatusCode != 200 {
			t.Errorf("patch emails and nickName: %d %s", resp.StatusCode, body)
		}
		resp, body = e.scimDo("PATCH", "/scim/v2/Users/"+u.ID, map[string]any{"schemas": []string{patchOpURN},
			"Operations": []any{map[string]any{"op": "replace", "path": "name.givenName", "value": "Babs"},
				map[string]any{"op": "replace", "path": "name.familyName", "value": "Jensen"}}})
		u = scimUser{}
		json.Unmarshal(body, &u)
		if resp.StatusCode != 200 || u.Name.Formatted != "Babs Jensen" {
			t.Errorf("patch given and family name: %d %s", resp.StatusCode, body)
		}
		// The person joins: their token works until deactivation.
		tok, err := server.AdminToken(ctx, e.st, u.ID, "wizard", 0, start)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens["babs"] = tok
		e.do("babs", "POST", "/v1/reports", fullReport("babs-key", 9001, tracker.RoleEveryday), 200, nil)
		resp, body = e.scimDo("PATCH", "/scim/v2/Users/"+u.ID, map[string]any{"schemas": []string{patchOpURN},
			"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}})
		u = scimUser{}
		json.Unmarshal(body, &u)
		if resp.StatusCode != 200 || u.Active {
			t.Errorf("deactivate: %d %s", resp.StatusCode, body)
		}
		if code, _ := e.call("babs", "GET", "/v1/me", nil); code != 401 {
			t.Errorf("deactivated person's token: %d", code)
		}
		var v tracker.TeamView
		e.do("boss", "GET", "/v1/team", nil, 200, &v)
		if len(v.KeysToCollect) != 1 || v.KeysToCollect[0].Key.Serial != 9001 {
			t.Errorf("keys to collect after deactivation: %+v", v.KeysToCollect)
		}
		if es := e.auditActions(u.ID, "person.leave"); len(es) != 1 || es[0].Actor != "scim:okta" {
			t.Errorf("leave audit: %+v", es)
		}
		// Okta's form: no path, a value object.
		resp, body = e.scimDo("PATCH", "/scim/v2/Users/"+u.ID, map[string]any{"schemas": []string{patchOpURN},
			"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": true}}}})
		u = scimUser{}
		json.Unmarshal(body, &u)
		if resp.StatusCode != 200 || !u.Active {
			t.Errorf("reactivate: %d %s", resp.StatusCode, body)
		}
		e.do("it", "GET", "/v1/people/"+u.ID, nil, 200, &p)
		if p.Left() {
			t.Errorf("still a leaver: %+v", p)
		}

		// A replace that leaves active out keeps the leaver state.
		e.do("it", "POST", "/v1/people/"+u.ID+"/leave", tracker.Leave{Reason: "left again"}, 200, nil)
		delete(put, scimEnterprise)
		resp, body = e.scimDo("PUT", "/scim/v2/Users/"+u.ID, put)
		u = scimUser{}
		json.Unmarshal(body, &u)
		if resp.StatusCode != 200 || u.Active {
			t.Errorf("replace without active brought a leaver back: %d %s", resp.StatusCode, body)
		}

		// Unknown IDs and DELETE answer in SCIM's error schema.
		resp, body = e.scimDo("GET", "/scim/v2/Users/p_nobody", nil)
		if se := scimErr(t, body); resp.StatusCode != 404 || se.Status != "404" {
			t.Errorf("unknown user: %d %s", resp.StatusCode, body)
		}
		resp, body = e.scimDo("DELETE", "/scim/v2/Users/"+u.ID, nil)
		if se := scimErr(t, body); resp.StatusCode != 501 || !strings.Contains(se.Detail, "active") {
			t.Errorf("delete: %d %s", resp.StatusCode, body)
		}
		e.do("it", "GET", "/v1/people/"+u.ID, nil, 200, nil)

		// Create as inactive: a leaver from the start.
		resp, body = e.scimDo("POST", "/scim/v2/Users", map[string]any{"schemas": []string{scimUserURN}, "userName": "Old.Hand@Example.com", "displayName": "Old Hand", "active": false})
		u = scimUser{}
		json.Unmarshal(body, &u)
		if resp.StatusCode != 201 || u.Active || u.UserName != "old.hand@example.com" {
			t.Errorf("create inactive: %d %s", resp.StatusCode, body)
		}
	})
}
