package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// benchCatalogue is the catalogue every benchmark report names, as the
// wizard's reports do.
var benchCatalogue = []tracker.Service{{ID: "google", Name: "Google Workspace"}, {ID: "aws", Name: "AWS console"},
	{ID: "1password", Name: "1Password"}, {ID: "github", Name: "GitHub"}, {ID: "macos", Name: "macOS smart-card login"}}

var benchServices = tracker.ServiceIDs(benchCatalogue)

func benchReport(key string, serial uint32, role tracker.KeyRole) tracker.Report {
	r := tracker.Report{IdempotencyKey: key, Serial: serial, Model: "YubiKey 5C Nano", Role: role, AppVersion: "1.0.0", Services: benchCatalogue}
	for _, s := range append(slices.Clone(benchServices), "otp") {
		r.Items = append(r.Items, tracker.ReportItem{Service: s, Evidence: tracker.EvidenceOnKey, At: start})
	}
	return r
}

// BenchmarkIngest measures reports stored per second through the HTTP API
// on loopback, from 16 concurrent clients. As in real use, each person
// reports their two keys (everyday, backup), each report a key with five
// services and OTP: 8,192 people, so up to 16,384 reports hit fresh keys.
func BenchmarkIngest(b *testing.B) {
	for _, be := range testdb.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			st, _ := testdb.Open(b, be)
			srv, err := server.New(server.Config{Store: st, Logf: func(string, ...any) {}})
			if err != nil {
				b.Fatal(err)
			}
			if err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			// Reports spread over many people, each with their own token,
			// as in real use where each person reports a handful of times.
			const people = 8192
			tokens := make([]string, people)
			var wg sync.WaitGroup
			for i := range tokens {
				wg.Go(func() {
					p := tracker.Person{ID: store.NewID("p_"), Email: fmt.Sprintf("b%d@example.com", i), Name: "B", Team: "T", StartDate: "2026-03-02", CreatedAt: start}
					if _, err := st.CreatePerson(context.Background(), p, tracker.AuditEntry{Actor: "bench", Action: "person.create"}); err != nil {
						b.Error(err)
					}
					tok, err := server.AdminToken(context.Background(), st, p.ID, "bench", 0, time.Now())
					if err != nil {
						b.Error(err)
					}
					tokens[i] = tok
				})
			}
			wg.Wait()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var next atomic.Uint32
			b.SetParallelism(8) // 16 concurrent clients on 2 cores
			b.ResetTimer()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					tok := tokens[(n/2)%people]
					role := tracker.RoleEveryday
					if n%2 == 1 {
						role = tracker.RoleBackup
					}
					body := mustJSON(b, benchReport(fmt.Sprintf("bench-%010d", n), n, role))
					req, _ := http.NewRequest("POST", hs.URL+"/v1/reports", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			el := time.Since(t0)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "reports/s")
			if n, _ := st.ReportCount(context.Background()); n != b.N {
				b.Errorf("stored %d reports, sent %d", n, b.N)
			}
		})
	}
}

// BenchmarkDashboard measures GET /dashboard latency for a manager with a
// 50-person team (40 direct reports, 10 through a sub-manager) while 10,000
// people, 20,000 keys and 120,000 items are stored.
func BenchmarkDashboard(b *testing.B) {
	for _, be := range testdb.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			st, _ := testdb.Open(b, be)
			ctx := context.Background()
			manager, tok := seedOrg(b, st)
			srv, err := server.New(server.Config{Store: st, Logf: b.Logf, Now: func() time.Time { return start }})
			if err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			get := func() (time.Duration, int) {
				req, _ := http.NewRequest("GET", hs.URL+"/dashboard", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
				return d, strings.Count(string(data), "data-email=")
			}
			if _, rows := get(); rows != 50 {
				b.Fatalf("manager %s sees %d rows, want 50", manager, rows)
			}
			var lat []time.Duration
			b.ResetTimer()
			for b.Loop() {
				d, _ := get()
				lat = append(lat, d)
			}
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			_ = ctx
		})
	}
}

// seedOrg stores 10,000 people, in teams of 50 under 196 of 200 managers,, each
// with two keys and all services, and returns one manager and their token.
func seedOrg(b *testing.B, st store.Store) (string, string) {
	b.Helper()
	ctx := context.Background()
	const total, teamSize = 10000, 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	// Managers first (sequentially: reports reference them).
	managers := make([]tracker.Person, total/teamSize)
	for i := range managers {
		managers[i] = tracker.Person{ID: fmt.Sprintf("m%04d", i), Email: fmt.Sprintf("m%04d@example.com", i), Name: fmt.Sprintf("Manager %d", i), Team: "T", StartDate: "2025-01-01", CreatedAt: start}
	}
	run := func(n int, f func(i int) error) {
		work := make(chan int)
		for range 32 {
			wg.Go(func() {
				for i := range work {
					if err := f(i); err != nil {
						fail(err)
					}
				}
			})
		}
		for i := range n {
			work <- i
		}
		close(work)
		wg.Wait()
	}
	run(len(managers), func(i int) error {
		_, err := st.CreatePerson(ctx, managers[i], tracker.AuditEntry{Actor: "bench", Action: "person.create"})
		return err
	})
	// Everyone else: person i reports to manager i/teamSize, except that in
	// team 0 the last ten report to a sub-manager inside it (indirect).
	others := total - len(managers)
	people := make([]tracker.Person, others)
	for i := range people {
		m := managers[i/(others/len(managers)+1)].ID
		people[i] = tracker.Person{ID: fmt.Sprintf("p%05d", i), Email: fmt.Sprintf("p%05d@example.com", i), Name: fmt.Sprintf("Person %d", i), Team: "T", ManagerID: m, StartDate: []string{"2026-01-05", "2026-02-20", "2026-03-01"}[i%3], CreatedAt: start}
	}
	// Team 0 has 40 direct reports of manager 0 plus p00049, and p00040
	// to p00048 report to p00039: 50 people, 9 of them indirect.
	for i := 40; i < 49; i++ {
		people[i].ManagerID = people[39].ID
	}
	if _, err := st.CreatePerson(ctx, people[39], tracker.AuditEntry{Actor: "bench", Action: "person.create"}); err != nil {
		b.Fatal(err)
	}
	run(len(people), func(i int) error {
		if i == 39 {
			return nil
		}
		_, err := st.CreatePerson(ctx, people[i], tracker.AuditEntry{Actor: "bench", Action: "person.create"})
		return err
	})
	if len(errs) > 0 {
		b.Fatalf("seeding people: %v", errs[0])
	}
	run(2*others, func(i int) error {
		role := tracker.RoleEveryday
		if i%2 == 1 {
			role = tracker.RoleBackup
		}
		// Every third person has only one key, so the view has work to do.
		if i%6 == 5 {
			return nil
		}
		_, err := st.SubmitReport(ctx, people[i/2].ID, benchReport(fmt.Sprintf("seed-%07d", i), uint32(i+1), role), store.KeyInfo{}, benchServices, start)
		return err
	})
	if len(errs) > 0 {
		b.Fatalf("seeding reports: %v", errs[0])
	}
	tok, err := server.AdminToken(ctx, st, managers[0].ID, "bench", 0, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return managers[0].ID, tok
}

func mustJSON(b *testing.B, v any) string {
	data, err := jsonMarshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}
