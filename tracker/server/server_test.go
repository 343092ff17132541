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
	"github.com/keywizard/keywizard/tracker/attest/attesttest"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestReportsAndCompletion(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		dev := e.ca.Device(t, 11111111, attesttest.Options{Firmware: [3]byte{5, 7, 1}, FormFactor: 0x04})
		r1 := fullReport("ann-everyday-1", 11111111, tracker.RoleEveryday)
		r1.Attestation = &tracker.Attestation{Certificate: dev.Attestation, Slot: dev.Slot}
		var res tracker.ReportResult
		e.do("ann", "POST", "/v1/reports", r1, 200, &res)
		if !res.Genuine || res.Duplicate || res.Complete {
			t.Errorf("first report: %+v; want genuine, not duplicate, not complete", res)
		}
		e.do("ann", "POST", "/v1/reports", r1, 200, &res)
		if !res.Duplicate {
			t.Errorf("resent report: %+v; want duplicate", res)
		}

		// A key attested by another root, and one whose attestation is
		// for a different serial, are recorded as not genuine.
		fake := attesttest.NewCA(t).Device(t, 22222222, attesttest.Options{})
		r2 := fullReport("ann-backup-1", 22222222, tracker.RoleBackup)
		r2.Attestation = &tracker.Attestation{Certificate: fake.Attestation, Slot: fake.Slot}
		e.do("ann", "POST", "/v1/reports", r2, 200, &res)
		if res.Genuine || !strings.Contains(res.GenuineDetail, "Yubico root") || !res.Complete {
			t.Errorf("fake key: %+v; want not genuine (chain) but complete", res)
		}
		other := e.ca.Device(t, 33333333, attesttest.Options{})
		r3 := fullReport("ann-backup-2", 22222222, tracker.RoleBackup)
		r3.Attestation = &tracker.Attestation{Certificate: other.Attestation, Slot: other.Slot}
		e.do("ann", "POST", "/v1/reports", r3, 200, &res)
		if res.Genuine || !strings.Contains(res.GenuineDetail, "33333333") {
			t.Errorf("attestation for another serial: %+v", res)
		}

		waitFor(t, "completion webhook", func() bool { return len(e.hook.messages()) == 1 })
		if m := e.hook.messages()[0]; !strings.Contains(m, "ann@example.com") || !strings.Contains(m, "finished") {
			t.Errorf("webhook text: %q", m)
		}

		var v tracker.TeamView
		e.do("mid", "GET", "/v1/team", nil, 200, &v)
		if len(v.Rows) != 1 || v.Rows[0].Person.ID != e.id("ann") {
			t.Fatalf("mid's team: %+v", v.Rows)
		}
		row := v.Rows[0]
		if !row.Complete || !row.Everyday.Genuine || row.Backup.Genuine || row.Everyday.Firmware != "5.7.1" || !row.Backup.OTPDisabled {
			t.Errorf("ann's row: %+v", row)
		}

		// Losing a key makes her incomplete again and lists the key; a
		// second message, saying she is complete again, is sent when the
		// replacement finishes her.
		e.do("it", "POST", "/v1/people/"+e.id("ann")+"/keys/22222222/status", tracker.KeyStatusChange{Status: tracker.KeyLost, Reason: "left in a taxi"}, 204, nil)
		e.do("boss", "GET", "/v1/team", nil, 200, &v)
		var annRow tracker.Row
		for _, r := range v.Rows {
			if r.Person.ID == e.id("ann") {
				annRow = r
			}
		}
		if annRow.Complete || annRow.Backup.Serial != 0 || len(v.LostKeys) != 1 || v.LostKeys[0].Key.Serial != 22222222 {
			t.Errorf("after loss: row %+v, lost %+v", annRow, v.LostKeys)
		}
		e.do("ann", "POST", "/v1/reports", fullReport("ann-backup-3", 44444444, tracker.RoleBackup), 200, &res)
		if !res.Complete {
			t.Errorf("replacement key: %+v", res)
		}
		e.srv.Close()
		if msgs := e.hook.messages(); len(msgs) != 2 || !strings.Contains(msgs[1], "ann@example.com") || !strings.Contains(msgs[1], "complete again") {
			t.Errorf("completion messages %q, want the first and one saying complete again", msgs)
		}

		// Someone else's active key is refused.
		code, body := e.call("bob", "POST", "/v1/reports", fullReport("bob-steals", 11111111, tracker.RoleEveryday))
		if code != 409 || !strings.Contains(string(body), `"field": "serial"`) {
			t.Errorf("someone else's key: %d %s", code, body)
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v2/me", 404}, {"DELETE", "/v1/me", 405}, {"PUT", "/v1/people/x", 405}, {"GET", "/v1/people/x/erase", 405}, {"GET", "/", 303},
	} {
		code, body := e.call("it", c.method, c.path, nil)
		if code != c.want || (code >= 400 && !strings.Contains(string(body), `"error"`)) {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, body, c.want)
		}
	}
}

