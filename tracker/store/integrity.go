package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/keywizard/keywizard/tracker"
)

// Limits bound what one person's reports can make the tracker store, so one
// token cannot grow a record every other request then pays for (every
// write shares one writer; see sqlStore.write). Zero fields take the
// defaults.
type Limits struct {
	// Keys: keys ever registered to the person, whatever their status
	// (two, plus replacements over the years).
	Keys int
	// Services: distinct service IDs across the person's items.
	Services int
	// Items: (key, service) items.
	Items int
}

// DefaultLimits are generous for a real person (two keys and a few
// replacements, a catalogue of up to 64 services) and small enough that
// reading or counting a record stays cheap.
var DefaultLimits = Limits{Keys: 10, Services: 64, Items: 10 * 64}

// noLimits are SubmitReport's: none that a record could reach.
var noLimits = Limits{Keys: math.MaxInt32, Services: math.MaxInt32, Items: math.MaxInt32}

func (l Limits) withDefaults() Limits {
	if l.Keys <= 0 {
		l.Keys = DefaultLimits.Keys
	}
	if l.Services <= 0 {
		l.Services = DefaultLimits.Services
	}
	if l.Items <= 0 {
		l.Items = DefaultLimits.Items
	}
	return l
}

// LimitError says a report would take a person past one of their [Limits];
// nothing of it was stored. Limit names it: keys_per_person,
// services_per_person or items_per_person.
type LimitError struct {
	Limit string
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: a person's record may hold at most %d; IT can retire old keys or raise the limit", e.Limit, e.Max)
}

// Rules are what a report is judged by.
type Rules struct {
	// Services are the required services; empty: the stored list (see
	// Store.SubmitReport).
	Services []string
	// Policy decides completion.
	Policy tracker.Policy
	Limits Limits
}

// auditKeyClaimed is the audit action when a key claimed without a genuine
// attestation passes to someone who attested it; the entry's subject is the
// earlier claimant.
const auditKeyClaimed = "key.claim-superseded"

// claim is a key's stored owner, status and genuineness; owner "" when
// the serial is new.
type claim struct {
	owner, status string
	genuine       bool
}

func (s *sqlStore) keyClaim(ctx context.Context, tx *sql.Tx, serial uint32) (claim, error) {
	var (
		c claim
		g int
	)
	err := s.queryRow(ctx, tx, "SELECT person_id, status, genuine FROM keys WHERE serial = ?", int64(serial)).Scan(&c.owner, &c.status, &g)
	if errors.Is(err, sql.ErrNoRows) {
		return claim{}, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading key: %w", err)
	}
	c.genuine = g != 0
	return c, nil
}

// checkLimits counts the person's keys, items and services after a
// report's writes (which a LimitError rolls back). The counts read index
// ranges (keys_person; items' primary key starts with person_id) no longer
// than the limits, since a record never grows past them.
func (s *sqlStore) checkLimits(ctx context.Context, tx *sql.Tx, personID string, l Limits) error {
	if l == noLimits {
		return nil // nothing to count against
	}
	var nKeys, nItems, nServices int
	if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM keys WHERE person_id = ?", personID).Scan(&nKeys); err != nil {
		return fmt.Errorf("counting keys: %w", err)
	}
	if nKeys > l.Keys {
		return &LimitError{Limit: "keys_per_person", Max: l.Keys}
	}
	if err := s.queryRow(ctx, tx, "SELECT COUNT(*), COUNT(DISTINCT service) FROM items WHERE person_id = ?", personID).Scan(&nItems, &nServices); err != nil {
		return fmt.Errorf("counting items: %w", err)
	}
	if nServices > l.Services {
		return &LimitError{Limit: "services_per_person", Max: l.Services}
	}
	if nItems > l.Items {
		return &LimitError{Limit: "items_per_person", Max: l.Items}
	}
	return nil
}

// completionRecords reads what completion is judged on: the person's
// active keys and, of their items, only the required services' and OTP's,
// not the whole record.
func (s *sqlStore) completionRecords(ctx context.Context, tx *sql.Tx, personID string, services []string) ([]tracker.Key, []tracker.Item, error) {
	rows, err := s.query(ctx, tx, "SELECT "+keyColsV1+" FROM keys WHERE person_id = ? AND status = 'active'", personID)
	keys, err := collect(rows, err, scanKeyV1)
	if err != nil {
		return nil, nil, fmt.Errorf("reading keys: %w", err)
	}
	wanted := append(slices.Clone(services), tracker.ServiceOTP)
	args := []any{personID}
	var in string
	if s.d == postgres {
		in = "= ANY(?)"
		args = append(args, wanted)
	} else {
		in = "IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(wanted)), ", ") + ")"
		for _, w := range wanted {
			args = append(args, w)
		}
	}
	rows, err = s.query(ctx, tx, `SELECT i.person_id, i.serial, i.service, i.evidence, i.at, i.app_version, i.received_at
		FROM items i JOIN keys k ON k.serial = i.serial AND k.person_id = i.person_id
		WHERE i.person_id = ? AND k.status = 'active' AND i.service `+in, args...)
	items, err := collect(rows, err, scanItemV5)
	if err != nil {
		return nil, nil, fmt.Errorf("reading items: %w", err)
	}
	return keys, items, nil
}
