package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

// The roster's life cycle: editing people (and making them leavers), and
// the bearer tokens of provisioning clients (SCIM).

// PersonChange computes a person's new record from the stored one. It runs
// inside the write transaction, so before is what the change replaces and
// the audit entry's before/after cannot be out of date. An audit entry
// with no Action means nothing changed: nothing is written.
type PersonChange func(before tracker.Person) (after tracker.Person, audit tracker.AuditEntry, err error)

// ErrManagerCycle says a new manager is the person themselves or someone
// below them. It matches [ErrConflict] (a 409 naming "manager_email").
var ErrManagerCycle error = &ConflictError{"manager_email", "the new manager reports to this person, directly or not; move them first"}

func (s *sqlStore) UpdatePerson(ctx context.Context, id string, change PersonChange) (tracker.Person, error) {
	var out tracker.Person
	err := s.write(ctx, func(tx *sql.Tx) error {
		before, err := scanPerson(s.queryRow(ctx, tx, "SELECT "+personCols+" FROM people WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("reading person: %w", err)
		}
		after, audit, err := change(before)
		if err != nil {
			return err
		}
		after.ID, after.CreatedAt, after.CompletedAt, after.Admin = before.ID, before.CreatedAt, before.CompletedAt, before.Admin
		out = after
		if audit.Action == "" {
			return nil
		}
		var one int
		if after.Email != before.Email {
			err := s.queryRow(ctx, tx, "SELECT 1 FROM people WHERE email = ?", after.Email).Scan(&one)
			if err == nil {
				return &ConflictError{"email", "a person with this e-mail already exists"}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("checking e-mail: %w", err)
			}
		}
		if after.ManagerID != before.ManagerID && after.ManagerID != "" {
			if after.ManagerID == id {
				return ErrManagerCycle
			}
			if err := s.queryRow(ctx, tx, "SELECT 1 FROM people WHERE id = ?", after.ManagerID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return &ConflictError{"manager_email", "no such person"}
			} else if err != nil {
				return fmt.Errorf("checking manager: %w", err)
			}
			// The tree is read in this transaction, which this instance's
			// one writer runs alone (write); on PostgreSQL another
			// instance's writer may be moving someone else at the same
			// moment, so manager changes also take a transaction-scoped
			// lock, and two of them cannot close a loop between them.
			if s.d == postgres {
				if _, err := s.exec(ctx, tx, "SELECT pg_advisory_xact_lock(7419002)"); err != nil {
					return fmt.Errorf("locking the management tree: %w", err)
				}
			}
			err := s.queryRow(ctx, tx, treeCTE+"SELECT 1 FROM tree WHERE id = ?", id, after.ManagerID).Scan(&one)
			if err == nil {
				return ErrManagerCycle
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("checking management chain: %w", err)
			}
		}
		if _, err := s.exec(ctx, tx, `UPDATE people SET email = ?, name = ?, team = ?, manager_id = ?, start_date = ?,
			due_date = ?, left_at = ?, external_id = ? WHERE id = ?`,
			after.Email, after.Name, after.Team, after.ManagerID, after.StartDate, after.DueDate, micros(after.LeftAt), after.ExternalID, id); err != nil {
			if isUnique(err) {
				return &ConflictError{"email", "a person with this e-mail already exists"}
			}
			return fmt.Errorf("updating person: %w", err)
		}
		if after.Left() && !before.Left() {
			// A leaver signs in nowhere: every token and unused invite
			// goes in the same transaction as the state.
			if _, err := s.exec(ctx, tx, "UPDATE tokens SET revoked = 1 WHERE person_id = ?", id); err != nil {
				return fmt.Errorf("revoking tokens: %w", err)
			}
			if _, err := s.exec(ctx, tx, "UPDATE invites SET used = 1 WHERE person_id = ?", id); err != nil {
				return fmt.Errorf("revoking invites: %w", err)
			}
		}
		return s.appendAudit(ctx, tx, audit)
	})
	return out, err
}

func (s *sqlStore) AddServiceToken(ctx context.Context, c Credential, createdAt time.Time, audit tracker.AuditEntry) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "INSERT INTO service_tokens (selector, hash, name, created_at, revoked) VALUES (?, ?, ?, ?, 0)",
			c.Selector, c.Hash, c.Device, micros(createdAt)); err != nil {
			return fmt.Errorf("storing service token: %w", err)
		}
		return s.appendAudit(ctx, tx, audit)
	})
}

func (s *sqlStore) ServiceToken(ctx context.Context, selector string) (Credential, error) {
	c := Credential{Selector: selector}
	var revoked int
	err := s.queryRow(ctx, nil, "SELECT hash, name, revoked FROM service_tokens WHERE selector = ?", selector).Scan(&c.Hash, &c.Device, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrInvalid
	}
	if err != nil {
		return c, fmt.Errorf("reading service token: %w", err)
	}
	c.Used = revoked != 0
	return c, nil
}

func (s *sqlStore) RevokeServiceTokens(ctx context.Context, audit tracker.AuditEntry) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "UPDATE service_tokens SET revoked = 1"); err != nil {
			return fmt.Errorf("revoking service tokens: %w", err)
		}
		return s.appendAudit(ctx, tx, audit)
	})
}
