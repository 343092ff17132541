package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keywizard/keywizard/tracker"
)

type job struct {
	ctx context.Context
	fn  func(tx *sql.Tx) error
	res chan error
}

type sqlStore struct {
	db *sql.DB
	d  dialect

	mu     sync.RWMutex // guards closed against concurrent write()
	closed bool
	jobs   chan job
	done   chan struct{}
	// writers are running writer goroutines; Close waits for them.
	writers sync.WaitGroup

	stmtMu  sync.Mutex
	stmts   map[string]*sql.Stmt
	rebound map[string]string
	// plain: statements run as text on the transaction given, never
	// prepared on the pool (a migration's, whose new tables the pool's
	// connections cannot see yet).
	plain bool
}

// maxBatch bounds how many requests share one transaction, so a burst does
// not hold the write lock for long.
const maxBatch = 128

func (s *sqlStore) Backend() string {
	if s.d == postgres {
		return "postgres"
	}
	return "sqlite"
}

// stmt returns the prepared form of q, preparing it on first use.
func (s *sqlStore) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.d.rebind(q))
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	s.stmts[q] = st
	return st, nil
}

func (s *sqlStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.writers.Wait()
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmtMu.Unlock()
	return s.db.Close()
}

// write runs fn in a transaction shared with other concurrent writes. fn may
// run with a savepoint around it; if it returns an error its changes are
// rolled back and the error returned.
func (s *sqlStore) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	j := job{ctx: ctx, fn: fn, res: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// The writer always answers, even when closing, so this cannot hang;
	// not selecting on ctx here means a caller never mistakes a committed
	// write for a failed one.
	return <-j.res
}

func (s *sqlStore) writer() {
	defer s.writers.Done()
	for {
		var batch []job
		select {
		case j := <-s.jobs:
			batch = append(batch, j)
		case <-s.done:
			// No sender can be active once done is closed (Close took
			// the write lock first); finish what is queued.
			for {
				select {
				case j := <-s.jobs:
					s.runBatch([]job{j})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		s.runBatch(batch)
	}
}

// retries bounds how often a write that lost to a concurrent transaction
// of another tracker instance is run again on its own.
const retries = 3

// runBatch runs batch in one transaction and answers every job. A job that
// failed only because PostgreSQL chose its transaction as a deadlock victim
// or refused it as a serialization failure (several tracker instances
// writing the same rows in another order) is run again on its own, a few
// times, before its caller hears of it: nothing of it was committed, and
// the caller would otherwise see a 500 for a request that can succeed.
func (s *sqlStore) runBatch(batch []job) {
	errs := s.runOnce(batch)
	for range retries {
		again := false
		for i, j := range batch {
			if transient(errs[i]) && j.ctx.Err() == nil {
				errs[i] = s.runOnce([]job{j})[0]
				again = true
			}
		}
		if !again {
			break
		}
	}
	for i, j := range batch {
		j.res <- errs[i]
	}
}

// transient reports whether err is PostgreSQL's deadlock_detected (40P01)
// or serialization_failure (40001): the transaction was rolled back and the
// same work may succeed when run again (PostgreSQL manual, appendix A, and
// "Serialization Failure Handling").
func transient(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// runOnce runs batch in one transaction and returns each job's error.
func (s *sqlStore) runOnce(batch []job) []error {
	errs := make([]error, len(batch))
	// The transaction outlives any one caller's context.
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("beginning transaction: %w", err)
		}
		return errs
	}
	savepoints := len(batch) > 1
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				errs[i] = fmt.Errorf("savepoint: %w", err)
				continue
			}
		}
		errs[i] = j.fn(tx)
		if !savepoints {
			continue
		}
		if errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
				// The transaction is unusable; fail everyone.
				tx.Rollback()
				for k := range errs {
					if errs[k] == nil {
						errs[k] = fmt.Errorf("rolling back: %w", err)
					}
				}
				return errs
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil && errs[i] == nil {
			errs[i] = fmt.Errorf("releasing savepoint: %w", err)
		}
	}
	if !savepoints && errs[0] != nil {
		tx.Rollback()
		return errs
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("committing: %w", err)
			}
		}
	}
	return errs
}

// Statement preparation differs by driver. modernc's SQLite gains from
// database/sql prepared statements; pgx caches prepared statements per
// connection by itself, and database/sql's Tx.Stmt would re-prepare them on
// every transaction, costing a round trip, so PostgreSQL gets plain text.

