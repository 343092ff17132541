package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// entries returns every audit entry with action, newest first, reads and
// refusals included.
func (e *env) entries(action string) []tracker.AuditEntry {
	e.t.Helper()
	es, err := e.st.Audit(context.Background(), "", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []tracker.AuditEntry
	for _, a := range es {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func (e *env) verifyChain() evidence.ChainSummary {
	e.t.Helper()
	var v evidence.Verifier
	if err := e.st.AuditChain(context.Background(), func(x evidence.Entry) error { return v.Add(x) }); err != nil {
		e.t.Fatalf("audit chain: %v", err)
	}
	sum, err := v.Finish()
	if err != nil {
		e.t.Fatalf("audit chain: %v", err)
	}
	return sum
}

func TestExportsSignedAndAudited(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-key-1", 6001, tracker.RoleEveryday), 200, nil)
		e.do("it", "POST", "/v1/people/"+e.id("ann")+"/keys/6001/status", tracker.KeyStatusChange{Status: tracker.KeyLost, Reason: "left in a taxi"}, 204, nil)

		// The public key is served, and is the signer's.
		code, pubText := e.call("", "GET", "/v1/signing-key", nil)
		pub, err := evidence.ParsePublicKey(pubText)
		if code != 200 || err != nil || !pub.Equal(e.signer.PublicKey()) {
			t.Fatalf("signing key: %d %v %s", code, err, pubText)
		}
		for _, x := range []struct{ who, path, action, subject string }{
			{"mid", "/v1/export.csv", "export.csv", e.id("mid")},
			{"it", "/v1/export.json", "export.json", ""},
			{"ann", "/v1/people/" + e.id("ann") + "/export", "person.export", e.id("ann")},
		} {
			code, file := e.call(x.who, "GET", x.path, nil)
			if code != 200 {
				t.Fatalf("%s: %d %s", x.path, code, file)
			}
			v, err := evidence.Verify(pub, file)
			if err != nil {
				t.Fatalf("%s: a fresh export does not verify: %v", x.path, err)
			}
			if !strings.Contains(v.Trusted, "by "+e.people[x.who].Email) {
				t.Errorf("%s: trusted comment %q", x.path, v.Trusted)
			}
			bad := []byte(strings.Replace(string(file), "ann@example.com", "anm@example.com", 1))
			if _, err := evidence.Verify(pub, bad); !errors.Is(err, evidence.ErrBadSignature) {
				t.Errorf("%s: a changed e-mail verified: %v", x.path, err)
			}
			// Audited, with the file's hash, by whom and of whom.
			got := e.entries(x.action)
			sum := sha256.Sum256(file)
			if len(got) != 1 || got[0].Actor != e.id(x.who) || got[0].Subject != x.subject || !strings.HasSuffix(got[0].Detail, "sha256 "+hex.EncodeToString(sum[:])) {
				t.Errorf("%s: audit entries %+v", x.path, got)
			}
		}

		// The JSON export: header, manager, genuine-key detail, history.
		_, file := e.call("it", "GET", "/v1/export.json", nil)
		var x server.Export
		if err := json.Unmarshal(file, &x); err != nil {
			t.Fatal(err)
		}
		h := x.Header
		if h.Format != tracker.ExportFormat || h.GeneratedBy.ID != e.id("it") || h.Scope != "everyone" || !h.GeneratedAt.Equal(start) ||
			len(h.Policy.RequiredServices) != 2 || h.Policy.Rule == "" || h.AuditHead == "" || h.SigningKey == "" || x.Signature == "" {
			t.Errorf("header: %+v, signature %q", h, x.Signature)
		}
		anchor, err := evidence.ParseHead(h.AuditHead)
		if err != nil {
			t.Fatalf("audit head %q: %v", h.AuditHead, err)
		}
		var ann tracker.ExportPerson
		for _, p := range x.People {
			if p.ID == e.id("ann") {
				ann = p
			}
		}
		if ann.ManagerEmail != "mid@example.com" || ann.Email != "ann@example.com" {
			t.Errorf("ann in the export: %+v", ann)
		}
		var lost bool
		for _, ev := range x.History {
			if ev.PersonID == e.id("ann") && ev.Event == "key.lost" && ev.Reason == "left in a taxi" && ev.Actor == e.id("it") {
				lost = true
			}
			if strings.HasPrefix(ev.Event, "export.") || ev.Event == "person.export" {
				t.Errorf("a read in the history: %+v", ev)
			}
		}
		if !lost {
			t.Errorf("the loss is not in the history: %+v", x.History)
		}
		if len(x.Keys) == 0 || x.Keys[0].GenuineDetail == "" {
			t.Errorf("keys lack genuine detail: %+v", x.Keys)
		}
		// The log holds the head the export named.
		v := evidence.Verifier{Anchors: []evidence.Head{anchor}}
		if err := e.st.AuditChain(context.Background(), v.Add); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Finish(); err != nil {
			t.Errorf("the export's audit head is not in the log: %v", err)
		}
	})
}

func TestReadsAndRefusalsAudited(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		e.do("it", "GET", "/v1/people", nil, 200, nil)
		e.do("mid", "GET", "/v1/team", nil, 200, nil)
		e.do("it", "GET", "/v1/audit?subject="+e.id("ann"), nil, 200, nil)
		for _, c := range []struct{ action, actor, subject string }{
			{"people.list", "it", ""}, {"team.read", "mid", "mid"}, {"audit.read", "it", "ann"},
		} {
			got := e.entries(c.action)
			subject := ""
			if c.subject != "" {
				subject = e.id(c.subject)
			}
			if len(got) != 1 || got[0].Actor != e.id(c.actor) || got[0].Subject != subject {
				t.Errorf("%s: %+v", c.action, got)
			}
		}

		// Refusals: who, if known, what and from where, never the query.
		e.do("ann", "GET", "/v1/people?secret=kwt_x", nil, 403, nil)
		e.do("", "GET", "/v1/me", nil, 401, nil)
		got := e.entries("request.refused")
		if len(got) != 2 || got[1].Actor != e.id("ann") || got[1].Detail != "403 GET /v1/people from 127.0.0.1" ||
			got[0].Actor != "anonymous" || got[0].Detail != "401 GET /v1/me from 127.0.0.1" {
			t.Fatalf("refusals logged as %+v", got)
		}

		// A sign-in page that refuses answers itself; it is logged too.
		resp, err := noRedirect.PostForm(e.http.URL+"/login", url.Values{"credential": {"kwt_0123456789abcdef_wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("bad sign-in: %d", resp.StatusCode)
		}
		if got := e.entries("request.refused"); len(got) != 3 || got[0].Detail != "401 POST /login from 127.0.0.1" {
			t.Fatalf("refused sign-in logged as %+v", got)
		}

		// A flood from one address: a few entries, then a count.
		for range 200 {
			e.call("", "GET", "/v1/me", nil)
		}
		flood := len(e.entries("request.refused")) - 3
		if flood < 1 || flood > 6 {
			t.Errorf("200 refusals wrote %d entries, want at most the burst of 6", flood)
		}
		e.clock.Add(time.Minute)
		e.call("", "GET", "/v1/me", nil)
		last := e.entries("request.refused")[0]
		if !strings.Contains(last.Detail, "more refusals since") || !strings.Contains(last.Detail, "not logged (rate limit)") {
			t.Errorf("the entry after a flood does not count what was left out: %q", last.Detail)
		}
		e.verifyChain()
	})
}

// Many addresses cannot fill the log either: the overall limit holds.
func TestRefusalsLimitedOverall(t *testing.T) {
	st, _ := testdb.Open(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	srv, err := server.New(server.Config{Store: st, Now: func() time.Time { return start }, Logf: t.Logf, RefusedTotal: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		req, _ := http.NewRequest("GET", "/v1/me", nil)
		req.RemoteAddr = fmt.Sprintf("10.0.0.%d:1234", i)
		rec := newRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Fatalf("%d", rec.Code)
		}
	}
	es, err := st.Audit(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 10 {
		t.Errorf("100 refusals from 100 addresses wrote %d entries, want the overall burst of 10", len(es))
	}
}
