package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/evidence"
)

// The audit log is a hash chain (tracker/evidence): every append takes the
// one row of audit_head, links the entry to it and moves it on, all in the
// caller's transaction. The UPDATE that starts an append takes the row's
// lock, so on PostgreSQL a second tracker instance waits at that statement
// until the first commits, and in READ COMMITTED its next statement then
// reads the head the first left (PostgreSQL manual, "Transaction
// Isolation", 13.2.1). SQLite has one writer at a time anyway.
// audit_seq's uniqueness is the backstop: a fork could not be stored.

const auditChainCols = "seq, at, actor, action, subject, reason, detail, text_salt, text_commit, prev_hash, hash"

func (s *sqlStore) appendAudit(ctx context.Context, tx *sql.Tx, e tracker.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if _, err := s.exec(ctx, tx, "UPDATE audit_head SET seq = seq + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("locking audit chain: %w", err)
	}
	var (
		seq     int64
		prevHex string
	)
	if err := s.queryRow(ctx, tx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&seq, &prevHex); err != nil {
		return fmt.Errorf("reading audit chain head: %w", err)
	}
	prev, err := evidence.ParseHash(prevHex)
	if err != nil {
		return fmt.Errorf("reading audit chain head: %w", err)
	}
	c := evidence.Entry{At: e.At, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Reason: e.Reason, Detail: e.Detail}
	evidence.Seal(&c, seq, prev)
	if _, err := s.exec(ctx, tx, "INSERT INTO audit ("+auditChainCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.Seq, micros(c.At), c.Actor, c.Action, c.Subject, c.Reason, c.Detail,
		hex.EncodeToString(c.Salt), c.TextCommit.String(), c.Prev.String(), c.Hash.String()); err != nil {
		return fmt.Errorf("appending audit entry: %w", err)
	}
	if _, err := s.exec(ctx, tx, "UPDATE audit_head SET hash = ? WHERE id = 1", c.Hash.String()); err != nil {
		return fmt.Errorf("moving audit chain head: %w", err)
	}
	return nil
}