func (s *sqlStore) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if s.d == postgres || s.plain {
		res, err = tx.ExecContext(ctx, s.sqlText(q), args...)
	} else {
		var st *sql.Stmt
		if st, err = s.stmt(ctx, q); err != nil {
			return 0, err
		}
		res, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sqlText returns q rebound for the dialect, cached.
func (s *sqlStore) sqlText(q string) string {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if r, ok := s.rebound[q]; ok {
		return r
	}
	r := s.d.rebind(q)
	s.rebound[q] = r
	return r
}

// queryer is *sql.Tx or *sql.DB's prepared statement; q runs q on tx if not
// nil, else on the pool.
func (s *sqlStore) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if s.d == postgres || (s.plain && tx != nil) {
		if tx != nil {
			return tx.QueryContext(ctx, s.sqlText(q), args...)
		}
		return s.db.QueryContext(ctx, s.sqlText(q), args...)
	}
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	return st.QueryContext(ctx, args...)
}

func (s *sqlStore) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if s.d == postgres || (s.plain && tx != nil) {
		if tx != nil {
			return tx.QueryRowContext(ctx, s.sqlText(q), args...)
		}
		return s.db.QueryRowContext(ctx, s.sqlText(q), args...)
	}
	st, err := s.stmt(ctx, q)
	if err != nil {
		// Let Scan report it: prepare errors are also query errors.
		return s.db.QueryRowContext(ctx, s.d.rebind(q), args...)
	}
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	return st.QueryRowContext(ctx, args...)
}

const personCols = "id, email, name, team, manager_id, start_date, admin, created_at, completed_at, due_date, left_at, external_id"

type scanner interface{ Scan(...any) error }

func scanPerson(r scanner) (tracker.Person, error) {
	var (
		p             tracker.Person
		admin         int
		created, done int64
		left          int64
	)
	if err := r.Scan(&p.ID, &p.Email, &p.Name, &p.Team, &p.ManagerID, &p.StartDate, &admin, &created, &done, &p.DueDate, &left, &p.ExternalID); err != nil {
		return p, err
	}
	p.Admin = admin != 0
	p.CreatedAt = fromMicros(created)
	p.CompletedAt, p.Complete = fromMicros(done), done != 0
	p.LeftAt = fromMicros(left)
	return p, nil
}

func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *sqlStore) AppendAudit(ctx context.Context, e tracker.AuditEntry) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, e) })
}

func (s *sqlStore) CreatePerson(ctx context.Context, p tracker.Person, audit tracker.AuditEntry) (tracker.Person, error) {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := s.queryRow(ctx, tx, "SELECT 1 FROM people WHERE email = ?", p.Email).Scan(&one)
		if err == nil {
			return &ConflictError{"email", "a person with this e-mail already exists"}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("checking e-mail: %w", err)
		}
		if p.ManagerID != "" {
			if err := s.queryRow(ctx, tx, "SELECT 1 FROM people WHERE id = ?", p.ManagerID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return &ConflictError{"manager_email", "no such person"}
			} else if err != nil {
				return fmt.Errorf("checking manager: %w", err)
			}
		}
		if _, err := s.exec(ctx, tx, "INSERT INTO people ("+personCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			p.ID, p.Email, p.Name, p.Team, p.ManagerID, p.StartDate, b2i(p.Admin), micros(p.CreatedAt), micros(p.CompletedAt),
			p.DueDate, micros(p.LeftAt), p.ExternalID); err != nil {
			if isUnique(err) {
				return &ConflictError{"email", "a person with this e-mail already exists"}
			}
			return fmt.Errorf("inserting person: %w", err)
		}
		return s.appendAudit(ctx, tx, audit)
	})
	return p, err
}

func isUnique(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "unique") || strings.Contains(m, "duplicate key")
}

func (s *sqlStore) Person(ctx context.Context, id string) (tracker.Person, error) {
	p, err := scanPerson(s.queryRow(ctx, nil, "SELECT "+personCols+" FROM people WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("reading person: %w", err)
	}
	return p, nil
}

func (s *sqlStore) PersonByEmail(ctx context.Context, email string) (tracker.Person, error) {
	p, err := scanPerson(s.queryRow(ctx, nil, "SELECT "+personCols+" FROM people WHERE email = ?", email))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("reading person: %w", err)
	}
	return p, nil
}

func (s *sqlStore) People(ctx context.Context) ([]tracker.Person, error) {
	rows, err := s.query(ctx, nil, "SELECT "+personCols+" FROM people ORDER BY email")
	ps, err := collect(rows, err, scanPerson)
	if err != nil {
		return nil, fmt.Errorf("listing people: %w", err)
	}
	return ps, nil
}

// treeCTE selects the IDs of everyone below the manager given as its one
// parameter. UNION (not UNION ALL) stops at any cycle.
const treeCTE = `WITH RECURSIVE tree(id) AS (
	SELECT id FROM people WHERE manager_id = ?
	UNION SELECT p.id FROM people p JOIN tree t ON p.manager_id = t.id) `