func TestTeamOrderAndOverdue(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	// boss's tree: mid (started 2025-06, overdue), ann (2026-01-05, overdue
	// on 2026-03-02), bob (started 2026-03-01, in progress). Bob completes.
	e.do("bob", "POST", "/v1/reports", fullReport("bob-key-1", 501, tracker.RoleEveryday), 200, nil)
	e.do("bob", "POST", "/v1/reports", fullReport("bob-key-2", 502, tracker.RoleBackup), 200, nil)
	var v tracker.TeamView
	e.do("boss", "GET", "/v1/team", nil, 200, &v)
	var order []string
	for _, r := range v.Rows {
		order = append(order, r.Person.Name)
	}
	if strings.Join(order, ",") != "mid,ann,bob" {
		t.Errorf("row order %v, want overdue (oldest start first), then complete", order)
	}
	if v.Summary != (tracker.Summary{People: 3, Complete: 1, Overdue: 2}) {
		t.Errorf("summary %+v", v.Summary)
	}
	if !v.Rows[0].Overdue || v.Rows[2].Overdue || !v.Rows[2].Complete {
		t.Errorf("flags: %+v", v.Rows)
	}
}

func TestInvites(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		var inv tracker.Invite
		e.do("it", "POST", "/v1/people/"+e.id("zed")+"/invite", tracker.Reasoned{Reason: "new hire"}, 201, &inv)
		var x tracker.ExchangeResult
		e.do("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: inv.Code, Device: "zed-mac"}, 200, &x)
		if x.Person.ID != e.id("zed") || !strings.HasPrefix(x.Token, "kwt_") {
			t.Fatalf("exchange: %+v", x)
		}
		e.tokens["zed"] = x.Token
		var me tracker.Person
		e.do("zed", "GET", "/v1/me", nil, 200, &me)
		if me.Email != "zed@example.com" {
			t.Errorf("me: %+v", me)
		}
		// Reused.
		e.do("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: inv.Code}, 401, nil)
		// Superseded by a newer invite.
		var old, fresh tracker.Invite
		e.do("it", "POST", "/v1/people/"+e.id("zed")+"/invite", tracker.Reasoned{Reason: "second laptop"}, 201, &old)
		e.do("it", "POST", "/v1/people/"+e.id("zed")+"/invite", tracker.Reasoned{Reason: "third laptop"}, 201, &fresh)
		e.do("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: old.Code}, 401, nil)
		// Expired.
		e.clock.Add(15 * 24 * time.Hour)
		e.do("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: fresh.Code}, 401, nil)
		// Tampered secret.
		e.do("it", "POST", "/v1/people/"+e.id("zed")+"/invite", tracker.Reasoned{Reason: "again"}, 201, &fresh)
		e.do("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: fresh.Code + "x"}, 401, nil)
		e.do("", "POST", "/v1/auth/exchange", tracker.Exchange{InviteCode: fresh.Code}, 200, nil)
		// Revocation ends the token.
		e.do("it", "POST", "/v1/people/"+e.id("zed")+"/revoke-tokens", tracker.Reasoned{Reason: "laptop stolen"}, 204, nil)
		e.do("zed", "GET", "/v1/me", nil, 401, nil)
	})
}

func TestTokensStoredHashed(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	tok := e.tokens["ann"]
	selector := tok[len("kwt_") : len("kwt_")+16]
	c, err := e.st.Token(context.Background(), selector)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok, c.Hash) || strings.Contains(c.Hash, tok[len("kwt_")+17:]) || len(c.Hash) != 64 {
		t.Errorf("stored token %q is not a SHA-256 hash of the secret", c.Hash)
	}
}

func TestValidationNamesField(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	good := `{"email":"x@example.com","name":"X","start_date":"2026-03-02"}`
	for _, c := range []struct {
		path, body, field string
		code              int
	}{
		{"/v1/people", strings.Replace(good, "2026-03-02", "02/03/2026", 1), "start_date", 400},
		{"/v1/people", strings.Replace(good, "x@example.com", "X@Example.com", 1), "email", 400},
		{"/v1/people", strings.Replace(good, `"name":"X"`, `"name":""`, 1), "name", 400},
		{"/v1/people", strings.Replace(good, `"name":"X"`, `"nmae":"X"`, 1), "nmae", 400},
		{"/v1/people", strings.Replace(good, `"name":"X"`, `"name":7`, 1), "name", 400},
		{"/v1/people", strings.Replace(good, "}", `,"manager_email":"ghost@example.com"}`, 1), "manager_email", 400},
		{"/v1/people", `{"email":"it@example.com","name":"X","start_date":"2026-03-02"}`, "email", 409},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":0,"model":"m","role":"everyday","app_version":"1","items":[]}`, "serial", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"spare","app_version":"1","items":[]}`, "role", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[{"service":"Google!","evidence":"self-attested","at":"2026-03-02T00:00:00Z"}]}`, "items[0].service", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[{"service":"okta","evidence":"trust me","at":"2026-03-02T00:00:00Z"}]}`, "items[0].evidence", 400},
		{"/v1/reports", `{"idempotency_key":"short","serial":5,"model":"m","role":"backup","app_version":"1","items":[]}`, "idempotency_key", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5000000000,"model":"m","role":"backup","app_version":"1","items":[]}`, "serial", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":"5","model":"m","role":"backup","app_version":"1","items":[]}`, "serial", 400},
		// Nested values are named by their full path, index included.
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[{"service":"okta","evidence":"self-attested","at":"2026-03-02T00:00:00Z"},{"service":"aws","evidence":"self-attested","at":"yesterday"}]}`, "items[1].at", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[{"service":"okta","evidence":"self-attested","at":1772409600}]}`, "items[0].at", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[{"service":"okta","evidence":"self-attested","at":"2026-03-02T00:00:00Z","x":1}]}`, "items[0].x", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[{"service":7,"evidence":"self-attested","at":"2026-03-02T00:00:00Z"}]}`, "items[0].service", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":{}}`, "items", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[],"attestation":{"certificate":"not base64!","slot":"AAAA"}}`, "attestation.certificate", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[],"attestation":{"certificate":"AAAA","slot":"AAAA","chain":[]}}`, "attestation.chain", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[],"attestation":"AAAA"}`, "attestation", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[],"services":[{"id":"otp","name":"OTP"}]}`, "services[0].id", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[],"services":[{"id":"okta","name":"Okta"},{"id":"okta","name":"Okta"}]}`, "services[1].id", 400},
		{"/v1/reports", `{"idempotency_key":"abcdefgh","serial":5,"model":"m","role":"backup","app_version":"1","items":[],"services":[{"id":"okta","name":""}]}`, "services[0].name", 400},
	} {
		who := "it"
		if strings.HasPrefix(c.path, "/v1/reports") {
			who = "ann"
		}
		code, data := e.call(who, "POST", c.path, c.body)
		var body tracker.ErrorBody
		json.Unmarshal(data, &body)
		if code != c.code || body.Field != c.field || !strings.HasPrefix(body.Error, c.field+": ") {
			t.Errorf("POST %s %s: %d %s; want %d naming %q", c.path, c.body, code, data, c.code, c.field)
		}
	}
	// Org-specific services are accepted.
	r := fullReport("ann-okta-1", 909, tracker.RoleEveryday)
	r.Items = append(r.Items, tracker.ReportItem{Service: "okta", Evidence: tracker.EvidenceSelf, At: start})
	e.do("ann", "POST", "/v1/reports", r, 200, nil)
	// Oversize bodies are refused.
	big := `{"reason":"` + strings.Repeat("a", tracker.MaxBodyBytes) + `"}`
	if code, _ := e.call("it", "POST", "/v1/people/"+e.id("ann")+"/invite", big); code != 413 {
		t.Errorf("oversize body: %d, want 413", code)
	}
}

