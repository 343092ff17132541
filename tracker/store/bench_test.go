package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// BenchmarkSubmitReport measures the store alone: concurrent reports, each
// a new key with six items; each of 8,192 people reports an everyday and a
// backup key, as in real use.
func BenchmarkSubmitReport(b *testing.B) {
	for _, be := range testdb.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s, _ := testdb.Open(b, be)
			// Reports spread over many people, as in real use where each
			// person reports a handful of times.
			const people = 8192
			for i := range people {
				p := person(fmt.Sprintf("b%d", i), fmt.Sprintf("b%d@x.test", i), "")
				if _, err := s.CreatePerson(context.Background(), p, tracker.AuditEntry{}); err != nil {
					b.Fatal(err)
				}
			}
			services := []string{"google", "macos", "aws", "1password", "github"}
			var next atomic.Uint32
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					who := fmt.Sprintf("b%d", (n/2)%people)
					role := tracker.RoleEveryday
					if n%2 == 1 {
						role = tracker.RoleBackup
					}
					r := report(fmt.Sprintf("bench-%08d", n), n, role, "google", "macos", "aws", "1password", "github", "otp")
					if _, err := s.SubmitReport(context.Background(), who, r, store.KeyInfo{}, services, t0); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}