func (s *sqlStore) Reports(ctx context.Context, managerID string) ([]tracker.Person, error) {
	if managerID == "" {
		return nil, ErrNotFound
	}
	rows, err := s.query(ctx, nil, treeCTE+"SELECT "+personCols+" FROM people WHERE id IN (SELECT id FROM tree)", managerID)
	ps, err := collect(rows, err, scanPerson)
	if err != nil {
		return nil, fmt.Errorf("listing reports: %w", err)
	}
	return ps, nil
}

func (s *sqlStore) Team(ctx context.Context, managerID string) ([]tracker.Person, []tracker.Key, []tracker.Item, error) {
	people, err := s.Reports(ctx, managerID)
	if err != nil {
		return nil, nil, nil, err
	}
	// IDs rather than the tree CTE again: PostgreSQL estimates recursive
	// CTEs at thousands of rows and then scans all items instead of using
	// the index.
	ids := make([]string, len(people))
	for i, p := range people {
		ids[i] = p.ID
	}
	keys, items, err := s.Records(ctx, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	return people, keys, items, nil
}

func (s *sqlStore) Manages(ctx context.Context, managerID, personID string) (bool, error) {
	if managerID == "" || personID == "" || managerID == personID {
		return false, nil
	}
	var one int
	err := s.queryRow(ctx, nil, `WITH RECURSIVE up(id, mid) AS (
		SELECT id, manager_id FROM people WHERE id = ?
		UNION SELECT p.id, p.manager_id FROM people p JOIN up ON p.id = up.mid)
		SELECT 1 FROM up WHERE mid = ? LIMIT 1`, personID, managerID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking management chain: %w", err)
	}
	return true, nil
}

// keyColsV1 are the key columns of every schema version: completion is
// judged on them alone (completionRecords), also while the upgrade to
// version 6 (settleExisting) runs, before later columns exist.
const keyColsV1 = "serial, person_id, model, role, status, firmware, form_factor, genuine, genuine_detail, updated_at"

const keyCols = keyColsV1 + ", genuine_checked_at"

func scanKey(r scanner) (tracker.Key, error) { return scanKeyCols(r, true) }

// scanKeyV1 scans keyColsV1.
func scanKeyV1(r scanner) (tracker.Key, error) { return scanKeyCols(r, false) }

func scanKeyCols(r scanner, all bool) (tracker.Key, error) {
	var (
		k       tracker.Key
		serial  int64
		genuine int
		updated int64
		checked int64
	)
	dst := []any{&serial, &k.PersonID, &k.Model, &k.Role, &k.Status, &k.Firmware, &k.FormFactor, &genuine, &k.GenuineDetail, &updated}
	if all {
		dst = append(dst, &checked)
	}
	err := r.Scan(dst...)
	k.Serial = uint32(serial)
	k.Genuine = genuine != 0
	k.UpdatedAt = fromMicros(updated)
	k.GenuineCheckedAt = fromMicros(checked)
	return k, err
}

// itemColsV5 are the item columns of schema version 5 on: completion is
// judged on them alone (completionRecords), also while the upgrade to
// version 6 (settleExisting) runs, before later columns exist.
const itemColsV5 = "person_id, serial, service, evidence, at, app_version, received_at"

const itemCols = itemColsV5 + ", checked_at"

func scanItem(r scanner) (tracker.Item, error) { return scanItemCols(r, true) }

// scanItemV5 scans itemColsV5.
func scanItemV5(r scanner) (tracker.Item, error) { return scanItemCols(r, false) }

func scanItemCols(r scanner, all bool) (tracker.Item, error) {
	var (
		it      tracker.Item
		serial  int64
		at      int64
		recv    int64
		checked int64
	)
	dst := []any{&it.PersonID, &serial, &it.Service, &it.Evidence, &at, &it.AppVersion, &recv}
	if all {
		dst = append(dst, &checked)
	}
	err := r.Scan(dst...)
	it.Serial = uint32(serial)
	it.At = fromMicros(at)
	it.ReceivedAt = fromMicros(recv)
	it.CheckedAt = fromMicros(checked)
	return it, err
}

func (s *sqlStore) Records(ctx context.Context, ids []string) ([]tracker.Key, []tracker.Item, error) {
	if ids == nil {
		rows, err := s.query(ctx, nil, "SELECT "+keyCols+" FROM keys")
		keys, err := collect(rows, err, scanKey)
		if err != nil {
			return nil, nil, fmt.Errorf("listing keys: %w", err)
		}
		rows, err = s.query(ctx, nil, "SELECT "+itemCols+" FROM items")
		items, err := collect(rows, err, scanItem)
		if err != nil {
			return nil, nil, fmt.Errorf("listing items: %w", err)
		}
		return keys, items, nil
	}
	keys, items := []tracker.Key{}, []tracker.Item{}
	if len(ids) == 0 {
		return keys, items, nil
	}
	if s.d == postgres {
		// One array parameter: one plan, index lookups, any team size.
		rows, err := s.query(ctx, nil, "SELECT "+keyCols+" FROM keys WHERE person_id = ANY(?)", ids)
		keys, err := collect(rows, err, scanKey)
		if err != nil {
			return nil, nil, fmt.Errorf("listing keys: %w", err)
		}
		rows, err = s.query(ctx, nil, "SELECT "+itemCols+" FROM items WHERE person_id = ANY(?)", ids)
		items, err := collect(rows, err, scanItem)
		if err != nil {
			return nil, nil, fmt.Errorf("listing items: %w", err)
		}
		return keys, items, nil
	}
	// Chunks keep the statement under both databases' parameter limits
	// and let a handful of statement shapes be prepared and reused.
	const chunk = 64
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		part := ids[:n]
		ids = ids[n:]
		args := make([]any, chunk)
		for i := range args {
			// Padding with a repeated ID keeps one statement shape.
			args[i] = part[min(i, len(part)-1)]
		}
		in := "(" + strings.TrimSuffix(strings.Repeat("?, ", chunk), ", ") + ")"
		rows, err := s.query(ctx, nil, "SELECT "+keyCols+" FROM keys WHERE person_id IN "+in, args...)
		k, err := collect(rows, err, scanKey)
		if err != nil {
			return nil, nil, fmt.Errorf("listing keys: %w", err)
		}
		rows, err = s.query(ctx, nil, "SELECT "+itemCols+" FROM items WHERE person_id IN "+in, args...)
		it, err := collect(rows, err, scanItem)
		if err != nil {
			return nil, nil, fmt.Errorf("listing items: %w", err)
		}
		keys = append(keys, k...)
		items = append(items, it...)
	}
	return keys, items, nil
}