// chainExisting links the entries written before the chain existed, in the
// order they were written, and creates the index that keeps seq unique.
func chainExisting(ctx context.Context, s *sqlStore, tx *sql.Tx) error {
	type row struct {
		id                                     int64
		at                                     int64
		actor, action, subject, reason, detail string
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, at, actor, action, subject, reason, detail FROM audit ORDER BY id")
	if err != nil {
		return fmt.Errorf("reading audit log: %w", err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.at, &r.actor, &r.action, &r.subject, &r.reason, &r.detail); err != nil {
			rows.Close()
			return fmt.Errorf("reading audit log: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading audit log: %w", err)
	}
	var prev evidence.Hash
	for i, r := range all {
		c := evidence.Entry{At: fromMicros(r.at), Actor: r.actor, Action: r.action, Subject: r.subject, Reason: r.reason, Detail: r.detail}
		evidence.Seal(&c, int64(i+1), prev)
		if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE audit SET seq = ?, at = ?, text_salt = ?, text_commit = ?, prev_hash = ?, hash = ? WHERE id = ?"),
			c.Seq, micros(c.At), hex.EncodeToString(c.Salt), c.TextCommit.String(), c.Prev.String(), c.Hash.String(), r.id); err != nil {
			return fmt.Errorf("chaining audit entry %d: %w", r.id, err)
		}
		prev = c.Hash
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"), len(all), prev.String()); err != nil {
		return fmt.Errorf("setting audit chain head: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE UNIQUE INDEX IF NOT EXISTS audit_seq ON audit (seq)"); err != nil {
		return fmt.Errorf("indexing audit chain: %w", err)
	}
	return nil
}

// AuditChain calls fn with every audit entry in chain order, reading a page
// at a time so a long log is not held in memory or in one long read.
func (s *sqlStore) AuditChain(ctx context.Context, fn func(evidence.Entry) error) error {
	const page = 1000
	after := int64(0)
	for {
		rows, err := s.query(ctx, nil, "SELECT "+auditChainCols+" FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", after, page)
		es, err := collect(rows, err, scanChainEntry)
		if err != nil {
			return fmt.Errorf("reading audit log: %w", err)
		}
		for _, e := range es {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(es) < page {
			return nil
		}
	}
}

func scanChainEntry(r scanner) (evidence.Entry, error) {
	var (
		e                        evidence.Entry
		at                       int64
		salt, commit, prev, hash string
	)
	if err := r.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Reason, &e.Detail, &salt, &commit, &prev, &hash); err != nil {
		return e, err
	}
	e.At = fromMicros(at)
	if at == 0 {
		e.At = time.UnixMicro(0).UTC()
	}
	var err error
	if salt != "" {
		if e.Salt, err = hex.DecodeString(salt); err != nil {
			return e, fmt.Errorf("audit entry %d: bad salt: %w", e.Seq, err)
		}
	}
	// A malformed hash reads as zeros, which verification then reports
	// against the entry rather than stopping the read.
	e.TextCommit, _ = evidence.ParseHash(commit)
	e.Prev, _ = evidence.ParseHash(prev)
	e.Hash, _ = evidence.ParseHash(hash)
	return e, nil
}

// AuditHead returns the last link of the audit chain.
func (s *sqlStore) AuditHead(ctx context.Context) (evidence.Head, error) {
	var (
		h   evidence.Head
		hx  string
		err error
	)
	if err = s.queryRow(ctx, nil, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &hx); err != nil {
		return h, fmt.Errorf("reading audit chain head: %w", err)
	}
	h.Hash, err = evidence.ParseHash(hx)
	return h, err
}

// ErrNotScrubbed is returned when an erasure committed, but rewriting the database so
// that no copy of the erased data remains in its files did not finish
// (SQLite's WAL checkpoint was blocked, or PostgreSQL's VACUUM FULL
// failed). The person is erased; the next erasure tries again.
var ErrNotScrubbed = errors.New("erased, but old copies may remain in the database files until the next erasure")

// scrub removes what an erasure left in the database files. SQLite
// (secure_delete on every connection, see Open) has already zeroed the
// deleted cells and freed pages, but earlier versions of those pages sit
// in the WAL until a checkpoint copies the latest versions back and
// TRUNCATE empties the file (sqlite.org/pragma.html#pragma_secure_delete,
// sqlite.org/pragma.html#pragma_wal_checkpoint). PostgreSQL keeps deleted
// and updated rows as dead tuples; plain VACUUM only marks their space
// free, VACUUM FULL writes each table and index anew and drops the old
// files (PostgreSQL manual, "VACUUM"). What neither can reach is in
// tracker/README.md.
func (s *sqlStore) scrub(ctx context.Context) error {
	if s.d == postgres {
		if _, err := s.db.ExecContext(ctx, "VACUUM FULL people, keys, items, reports, invites, tokens, audit, key_events, completion_history"); err != nil {
			return fmt.Errorf("%w: vacuum: %v", ErrNotScrubbed, err)
		}
		// ANALYZE (run by autovacuum at any time) keeps sample values of
		// each column, e-mails and names among them, in the catalog
		// pg_statistic (PostgreSQL manual, "pg_statistic": most_common_vals,
		// histogram_bounds). Analysing again replaces them with values
		// from the remaining rows, and rewriting the catalog drops the old
		// rows' dead copies; the database owner may vacuum it (manual,
		// "VACUUM", Notes).
		if _, err := s.db.ExecContext(ctx, "ANALYZE people, keys, items, reports, invites, tokens, audit, key_events, completion_history"); err != nil {
			return fmt.Errorf("%w: analyze: %v", ErrNotScrubbed, err)
		}
		if _, err := s.db.ExecContext(ctx, "VACUUM FULL pg_statistic"); err != nil {
			return fmt.Errorf("%w: vacuum pg_statistic: %v", ErrNotScrubbed, err)
		}
		return nil
	}
	var busy, logFrames, done int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrNotScrubbed, err)
	}
	if busy != 0 {
		return fmt.Errorf("%w: checkpoint blocked by a reader", ErrNotScrubbed)
	}
	return nil
}

// History returns the audit entries whose subject is one of ids (nil: any
// person), oldest first, leaving out the actions in skip (reads, which
// are not history). It uses the subject index: one query per 64 people
// on SQLite, one in all on PostgreSQL.
func (s *sqlStore) History(ctx context.Context, ids []string, skip []string) ([]tracker.AuditEntry, error) {
	notIn, skipArgs := "", make([]any, 0, len(skip))
	if len(skip) > 0 {
		notIn = " AND action NOT IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(skip)), ", ") + ")"
		for _, a := range skip {
			skipArgs = append(skipArgs, a)
		}
	}
	var out []tracker.AuditEntry
	read := func(where string, args ...any) error {
		rows, err := s.query(ctx, nil, "SELECT "+auditCols+" FROM audit WHERE "+where+notIn+" ORDER BY seq", append(args, skipArgs...)...)
		es, err := collect(rows, err, scanAudit)
		if err != nil {
			return fmt.Errorf("reading history: %w", err)
		}
		out = append(out, es...)
		return nil
	}
	switch {
	case ids == nil:
		if err := read("subject <> ''"); err != nil {
			return nil, err
		}
		return out, nil
	case len(ids) == 0:
		return []tracker.AuditEntry{}, nil
	case s.d == postgres:
		if err := read("subject = ANY(?)", ids); err != nil {
			return nil, err
		}
		return out, nil
	}
	const chunk = 64
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, chunk)
		for i := range args {
			args[i] = ids[min(i, n-1)] // one statement shape
		}
		ids = ids[n:]
		if err := read("subject IN ("+strings.TrimSuffix(strings.Repeat("?, ", chunk), ", ")+")", args...); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b tracker.AuditEntry) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
