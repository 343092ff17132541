package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

func ptr(s string) *string { return &s }

// auditActions returns the audit entries about id with the given action,
// oldest first.
func (e *env) auditActions(id, action string) []tracker.AuditEntry {
	e.t.Helper()
	es, err := e.st.Audit(context.Background(), id, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []tracker.AuditEntry
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Action == action && es[i].Subject == id {
			out = append(out, es[i])
		}
	}
	return out
}

func wantField(t *testing.T, what string, code int, body []byte, wantCode int, field string) {
	t.Helper()
	var eb tracker.ErrorBody
	json.Unmarshal(body, &eb)
	if code != wantCode || eb.Field != field {
		t.Errorf("%s: %d %s, want %d naming %q", what, code, body, wantCode, field)
	}
}

func TestEditPerson(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ann := e.id("ann")
		// A reorganisation: ann moves from mid to eve's team, her start
		// date typed wrong is corrected and a due date set.
		var p tracker.Person
		e.do("it", "PATCH", "/v1/people/"+ann, tracker.PersonUpdate{Team: ptr("Platform"), ManagerEmail: ptr("eve@example.com"),
			StartDate: ptr("2026-01-12"), DueDate: ptr("2026-04-15"), Reason: "reorganisation"}, 200, &p)
		if p.Team != "Platform" || p.ManagerID != e.id("eve") || p.StartDate != "2026-01-12" || p.DueDate != "2026-04-15" || p.Email != "ann@example.com" || p.Name != "ann" {
			t.Errorf("after the edit: %+v", p)
		}
		var got tracker.Person
		e.do("it", "GET", "/v1/people/"+ann, nil, 200, &got)
		if got != p {
			t.Errorf("stored %+v, answered %+v", got, p)
		}
		// eve sees ann now; mid no longer does.
		e.do("eve", "GET", "/v1/people/"+ann, nil, 200, nil)
		e.do("mid", "GET", "/v1/people/"+ann, nil, 403, nil)
		es := e.auditActions(ann, "person.update")
		if len(es) != 1 || es[0].Actor != e.id("it") || es[0].Reason != "reorganisation" {
			t.Fatalf("audit entries: %+v", es)
		}
		var cs []tracker.Change
		if err := json.Unmarshal([]byte(es[0].Detail), &cs); err != nil {
			t.Fatalf("detail %q: %v", es[0].Detail, err)
		}
		want := []tracker.Change{{Field: "team", Before: "Eng", After: "Platform"}, {Field: "manager_id", Before: e.id("mid"), After: e.id("eve")}, {Field: "start_date", Before: "2026-01-05", After: "2026-01-12"}, {Field: "due_date", Before: "", After: "2026-04-15"}}
		if len(cs) != len(want) {
			t.Fatalf("changes %+v, want %+v", cs, want)
		}
		for i := range want {
			if cs[i] != want[i] {
				t.Errorf("change %d: %+v, want %+v", i, cs[i], want[i])
			}
		}
		// The same values again change nothing and add no entry.
		e.do("it", "PATCH", "/v1/people/"+ann, tracker.PersonUpdate{Team: ptr("Platform")}, 200, nil)
		if n := len(e.auditActions(ann, "person.update")); n != 1 {
			t.Errorf("%d update entries after a no-op edit, want 1", n)
		}
		// Refusals name the field and change nothing.
		boss := e.id("boss")
		code, body := e.call("it", "PATCH", "/v1/people/"+boss, tracker.PersonUpdate{ManagerEmail: ptr("mid@example.com")})
		wantField(t, "boss under mid, who reports to boss", code, body, 409, "manager_email")
		code, body = e.call("it", "PATCH", "/v1/people/"+boss, tracker.PersonUpdate{ManagerEmail: ptr("boss@example.com")})
		wantField(t, "boss under boss", code, body, 409, "manager_email")
		code, body = e.call("it", "PATCH", "/v1/people/"+ann, tracker.PersonUpdate{Email: ptr("bob@example.com")})
		wantField(t, "bob's address", code, body, 409, "email")
		code, body = e.call("it", "PATCH", "/v1/people/"+ann, tracker.PersonUpdate{ManagerEmail: ptr("ghost@example.com")})
		wantField(t, "no such manager", code, body, 400, "manager_email")
		code, body = e.call("it", "PATCH", "/v1/people/"+ann, tracker.PersonUpdate{DueDate: ptr("15/04/2026")})
		wantField(t, "due date", code, body, 400, "due_date")
		code, body = e.call("it", "PATCH", "/v1/people/"+ann, tracker.PersonUpdate{})
		wantField(t, "empty edit", code, body, 400, "")
		code, _ = e.call("it", "PATCH", "/v1/people/p_nobody", tracker.PersonUpdate{Team: ptr("x")})
		if code != 404 {
			t.Errorf("unknown person: %d", code)
		}
		e.do("it", "GET", "/v1/people/"+ann, nil, 200, &got)
		if got != p {
			t.Errorf("refused edits changed ann: %+v", got)
		}
		// A manager moved under a former report's former peer is fine:
		// only a loop is refused.
		e.do("it", "PATCH", "/v1/people/"+e.id("mid"), tracker.PersonUpdate{ManagerEmail: ptr("eve@example.com")}, 200, nil)
		var mid tracker.Person
		e.do("it", "PATCH", "/v1/people/"+e.id("mid"), tracker.PersonUpdate{ManagerEmail: ptr("")}, 200, &mid)
		if mid.ManagerID != "" || mid.Email != "mid@example.com" {
			t.Errorf("mid moved to the top: %+v", mid)
		}
	})
}