func (s *sqlStore) AddInvite(ctx context.Context, c Credential, audit tracker.AuditEntry) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		// A new invite replaces any unused one: only the latest code works.
		if _, err := s.exec(ctx, tx, "UPDATE invites SET used = 1 WHERE person_id = ? AND used = 0", c.PersonID); err != nil {
			return fmt.Errorf("retiring old invites: %w", err)
		}
		if _, err := s.exec(ctx, tx, "INSERT INTO invites (selector, hash, person_id, expires_at, used) VALUES (?, ?, ?, ?, 0)",
			c.Selector, c.Hash, c.PersonID, micros(c.ExpiresAt)); err != nil {
			return fmt.Errorf("storing invite: %w", err)
		}
		return s.appendAudit(ctx, tx, audit)
	})
}

func (s *sqlStore) RedeemInvite(ctx context.Context, selector string, check func(Credential) bool, token Credential, now time.Time) (tracker.Person, error) {
	var p tracker.Person
	err := s.write(ctx, func(tx *sql.Tx) error {
		var (
			c       = Credential{Selector: selector}
			expires int64
			used    int
		)
		err := s.queryRow(ctx, tx, "SELECT hash, person_id, expires_at, used FROM invites WHERE selector = ?", selector).
			Scan(&c.Hash, &c.PersonID, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalid
		} else if err != nil {
			return fmt.Errorf("reading invite: %w", err)
		}
		c.ExpiresAt, c.Used = fromMicros(expires), used != 0
		// Check the secret first so timing does not reveal which of
		// used/expired applies to a guessed selector.
		if !check(c) || c.Used || !now.Before(c.ExpiresAt) {
			return ErrInvalid
		}
		if n, err := s.exec(ctx, tx, "UPDATE invites SET used = 1 WHERE selector = ? AND used = 0", selector); err != nil {
			return fmt.Errorf("using invite: %w", err)
		} else if n != 1 {
			return ErrInvalid
		}
		p, err = scanPerson(s.queryRow(ctx, tx, "SELECT "+personCols+" FROM people WHERE id = ?", c.PersonID))
		if err != nil {
			return fmt.Errorf("reading person: %w", err)
		}
		token.PersonID = c.PersonID
		if err := s.addToken(ctx, tx, token); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, tracker.AuditEntry{At: now, Actor: c.PersonID, Action: "token.exchange", Subject: c.PersonID, Detail: "invite exchanged for a token"})
	})
	return p, err
}

