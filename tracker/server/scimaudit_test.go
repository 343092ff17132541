package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// An identity provider's reads of the roster are audited like the API's
// listings: who (the provisioning token's name), what, how many; never the
// filter, which holds an e-mail address.
func TestSCIMReadsAudited(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		var err error
		if e.tokens["scim"], err = server.IssueSCIMToken(context.Background(), e.st, "okta", start); err != nil {
			t.Fatal(err)
		}
		annEmail := "ann@example.com"
		if resp, body := e.scimDo("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "`+annEmail+`"`), nil); resp.StatusCode != 200 || !strings.Contains(string(body), annEmail) {
			t.Fatalf("filter: %d %s", resp.StatusCode, body)
		}
		if resp, body := e.scimDo("GET", "/scim/v2/Users", nil); resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		if resp, body := e.scimDo("GET", "/scim/v2/Users/"+e.id("ann"), nil); resp.StatusCode != 200 {
			t.Fatalf("get: %d %s", resp.StatusCode, body)
		}
		lists := e.entries("scim.list") // newest first
		if len(lists) != 2 || lists[0].Actor != "scim:okta" || lists[1].Actor != "scim:okta" ||
			!strings.HasPrefix(lists[1].Detail, "SCIM Users, filtered: 1 matched, 1 returned") ||
			!strings.HasPrefix(lists[0].Detail, "SCIM Users: ") {
			t.Errorf("list reads audited as %+v", lists)
		}
		for _, l := range lists {
			if strings.Contains(l.Detail, "@") || l.Subject != "" {
				t.Errorf("a list read's entry holds personal data: %+v", l)
			}
		}
		if got := e.entries("scim.read"); len(got) != 1 || got[0].Actor != "scim:okta" || got[0].Subject != e.id("ann") {
			t.Errorf("user read audited as %+v", got)
		}
		// An unknown user is a 404 and no read.
		if resp, _ := e.scimDo("GET", "/scim/v2/Users/p_nobody", nil); resp.StatusCode != 404 {
			t.Errorf("unknown user: %d", resp.StatusCode)
		}
		if got := e.entries("scim.read"); len(got) != 1 {
			t.Errorf("a 404 was audited as a read: %+v", got)
		}
		e.verifyChain()
	})
}