func TestDueDateAndOverdue(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		// A manager who has been with the company for years is added today:
		// due in a month, not overdue.
		var vic tracker.Person
		e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: "vic@example.com", Name: "Vic", StartDate: "2019-05-01", ManagerEmail: "boss@example.com"}, 201, &vic)
		var v tracker.TeamView
		e.do("boss", "GET", "/v1/team", nil, 200, &v)
		rows := map[string]tracker.Row{}
		for _, r := range v.Rows {
			rows[r.Person.Name] = r
		}
		if r := rows["Vic"]; r.Overdue || r.DueDate != "2026-04-01" {
			t.Errorf("long-serving manager added today: %+v", r)
		}
		// ann started in January and was added then: overdue.
		if r := rows["ann"]; !r.Overdue || r.DueDate != "2026-02-04" || !r.Indirect {
			t.Errorf("ann: overdue %v due %s indirect %v", r.Overdue, r.DueDate, r.Indirect)
		}
		if r := rows["mid"]; r.Indirect {
			t.Error("mid reports to boss directly but is marked indirect")
		}
		// IT extends ann's due date: no longer overdue.
		e.do("it", "PATCH", "/v1/people/"+e.id("ann"), tracker.PersonUpdate{DueDate: ptr("2026-03-31"), Reason: "on leave in February"}, 200, nil)
		e.do("boss", "GET", "/v1/team", nil, 200, &v)
		for _, r := range v.Rows {
			if r.Person.Name == "ann" && (r.Overdue || r.DueDate != "2026-03-31") {
				t.Errorf("ann after extension: overdue %v due %s", r.Overdue, r.DueDate)
			}
		}
		e.clock.Add(31 * 24 * time.Hour)
		e.do("boss", "GET", "/v1/team", nil, 200, &v)
		for _, r := range v.Rows {
			if r.Person.Name == "Vic" && !r.Overdue {
				t.Error("Vic is not overdue a month after being added")
			}
		}
	})
}