func (s *sqlStore) addToken(ctx context.Context, tx *sql.Tx, c Credential) error {
	if _, err := s.exec(ctx, tx, "INSERT INTO tokens (selector, hash, person_id, device, expires_at, revoked) VALUES (?, ?, ?, ?, ?, 0)",
		c.Selector, c.Hash, c.PersonID, c.Device, micros(c.ExpiresAt)); err != nil {
		return fmt.Errorf("storing token: %w", err)
	}
	return nil
}

func (s *sqlStore) AddToken(ctx context.Context, c Credential, audit tracker.AuditEntry) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.addToken(ctx, tx, c); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, audit)
	})
}

func (s *sqlStore) Token(ctx context.Context, selector string) (Credential, error) {
	c := Credential{Selector: selector}
	var (
		expires int64
		revoked int
	)
	err := s.queryRow(ctx, nil, "SELECT hash, person_id, device, expires_at, revoked FROM tokens WHERE selector = ?", selector).
		Scan(&c.Hash, &c.PersonID, &c.Device, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrInvalid
	}
	if err != nil {
		return c, fmt.Errorf("reading token: %w", err)
	}
	c.ExpiresAt, c.Used = fromMicros(expires), revoked != 0
	return c, nil
}

func (s *sqlStore) TokenPerson(ctx context.Context, selector string) (Credential, tracker.Person, error) {
	c := Credential{Selector: selector}
	var (
		p             tracker.Person
		expires       int64
		revoked       int
		admin         int
		created, done int64
		left          int64
	)
	err := s.queryRow(ctx, nil, `SELECT t.hash, t.person_id, t.device, t.expires_at, t.revoked,
		p.id, p.email, p.name, p.team, p.manager_id, p.start_date, p.admin, p.created_at, p.completed_at,
		p.due_date, p.left_at, p.external_id
		FROM tokens t JOIN people p ON p.id = t.person_id WHERE t.selector = ?`, selector).
		Scan(&c.Hash, &c.PersonID, &c.Device, &expires, &revoked,
			&p.ID, &p.Email, &p.Name, &p.Team, &p.ManagerID, &p.StartDate, &admin, &created, &done,
			&p.DueDate, &left, &p.ExternalID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, p, ErrInvalid
	}
	if err != nil {
		return c, p, fmt.Errorf("reading token: %w", err)
	}
	c.ExpiresAt, c.Used = fromMicros(expires), revoked != 0
	p.Admin, p.CreatedAt, p.CompletedAt, p.Complete = admin != 0, fromMicros(created), fromMicros(done), done != 0
	p.LeftAt = fromMicros(left)
	return c, p, nil
}

func (s *sqlStore) RevokeTokens(ctx context.Context, personID string, audit tracker.AuditEntry) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "UPDATE tokens SET revoked = 1 WHERE person_id = ?", personID); err != nil {
			return fmt.Errorf("revoking tokens: %w", err)
		}
		if _, err := s.exec(ctx, tx, "UPDATE invites SET used = 1 WHERE person_id = ?", personID); err != nil {
			return fmt.Errorf("revoking invites: %w", err)
		}
		return s.appendAudit(ctx, tx, audit)
	})
}

