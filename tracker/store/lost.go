package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

// Lost keys: a key's status changes (the owner's own report, IT's
// decisions), each recorded in key_events and the audit log, and the
// completion they decide, recorded in completion_history.

// KeyChange is a key status change to make.
type KeyChange struct {
	Serial uint32
	// Owner, if set, must be the key's owner, else the change fails with
	// ErrNotFound: a person reporting their own key, or the person-scoped
	// API route.
	Owner string
	// Role, if set, must be the key's role (a *ConflictError naming
	// "role" otherwise): a person reporting the key they mean.
	Role tracker.KeyRole
	To   tracker.KeyStatus
	// Settled lists statuses from which the change does nothing and
	// succeeds: a person's loss report sent twice, or after IT confirmed.
	Settled []tracker.KeyStatus
	// Erased is what a wipe erased, kept in the key's history.
	Erased []string
	// Audit is the entry recorded with the change, with its reason;
	// Subject defaults to the key's owner and At is also the change's
	// time.
	Audit tracker.AuditEntry
	Rules Rules
}

// KeyChangeOutcome tells the caller what a key status change did.
type KeyChangeOutcome struct {
	// Key is the key after the change.
	Key  tracker.Key
	From tracker.KeyStatus
	// Changed is false when the key was already settled (KeyChange.Settled).
	Changed bool
	Completion
}

// Completion is what a write did to its person's completion.
type Completion struct {
	// Complete is whether the person is complete now.
	Complete bool
	// NewlyComplete: this write made them complete (once per change,
	// across instances); Again: they had been complete before.
	NewlyComplete, Again bool
	// Dropped: this write made them incomplete.
	Dropped bool
}

// ChangeKeyStatus changes a key's status under the life cycle's rules
// (tracker.CheckTransition, a *tracker.TransitionError otherwise), records
// it with its audit entry, and settles its owner's completion, all in one
// transaction under the lock on the owner.
func (s *sqlStore) ChangeKeyStatus(ctx context.Context, c KeyChange) (KeyChangeOutcome, error) {
	var out KeyChangeOutcome
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = KeyChangeOutcome{}
		var owner string
		err := s.queryRow(ctx, tx, "SELECT person_id FROM keys WHERE serial = ?", int64(c.Serial)).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && c.Owner != "" && owner != c.Owner) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("reading key: %w", err)
		}
		// The owner's lock first, as a report takes it, then the key
		// read again under it: a report of another instance may have
		// handed a retired key on in between.
		done, err := s.lockPerson(ctx, tx, owner)
		if err != nil {
			return err
		}
		k, err := scanKey(s.queryRow(ctx, tx, "SELECT "+keyCols+" FROM keys WHERE serial = ?", int64(c.Serial)))
		if err != nil {
			return fmt.Errorf("reading key: %w", err)
		}
		if k.PersonID != owner {
			return &ConflictError{"serial", "the key changed hands meanwhile; look it up again"}
		}
		if c.Role != "" && k.Role != c.Role {
			return &ConflictError{"role", fmt.Sprintf("key %d is the %s key, not the %s key", c.Serial, k.Role, c.Role)}
		}
		out.From, out.Key = k.Status, k
		if slices.Contains(c.Settled, k.Status) {
			out.Complete = done != 0
			return nil
		}
		if err := tracker.CheckTransition(c.Serial, k.Status, c.To); err != nil {
			return err
		}
		at := c.Audit.At
		if _, err := s.exec(ctx, tx, "UPDATE keys SET status = ?, updated_at = ? WHERE serial = ?", string(c.To), micros(at), int64(c.Serial)); err != nil {
			return fmt.Errorf("updating key: %w", err)
		}
		out.Key.Status, out.Key.UpdatedAt, out.Changed = c.To, at.UTC(), true
		e := c.Audit
		if e.Subject == "" {
			e.Subject = owner
		}
		if err := s.appendAudit(ctx, tx, e); err != nil {
			return err
		}
		var seq int64
		if err := s.queryRow(ctx, tx, "SELECT seq FROM audit_head WHERE id = 1").Scan(&seq); err != nil {
			return fmt.Errorf("reading audit chain head: %w", err)
		}
		if err := s.keyEvent(ctx, tx, k, at, e.Actor, c.To, seq, c.Erased); err != nil {
			return err
		}
		out.Completion, err = s.settle(ctx, tx, owner, done, c.Rules, at, "key "+strconv.FormatUint(uint64(c.Serial), 10)+" "+statusWords(c.To))
		return err
	})
	return out, err
}