func TestLeaver(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ann := e.id("ann")
		e.do("ann", "POST", "/v1/reports", fullReport("ann-leaver-key-1", 4001, tracker.RoleEveryday), 200, nil)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-leaver-key-2", 4002, tracker.RoleBackup), 200, nil)
		e.do("it", "POST", "/v1/people/"+ann+"/keys/4002/status", tracker.KeyStatusChange{Status: tracker.KeyLost, Reason: "left on a train"}, 204, nil)
		var inv tracker.Invite
		e.do("it", "POST", "/v1/people/"+ann+"/invite", tracker.Reasoned{Reason: "replacement"}, 201, &inv)

		var l tracker.Leaver
		e.do("it", "POST", "/v1/people/"+ann+"/leave", tracker.Leave{Reason: "last day 2026-03-01"}, 200, &l)
		if !l.Person.LeftAt.Equal(start) || len(l.KeysToCollect) != 1 || l.KeysToCollect[0].Serial != 4001 {
			t.Errorf("leaver: %+v", l)
		}
		if want := start.Add(server.DefaultLeaverRetention); !l.RetainUntil.Equal(want) {
			t.Errorf("retain until %v, want %v", l.RetainUntil, want)
		}
		// Signed out everywhere, the invite cancelled.
		if code, _ := e.call("ann", "GET", "/v1/me", nil); code != 401 {
			t.Errorf("leaver's token: %d, want 401", code)
		}
		if code, _ := e.call("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: inv.Code}); code != 401 {
			t.Errorf("leaver's invite: %d, want 401", code)
		}
		// A token issued afterwards on the server host does not work either.
		tok, err := server.AdminToken(context.Background(), e.st, ann, "later", 0, start)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens["ann-later"] = tok
		if code, _ := e.call("ann-later", "GET", "/v1/me", nil); code != 401 {
			t.Errorf("token issued to a leaver: %d, want 401", code)
		}
		// Records kept: the team view lists the key to collect, not a row.
		var v tracker.TeamView
		e.do("mid", "GET", "/v1/team", nil, 200, &v)
		if len(v.Rows) != 0 || len(v.KeysToCollect) != 1 || v.KeysToCollect[0].Key.Serial != 4001 || v.KeysToCollect[0].Person.ID != ann {
			t.Errorf("mid's view after ann left: rows %d, to collect %+v", len(v.Rows), v.KeysToCollect)
		}
		var x tracker.PersonExport
		e.do("it", "GET", "/v1/people/"+ann+"/export", nil, 200, &x)
		if len(x.Keys) != 2 || len(x.Items) == 0 {
			t.Errorf("leaver's records: %d keys, %d items", len(x.Keys), len(x.Items))
		}
		// The exports keep the leaver, marked.
		code, csvBody := e.call("it", "GET", "/v1/export.csv", nil)
		if code != 200 || !strings.Contains(string(csvBody), "\nperson,ann@example.com,ann,Eng,mid@example.com,2026-01-05,") ||
			!strings.Contains(string(csvBody), ",2026-02-04,2026-03-02T09:00:00Z,,\n") || !strings.Contains(string(csvBody), "\nkey,ann@example.com,,,,,,,,4001,everyday,") {
			t.Errorf("CSV export after ann left: %d %s", code, csvBody)
		}
		var jx server.Export
		e.do("it", "GET", "/v1/export.json", nil, 200, &jx)
		kept := false
		for _, p := range jx.People {
			kept = kept || (p.ID == ann && p.Left())
		}
		if !kept || len(jx.View.Leavers) != 1 {
			t.Errorf("JSON export after ann left: people %+v, leavers %+v", jx.People, jx.View.Leavers)
		}
		if es := e.auditActions(ann, "person.leave"); len(es) != 1 || es[0].Reason != "last day 2026-03-01" {
			t.Errorf("leave audit: %+v", es)
		}
		// Leaving twice changes nothing.
		e.do("it", "POST", "/v1/people/"+ann+"/leave", tracker.Leave{Reason: "again"}, 200, &l)
		if !l.Person.LeftAt.Equal(start) || len(e.auditActions(ann, "person.leave")) != 1 {
			t.Errorf("second leave: %+v", l.Person)
		}
		// Erasure as retention-expired waits for the retention period;
		// other reasons do not.
		code, body := e.call("it", "POST", "/v1/people/"+ann+"/erase", tracker.Erasure{Reason: tracker.ErasureRetentionExpired})
		wantField(t, "erase before retention ends", code, body, 409, "reason")
		code, body = e.call("it", "POST", "/v1/people/"+e.id("bob")+"/erase", tracker.Erasure{Reason: tracker.ErasureRetentionExpired})
		wantField(t, "erase someone who has not left as retention-expired", code, body, 409, "reason")
		e.clock.Add(server.DefaultLeaverRetention)
		// IT's token (one year) has expired by now too.
		if e.tokens["it"], err = server.AdminToken(context.Background(), e.st, e.id("it"), "test", 0, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		ck := &http.Cookie{Name: "kw_token", Value: e.tokens["it"]}
		if code, page := e.get("/dashboard", ck); code != 200 || !strings.Contains(page, "retention ended: erasable") {
			t.Errorf("dashboard after the retention period: %d, erasable mark %v", code, strings.Contains(page, "retention ended: erasable"))
		}
		e.do("it", "POST", "/v1/people/"+ann+"/erase", tracker.Erasure{Reason: tracker.ErasureRetentionExpired}, 204, nil)
		// IT cannot lock itself out.
		code, _ = e.call("it", "POST", "/v1/people/"+e.id("it")+"/leave", tracker.Leave{Reason: "x"})
		if code != 409 {
			t.Errorf("admin leaving themselves: %d", code)
		}
	})
}