func TestEraseAndExport(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-key-1", 6001, tracker.RoleEveryday), 200, nil)
		e.do("it", "POST", "/v1/people/"+e.id("ann")+"/keys/6001/status", tracker.KeyStatusChange{Status: tracker.KeyLost, Reason: "Ann Smith lost it at home"}, 204, nil)
		var x tracker.PersonExport
		e.do("ann", "GET", "/v1/people/"+e.id("ann")+"/export", nil, 200, &x)
		if x.Person.Email != "ann@example.com" || len(x.Keys) != 1 || len(x.Items) != 3 || len(x.Audit) == 0 {
			t.Errorf("export: %+v", x)
		}
		// Free text could name her, and the erasure's entry is kept.
		for _, reason := range []string{"Ann Smith asked, ticket PRIV-7", "ann@example.com", ""} {
			code, data := e.call("it", "POST", "/v1/people/"+e.id("ann")+"/erase", tracker.Reasoned{Reason: reason})
			var body tracker.ErrorBody
			if json.Unmarshal(data, &body); code != 400 || body.Field != "reason" || strings.Contains(body.Error, reason) && reason != "" {
				t.Errorf("erase with reason %q: %d %s, want 400 on reason, not echoed", reason, code, data)
			}
		}
		e.do("it", "GET", "/v1/people/"+e.id("ann"), nil, 200, nil)
		e.do("it", "POST", "/v1/people/"+e.id("ann")+"/erase", tracker.Erasure{Reason: tracker.ErasurePersonRequest}, 204, nil)
		e.do("it", "GET", "/v1/people/"+e.id("ann"), nil, 404, nil)
		code, data := e.call("it", "GET", "/v1/audit", nil)
		if code != 200 {
			t.Fatal(code)
		}
		if strings.Contains(string(data), "ann@example.com") || strings.Contains(string(data), "Ann Smith") {
			t.Errorf("audit log keeps personal data after erasure: %s", data)
		}
		var log []tracker.AuditEntry
		json.Unmarshal(data, &log)
		if log[0].Action != "person.erase" || log[0].Subject != e.id("ann") || log[0].Reason != string(tracker.ErasurePersonRequest) {
			t.Errorf("erasure entry: %+v", log[0])
		}
		// Her manager's team is empty now, and the tree is intact above.
		var v tracker.TeamView
		e.do("mid", "GET", "/v1/team", nil, 200, &v)
		if len(v.Rows) != 0 {
			t.Errorf("mid still sees %d rows", len(v.Rows))
		}
		// Ann's token no longer works.
		e.do("ann", "GET", "/v1/me", nil, 401, nil)
	})
}

