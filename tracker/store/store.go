// Package store keeps the tracker's records in SQL: SQLite (a local file,
// pure-Go driver, nothing to set up) or PostgreSQL (for several tracker
// instances behind a load balancer). Both share one schema and one set of
// queries; the few dialect differences are substituted when statements are
// prepared.
//
// All writes go through a single writer goroutine that groups concurrent
// requests into one transaction (group commit) with a savepoint per request,
// so one bad request cannot spoil its neighbours. On SQLite that is what makes
// ingest fast, since SQLite allows one writer at a time anyway; on PostgreSQL
// it saves a commit per report.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/evidence"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request clashes with stored data (a duplicate e-mail,
	// a key serial registered to someone else).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the credential is unknown, used, expired or revoked.
	ErrInvalid = errors.New("invalid credential")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
)

// ErrKeyTaken says a report names a key that belongs to another person and is
// not retired. It matches [ErrConflict] (a 409 naming "serial").
var ErrKeyTaken error = &ConflictError{"serial", "key is registered to another person; IT must retire it first"}

// ConflictError explains an [ErrConflict] by field.
type ConflictError struct{ Field, Msg string }

func (e *ConflictError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Credential is a stored invite or token: only the hash of its secret is kept.
type Credential struct {
	Selector  string
	Hash      string // hex SHA-256 of the secret
	PersonID  string
	Device    string
	ExpiresAt time.Time // zero: never
	Used      bool      // invites: already exchanged; tokens: revoked
}

// KeyInfo is what the server learned about a key from its attestation.
type KeyInfo struct {
	Verified      bool // an attestation was checked (successfully or not)
	Genuine       bool
	GenuineDetail string
	Firmware      string
	FormFactor    string
}

// ReportOutcome tells the caller what a report changed.
type ReportOutcome struct {
	Duplicate bool
	// NewlyComplete is true for exactly one report per completion: the
	// one that made them complete (again, with Again, after a key was
	// lost and replaced). It drives the completion webhook, and holds
	// across several server instances sharing one database.
	NewlyComplete bool
	// Again: they had been complete before.
	Again bool
	// Complete is whether the person is complete now.
	Complete bool
}

// Store is the tracker's persistence. Implementations are safe for
// concurrent use.
type Store interface {
	Close() error
	Backend() string

	CreatePerson(ctx context.Context, p tracker.Person, audit tracker.AuditEntry) (tracker.Person, error)
	Person(ctx context.Context, id string) (tracker.Person, error)
	PersonByEmail(ctx context.Context, email string) (tracker.Person, error)
	People(ctx context.Context) ([]tracker.Person, error)
	// Reports returns everyone below managerID, directly or indirectly.
	Reports(ctx context.Context, managerID string) ([]tracker.Person, error)
	// Manages reports whether personID is below managerID.
	Manages(ctx context.Context, managerID, personID string) (bool, error)
	// Team returns everyone below managerID with their keys and items.
	Team(ctx context.Context, managerID string) ([]tracker.Person, []tracker.Key, []tracker.Item, error)
	// Records returns the keys and items of the given people; nil ids means
	// everyone.
	Records(ctx context.Context, ids []string) ([]tracker.Key, []tracker.Item, error)

	AddInvite(ctx context.Context, c Credential, audit tracker.AuditEntry) error
	// RedeemInvite marks an invite used and stores a token in its place,
	// atomically; check compares the stored hash in constant time.
	RedeemInvite(ctx context.Context, selector string, check func(Credential) bool, token Credential, now time.Time) (tracker.Person, error)
	AddToken(ctx context.Context, c Credential, audit tracker.AuditEntry) error
	Token(ctx context.Context, selector string) (Credential, error)
	// TokenPerson returns a token and its person in one query, for the
	// per-request authentication path.
	TokenPerson(ctx context.Context, selector string) (Credential, tracker.Person, error)
	RevokeTokens(ctx context.Context, personID string, audit tracker.AuditEntry) error

	// SubmitReport stores a report. A report that names its catalogue's
	// services (Report.Services) makes them the stored list (Services).
	// Completion is judged against services, or when that is empty
	// against the stored list; with neither, nobody is complete.
	SubmitReport(ctx context.Context, personID string, r tracker.Report, k KeyInfo, services []string, now time.Time) (ReportOutcome, error)
	// SubmitReportRules is SubmitReport judging by rules: its completion
	// policy and per-person limits ([LimitError]). SubmitReport is it
	// with [tracker.LegacyPolicy] and no limits, as before either existed.
	SubmitReportRules(ctx context.Context, personID string, r tracker.Report, k KeyInfo, rules Rules, now time.Time) (ReportOutcome, error)
	// Services returns the services the latest report that named any
	// named, in its catalogue's order.
	Services(ctx context.Context) ([]tracker.Service, error)
	// SetKeyStatus is ChangeKeyStatus of personID's key under the legacy
	// policy, with audit as its entry.
	SetKeyStatus(ctx context.Context, personID string, serial uint32, status tracker.KeyStatus, audit tracker.AuditEntry) error

	// Lost keys (lost.go).

	// ChangeKeyStatus moves a key to another status if the life cycle
	// allows it (else a *tracker.TransitionError), records it in the
	// key's history and the audit log, and settles its owner's
	// completion, in one transaction.
	ChangeKeyStatus(ctx context.Context, c KeyChange) (KeyChangeOutcome, error)
	// KeyRecord returns a key by serial with its owner and their
	// history of it, or ErrNotFound.
	KeyRecord(ctx context.Context, serial uint32) (tracker.KeyRecord, error)
	// KeyHistory returns the key events of the given people (nil:
	// everyone), oldest first.
	KeyHistory(ctx context.Context, ids []string) ([]tracker.OwnedKeyEvent, error)
	// CompletionHistory returns the completion changes of the given
	// people (nil: everyone) by person ID, oldest first.
	CompletionHistory(ctx context.Context, ids []string) (map[string][]tracker.CompletionChange, error)

	AppendAudit(ctx context.Context, e tracker.AuditEntry) error
	Audit(ctx context.Context, subject string, limit int) ([]tracker.AuditEntry, error)
	Export(ctx context.Context, personID string) (tracker.PersonExport, error)
	// Erase deletes a person and all their records; audit is appended in
	// the same transaction and must not contain personal data. Then it
	// rewrites what the database files kept of them; if only that fails,
	// the error matches ErrNotScrubbed and the erasure stands.
	Erase(ctx context.Context, personID string, audit tracker.AuditEntry) error
	// AuditChain calls fn with every audit entry, in chain order, with
	// what tracker/evidence needs to verify the chain.
	AuditChain(ctx context.Context, fn func(evidence.Entry) error) error
	// AuditHead is the chain's last link.
	AuditHead(ctx context.Context) (evidence.Head, error)
	// History returns the audit entries about the given people (nil:
	// anyone), oldest first, without the actions in skip.
	History(ctx context.Context, ids []string, skip []string) ([]tracker.AuditEntry, error)
	// ClaimDigest returns true once per day name across all instances,
	// until the claim is released.
	ClaimDigest(ctx context.Context, day string) (bool, error)
	// ReleaseDigest gives up the claim on day's digest (it was not
	// sent), so this or another instance can claim and send it again.
	ReleaseDigest(ctx context.Context, day string) error
	// ReportCount counts stored (deduplicated) reports; tests use it.
	ReportCount(ctx context.Context) (int, error)
	// RevokeToken revokes the one token with this selector (a dashboard
	// session ending), leaving the person's other tokens working; audit is
	// appended in the same transaction. An unknown selector is ErrNotFound.
	RevokeToken(ctx context.Context, selector string, audit tracker.AuditEntry) error

	// Roster life cycle (roster.go).

	// UpdatePerson applies change to person id in one transaction: a new
	// e-mail must be free, a new manager must exist and not be below the
	// person ([ErrManagerCycle]), and a change that makes them a leaver
	// revokes their tokens and unused invites. It returns the new record.
	UpdatePerson(ctx context.Context, id string, change PersonChange) (tracker.Person, error)
	// AddServiceToken stores a provisioning client's (SCIM) token; its
	// name is c.Device.
	AddServiceToken(ctx context.Context, c Credential, createdAt time.Time, audit tracker.AuditEntry) error
	// ServiceToken returns a provisioning token by selector (Used: revoked),
	// or ErrInvalid.
	ServiceToken(ctx context.Context, selector string) (Credential, error)
	// RevokeServiceTokens revokes every provisioning token.
	RevokeServiceTokens(ctx context.Context, audit tracker.AuditEntry) error
}

// Open opens the store at dsn: a postgres:// or postgresql:// URL, or a
// SQLite file path (optionally "sqlite:" or "file:" prefixed). It creates or
// migrates the schema.
func Open(ctx context.Context, dsn string) (Store, error) {
	var (
		d   dialect
		db  *sql.DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		d = postgres
		db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("opening postgres: %w", err)
		}
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
	default:
		d = sqlite
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if path == "" {
			return nil, errors.New("opening sqlite: empty path")
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("creating database directory: %w", err)
			}
		}
		// WAL lets the dashboard read while the writer writes;
		// synchronous=NORMAL in WAL mode loses at most the last commits on
		// power loss, never corrupts; busy_timeout covers a second process
		// (the create-admin command) writing next to a running server.
		// secure_delete zeroes deleted rows and freed pages, on every
		// connection, so an erasure leaves no copy in the file (scrub).
		q := "?_pragma=secure_delete(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)&_txlock=immediate"
		db, err = sql.Open("sqlite", "file:"+path+q)
		if err != nil {
			return nil, fmt.Errorf("opening sqlite: %w", err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	s := &sqlStore{db: db, d: d, jobs: make(chan job, 1024), done: make(chan struct{}), stmts: make(map[string]*sql.Stmt), rebound: make(map[string]string)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// One writer: SQLite allows one at a time anyway, and on PostgreSQL
	// four writers measured no faster on a 2-core machine (the database is
	// CPU-bound) while risking deadlocks between batches.
	s.writers.Add(1)
	go s.writer()
	return s, nil
}

// NewID returns a random opaque identifier with the given prefix.
func NewID(prefix string) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return prefix + hex.EncodeToString(b[:])
}

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// rebind turns ? placeholders into $n for PostgreSQL. No statement in this
// package has a literal question mark.
func (d dialect) rebind(q string) string {
	if d != postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