func TestImport(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		roster := "\ufeffemail,name,team,manager_email,start_date,due_date\n" +
			"ann@example.com,ann,Eng,mid@example.com,2026-01-05,\n" + // unchanged
			"bob@example.com,Bob Stone,Eng,kim@example.com,2026-03-01,2026-04-30\n" + // renamed, new manager from the file
			"kim@example.com,Kim Park,Eng,boss@example.com,2026-03-09,\n" // new
		var res tracker.ImportResult
		e.do("it", "POST", "/v1/people/import?dry_run=true", roster, 200, &res)
		if !res.DryRun || res.Created != 1 || res.Updated != 1 || res.Unchanged != 1 || len(res.Rows) != 3 {
			t.Fatalf("dry run: %+v", res)
		}
		bob := res.Rows[1]
		if bob.Action != tracker.ImportUpdate || bob.Email != "bob@example.com" {
			t.Errorf("bob's row: %+v", bob)
		}
		changed := map[string]tracker.Change{}
		for _, c := range bob.Changes {
			changed[c.Field] = c
		}
		if changed["name"].After != "Bob Stone" || changed["manager_email"] != (tracker.Change{Field: "manager_email", Before: "boss@example.com", After: "kim@example.com"}) || changed["due_date"].After != "2026-04-30" || len(changed) != 3 {
			t.Errorf("bob's changes: %+v", bob.Changes)
		}
		// Nothing changed in the dry run.
		if code, _ := e.call("it", "GET", "/v1/people/"+e.id("bob"), nil); code != 200 {
			t.Fatal(code)
		}
		var people []tracker.Person
		e.do("it", "GET", "/v1/people", nil, 200, &people)
		for _, p := range people {
			if p.Email == "kim@example.com" || p.Name == "Bob Stone" {
				t.Fatalf("the dry run changed the roster: %+v", p)
			}
		}
		e.do("it", "POST", "/v1/people/import", roster, 200, &res)
		if res.DryRun || res.Created != 1 || res.Updated != 1 || res.Unchanged != 1 {
			t.Errorf("import: %+v", res)
		}
		e.do("it", "GET", "/v1/people", nil, 200, &people)
		byEmail := map[string]tracker.Person{}
		for _, p := range people {
			byEmail[p.Email] = p
		}
		kim, bobP := byEmail["kim@example.com"], byEmail["bob@example.com"]
		if kim.ManagerID != e.id("boss") || kim.StartDate != "2026-03-09" || bobP.Name != "Bob Stone" || bobP.ManagerID != kim.ID || bobP.DueDate != "2026-04-30" {
			t.Errorf("after import: kim %+v, bob %+v", kim, bobP)
		}
		if es := e.auditActions(bobP.ID, "person.update"); len(es) != 1 || !strings.Contains(es[0].Reason, "row 2") {
			t.Errorf("bob's audit: %+v", es)
		}
		// Importing again changes nothing.
		e.do("it", "POST", "/v1/people/import", roster, 200, &res)
		if res.Unchanged != 3 {
			t.Errorf("second import: %+v", res)
		}
		// Refusals name the row and field; nothing is written.
		for _, c := range []struct{ csv, field string }{
			{"email,name,team,manager_email,start_date\nzoe@example.com,Zoe,Eng,,02/03/2026\n", "rows[1].start_date"},
			{"email,name,team,manager_email,start_date\nzoe@example.com,Zoe,Eng,,2026-03-02\nyan@example.com,Yan,Eng,ghost@example.com,2026-03-02\n", "rows[2].manager_email"},
			{"email,name,team,manager_email,start_date\nzoe@example.com,Zoe,Eng,,2026-03-02\nzoe@example.com,Zoe,Eng,,2026-03-02\n", "rows[2].email"},
			{"email,name,team,manager_email,start_date\nzoe@exаmple.com,Zoe,Eng,,2026-03-02\n", "rows[1].email"},
			{"email,name,team,manager,start_date\n", "header"},
			{"email,name,team,start_date\nzoe@example.com,Zoe,Eng,2026-03-02\n", "header"},
		} {
			code, body := e.call("it", "POST", "/v1/people/import", c.csv)
			wantField(t, c.csv, code, body, 400, c.field)
		}
		e.do("it", "GET", "/v1/people", nil, 200, &people)
		for _, p := range people {
			if p.Email == "zoe@example.com" {
				t.Error("a refused import created zoe")
			}
		}
	})
}

