package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// TestKeyOwnershipRace: people reporting the same serial at once, through
// two instances sharing the database (PostgreSQL) or one (SQLite, a file
// one process owns): one gets the key, the others a conflict on serial,
// and the key stays with the one who got it.
func TestKeyOwnershipRace(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s1, dsn := testdb.Open(t, b)
		s2 := s1
		if b.Name == "postgres" {
			var err error
			if s2, err = store.Open(ctx, dsn); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s2.Close() })
		}
		const people, serials = 6, 30
		for p := range people {
			mustCreate(t, s1, person(fmt.Sprintf("p%d", p), fmt.Sprintf("p%d@x.test", p), ""))
		}
		errs := make([][]error, serials)
		var wg sync.WaitGroup
		for i := range serials {
			errs[i] = make([]error, people)
			for p := range people {
				st := s1
				if p%2 == 1 {
					st = s2
				}
				wg.Go(func() {
					_, errs[i][p] = st.SubmitReport(ctx, fmt.Sprintf("p%d", p), report(fmt.Sprintf("race-%d-%d", i, p), uint32(5000+i), tracker.RoleEveryday, "google"), store.KeyInfo{}, nil, t0)
				})
			}
		}
		wg.Wait()
		// Two instances' group commits can deadlock on PostgreSQL; the
		// victim gets an error, a 500 the wizard retries. Retry those here,
		// one at a time, as the wizard would.
		for i := range serials {
			for p, err := range errs[i] {
				if err != nil && !errors.Is(err, store.ErrConflict) {
					t.Logf("serial %d, p%d: %v; retrying", 5000+i, p, err)
					_, errs[i][p] = s1.SubmitReport(ctx, fmt.Sprintf("p%d", p), report(fmt.Sprintf("race-%d-%d", i, p), uint32(5000+i), tracker.RoleEveryday, "google"), store.KeyInfo{}, nil, t0)
				}
			}
		}
		for i := range serials {
			winner := -1
			for p, err := range errs[i] {
				var ce *store.ConflictError
				switch {
				case err == nil && winner < 0:
					winner = p
				case err == nil:
					t.Errorf("serial %d: both p%d and p%d were given the key", 5000+i, winner, p)
				case !errors.Is(err, store.ErrConflict) || !errors.As(err, &ce) || ce.Field != "serial":
					t.Errorf("serial %d, p%d: %v, want a conflict on serial", 5000+i, p, err)
				}
			}
			if winner < 0 {
				t.Errorf("serial %d: nobody got the key", 5000+i)
				continue
			}
			keys, _, err := s1.Records(ctx, []string{fmt.Sprintf("p%d", winner)})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, k := range keys {
				found = found || k.Serial == uint32(5000+i)
			}
			if !found {
				t.Errorf("serial %d: p%d's report was accepted but the key belongs to someone else", 5000+i, winner)
			}
		}
	})
}

// TestRetiredKeyChangesHands: a retired key can be reported by someone
// new, and is then theirs and active; the earlier owner cannot take it
// back without IT.
func TestRetiredKeyChangesHands(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("old", "old@x.test", ""))
		mustCreate(t, s, person("new", "new@x.test", ""))
		if _, err := s.SubmitReport(ctx, "old", report("old-1", 77, tracker.RoleEveryday), store.KeyInfo{}, nil, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitReport(ctx, "new", report("new-1", 77, tracker.RoleBackup), store.KeyInfo{}, nil, t0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reporting someone's active key: %v, want ErrConflict", err)
		}
		if err := s.SetKeyStatus(ctx, "old", 77, tracker.KeyRetired, tracker.AuditEntry{At: t0, Actor: "it", Action: "key.status", Subject: "old"}); err != nil {
			t.Fatal(err)
		}
		// The refused report was not recorded as seen: sent again, it counts.
		if _, err := s.SubmitReport(ctx, "new", report("new-1", 77, tracker.RoleBackup), store.KeyInfo{}, nil, t0); err != nil {
			t.Fatalf("reporting a retired key: %v", err)
		}
		keys, _, err := s.Records(ctx, []string{"new"})
		if err != nil || len(keys) != 1 || keys[0].Status != tracker.KeyActive || keys[0].Role != tracker.RoleBackup {
			t.Errorf("new owner's keys %+v, %v; want key 77 active as backup", keys, err)
		}
		if _, err := s.SubmitReport(ctx, "old", report("old-2", 77, tracker.RoleEveryday), store.KeyInfo{}, nil, t0); !errors.Is(err, store.ErrConflict) {
			t.Errorf("former owner reporting the key again: %v, want ErrConflict", err)
		}
	})
}