// statusWords says what a change to status s was, for the completion
// history.
func statusWords(s tracker.KeyStatus) string {
	switch s {
	case tracker.KeyReportedLost:
		return "reported lost"
	case tracker.KeyLost:
		return "confirmed lost"
	case tracker.KeyActive:
		return "found"
	case tracker.KeyRetired:
		return "retired"
	}
	return string(s)
}

// SetKeyStatus is ChangeKeyStatus for personID's key with the legacy
// policy, as before statuses had rules.
func (s *sqlStore) SetKeyStatus(ctx context.Context, personID string, serial uint32, status tracker.KeyStatus, audit tracker.AuditEntry) error {
	_, err := s.ChangeKeyStatus(ctx, KeyChange{Serial: serial, Owner: personID, To: status, Audit: audit,
		Rules: Rules{Policy: tracker.LegacyPolicy, Limits: noLimits}})
	return err
}

// keyEvent records a change of key k (as its owner and role stand) to
// status, made by actor; auditSeq is the audit entry holding its reason
// (0: none, an enrolment).
func (s *sqlStore) keyEvent(ctx context.Context, tx *sql.Tx, k tracker.Key, at time.Time, actor string, status tracker.KeyStatus, auditSeq int64, erased []string) error {
	if _, err := s.exec(ctx, tx, "INSERT INTO key_events (serial, person_id, role, at, actor, status, audit_seq, erased) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		int64(k.Serial), k.PersonID, string(k.Role), micros(at), actor, string(status), auditSeq, strings.Join(erased, ",")); err != nil {
		return fmt.Errorf("recording key history: %w", err)
	}
	return nil
}

// settle judges personID's completion now, under their lock (done is
// their completed_at as locked), and records a change of it: completed_at
// and a completion_history entry naming cause.
func (s *sqlStore) settle(ctx context.Context, tx *sql.Tx, personID string, done int64, rules Rules, now time.Time, cause string) (Completion, error) {
	var out Completion
	services := rules.Services
	if len(services) == 0 {
		named, err := s.services(ctx, tx)
		if err != nil {
			return out, err
		}
		services = tracker.ServiceIDs(named)
	}
	if len(services) == 0 {
		// No list to judge by (only reports from wizards that did not
		// name their catalogue): nobody counts as complete.
		return out, nil
	}
	keys, items, err := s.completionRecords(ctx, tx, personID, services)
	if err != nil {
		return out, err
	}
	out.Complete = rules.Policy.Complete(tracker.Person{ID: personID}, keys, items, services)
	if out.Complete == (done != 0) {
		return out, nil
	}
	since := int64(0)
	if out.Complete {
		since = micros(now)
		var n int
		if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM completion_history WHERE person_id = ? AND complete = 1", personID).Scan(&n); err != nil {
			return out, fmt.Errorf("reading completion history: %w", err)
		}
		out.NewlyComplete, out.Again = true, n > 0
	} else {
		out.Dropped = true
	}
	if _, err := s.exec(ctx, tx, "UPDATE people SET completed_at = ? WHERE id = ?", since, personID); err != nil {
		return out, fmt.Errorf("marking completion: %w", err)
	}
	if _, err := s.exec(ctx, tx, "INSERT INTO completion_history (person_id, at, complete, cause) VALUES (?, ?, ?, ?)",
		personID, micros(now), b2i(out.Complete), cause); err != nil {
		return out, fmt.Errorf("recording completion history: %w", err)
	}
	return out, nil
}

// KeyRecord returns the key serial names with its owner and their
// history of it, oldest first.
func (s *sqlStore) KeyRecord(ctx context.Context, serial uint32) (tracker.KeyRecord, error) {
	var r tracker.KeyRecord
	k, err := scanKey(s.queryRow(ctx, nil, "SELECT "+keyCols+" FROM keys WHERE serial = ?", int64(serial)))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("reading key: %w", err)
	}
	r.Key = k
	err = s.queryRow(ctx, nil, "SELECT name, email FROM people WHERE id = ?", k.PersonID).Scan(&r.OwnerName, &r.OwnerEmail)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("reading owner: %w", err)
	}
	evs, err := s.KeyHistory(ctx, []string{k.PersonID})
	if err != nil {
		return r, err
	}
	r.History = []tracker.KeyEvent{}
	for _, e := range evs {
		if e.Serial == serial {
			r.History = append(r.History, e.KeyEvent)
		}
	}
	return r, nil
}

