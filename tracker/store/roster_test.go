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

func moveUnder(manager string) store.PersonChange {
	return func(b tracker.Person) (tracker.Person, tracker.AuditEntry, error) {
		a := b
		a.ManagerID = manager
		return a, tracker.AuditEntry{At: t0, Actor: "test", Action: "person.update", Subject: b.ID}, nil
	}
}

// TestManagerLoopRace: two instances sharing the database move a under
// b and b under a at the same moment, many times over: never both, so
// the management tree never has a loop.
func TestManagerLoopRace(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s1, dsn := testdb.Open(t, b)
		s2, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s2.Close() })
		for i := range 20 {
			a, c := fmt.Sprintf("a%d", i), fmt.Sprintf("c%d", i)
			mustCreate(t, s1, person(a, a+"@x.test", ""))
			mustCreate(t, s1, person(c, c+"@x.test", ""))
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Add(2)
			go func() { defer wg.Done(); _, errs[0] = s1.UpdatePerson(ctx, a, moveUnder(c)) }()
			go func() { defer wg.Done(); _, errs[1] = s2.UpdatePerson(ctx, c, moveUnder(a)) }()
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, store.ErrManagerCycle):
					t.Fatalf("round %d: %v", i, err)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d of the two moves succeeded (%v), want exactly one", i, ok, errs)
			}
			pa, _ := s1.Person(ctx, a)
			pc, _ := s1.Person(ctx, c)
			if pa.ManagerID == c && pc.ManagerID == a {
				t.Fatalf("round %d: a loop", i)
			}
		}
	})
}

// TestUpdatePersonLeaver: becoming a leaver revokes tokens and invites in
// the same write; an edit that changes nothing writes no audit entry.
func TestUpdatePersonLeaver(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("p1", "p1@x.test", ""))
		if err := s.AddToken(ctx, store.Credential{Selector: "sel1", Hash: "h", PersonID: "p1"}, tracker.AuditEntry{At: t0, Actor: "test", Action: "token.issue"}); err != nil {
			t.Fatal(err)
		}
		n := func() int { es, _ := s.Audit(ctx, "p1", 0); return len(es) }
		before := n()
		if _, err := s.UpdatePerson(ctx, "p1", func(p tracker.Person) (tracker.Person, tracker.AuditEntry, error) {
			return p, tracker.AuditEntry{}, nil
		}); err != nil || n() != before {
			t.Errorf("no-op edit: %v, %d entries after %d", err, n(), before)
		}
		p, err := s.UpdatePerson(ctx, "p1", func(p tracker.Person) (tracker.Person, tracker.AuditEntry, error) {
			p.LeftAt = t0
			return p, tracker.AuditEntry{At: t0, Actor: "test", Action: "person.leave", Subject: "p1"}, nil
		})
		if err != nil || !p.Left() {
			t.Fatalf("leave: %+v %v", p, err)
		}
		if c, err := s.Token(ctx, "sel1"); err != nil || !c.Used {
			t.Errorf("token after leaving: %+v %v", c, err)
		}
		if _, err := s.UpdatePerson(ctx, "nobody", moveUnder("")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown person: %v", err)
		}
	})
}
