package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest/attesttest"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// instance is one tracker server with its own store on a shared database,
// as one of several behind a load balancer.
type instance struct {
	st   store.Store
	srv  *server.Server
	http *httptest.Server
}

func newInstance(t *testing.T, dsn string, cfg server.Config) instance {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = st
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { h.Close(); srv.Close(); st.Close() })
	return instance{st: st, srv: srv, http: h}
}

func post(t *testing.T, url, token string, body any) (int, []byte) {
	data, err := json.Marshal(body)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(data))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// TestCompletionRaceTwoInstances: 40 people each send their two keys'
// reports at the same moment, one to each of two tracker instances sharing
// the database. Each person must end complete exactly once: completed_at
// set and one completion webhook. Without a lock on the person, each
// instance's transaction sees only its own key and neither marks them
// complete, though the dashboard (which reads both keys) shows them so.
func TestCompletionRaceTwoInstances(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		dsn := b.DSN(t)
		h := newHook(t)
		now := func() time.Time { return start }
		ca := attesttest.NewCA(t)
		cfg := server.Config{Services: []string{"google", "github"}, Now: now, Logf: t.Logf, WebhookURL: h.srv.URL, AuthRate: 1000, AuthBurst: 1000, Verifier: ca.Verifier()}
		a := newInstance(t, dsn, cfg)
		c := newInstance(t, dsn, cfg)

		const n = 40
		people := make([]tracker.Person, n)
		tokens := make([]string, n)
		for i := range n {
			p := tracker.Person{ID: fmt.Sprintf("p%02d", i), Email: fmt.Sprintf("p%02d@example.com", i), Name: fmt.Sprintf("Person %02d", i),
				Team: "Eng", StartDate: "2026-03-02", CreatedAt: start}
			if _, err := a.st.CreatePerson(ctx, p, tracker.AuditEntry{At: start, Actor: "test", Action: "person.create", Subject: p.ID}); err != nil {
				t.Fatal(err)
			}
			tok, err := server.AdminToken(ctx, a.st, p.ID, "wizard", 0, start)
			if err != nil {
				t.Fatal(err)
			}
			people[i], tokens[i] = p, tok
		}
		var wg sync.WaitGroup
		for i := range n {
			for k, inst := range []instance{a, c} {
				role := []tracker.KeyRole{tracker.RoleEveryday, tracker.RoleBackup}[k]
				serial := uint32(10000 + 2*i + k)
				rep := fullReport(fmt.Sprintf("race-%02d-%d", i, k), serial, role)
				dev := ca.Device(t, serial, attesttest.Options{})
				rep.Attestation = &tracker.Attestation{Certificate: dev.Attestation, Slot: dev.Slot}
				wg.Go(func() {
					// A deadlock victim is a 500 the wizard's queue sends
					// again; do the same.
					for try := 0; ; try++ {
						code, body := post(t, inst.http.URL+"/v1/reports", tokens[i], rep)
						if code == http.StatusOK {
							return
						}
						if code != http.StatusInternalServerError || try == 3 {
							t.Errorf("%s key %d: %d %s", people[i].ID, k, code, body)
							return
						}
					}
				})
			}
		}
		wg.Wait()
		// Webhooks are delivered in the background; Close waits for
		// those in flight (closing twice, again in Cleanup, is harmless).
		a.srv.Close()
		c.srv.Close()

		msgs := h.messages()
		for _, p := range people {
			got, err := a.st.Person(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			hooks := 0
			for _, m := range msgs {
				if strings.Contains(m, p.Email) {
					hooks++
				}
			}
			if got.CompletedAt.IsZero() || hooks != 1 {
				t.Errorf("%s: completed_at %v, %d completion webhooks; want set and 1", p.ID, got.CompletedAt, hooks)
			}
		}
		if len(msgs) != n {
			t.Errorf("%d completion webhooks, want %d", len(msgs), n)
		}
	})
}

