package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// schemaVersion is bumped with each migration appended to migrations.
const schemaVersion = 7

// migrations are portable SQL; {{autoid}} is the only dialect difference.
var migrations = []string{
	1: `
CREATE TABLE IF NOT EXISTS people (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	team TEXT NOT NULL,
	manager_id TEXT NOT NULL DEFAULT '',
	start_date TEXT NOT NULL,
	admin INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	completed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS people_manager ON people (manager_id);
CREATE TABLE IF NOT EXISTS keys (
	serial BIGINT PRIMARY KEY,
	person_id TEXT NOT NULL,
	model TEXT NOT NULL,
	role TEXT NOT NULL,
	status TEXT NOT NULL,
	firmware TEXT NOT NULL DEFAULT '',
	form_factor TEXT NOT NULL DEFAULT '',
	genuine INTEGER NOT NULL DEFAULT 0,
	genuine_detail TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_person ON keys (person_id);
CREATE TABLE IF NOT EXISTS items (
	person_id TEXT NOT NULL,
	serial BIGINT NOT NULL,
	service TEXT NOT NULL,
	evidence TEXT NOT NULL,
	at BIGINT NOT NULL,
	app_version TEXT NOT NULL,
	PRIMARY KEY (person_id, serial, service)
);
CREATE TABLE IF NOT EXISTS reports (
	person_id TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (person_id, idempotency_key)
);
CREATE TABLE IF NOT EXISTS invites (
	selector TEXT PRIMARY KEY,
	hash TEXT NOT NULL,
	person_id TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS invites_person ON invites (person_id);
CREATE TABLE IF NOT EXISTS tokens (
	selector TEXT PRIMARY KEY,
	hash TEXT NOT NULL,
	person_id TEXT NOT NULL,
	device TEXT NOT NULL DEFAULT '',
	expires_at BIGINT NOT NULL DEFAULT 0,
	revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_person ON tokens (person_id);
CREATE TABLE IF NOT EXISTS audit (
	id {{autoid}},
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject);
CREATE TABLE IF NOT EXISTS digests (day TEXT PRIMARY KEY);
`,
	// The services of the catalogue the latest report named (Report.Services),
	// in catalogue order: the required services and the dashboard's columns.
	2: `
CREATE TABLE IF NOT EXISTS services (
	position INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL
);
`,
	// 3: the roster's life cycle (edit, leaver, SCIM). due_date: when
	// enrolment is due, '' for the default; left_at: the leaver state
	// (0: not left); external_id: the identity provider's SCIM externalId.
	// service_tokens: bearer tokens of provisioning clients (SCIM), kept
	// apart from people's tokens so that neither works in the other's place.
	3: `
ALTER TABLE people ADD COLUMN due_date TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN left_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS service_tokens (
	selector TEXT PRIMARY KEY,
	hash TEXT NOT NULL,
	name TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked INTEGER NOT NULL DEFAULT 0
);
`,
	// 4: the audit log's hash chain (tracker/evidence, and
	// docs/tracker-evidence.md). seq orders the chain; text_salt and
	// text_commit commit to reason and detail, so erasure can blank them
	// and the salt without breaking it; audit_head is the last link, one
	// row, whose row lock serialises appends across tracker instances.
	// Existing entries are chained in id order by chainExisting.
	4: `
ALTER TABLE audit ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN text_salt TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN text_commit TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')
`,
	// 5: integrity. items.received_at: when the tracker received the item
	// (the wizard's own time stays in at); 0 for items stored before this
	// version, whose receipt time was not kept.
	5: `
ALTER TABLE items ADD COLUMN received_at BIGINT NOT NULL DEFAULT 0;
`,
	// 6: lost keys. people.completed_at now means "complete since" (0
	// while not complete now); completion_history keeps every change of
	// it, seeded with the completions stored so far. key_events is each
	// key's life (enrolled, reported lost, lost, found, retired, with what
	// a wipe erased) per owner, so a key that changes hands shows its new
	// owner none of the former's; its reasons are the audit entry's
	// (audit_seq; 0 for an enrolment), never a copy, so erasure's
	// redaction of the log covers them. Both go with the person on
	// erasure.
	6: `
CREATE TABLE IF NOT EXISTS completion_history (
	id {{autoid}},
	person_id TEXT NOT NULL,
	at BIGINT NOT NULL,
	complete INTEGER NOT NULL,
	cause TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS completion_history_person ON completion_history (person_id);
INSERT INTO completion_history (person_id, at, complete, cause) SELECT id, completed_at, 1, 'completed' FROM people WHERE completed_at <> 0;
CREATE TABLE IF NOT EXISTS key_events (
	id {{autoid}},
	serial BIGINT NOT NULL,
	person_id TEXT NOT NULL,
	role TEXT NOT NULL,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	status TEXT NOT NULL,
	audit_seq BIGINT NOT NULL DEFAULT 0,
	erased TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS key_events_serial ON key_events (serial);
CREATE INDEX IF NOT EXISTS key_events_person ON key_events (person_id)
`,
	// 7: when results were checked. keys.genuine_checked_at: when the
	// tracker checked the attestation that gave genuine and genuine_detail
	// (the receipt of the report that carried it); 0 when none was checked.
	// items.checked_at: the report's checked_at, when the wizard last read
	// the key or system and found the item still there; 0 when the report
	// did not say. Both are 0 for rows stored before this version, whose
	// times were dropped (they are not guessed from updated_at or at).
	7: `
ALTER TABLE keys ADD COLUMN genuine_checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN checked_at BIGINT NOT NULL DEFAULT 0;
`,
}

// migrationFuncs run after a migration's SQL, in its transaction.
var migrationFuncs = map[int]func(ctx context.Context, s *sqlStore, tx *sql.Tx) error{
	4: chainExisting,
	6: settleExisting,
}

func (s *sqlStore) migrate(ctx context.Context) error { return s.migrateTo(ctx, schemaVersion) }

// migrateTo brings the schema up to version target (tests stop short of
// the latest to check an upgrade).
func (s *sqlStore) migrateTo(ctx context.Context, target int) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting to database: %w", err)
	}
	defer conn.Close()
	if s.d == postgres {
		// Several instances may start at once; CREATE TABLE IF NOT EXISTS
		// is not safe against itself in PostgreSQL.
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7419001)"); err != nil {
			return fmt.Errorf("locking schema: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7419001)")
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("creating schema: %w", err)
	}
	var v int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&v); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("database schema version %d is newer than this tracker (%d); upgrade keywizard", v, schemaVersion)
	}
	autoid := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.d == postgres {
		autoid = "BIGSERIAL PRIMARY KEY"
	}
	for n := v + 1; n <= target; n++ {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrating schema: %w", err)
		}
		for _, stmt := range strings.Split(strings.ReplaceAll(migrations[n], "{{autoid}}", autoid), ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migrating schema to version %d: %w", n, err)
			}
		}
		if f := migrationFuncs[n]; f != nil {
			if err := f(ctx, s, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("migrating schema to version %d: %w", n, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO schema_version (version) VALUES (?)"), n); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrating schema: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrating schema: %w", err)
		}
	}
	return nil
}