// KeyHistory returns the key events of the given people's keys (nil:
// everyone's), oldest first, with the actors' names.
func (s *sqlStore) KeyHistory(ctx context.Context, ids []string) ([]tracker.OwnedKeyEvent, error) {
	const q = `SELECT e.serial, e.person_id, e.role, e.at, e.actor, COALESCE(p.name, ''), e.status, COALESCE(a.reason, ''), e.audit_seq, e.erased
			FROM key_events e LEFT JOIN people p ON p.id = e.actor LEFT JOIN audit a ON a.seq = e.audit_seq AND e.audit_seq <> 0`
	out := []tracker.OwnedKeyEvent{}
	err := s.byPeople(ctx, q, "e.person_id", "e.id", ids, func(rows *sql.Rows, err error) error {
		evs, err := collect(rows, err, func(r scanner) (tracker.OwnedKeyEvent, error) {
			var (
				e         tracker.OwnedKeyEvent
				serial    int64
				at        int64
				st        string
				seq       int64
				erasedCSV string
			)
			err := r.Scan(&serial, &e.PersonID, &e.Role, &at, &e.Actor, &e.ActorName, &st, &e.Reason, &seq, &erasedCSV)
			e.Serial, e.At, e.Status = uint32(serial), fromMicros(at), tracker.KeyStatus(st)
			if seq == 0 {
				e.Reason = "enrolled as " + string(e.Role) + " key"
			}
			if erasedCSV != "" {
				e.Erased = strings.Split(erasedCSV, ",")
			}
			return e, err
		})
		out = append(out, evs...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading key history: %w", err)
	}
	return out, nil
}

// CompletionHistory returns the completion changes of the given people
// (nil: everyone), by person ID, oldest first.
func (s *sqlStore) CompletionHistory(ctx context.Context, ids []string) (map[string][]tracker.CompletionChange, error) {
	const q = "SELECT person_id, at, complete, cause FROM completion_history"
	out := map[string][]tracker.CompletionChange{}
	scan := func(rows *sql.Rows, err error) error {
		type row struct {
			id string
			c  tracker.CompletionChange
		}
		rs, err := collect(rows, err, func(r scanner) (row, error) {
			var (
				x  row
				at int64
				n  int
			)
			err := r.Scan(&x.id, &at, &n, &x.c.Cause)
			x.c.At, x.c.Complete = fromMicros(at), n != 0
			return x, err
		})
		for _, x := range rs {
			out[x.id] = append(out[x.id], x.c)
		}
		return err
	}
	if err := s.byPeople(ctx, q, "person_id", "id", ids, scan); err != nil {
		return nil, fmt.Errorf("reading completion history: %w", err)
	}
	return out, nil
}

// byPeople runs q (a SELECT without WHERE) for the rows whose col is one
// of ids (nil: every row), ordered by order, handing each result to fn:
// one query on PostgreSQL (an array parameter), one per 64 people on
// SQLite, as Records does. Rows come in order within each query.
func (s *sqlStore) byPeople(ctx context.Context, q, col, order string, ids []string, fn func(*sql.Rows, error) error) error {
	switch {
	case ids == nil:
		return fn(s.query(ctx, nil, q+" ORDER BY "+order))
	case len(ids) == 0:
		return nil
	case s.d == postgres:
		return fn(s.query(ctx, nil, q+" WHERE "+col+" = ANY(?) ORDER BY "+order, ids))
	}
	const chunk = 64
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", chunk), ", ") + ")"
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, chunk)
		for i := range args {
			args[i] = ids[min(i, n-1)] // one statement shape
		}
		ids = ids[n:]
		if err := fn(s.query(ctx, nil, q+" WHERE "+col+" IN "+in+" ORDER BY "+order, args...)); err != nil {
			return err
		}
	}
	return nil
}

// settleExisting re-judges, on the upgrade to version 6, the completions
// stored before: completed_at then meant "ever completed", so someone who
// lost a key since and has no replacement would still count as complete.
// They are judged by the stored services and the legacy policy (both keys
// active with every service, OTP off), the weakest one a tracker could
// have been configured with: it ends only completions no policy would
// grant now. The change is recorded in their completion history.
func settleExisting(ctx context.Context, s *sqlStore, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, completed_at FROM people WHERE completed_at <> 0")
	if err != nil {
		return fmt.Errorf("reading completions: %w", err)
	}
	type done struct {
		id string
		at int64
	}
	var all []done
	for rows.Next() {
		var d done
		if err := rows.Scan(&d.id, &d.at); err != nil {
			rows.Close()
			return fmt.Errorf("reading completions: %w", err)
		}
		all = append(all, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading completions: %w", err)
	}
	now := time.Now()
	m := &sqlStore{db: s.db, d: s.d, plain: true, stmts: map[string]*sql.Stmt{}, rebound: map[string]string{}}
	for _, d := range all {
		if _, err := m.settle(ctx, tx, d.id, d.at, Rules{Policy: tracker.LegacyPolicy}, now, "judged again on upgrading the tracker (a key lost since)"); err != nil {
			return err
		}
	}
	return nil
}
