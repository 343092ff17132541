package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// TestLostKeyFlow: ann reports her backup key lost; only she can; IT is
// told through the webhook (event key.reported-lost); she is incomplete
// now in every answer; IT finds the key by serial and confirms it; a
// refused change is a 409 on status; the replacement makes her complete
// again (event person.complete-again), with the history to show it; a
// wipe's erased list is in the audit entry.
func TestLostKeyFlow(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ann := e.id("ann")
		var res tracker.ReportResult
		e.do("ann", "POST", "/v1/reports", fullReport("ann-everyday", 6100, tracker.RoleEveryday), 200, &res)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-backup", 6200, tracker.RoleBackup), 200, &res)
		if !res.Complete {
			t.Fatalf("both keys: %+v, want complete", res)
		}
		loss := tracker.LossReport{Serial: 6200, Role: tracker.RoleBackup, Reason: "left it on the train", At: start}

		// Nobody else can report it, and an unknown serial looks the same.
		for _, who := range []string{"bob", "mid", "it"} {
			code, body := e.call(who, "POST", "/v1/me/keys/6200/lost", loss)
			if code != http.StatusNotFound || strings.Contains(string(body), "ann") {
				t.Errorf("%s reporting ann's key: %d %s, want a bare 404", who, code, body)
			}
		}
		unknown := loss
		unknown.Serial = 6999
		if code, body := e.call("ann", "POST", "/v1/me/keys/6999/lost", unknown); code != http.StatusNotFound {
			t.Errorf("unknown serial: %d %s", code, body)
		}
		if code, body := e.call("ann", "POST", "/v1/me/keys/6100/lost", loss); code != http.StatusBadRequest || !strings.Contains(string(body), `"field": "serial"`) {
			t.Errorf("path and body disagree: %d %s", code, body)
		}
		noReason := loss
		noReason.Reason = ""
		if code, body := e.call("ann", "POST", "/v1/me/keys/6200/lost", noReason); code != http.StatusBadRequest || !strings.Contains(string(body), `"field": "reason"`) {
			t.Errorf("no reason: %d %s", code, body)
		}

		e.clock.Add(time.Hour)
		var st tracker.PersonStatus
		e.do("ann", "POST", "/v1/me/keys/6200/lost", loss, 200, &st)
		if st.Complete || st.Person.Complete || st.Person.ID != ann || len(st.Completion) != 2 || st.Completion[1].Complete {
			t.Errorf("answer to the loss report: %+v; want ann, not complete, history completed then not", st)
		}
		if i := slices.IndexFunc(st.Keys, func(k tracker.Key) bool { return k.Serial == 6200 }); i < 0 || st.Keys[i].Status != tracker.KeyReportedLost {
			t.Errorf("keys in the answer: %+v", st.Keys)
		}
		// Sent again (the wizard's queue), it changes nothing and IT is
		// not told twice.
		e.do("ann", "POST", "/v1/me/keys/6200/lost", loss, 200, &st)
		var me tracker.Person
		e.do("ann", "GET", "/v1/me", nil, 200, &me)
		if me.Complete || !me.CompletedAt.IsZero() {
			t.Errorf("GET /v1/me after the loss: %+v, want not complete", me)
		}
		e.do("ann", "POST", "/v1/reports", fullReport("ann-e-again", 6100, tracker.RoleEveryday), 200, &res)
		if res.Complete {
			t.Errorf("report after the loss: %+v, want complete false (complete now)", res)
		}
		var v tracker.TeamView
		e.do("mid", "GET", "/v1/team", nil, 200, &v)
		if len(v.LostKeys) != 1 || v.LostKeys[0].Key.Status != tracker.KeyReportedLost || v.Rows[0].Complete ||
			!v.LostKeys[0].LostAt.Equal(e.clock.Now()) || v.LostKeys[0].ReplacedBy != 0 {
			t.Errorf("mid's team after the loss: lost %+v, rows %+v", v.LostKeys, v.Rows)
		}

		// IT finds it by serial, and the look-up is audited.
		var rec tracker.KeyRecord
		e.do("it", "GET", "/v1/keys/6200", nil, 200, &rec)
		if rec.PersonID != ann || rec.OwnerName != "ann" || rec.OwnerEmail != "ann@example.com" || rec.Status != tracker.KeyReportedLost ||
			len(rec.History) != 2 || rec.History[1].Actor != ann || rec.History[1].Reason != "left it on the train" {
			t.Errorf("key record: %+v", rec)
		}
		// IT confirms it, then marking it found after retiring is refused.
		e.do("it", "POST", "/v1/keys/6200/status", tracker.KeyStatusChange{Status: tracker.KeyLost, Reason: "ticket IT-7: confirmed with ann"}, 200, &rec)
		if rec.Status != tracker.KeyLost || len(rec.History) != 3 || rec.History[2].ActorName != "IT Desk" {
			t.Errorf("after confirming: %+v", rec)
		}
		if code, body := e.call("it", "POST", "/v1/keys/6200/status", tracker.KeyStatusChange{Status: tracker.KeyActive}); code != http.StatusBadRequest || !strings.Contains(string(body), `"field": "reason"`) {
			t.Errorf("no reason: %d %s", code, body)
		}
		e.do("it", "POST", "/v1/keys/6200/status", tracker.KeyStatusChange{Status: tracker.KeyRetired, Reason: "wiped", Erased: []string{"fido2", "piv", "oath"}}, 200, &rec)
		code, body := e.call("it", "POST", "/v1/keys/6200/status", tracker.KeyStatusChange{Status: tracker.KeyActive, Reason: "found it after all"})
		if code != http.StatusConflict || !strings.Contains(string(body), `"field": "status"`) || !strings.Contains(string(body), "retired") {
			t.Errorf("retired to active: %d %s, want 409 on status", code, body)
		}

		// The replacement.
		e.clock.Add(time.Hour)
		e.do("ann", "POST", "/v1/reports", fullReport("ann-backup-2", 6300, tracker.RoleBackup), 200, &res)
		if !res.Complete {
			t.Errorf("replacement: %+v, want complete", res)
		}
		e.do("ann", "GET", "/v1/me", nil, 200, &me)
		if !me.Complete || !me.CompletedAt.Equal(e.clock.Now()) {
			t.Errorf("GET /v1/me after the replacement: %+v", me)
		}
		e.srv.Close() // waits for the webhooks in flight
		if m := e.hook.eventsOf("key.reported-lost"); len(m) != 1 || !strings.Contains(m[0], "ann@example.com") || !strings.Contains(m[0], "6200") || !strings.Contains(m[0], "left it on the train") {
			t.Errorf("reported-lost webhooks %q, want one naming ann, the key and her reason", m)
		}
		if m := e.hook.eventsOf("person.complete-again"); len(m) != 1 || !strings.Contains(m[0], "ann@example.com") {
			t.Errorf("complete-again webhooks %q", m)
		}
		if m := e.hook.eventsOf("person.complete"); len(m) != 1 {
			t.Errorf("first completion webhooks %q", m)
		}

		var audit []tracker.AuditEntry
		e.do("it", "GET", "/v1/audit?subject="+ann, nil, 200, &audit)
		want := map[string]string{
			"key.reported-lost": "serial 6200, noticed",
			"key.lost":          "serial 6200",
			"key.retired":       "serial 6200; erased: fido2, piv, oath",
			"key.read":          "key 6200",
		}
		for action, detail := range want {
			n := 0
			for _, a := range audit {
				if a.Action == action && strings.HasPrefix(a.Detail, detail) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d audit entries %s with detail %q, want 1", n, action, detail)
			}
		}
		for _, a := range audit {
			if a.Action == "key.reported-lost" && (a.Actor != ann || a.Reason != "left it on the train") {
				t.Errorf("loss report's audit entry: %+v", a)
			}
		}
		// The exports, signed, show the lost and the replacing key with
		// their dates, and the completion history.
		code, file := e.call("mid", "GET", "/v1/export.json", nil)
		if _, err := evidence.Verify(e.signer.PublicKey(), file); code != 200 || err != nil {
			t.Fatalf("JSON export: %d, %v", code, err)
		}
		var x server.Export
		if err := json.Unmarshal(file, &x); err != nil {
			t.Fatal(err)
		}
		if len(x.People) != 1 || len(x.People[0].Completion) != 3 || !x.People[0].Complete ||
			!x.People[0].Completion[2].At.Equal(e.clock.Now()) || x.People[0].Completion[1].Cause != "key 6200 reported lost" {
			t.Errorf("export's people and completion: %+v", x.People)
		}
		var life []string
		for _, ev := range x.KeyHistory {
			life = append(life, fmt.Sprintf("%d %s %s", ev.Serial, ev.Status, ev.At.Format("15:04")))
		}
		if want := "6100 active 09:00|6200 active 09:00|6200 reported-lost 10:00|6200 lost 10:00|6200 retired 10:00|6300 active 11:00"; strings.Join(life, "|") != want {
			t.Errorf("export's key history:\n%s\nwant\n%s", strings.Join(life, "|"), want)
		}
		if ev := x.KeyHistory[4]; !slices.Equal(ev.Erased, []string{"fido2", "piv", "oath"}) || ev.Reason != "wiped" {
			t.Errorf("the wipe in the export: %+v", ev)
		}
		var completion, wipes []string
		for _, rec := range e.exportCSV("it").rows {
			if rec["person_id"] != ann {
				continue
			}
			switch rec["record"] {
			case "completion":
				completion = append(completion, rec["event"]+" "+rec["at"])
			case "key_event":
				if rec["key_status"] == "retired" {
					wipes = append(wipes, rec["serial"]+" "+rec["reason"]+" "+rec["detail"])
				}
			}
		}
		if want := "completed 2026-03-02T09:00:00Z|incomplete 2026-03-02T10:00:00Z|completed 2026-03-02T11:00:00Z"; strings.Join(completion, "|") != want {
			t.Errorf("CSV completion rows %q, want %q", completion, want)
		}
		if len(wipes) != 1 || wipes[0] != "6200 wiped erased: fido2, piv, oath" {
			t.Errorf("CSV retired key rows %q", wipes)
		}
		// Her own export holds the histories too (everything stored
		// about her).
		code, file = e.call("ann", "GET", "/v1/people/"+ann+"/export", nil)
		var px tracker.PersonExport
		if code != 200 || json.Unmarshal(file, &px) != nil || len(px.Completion) != 3 || len(px.KeyHistory) != 6 {
			t.Errorf("ann's export: %d, completion %+v, key history %+v", code, px.Completion, px.KeyHistory)
		}
		var hist tracker.PersonStatus
		e.do("ann", "POST", "/v1/me/keys/6300/lost", tracker.LossReport{Serial: 6300, Role: tracker.RoleBackup, Reason: "again", At: e.clock.Now()}, 200, &hist)
		var got []string
		for _, c := range hist.Completion {
			got = append(got, fmt.Sprint(c.Complete))
		}
		if strings.Join(got, " ") != "true false true false" {
			t.Errorf("completion history %+v", hist.Completion)
		}
	})
}
