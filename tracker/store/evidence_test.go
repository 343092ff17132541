package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// verifyChain checks the store's audit log with tracker/evidence.
func verifyChain(t *testing.T, s store.Store) (evidence.ChainSummary, error) {
	t.Helper()
	var v evidence.Verifier
	if err := s.AuditChain(context.Background(), func(e evidence.Entry) error { v.Add(e); return nil }); err != nil {
		t.Fatal(err)
	}
	return v.Finish()
}

// rawDB opens the store's database directly, as someone with access to
// its files or its superuser would.
func rawDB(t *testing.T, b testdb.Backend, dsn string) *sql.DB {
	t.Helper()
	driver, src := "pgx", dsn
	if b.Name == "sqlite" {
		driver, src = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// atVersion makes a database left at schema version, as an older tracker
// left it, and runs queries on it: the data an upgrade test starts from.
func atVersion(t *testing.T, b testdb.Backend, version int, queries ...string) (dsn string, db *sql.DB) {
	t.Helper()
	dsn = b.DSN(t)
	if err := store.MigrateOnlyTo(context.Background(), dsn, version); err != nil {
		t.Fatal(err)
	}
	db = rawDB(t, b, dsn)
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return dsn, db
}

// databaseFiles returns what a byte search must cover: SQLite's file with
// its -wal and -shm; PostgreSQL's files of the test database (tables,
// indexes, TOAST), after a CHECKPOINT has written every page out.
func databaseFiles(t *testing.T, b testdb.Backend, dsn string) []string {
	t.Helper()
	if b.Name == "sqlite" {
		return []string{dsn, dsn + "-wal", dsn + "-shm"}
	}
	db := rawDB(t, b, dsn)
	var dir string
	var oid int64
	if _, err := db.Exec("CHECKPOINT"); err != nil {
		t.Fatalf("CHECKPOINT (the test cluster's user is a superuser): %v", err)
	}
	if err := db.QueryRow("SHOW data_directory").Scan(&dir); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "base", fmt.Sprint(oid)), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatalf("reading the PostgreSQL data directory (scripts/postgres.sh runs it on this machine): %v", err)
	}
	return files
}

// findIn returns which of needles occur in which files.
func findIn(t *testing.T, files []string, needles ...string) []string {
	t.Helper()
	var found []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a relation dropped meanwhile; an absent -wal
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found = append(found, fmt.Sprintf("%q in %s", n, filepath.Base(f)))
			}
		}
	}
	return found
}