const (
	// The key upserts change a key only if it is the reporter's own or
	// retired (handed to someone new, it starts afresh as active), or if
	// its owner's claim is unconfirmed (no genuine attestation) and this
	// report's is genuine: whoever first typed a serial cannot keep its
	// real owner out. Another's key otherwise affects no row. The condition is in the statement,
	// not in a read before it: two instances reporting the same serial for
	// two people at once would both read "no such key" and the second
	// would take the key over. PostgreSQL's ON CONFLICT waits for the
	// first and checks the condition against its committed row.
	upsertKeyOwned = `
	WHERE keys.person_id = excluded.person_id OR keys.status = 'retired' OR (keys.genuine = 0 AND excluded.genuine = 1)`
	upsertKeyStatus = `status = CASE WHEN keys.person_id = excluded.person_id THEN keys.status ELSE 'active' END`
	// A key that changes hands without an attestation keeps nothing its
	// former owner's reports established: no genuine-key result, no
	// firmware or form factor (the new owner's attestation sets them).
	upsertKeyFresh = `, firmware = CASE WHEN keys.person_id = excluded.person_id THEN keys.firmware ELSE '' END,
	form_factor = CASE WHEN keys.person_id = excluded.person_id THEN keys.form_factor ELSE '' END,
	genuine = CASE WHEN keys.person_id = excluded.person_id THEN keys.genuine ELSE 0 END,
	genuine_detail = CASE WHEN keys.person_id = excluded.person_id THEN keys.genuine_detail ELSE excluded.genuine_detail END,
	genuine_checked_at = CASE WHEN keys.person_id = excluded.person_id THEN keys.genuine_checked_at ELSE 0 END`
	upsertKeyPlain = `INSERT INTO keys (` + keyCols + `) VALUES (?, ?, ?, ?, 'active', '', '', 0, 'no attestation received', ?, 0)
	ON CONFLICT (serial) DO UPDATE SET person_id = excluded.person_id, ` + upsertKeyStatus + upsertKeyFresh + `, model = excluded.model, role = excluded.role,
	updated_at = excluded.updated_at` + upsertKeyOwned
	upsertKeyAttested = `INSERT INTO keys (` + keyCols + `) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)
	ON CONFLICT (serial) DO UPDATE SET person_id = excluded.person_id, ` + upsertKeyStatus + `, model = excluded.model, role = excluded.role,
	firmware = excluded.firmware, form_factor = excluded.form_factor, genuine = excluded.genuine,
	genuine_detail = excluded.genuine_detail, genuine_checked_at = excluded.genuine_checked_at, updated_at = excluded.updated_at` + upsertKeyOwned
	// A report of the same result (the same at) sent out of order does not
	// take back a later check time: checked_at only moves forward for it.
	upsertItemsConflict = `
	ON CONFLICT (person_id, serial, service) DO UPDATE SET evidence = excluded.evidence, at = excluded.at,
	app_version = excluded.app_version, received_at = excluded.received_at,
	checked_at = CASE WHEN excluded.at = items.at AND items.checked_at > excluded.checked_at THEN items.checked_at ELSE excluded.checked_at END
	WHERE excluded.at >= items.at OR items.at > excluded.received_at`
)

// upsertItemsSQL caches the statement text per item count.
var upsertItemsSQL sync.Map

func upsertItems(n int) string {
	if q, ok := upsertItemsSQL.Load(n); ok {
		return q.(string)
	}
	q := "INSERT INTO items (" + itemCols + ") VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ") + upsertItemsConflict
	upsertItemsSQL.Store(n, q)
	return q
}

func (s *sqlStore) SubmitReport(ctx context.Context, personID string, r tracker.Report, k KeyInfo, services []string, now time.Time) (ReportOutcome, error) {
	return s.SubmitReportRules(ctx, personID, r, k, Rules{Services: services, Policy: tracker.LegacyPolicy, Limits: noLimits}, now)
}

func (s *sqlStore) SubmitReportRules(ctx context.Context, personID string, r tracker.Report, k KeyInfo, rules Rules, now time.Time) (ReportOutcome, error) {
	services, limits := rules.Services, rules.Limits.withDefaults()
	var out ReportOutcome
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = ReportOutcome{}
		// Completion is decided under a lock on the person, taken first:
		// two instances each storing one of a person's two keys would
		// otherwise each see only their own key (READ COMMITTED, the other
		// not yet committed) and neither would mark them complete.
		done, err := s.lockPerson(ctx, tx, personID)
		if err != nil {
			return err
		}
		n, err := s.exec(ctx, tx, "INSERT INTO reports (person_id, idempotency_key, received_at) VALUES (?, ?, ?) ON CONFLICT (person_id, idempotency_key) DO NOTHING",
			personID, r.IdempotencyKey, micros(now))
		if err != nil {
			return fmt.Errorf("recording report: %w", err)
		}
		if n == 0 {
			out.Duplicate, out.Complete = true, done != 0
			return nil
		}
		prev, err := s.keyClaim(ctx, tx, r.Serial)
		if err != nil {
			return err
		}
		if k.Verified {
			n, err = s.exec(ctx, tx, upsertKeyAttested, int64(r.Serial), personID, r.Model, string(r.Role),
				k.Firmware, k.FormFactor, b2i(k.Genuine), k.GenuineDetail, micros(now), micros(now))
		} else {
			n, err = s.exec(ctx, tx, upsertKeyPlain, int64(r.Serial), personID, r.Model, string(r.Role), micros(now))
		}
		if err != nil {
			return fmt.Errorf("storing key: %w", err)
		}
		if n == 0 {
			// Rolled back with the rest (write), so the report is not
			// marked seen and can be sent again once IT retires the key.
			return ErrKeyTaken
		}
		if prev.owner != "" && prev.owner != personID && prev.status != string(tracker.KeyRetired) {
			// An unconfirmed claim gave way to a genuine one (upsertKeyOwned).
			if err := s.appendAudit(ctx, tx, tracker.AuditEntry{At: now, Actor: personID, Action: auditKeyClaimed, Subject: prev.owner,
				Detail: fmt.Sprintf("key %d, claimed without a genuine attestation, now belongs to %s, who attested it", r.Serial, personID)}); err != nil {
				return err
			}
		}
		if len(r.Items) > 0 {
			// One multi-row statement: a round trip per report, not per
			// item. Services in a report are unique (validated), which
			// PostgreSQL requires of ON CONFLICT DO UPDATE.
			// A later report of a service replaces the item, judged by
			// the wizard's times (a queued report sent late must not undo
			// a newer one), unless the stored time is past this report's
			// receipt: a time in the future (stored before the server
			// bounded item times) gives way rather than block updates.
			args := make([]any, 0, 8*len(r.Items))
			for _, it := range r.Items {
				args = append(args, personID, int64(r.Serial), it.Service, string(it.Evidence), micros(it.At), r.AppVersion, micros(now), micros(it.CheckedAt))
			}
			if _, err := s.exec(ctx, tx, upsertItems(len(r.Items)), args...); err != nil {
				return fmt.Errorf("storing items: %w", err)
			}
		}
		if err := s.checkLimits(ctx, tx, personID, limits); err != nil {
			return err
		}
		named := r.Services
		if len(named) > 0 {
			if err := s.nameServices(ctx, tx, named); err != nil {
				return err
			}
		}
		if prev.owner != personID {
			// Enrolled: a new key, or one taken over (retired, or an
			// unconfirmed claim); its history starts here for this owner.
			k := tracker.Key{Serial: r.Serial, PersonID: personID, Role: r.Role}
			if err := s.keyEvent(ctx, tx, k, now, personID, tracker.KeyActive, 0, nil); err != nil {
				return err
			}
		}
		// Completion is judged now, every time: a report can also end it
		// (a second key in a role, not yet set up, is the one that counts).
		c, err := s.settle(ctx, tx, personID, done, Rules{Services: services, Policy: rules.Policy}, now,
			fmt.Sprintf("report for key %d (%s)", r.Serial, r.Role))
		if err != nil {
			return err
		}
		out.Complete, out.NewlyComplete, out.Again = c.Complete, c.NewlyComplete, c.Again
		return nil
	})
	return out, err
}