func TestExportsCSV(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	var p tracker.Person
	e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: "eq@example.com", Name: "=HYPERLINK(1)", ManagerEmail: "mid@example.com", StartDate: "2026-02-01"}, 201, &p)
	e.do("ann", "POST", "/v1/reports", fullReport("ann-key-1", 6001, tracker.RoleEveryday), 200, nil)
	x := e.exportCSV("mid")
	data, recs := x.file, x.rows
	get := func(rec map[string]string, c string) string { return rec[c] }
	// ann: a person row, her key and its 3 items; the new person: a
	// person row and their creation event.
	kinds := map[string]int{}
	var sawFormula, sawItem, sawNew bool
	for _, rec := range recs {
		kinds[get(rec, "record")]++
		if get(rec, "name") == "'=HYPERLINK(1)" {
			sawFormula = true
		}
		if get(rec, "record") == "item" && get(rec, "email") == "ann@example.com" && get(rec, "serial") == "6001" && get(rec, "model") == "YubiKey 5C NFC" && get(rec, "service") != "" {
			sawItem = true
		}
		if get(rec, "record") == "person" && get(rec, "email") == "eq@example.com" && get(rec, "manager_email") == "mid@example.com" {
			sawNew = true
		}
		if get(rec, "email") == "bob@example.com" {
			t.Error("mid's export contains bob, who is not in mid's team")
		}
	}
	if !sawFormula || !sawItem || !sawNew {
		t.Errorf("CSV content: formula defused %v, ann's item %v, new person with manager %v: %q", sawFormula, sawItem, sawNew, recs)
	}
	if kinds["person"] != 2 || kinds["key"] != 1 || kinds["item"] != 3 || kinds["event"] < 1 {
		t.Errorf("records by kind: %v", kinds)
	}
	for _, h := range []string{"# format: keywizard-tracker-export/1\n", "# generated_by: mid <mid@example.com> (" + e.id("mid") + ")\n", "# scope: reports of mid <mid@example.com>", "# policy: complete when both keys", "# audit_head: ", "# signing_key: "} {
		if !strings.Contains(string(data), h) {
			t.Errorf("header lacks %q:\n%s", h, data)
		}
	}
}

