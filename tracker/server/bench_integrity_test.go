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

// BenchmarkNoisyNeighbour measures other people's report latency while one
// token sends 1,500 reports as fast as four connections allow, each with a
// new serial and new services (the growth per-person limits stop). The
// others are 750 people sending their two keys' reports one at a time,
// 1,500 in all, with the default limits; "limits-only" lifts the
// per-person report rate so that only the record limits hold the noisy
// token back; "quiet" is the same others without the noisy token, the
// machine's own figure to compare with. One iteration is the whole scenario (run with -benchtime 1x).
func BenchmarkNoisyNeighbour(b *testing.B) {
	for _, be := range testdb.Backends(b) {
		for _, mode := range []string{"quiet", "defaults", "limits-only"} {
			b.Run(be.Name+"/"+mode, func(b *testing.B) {
				st, _ := testdb.Open(b, be)
				cfg := server.Config{Store: st, Logf: func(string, ...any) {}, Now: func() time.Time { return start }, Policy: &tracker.LegacyPolicy}
				if mode == "limits-only" {
					cfg.ReportRate, cfg.ReportBurst = 1<<20, 1<<20
				}
				srv, err := server.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				hs := httptest.NewServer(srv.Handler())
				defer hs.Close()
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
				var iter int
				for b.Loop() {
					iter++
					lat, refused := noisyScenario(b, st, hs.URL, client, iter, mode != "quiet")
					slices.Sort(lat)
					pct := func(p float64) float64 {
						return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
					}
					b.ReportMetric(pct(0.50), "p50-ms")
					b.ReportMetric(pct(0.99), "p99-ms")
					b.ReportMetric(float64(refused), "noisy-refused")
				}
			})
		}
	}
}

func noisyScenario(b *testing.B, st store.Store, url string, client *http.Client, iter int, noise bool) ([]time.Duration, int) {
	ctx := context.Background()
	const others, noisyReports = 750, 1500
	newPerson := func(name string) string {
		p := tracker.Person{ID: store.NewID("p_"), Email: fmt.Sprintf("%s-%d@example.com", name, iter), Name: "B", Team: "T", StartDate: "2026-03-02", CreatedAt: start}
		if _, err := st.CreatePerson(ctx, p, tracker.AuditEntry{Actor: "bench", Action: "person.create"}); err != nil {
			b.Fatal(err)
		}
		tok, err := server.AdminToken(ctx, st, p.ID, "bench", 0, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
	noisy := newPerson("noisy")
	tokens := make([]string, others)
	for i := range tokens {
		tokens[i] = newPerson(fmt.Sprintf("other%d", i))
	}
	send := func(tok string, rep tracker.Report) int {
		req, _ := http.NewRequest("POST", url+"/v1/reports", strings.NewReader(mustJSON(b, rep)))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	base := uint32(iter) * 1_000_000
	var (
		wg      sync.WaitGroup
		next    atomic.Int32
		refused atomic.Int32
		stop    = make(chan struct{})
	)
	for range 4 {
		if !noise {
			break
		}
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > noisyReports {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
				// A new serial and 64 new services each time.
				rep := tracker.Report{IdempotencyKey: fmt.Sprintf("noisy-%d-%06d", iter, n), Serial: base + 500_000 + uint32(n), Model: "YubiKey 5C Nano",
					Role: tracker.RoleEveryday, AppVersion: "1.0.0"}
				for j := range 64 {
					rep.Items = append(rep.Items, tracker.ReportItem{Service: fmt.Sprintf("s%d-%d", n, j), Evidence: tracker.EvidenceSelf, At: start})
				}
				switch code := send(noisy, rep); code {
				case http.StatusOK:
				case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
					refused.Add(1)
				default:
					b.Errorf("noisy report: status %d", code)
				}
			}
		})
	}
	lat := make([]time.Duration, 0, 2*others)
	for i := range 2 * others {
		role := tracker.RoleEveryday
		if i%2 == 1 {
			role = tracker.RoleBackup
		}
		rep := benchReport(fmt.Sprintf("other-%d-%06d", iter, i), base+uint32(i)+1, role)
		t0 := time.Now()
		if code := send(tokens[i/2], rep); code != http.StatusOK {
			b.Errorf("another person's report: status %d", code)
		}
		lat = append(lat, time.Since(t0))
	}
	close(stop)
	wg.Wait()
	return lat, int(refused.Load())
}