// lockPerson locks the person's row until the transaction ends and returns
// their completed_at. On PostgreSQL that is SELECT ... FOR UPDATE, which
// makes a second instance's transaction about the same person wait for the
// first to commit and then read what it committed (PostgreSQL manual,
// "Explicit Locking", row-level locks). SQLite needs none: its write
// transactions start IMMEDIATE (see Open) and so run one at a time.
func (s *sqlStore) lockPerson(ctx context.Context, tx *sql.Tx, personID string) (int64, error) {
	q := "SELECT completed_at FROM people WHERE id = ?"
	if s.d == postgres {
		q += " FOR UPDATE"
	}
	var done int64
	err := s.queryRow(ctx, tx, q, personID).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("locking person: %w", err)
	}
	return done, nil
}

// auditCols: an entry's ID is its place in the hash chain.
const auditCols = "seq, at, actor, action, subject, reason, detail"

func scanAudit(r scanner) (tracker.AuditEntry, error) {
	var (
		e  tracker.AuditEntry
		at int64
	)
	err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Subject, &e.Reason, &e.Detail)
	e.At = fromMicros(at)
	return e, err
}

func (s *sqlStore) Audit(ctx context.Context, subject string, limit int) ([]tracker.AuditEntry, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	var (
		rows *sql.Rows
		err  error
	)
	if subject == "" {
		rows, err = s.query(ctx, nil, "SELECT "+auditCols+" FROM audit ORDER BY seq DESC LIMIT ?", limit)
	} else {
		rows, err = s.query(ctx, nil, "SELECT "+auditCols+" FROM audit WHERE subject = ? OR actor = ? ORDER BY seq DESC LIMIT ?", subject, subject, limit)
	}
	es, err := collect(rows, err, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	return es, nil
}

func (s *sqlStore) Export(ctx context.Context, personID string) (tracker.PersonExport, error) {
	var x tracker.PersonExport
	p, err := s.Person(ctx, personID)
	if err != nil {
		return x, err
	}
	x.Person = p
	if x.Keys, x.Items, err = s.Records(ctx, []string{personID}); err != nil {
		return x, err
	}
	if x.Audit, err = s.Audit(ctx, personID, 0); err != nil {
		return x, err
	}
	hist, err := s.CompletionHistory(ctx, []string{personID})
	if err != nil {
		return x, err
	}
	if x.Completion = hist[personID]; x.Completion == nil {
		x.Completion = []tracker.CompletionChange{}
	}
	if x.KeyHistory, err = s.KeyHistory(ctx, []string{personID}); err != nil {
		return x, err
	}
	return x, nil
}

func (s *sqlStore) Erase(ctx context.Context, personID string, audit tracker.AuditEntry) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var manager string
		err := s.queryRow(ctx, tx, "SELECT manager_id FROM people WHERE id = ?", personID).Scan(&manager)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("reading person: %w", err)
		}
		for _, t := range []string{"items", "keys", "reports", "invites", "tokens", "key_events", "completion_history"} {
			if _, err := s.exec(ctx, tx, "DELETE FROM "+t+" WHERE person_id = ?", personID); err != nil {
				return fmt.Errorf("erasing %s: %w", t, err)
			}
		}
		// Their reports move up a level so nobody falls out of the tree.
		if _, err := s.exec(ctx, tx, "UPDATE people SET manager_id = ? WHERE manager_id = ?", manager, personID); err != nil {
			return fmt.Errorf("re-parenting reports: %w", err)
		}
		if _, err := s.exec(ctx, tx, "DELETE FROM people WHERE id = ?", personID); err != nil {
			return fmt.Errorf("erasing person: %w", err)
		}
		// The audit log is append-only except here: free-text reasons about
		// the person may hold personal data, so they are blanked. What was
		// done, when and by whom stays, against the now meaningless ID.
		// The salt goes too: the chain keeps only the commitment, which
		// cannot confirm a guess at the text without it.
		// Entries about them: where they are the subject, or where they
		// acted and nobody else is (their refused requests, with an
		// address; their listings).
		if _, err := s.exec(ctx, tx, "UPDATE audit SET reason = '', detail = '', text_salt = '' WHERE subject = ? OR (subject = '' AND actor = ?)", personID, personID); err != nil {
			return fmt.Errorf("redacting audit log: %w", err)
		}
		return s.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return err
	}
	return s.scrub(ctx)
}