func TestDigest(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		sent, err := e.srv.SendDigest(ctx)
		if err != nil || !sent {
			t.Fatalf("first digest: %v %v", sent, err)
		}
		msgs := e.hook.messages()
		if len(msgs) != 1 {
			t.Fatalf("messages: %q", msgs)
		}
		for _, who := range []string{"boss@", "mid@", "eve@", "ann@"} {
			if !strings.Contains(msgs[0], who) {
				t.Errorf("digest lacks overdue %s: %q", who, msgs[0])
			}
		}
		if strings.Contains(msgs[0], "bob@") {
			t.Errorf("digest lists bob, who started yesterday: %q", msgs[0])
		}
		// A second instance on the same store does not send it again.
		srv2, _ := server.New(server.Config{Store: e.st, Now: e.clock.Now, WebhookURL: e.hook.srv.URL})
		if sent, err := srv2.SendDigest(ctx); sent || err != nil {
			t.Errorf("second digest the same day: %v %v", sent, err)
		}
		e.clock.Add(24 * time.Hour)
		if sent, err := srv2.SendDigest(ctx); !sent || err != nil {
			t.Errorf("next day's digest: %v %v", sent, err)
		}
	})
}

func TestRunDigestSchedules(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	ticks := make(chan time.Time)
	waits := make(chan time.Duration, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.srv.RunDigest(ctx, 8, func(d time.Duration) <-chan time.Time { waits <- d; return ticks })
		close(done)
	}()
	// start is 09:00 UTC, so the next 08:00 is 23 hours away.
	if d := <-waits; d != 23*time.Hour {
		t.Errorf("first wait %v, want 23h", d)
	}
	ticks <- start
	waitFor(t, "digest", func() bool { return len(e.hook.messages()) == 1 })
	<-waits
	cancel()
	<-done
}