// TestItemTimes: item times outside [start date - 1 day, now + 5 min] are
// refused with a 400 naming the item; every stored item carries the
// server's receipt time; an item dated in the future (stored before times
// were bounded) does not block a later report of the same service.
func TestItemTimes(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		// ann started 2026-01-05; the clock says 2026-03-02 09:00.
		for _, c := range []struct {
			at   time.Time
			want int
		}{
			{time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), http.StatusBadRequest},
			{time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), http.StatusBadRequest},
			{start.Add(6 * time.Minute), http.StatusBadRequest},
			{time.Date(2026, 1, 3, 23, 0, 0, 0, time.UTC), http.StatusBadRequest},
			{time.Date(2026, 1, 4, 1, 0, 0, 0, time.UTC), http.StatusOK},
			{start.Add(4 * time.Minute), http.StatusOK},
		} {
			rep := fullReport("times-"+c.at.Format("20060102T150405"), 501, tracker.RoleEveryday)
			rep.Items[1].At = c.at
			code, body := e.call("ann", "POST", "/v1/reports", rep)
			if code != c.want {
				t.Errorf("item at %s: %d %s, want %d", c.at, code, body, c.want)
				continue
			}
			if c.want == http.StatusBadRequest {
				var eb tracker.ErrorBody
				if err := json.Unmarshal(body, &eb); err != nil || eb.Field != "items[1].at" {
					t.Errorf("item at %s: %s, want the field items[1].at named", c.at, body)
				}
			}
		}
		_, items, err := e.st.Records(context.Background(), []string{e.id("ann")})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if !it.ReceivedAt.Equal(start) {
				t.Errorf("item %s received_at %v, want the server's %v", it.Service, it.ReceivedAt, start)
			}
		}

		// A future-dated item as an older tracker stored it, straight
		// into the store: a later report of the service still replaces it.
		ctx := context.Background()
		future := fullReport("legacy-future", 502, tracker.RoleBackup)
		future.Items = future.Items[:1]
		future.Items[0].At = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
		future.Items[0].Evidence = tracker.EvidenceSelf
		if _, err := e.st.SubmitReport(ctx, e.id("ann"), future, store.KeyInfo{}, nil, start); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Hour)
		later := fullReport("later-report", 502, tracker.RoleBackup)
		for i := range later.Items {
			later.Items[i].At = e.clock.Now()
		}
		e.do("ann", "POST", "/v1/reports", later, http.StatusOK, nil)
		_, items, err = e.st.Records(ctx, []string{e.id("ann")})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Serial == 502 && it.Service == future.Items[0].Service &&
				(it.Evidence != tracker.EvidenceOnKey || !it.At.Equal(e.clock.Now()) || !it.ReceivedAt.Equal(e.clock.Now())) {
				t.Errorf("the future-dated item was not replaced: %+v", it)
			}
		}
	})
}

// integrityEnv is newEnv's tracker with the default policy and the given
// limits, served by a second server on the same store.
func integrityEnv(t *testing.T, e *env, cfg server.Config) *httptest.Server {
	cfg.Store, cfg.Verifier, cfg.Now, cfg.Logf, cfg.Services = e.st, e.ca.Verifier(), e.clock.Now, t.Logf, []string{"google", "github"}
	cfg.WebhookURL = e.hook.srv.URL
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { h.Close(); srv.Close() })
	e.http = h
	return h
}

func errorBody(t *testing.T, body []byte) tracker.ErrorBody {
	t.Helper()
	var eb tracker.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return eb
}

// TestPersonLimits: a person's keys, services and items are bounded (413
// naming the limit, nothing of the refused report stored), and so are
// their reports per minute (429 naming the rate), while another person's
// reports still go through.
func TestPersonLimits(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		integrityEnv(t, e, server.Config{Limits: store.Limits{Keys: 3, Services: 5, Items: 5}, ReportRate: 1, ReportBurst: 40})
		send := func(who, key string, serial uint32, services ...string) (int, tracker.ErrorBody) {
			rep := tracker.Report{IdempotencyKey: key, Serial: serial, Model: "YubiKey 5C NFC", Role: tracker.RoleEveryday, AppVersion: "1.0.0"}
			for _, s := range services {
				rep.Items = append(rep.Items, tracker.ReportItem{Service: s, Evidence: tracker.EvidenceOnKey, At: start})
			}
			code, body := e.call(who, "POST", "/v1/reports", rep)
			if code == http.StatusOK {
				return code, tracker.ErrorBody{}
			}
			return code, errorBody(t, body)
		}
		for i, want := range []int{200, 200, 200, 413} {
			code, eb := send("ann", fmt.Sprintf("keys-%04d", i), uint32(700+i), "google")
			if code != want || (want == 413 && eb.Field != "keys_per_person") {
				t.Errorf("key %d: %d %+v, want %d", i+1, code, eb, want)
			}
		}
		if code, eb := send("ann", "services-1", 700, "google", "s1", "s2", "s3", "s4", "s5"); code != 413 || eb.Field != "services_per_person" || !strings.Contains(eb.Error, "5") {
			t.Errorf("sixth service: %d %+v, want 413 naming services_per_person and its maximum", code, eb)
		}
		if code, eb := send("ann", "items-01", 701, "github", "s1", "s2"); code != 413 || eb.Field != "items_per_person" {
			t.Errorf("sixth item: %d %+v, want 413 naming items_per_person", code, eb)
		}
		// Refused reports left nothing behind, and may be sent again.
		keys, items, err := e.st.Records(context.Background(), []string{e.id("ann")})
		if err != nil || len(keys) != 3 || len(items) != 3 {
			t.Errorf("ann's record after refusals: %d keys, %d items, %v; want 3 and 3", len(keys), len(items), err)
		}
		// Of ann's budget of 40, six reports and three refusals by a
		// limit (10 each) leave 4: the fifth report from now is a 429.
		for i := range 5 {
			code, eb := send("ann", fmt.Sprintf("rate-%03d", i), 700, "google")
			if i < 4 && code != http.StatusOK {
				t.Errorf("report %d within the budget: %d %+v", i, code, eb)
			}
			if i == 4 && (code != http.StatusTooManyRequests || eb.Field != "reports_per_minute") {
				t.Errorf("report past the budget: %d %+v, want 429 naming reports_per_minute", code, eb)
			}
		}
		if code, eb := send("bob", "bob-0001", 900, "google"); code != http.StatusOK {
			t.Errorf("bob while ann is refused: %d %+v", code, eb)
		}
		e.clock.Add(time.Minute)
		if code, eb := send("ann", "rate-002", 700, "google"); code != http.StatusOK {
			t.Errorf("ann a minute later: %d %+v", code, eb)
		}
	})
}

