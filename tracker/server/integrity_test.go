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