func TestErasureLeavesNoCopy(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, dsn := testdb.Open(t, b)
		// Unique strings: the PostgreSQL cluster is shared with other tests.
		tag := store.NewID("")
		email := "quentin." + tag + "@erase.test"
		name := "Quentin Erasable " + tag
		reason := "left the key on the tram at stop " + tag
		mustCreate(t, s, person("boss", "boss@x.test", ""))
		q := tracker.Person{ID: "p_" + tag, Email: email, Name: name, Team: "eng", ManagerID: "boss", StartDate: "2026-03-02", CreatedAt: t0}
		mustCreate(t, s, q)
		mustCreate(t, s, person("rep", "rep@x.test", q.ID))
		if err := s.AddInvite(ctx, store.Credential{Selector: "sel" + tag, Hash: "h", PersonID: q.ID, ExpiresAt: t0.AddDate(0, 0, 14)},
			tracker.AuditEntry{At: t0, Actor: "boss", Action: "invite.issue", Subject: q.ID, Reason: reason + " (invite)"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitReport(ctx, q.ID, report("k1", 4242, tracker.RoleEveryday, "google"), store.KeyInfo{}, []string{"google"}, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.SetKeyStatus(ctx, q.ID, 4242, tracker.KeyLost, tracker.AuditEntry{At: t0, Actor: "boss", Action: "key.status", Subject: q.ID, Reason: reason, Detail: "lost by " + name}); err != nil {
			t.Fatal(err)
		}
		// Their own refused request, with their address: about nobody else.
		if err := s.AppendAudit(ctx, tracker.AuditEntry{At: t0, Actor: q.ID, Action: "request.refused", Detail: "403 GET /v1/people from 192.0.2." + tag}); err != nil {
			t.Fatal(err)
		}
		needles := []string{email, name, reason, "192.0.2." + tag}
		if b.Name != "sqlite" {
			// Autovacuum may ANALYZE the tables at any moment, copying
			// sample values (e-mails, names) into pg_statistic; do it
			// now so that the erasure must deal with it every time.
			if _, err := rawDB(t, b, dsn).Exec("ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		// The test can fail: before the erasure the files hold them.
		if found := findIn(t, databaseFiles(t, b, dsn), needles...); len(found) == 0 {
			t.Fatalf("the data is not in the database files before erasure; the search is broken")
		}

		if err := s.Erase(ctx, q.ID, tracker.AuditEntry{At: t0, Actor: "boss", Action: evidence.EraseAction, Subject: q.ID, Reason: "left-organisation", Detail: "all personal data erased"}); err != nil {
			t.Fatalf("erase: %v", err)
		}
		if found := findIn(t, databaseFiles(t, b, dsn), needles...); len(found) > 0 {
			t.Errorf("after erasure the database files still hold: %s", strings.Join(found, "; "))
		}
		if b.Name == "sqlite" {
			if fi, err := os.Stat(dsn + "-wal"); err == nil && fi.Size() != 0 {
				t.Errorf("WAL not truncated: %d bytes", fi.Size())
			}
		}

		// The log keeps what was done, against the opaque ID, and the
		// chain still verifies, the redaction counted.
		sum, err := verifyChain(t, s)
		if err != nil {
			t.Fatalf("chain after erasure: %v", err)
		}
		if sum.Redacted != 4 {
			t.Errorf("redacted entries: %d, want 4 (person.create, invite.issue, key.status, their refused request)", sum.Redacted)
		}
		es, err := s.Audit(ctx, q.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		last := es[0]
		if last.Action != evidence.EraseAction || last.Reason != "left-organisation" || last.Actor != "boss" {
			t.Errorf("erasure entry: %+v", last)
		}
		for _, e := range es[1:] {
			if e.Reason != "" || e.Detail != "" {
				t.Errorf("entry about the erased person kept text: %+v", e)
			}
		}
		// Their report moved up to their manager.
		if p, err := s.Person(ctx, "rep"); err != nil || p.ManagerID != "boss" {
			t.Errorf("report not re-parented: %+v %v", p, err)
		}
	})
}

func TestAuditChainDetectsTampering(t *testing.T) {
	tamper := map[string]string{
		"edited reason": "UPDATE audit SET reason = 'found it' WHERE seq = 3",
		"edited action": "UPDATE audit SET action = 'key.found' WHERE seq = 3",
		"removed row":   "DELETE FROM audit WHERE seq = 3",
		// Through a free number: the unique index is checked per row.
		"reordered rows": "UPDATE audit SET seq = -seq WHERE seq IN (3, 4); UPDATE audit SET seq = CASE seq WHEN -3 THEN 4 ELSE 3 END WHERE seq IN (-3, -4)",
		"text redacted":  "UPDATE audit SET reason = '', text_salt = '' WHERE seq = 3",
	}
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		for name, stmt := range tamper {
			t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
				ctx := context.Background()
				s, dsn := testdb.Open(t, b)
				for i := range 5 {
					if err := s.AppendAudit(ctx, tracker.AuditEntry{At: t0, Actor: "it", Action: "key.status", Subject: "ann", Reason: fmt.Sprintf("reason %d", i)}); err != nil {
						t.Fatal(err)
					}
				}
				if sum, err := verifyChain(t, s); err != nil || sum.Entries != 5 {
					t.Fatalf("untouched chain: %+v %v", sum, err)
				}
				db := rawDB(t, b, dsn)
				for _, q := range strings.Split(stmt, ";") {
					if _, err := db.Exec(q); err != nil {
						t.Fatalf("tampering: %v", err)
					}
				}
				_, err := verifyChain(t, s)
				var ce *evidence.ChainError
				if !errors.As(err, &ce) {
					t.Fatalf("%s not detected: %v", name, err)
				}
				if ce.Seq != 3 && ce.Seq != 4 {
					t.Errorf("%s reported at entry %d: %v", name, ce.Seq, err)
				}
			})
		}
	})
}