func (s *sqlStore) ClaimDigest(ctx context.Context, day string) (bool, error) {
	var first bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := s.exec(ctx, tx, "INSERT INTO digests (day) VALUES (?) ON CONFLICT (day) DO NOTHING", day)
		if err != nil {
			return fmt.Errorf("claiming digest: %w", err)
		}
		first = n == 1
		return nil
	})
	return first, err
}

func (s *sqlStore) ReleaseDigest(ctx context.Context, day string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM digests WHERE day = ?", day); err != nil {
			return fmt.Errorf("releasing digest: %w", err)
		}
		return nil
	})
}

// nameServices merges the services a report names into the stored list:
// the report's services first, in its order and with its names, then any
// stored service it does not name. The list only grows, because any
// person's report may name services and one person must not be able to
// drop a service from what everyone is required to do; a service the
// organisation drops from its catalogue stays until IT names the required
// services with `serve --services` (tracker/README.md).
func (s *sqlStore) nameServices(ctx context.Context, tx *sql.Tx, named []tracker.Service) error {
	old, err := s.services(ctx, tx)
	if err != nil {
		return err
	}
	services := slices.Clone(named)
	for _, sv := range old {
		if !slices.ContainsFunc(named, func(n tracker.Service) bool { return n.ID == sv.ID }) {
			services = append(services, sv)
		}
	}
	if slices.Equal(old, services) {
		return nil
	}
	if _, err := s.exec(ctx, tx, "DELETE FROM services"); err != nil {
		return fmt.Errorf("replacing services: %w", err)
	}
	for i, sv := range services {
		if _, err := s.exec(ctx, tx, "INSERT INTO services (position, id, name) VALUES (?, ?, ?)", i, sv.ID, sv.Name); err != nil {
			return fmt.Errorf("replacing services: %w", err)
		}
	}
	return nil
}

func (s *sqlStore) services(ctx context.Context, tx *sql.Tx) ([]tracker.Service, error) {
	rows, err := s.query(ctx, tx, "SELECT id, name FROM services ORDER BY position")
	out, err := collect(rows, err, func(r scanner) (tracker.Service, error) {
		var sv tracker.Service
		err := r.Scan(&sv.ID, &sv.Name)
		return sv, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading services: %w", err)
	}
	return out, nil
}

func (s *sqlStore) Services(ctx context.Context) ([]tracker.Service, error) {
	return s.services(ctx, nil)
}

func (s *sqlStore) ReportCount(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, nil, "SELECT COUNT(*) FROM reports").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting reports: %w", err)
	}
	return n, nil
}

func (s *sqlStore) RevokeToken(ctx context.Context, selector string, audit tracker.AuditEntry) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := s.exec(ctx, tx, "UPDATE tokens SET revoked = 1 WHERE selector = ?", selector)
		if err != nil {
			return fmt.Errorf("revoking token: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		return s.appendAudit(ctx, tx, audit)
	})
}
