package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// TestRevokeToken: ending one session leaves the person's other tokens
// working, and is audited in the same write.
func TestRevokeToken(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("ann", "ann@x.test", ""))
		for _, sel := range []string{"browser", "wizard"} {
			if err := s.AddToken(ctx, store.Credential{Selector: sel, Hash: "h", PersonID: "ann"}, tracker.AuditEntry{At: t0, Actor: "ann", Action: "token.issue", Subject: "ann"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RevokeToken(ctx, "browser", tracker.AuditEntry{At: t0, Actor: "ann", Action: "session.end", Subject: "ann"}); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Token(ctx, "browser"); err != nil || !c.Used {
			t.Errorf("revoked token: %+v, %v; want used", c, err)
		}
		if c, err := s.Token(ctx, "wizard"); err != nil || c.Used {
			t.Errorf("other token: %+v, %v; want still working", c, err)
		}
		audit, err := s.Audit(ctx, "ann", 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(audit, func(e tracker.AuditEntry) bool { return e.Action == "session.end" }) {
			t.Errorf("no session.end audit entry: %+v", audit)
		}
		if err := s.RevokeToken(ctx, "nosuch", tracker.AuditEntry{At: t0, Actor: "ann", Action: "session.end"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown selector: %v, want ErrNotFound", err)
		}
	})
}