// Two tracker instances on one database append at once; the chain must
// not fork (two entries linked to the same predecessor).
func TestAuditChainTwoInstances(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		a, dsn := testdb.Open(t, b)
		other, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		const perWorker, workers = 40, 4
		var wg sync.WaitGroup
		errs := make(chan error, 2*workers*perWorker)
		for _, s := range []store.Store{a, other} {
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWorker {
						errs <- s.AppendAudit(ctx, tracker.AuditEntry{At: t0, Actor: "it", Action: "people.list", Detail: fmt.Sprintf("w%d-%d", w, i)})
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		sum, err := verifyChain(t, a)
		if err != nil {
			t.Fatalf("chain written by two instances: %v", err)
		}
		if sum.Entries != 2*workers*perWorker {
			t.Errorf("%d entries, want %d", sum.Entries, 2*workers*perWorker)
		}
		if h, err := other.AuditHead(ctx); err != nil || h != sum.Head {
			t.Errorf("stored head %v, verified head %v (%v)", h, sum.Head, err)
		}
	})
}

// History reads the entries about a set of people in chain order, without
// the skipped actions, in chunks on SQLite (more people than one chunk).
func TestHistory(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		var ids []string
		for i := range 150 {
			id := fmt.Sprintf("p%03d", i)
			ids = append(ids, id)
			for _, action := range []string{"key.lost", "team.read", "key.active"} {
				if err := s.AppendAudit(ctx, tracker.AuditEntry{At: t0, Actor: "it", Action: action, Subject: id}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.AppendAudit(ctx, tracker.AuditEntry{At: t0, Actor: "it", Action: "people.list"}); err != nil {
			t.Fatal(err)
		}
		some := append(append([]string{}, ids[140:]...), ids[:70]...) // 80 people, out of order
		for name, c := range map[string]struct {
			ids  []string
			want int
		}{"some": {some, 160}, "everyone": {nil, 300}, "no one": {[]string{}, 0}} {
			es, err := s.History(ctx, c.ids, []string{"team.read"})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != c.want {
				t.Errorf("%s: %d entries, want %d", name, len(es), c.want)
			}
			for i, e := range es {
				if e.Action == "team.read" || e.Subject == "" {
					t.Errorf("%s: %+v is not history", name, e)
				}
				if i > 0 && es[i-1].ID >= e.ID {
					t.Errorf("%s: not in chain order at %d", name, i)
					break
				}
			}
		}
	})
}

// A tracker upgraded to the chain links the entries it already had, in the
// order they were written, and goes on from there; the roster's migration
// (3) runs before the chain's (4), whether the database had it already or
// not, and its columns keep their values.
func TestAuditChainUpgrade(t *testing.T) {
	for _, from := range []int{2, 3} {
		t.Run(fmt.Sprintf("from%d", from), func(t *testing.T) { auditChainUpgrade(t, from) })
	}
}

func auditChainUpgrade(t *testing.T, from int) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		dsn := b.DSN(t)
		if err := store.MigrateOnlyTo(ctx, dsn, from); err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, b, dsn)
		if from >= 3 {
			if _, err := db.Exec("INSERT INTO people (id, email, name, team, start_date, created_at, due_date, left_at) VALUES ('ann', 'ann@example.com', 'Ann', 'ops', '2026-01-05', 1, '2026-02-01', 7)"); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if _, err := db.Exec(fmt.Sprintf("INSERT INTO audit (at, actor, action, subject, reason) VALUES (%d, 'it', 'key.lost', 'ann', 'old reason %d')", t0.UnixMicro()+int64(i), i)); err != nil {
				t.Fatal(err)
			}
		}
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("upgrading: %v", err)
		}
		defer s.Close()
		if err := s.AppendAudit(ctx, tracker.AuditEntry{At: t0, Actor: "it", Action: "key.active", Subject: "ann", Reason: "found"}); err != nil {
			t.Fatal(err)
		}
		sum, err := verifyChain(t, s)
		if err != nil || sum.Entries != 4 {
			t.Fatalf("upgraded chain: %+v %v", sum, err)
		}
		es, err := s.Audit(ctx, "ann", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"found", "old reason 2", "old reason 1", "old reason 0"} {
			if es[i].Reason != want || es[i].ID != int64(4-i) {
				t.Errorf("entry %d: %+v, want %q as entry %d", i, es[i], want, 4-i)
			}
		}
		if from >= 3 {
			var due string
			var left int64
			if err := db.QueryRow("SELECT due_date, left_at FROM people WHERE id = 'ann'").Scan(&due, &left); err != nil || due != "2026-02-01" || left != 7 {
				t.Errorf("roster columns after the upgrade: %q %d %v", due, left, err)
			}
		}
	})
}