// TestInputUnicode: every entry point refuses bidirectional controls,
// zero-width characters and mixed-script look-alikes with a 400 naming
// the field, through the one validator.
func TestInputUnicode(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		var err error
		if e.tokens["scim"], err = server.IssueSCIMToken(ctx, e.st, "okta", start); err != nil {
			t.Fatal(err)
		}
		const (
			rlo      = "Eve \u202eNIMDA TI"      // shows as "Eve IT ADMIN"
			cyrillic = "ann@ex\u0430mple.com"    // a Cyrillic а
			zw       = "Ann\u200bLee"            // zero-width space
			mixed    = "P\u0430yroll"            // Latin with a Cyrillic а
			fine     = "Zoë Ångström-O'Brien 日本" // one script per word
		)
		api := []struct {
			body  tracker.CreatePerson
			field string
		}{
			{tracker.CreatePerson{Email: "eve2@example.com", Name: rlo, StartDate: "2026-03-02"}, "name"},
			{tracker.CreatePerson{Email: cyrillic, Name: "Ann", StartDate: "2026-03-02"}, "email"},
			{tracker.CreatePerson{Email: "ann2@example.com", Name: zw, StartDate: "2026-03-02"}, "name"},
			{tracker.CreatePerson{Email: "ann3@example.com", Name: "Ann", Team: mixed, StartDate: "2026-03-02"}, "team"},
		}
		for _, c := range api {
			code, body := e.call("it", "POST", "/v1/people", c.body)
			wantField(t, "POST /v1/people "+c.field, code, body, 400, c.field)
		}
		e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: "zoe@example.com", Name: fine, StartDate: "2026-03-02"}, 201, nil)
		code, body := e.call("it", "PATCH", "/v1/people/"+e.id("ann"), tracker.PersonUpdate{Name: ptr(rlo)})
		wantField(t, "PATCH name", code, body, 400, "name")
		code, body = e.call("it", "POST", "/v1/people/"+e.id("ann")+"/revoke-tokens", tracker.Reasoned{Reason: "per " + rlo})
		wantField(t, "reason", code, body, 400, "reason")
		code, body = e.call("it", "POST", "/v1/people/"+e.id("ann")+"/leave", tracker.Leave{Reason: zw})
		wantField(t, "leave reason", code, body, 400, "reason")
		// The dashboard's edit form.
		ck := &http.Cookie{Name: "kw_token", Value: e.tokens["it"]}
		resp, page := e.post(ck, "/dashboard/people/"+e.id("ann")+"/edit", e.formToken(ck), url.Values{
			"email": {"ann@example.com"}, "name": {rlo}, "team": {"Eng"}, "manager_email": {"mid@example.com"}, "start_date": {"2026-01-05"}})
		if resp.StatusCode != 400 || !strings.Contains(page, `name: must not contain invisible`) || !strings.Contains(page, `id="form-edit"`) {
			t.Errorf("edit form with a bidi override: %d %s", resp.StatusCode, page)
		}
		// CSV import.
		code, body = e.call("it", "POST", "/v1/people/import", "email,name,team,manager_email,start_date\nzed@example.com,"+rlo+",Eng,eve@example.com,2026-02-01\n")
		wantField(t, "import", code, body, 400, "rows[1].name")
		// SCIM: the error schema, naming the SCIM attribute.
		code, body = e.call("scim", "POST", "/scim/v2/Users", map[string]any{"schemas": []string{scimUserURN}, "userName": cyrillic, "name": map[string]any{"formatted": "Ann"}})
		se := scimErr(t, body)
		if code != 400 || se.ScimType != "invalidValue" || !strings.HasPrefix(se.Detail, "userName: must not mix scripts") {
			t.Errorf("SCIM create with a look-alike address: %d %s", code, body)
		}
		code, body = e.call("scim", "PATCH", "/scim/v2/Users/"+e.id("ann"), map[string]any{"schemas": []string{patchOpURN},
			"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": rlo}}})
		se = scimErr(t, body)
		if code != 400 || !strings.HasPrefix(se.Detail, "name.formatted: must not contain invisible") {
			t.Errorf("SCIM patch with a bidi override: %d %s", code, body)
		}
		var p tracker.Person
		e.do("it", "GET", "/v1/people/"+e.id("ann"), nil, 200, &p)
		if p.Name != "ann" {
			t.Errorf("ann renamed by a refused request: %q", p.Name)
		}
	})
}