func TestAuthRateLimit(t *testing.T) {
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	srv, _ := server.New(server.Config{Store: st, AuthRate: 1, AuthBurst: 3, Logf: t.Logf})
	h := srv.Handler()
	var codes []int
	for range 5 {
		rec := newRecorder()
		req, _ := http.NewRequest("POST", "/v1/auth/exchange", strings.NewReader(`{"invite_code":"kwi_0123456789abcdef_guess"}`))
		req.RemoteAddr = "192.0.2.1:1234"
		h.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[2] != 401 || codes[3] != 429 || codes[4] != 429 {
		t.Errorf("exchange statuses %v; want three 401s then 429", codes)
	}
	// Bad bearer tokens are limited too; another IP is not affected.
	for i, ip := range []string{"192.0.2.9", "192.0.2.9", "192.0.2.9", "192.0.2.9", "198.51.100.1"} {
		rec := newRecorder()
		req, _ := http.NewRequest("GET", "/v1/me", nil)
		req.Header.Set("Authorization", "Bearer kwt_0123456789abcdef_guess")
		req.RemoteAddr = ip + ":1"
		h.ServeHTTP(rec, req)
		want := 401
		if i == 3 {
			want = 429
		}
		if rec.Code != want {
			t.Errorf("bad token %d from %s: %d, want %d", i, ip, rec.Code, want)
		}
	}
}

// TestRateLimitSpendsOnlyFailures: many people share one address behind a
// load balancer or NAT; a guesser among them spends the address's budget,
// and must not lock the others out, while still getting only 429s.
func TestRateLimitSpendsOnlyFailures(t *testing.T) {
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	now := start
	srv, err := server.New(server.Config{Store: st, AuthRate: 1, AuthBurst: 2, Now: func() time.Time { return now }, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	admin, tok, err := server.CreateAdmin(context.Background(), st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk"}, now)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, bearer, body string) int {
		t.Helper()
		rec := newRecorder()
		req, _ := http.NewRequest(method, path, strings.NewReader(body))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if method == "POST" && strings.HasPrefix(body, "credential=") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.RemoteAddr = "192.0.2.1:1234"
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	// Successes spend nothing: more than the burst all work.
	for i := range 4 {
		if code := do("GET", "/v1/me", tok, ""); code != 200 {
			t.Fatalf("valid token, request %d: %d, want 200", i, code)
		}
	}
	// The guesser spends the budget and is then throttled.
	bad := "kwt_0123456789abcdef_guess"
	if got := []int{do("GET", "/v1/me", bad, ""), do("GET", "/v1/me", bad, ""), do("GET", "/v1/me", bad, "")}; got[0] != 401 || got[1] != 401 || got[2] != 429 {
		t.Fatalf("bad token: %v, want [401 401 429]", got)
	}
	if code := do("POST", "/v1/auth/exchange", "", `{"invite_code":"kwi_0123456789abcdef_guess"}`); code != 429 {
		t.Errorf("bad invite code from the spent address: %d, want 429", code)
	}
	if code := do("POST", "/login", "", "credential="+bad); code != 429 {
		t.Errorf("bad token at /login from the spent address: %d, want 429", code)
	}
	// Valid credentials still work from the spent address.
	if code := do("GET", "/v1/me", tok, ""); code != 200 {
		t.Errorf("valid token from the spent address: %d, want 200", code)
	}
	if code := do("POST", "/login", "", "credential="+tok); code != http.StatusSeeOther {
		t.Errorf("valid token at /login from the spent address: %d, want 303", code)
	}
	inv, err := server.IssueInvite(context.Background(), st, admin.ID, admin.ID, "test", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if code := do("POST", "/v1/auth/exchange", "", `{"invite_code":"`+inv.Code+`"}`); code != 200 {
		t.Errorf("valid invite code from the spent address: %d, want 200", code)
	}
	// And the guesser is still throttled afterwards.
	if code := do("GET", "/v1/me", bad, ""); code != 429 {
		t.Errorf("bad token after valid ones: %d, want 429", code)
	}
}

func TestRateLimitBehindProxy(t *testing.T) {
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	srv, _ := server.New(server.Config{Store: st, AuthRate: 1, AuthBurst: 1, TrustProxy: true, Logf: t.Logf})
	h := srv.Handler()
	try := func(xff string) int {
		rec := newRecorder()
		req, _ := http.NewRequest("POST", "/v1/auth/exchange", strings.NewReader(`{"invite_code":"kwi_0123456789abcdef_guess"}`))
		req.RemoteAddr = "10.0.0.1:1" // the load balancer
		req.Header.Set("X-Forwarded-For", xff)
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	// The client cannot dodge the limit by prepending addresses; a
	// different client behind the same balancer is not limited.
	got := []int{try("192.0.2.1"), try("203.0.113.7, 192.0.2.1"), try("192.0.2.2")}
	if got[0] != 401 || got[1] != 429 || got[2] != 401 {
		t.Errorf("statuses %v, want [401 429 401]", got)
	}
}

func TestDashboardLogin(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	form := url.Values{"credential": {e.tokens["mid"]}}
	resp, err := noRedirect.PostForm(e.http.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "kw_token" {
			cookie = c
		}
	}
	if resp.StatusCode != 303 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookie %+v", resp.StatusCode, cookie)
	}
	get := func(method, path string) int {
		req, _ := http.NewRequest(method, e.http.URL+path, strings.NewReader(`{}`))
		req.AddCookie(cookie)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("GET", "/dashboard"); c != 200 {
		t.Errorf("dashboard with cookie: %d", c)
	}
	if c := get("GET", "/v1/export.csv"); c != 200 {
		t.Errorf("export with cookie: %d", c)
	}
	// The cookie does not authorise API calls, so a cross-site form
	// cannot make them.
	if c := get("POST", "/v1/reports"); c != 401 {
		t.Errorf("report with only the cookie: %d, want 401", c)
	}
	if c := get("GET", "/v1/team"); c != 401 {
		t.Errorf("API read with only the cookie: %d, want 401", c)
	}
	// An invite code signs in too, once.
	var inv tracker.Invite
	e.do("it", "POST", "/v1/people/"+e.id("eve")+"/invite", tracker.Reasoned{Reason: "browser"}, 201, &inv)
	for i, want := range []int{303, 401} {
		resp, err := noRedirect.PostForm(e.http.URL+"/login", url.Values{"credential": {inv.Code}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("invite login %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

var _ = store.ErrNotFound