// TestDefaultPolicyAndUnconfirmedClaims: by default completion needs both
// keys genuine; a serial claimed without attestation is unconfirmed and
// passes to whoever attests it (audited), so its real owner is not kept
// out, while an attested claim is not taken over.
func TestDefaultPolicyAndUnconfirmedClaims(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		integrityEnv(t, e, server.Config{})
		attested := func(key string, serial uint32, role tracker.KeyRole) tracker.Report {
			r := fullReport(key, serial, role)
			dev := e.ca.Device(t, serial, attesttest.Options{})
			r.Attestation = &tracker.Attestation{Certificate: dev.Attestation, Slot: dev.Slot}
			return r
		}
		var res tracker.ReportResult
		// eve types bob's serial first, without attestation.
		e.do("eve", "POST", "/v1/reports", fullReport("eve-claims-1", 4242, tracker.RoleEveryday), http.StatusOK, &res)
		// bob, the real owner, attests it: it is his.
		e.do("bob", "POST", "/v1/reports", attested("bob-every-1", 4242, tracker.RoleEveryday), http.StatusOK, &res)
		// bob's backup without attestation: not complete under the default.
		e.do("bob", "POST", "/v1/reports", fullReport("bob-backup-1", 4343, tracker.RoleBackup), http.StatusOK, &res)
		if res.Complete {
			t.Errorf("complete with an unattested backup key under the default policy")
		}
		e.do("bob", "POST", "/v1/reports", attested("bob-backup-2", 4343, tracker.RoleBackup), http.StatusOK, &res)
		if !res.Complete {
			t.Errorf("not complete with both keys attested: %+v", res)
		}
		ctx := context.Background()
		keys, _, err := e.st.Records(ctx, []string{e.id("eve")})
		if err != nil || len(keys) != 0 {
			t.Errorf("eve still holds %+v, %v; want the key gone to bob", keys, err)
		}
		audit, err := e.st.Audit(ctx, e.id("eve"), 0)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range audit {
			found = found || (a.Action == "key.claim-superseded" && a.Subject == e.id("eve") && a.Actor == e.id("bob"))
		}
		if !found {
			t.Errorf("no key.claim-superseded audit entry about eve: %+v", audit)
		}
		// Now attested, bob's key cannot be taken, not even with another
		// genuine attestation (IT retires it first).
		code, body := e.call("eve", "POST", "/v1/reports", attested("eve-claims-2", 4242, tracker.RoleEveryday))
		if code != http.StatusConflict || errorBody(t, body).Field != "serial" {
			t.Errorf("claiming an attested key: %d %s, want 409 on serial", code, body)
		}
		var v tracker.TeamView
		e.do("it", "GET", "/v1/team?manager="+e.id("boss"), nil, http.StatusOK, &v)
		if v.Policy != tracker.DefaultPolicy {
			t.Errorf("team view names policy %+v, want the default %+v", v.Policy, tracker.DefaultPolicy)
		}
	})
}
