package tracker

import (
	"time"
)

// The roster's life cycle: editing a person, the leaver state, bulk import.

// Due returns the day enrolment is due: DueDate if set, else
// [OverdueAfter] after the later of the start date and the day the person
// was added to the tracker, so someone who joined the company years
// before the tracker (a long-serving manager) is not overdue the day they
// are added.
func (p Person) Due() time.Time {
	if d, err := ParseDate(p.DueDate); err == nil {
		return d
	}
	start, err := ParseDate(p.StartDate)
	if err != nil {
		return time.Time{}
	}
	if added := p.CreatedAt.UTC().Truncate(24 * time.Hour); added.After(start) {
		start = added
	}
	return start.Add(OverdueAfter)
}

// Left reports whether the person is a leaver.
func (p Person) Left() bool { return !p.LeftAt.IsZero() }

// PersonUpdate is the body of PATCH /v1/people/{id}: the fields to change,
// each left out to keep it. An empty manager_email moves the person to the
// top of the tree; an empty due_date returns to the default.
type PersonUpdate struct {
	Email        *string `json:"email,omitempty"`
	Name         *string `json:"name,omitempty"`
	Team         *string `json:"team,omitempty"`
	ManagerEmail *string `json:"manager_email,omitempty"`
	StartDate    *string `json:"start_date,omitempty"`
	DueDate      *string `json:"due_date,omitempty"`
	// Reason is kept in the audit entry.
	Reason string `json:"reason,omitempty"`
}

// Validate checks every field given, with the same rules as [CreatePerson].
func (u *PersonUpdate) Validate() error {
	if u.Email != nil {
		if err := checkEmail("email", *u.Email, true); err != nil {
			return err
		}
	}
	if u.Name != nil {
		if err := checkWords("name", *u.Name, true, maxText); err != nil {
			return err
		}
	}
	if u.Team != nil {
		if err := checkWords("team", *u.Team, false, maxText); err != nil {
			return err
		}
	}
	if u.ManagerEmail != nil {
		if err := checkEmail("manager_email", *u.ManagerEmail, false); err != nil {
			return err
		}
	}
	if u.StartDate != nil {
		if _, err := ParseDate(*u.StartDate); err != nil {
			return fieldErr("start_date", "%v", err)
		}
	}
	if u.DueDate != nil && *u.DueDate != "" {
		if _, err := ParseDate(*u.DueDate); err != nil {
			return fieldErr("due_date", "%v", err)
		}
	}
	if u.Email == nil && u.Name == nil && u.Team == nil && u.ManagerEmail == nil && u.StartDate == nil && u.DueDate == nil {
		return &FieldError{Msg: "nothing to change: give at least one of email, name, team, manager_email, start_date, due_date"}
	}
	return checkWords("reason", u.Reason, false, maxReason)
}

// Change is one field's value before and after an edit, as kept in the
// audit log's detail and reported by an import.
type Change struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Leave is the body of POST /v1/people/{id}/leave.
type Leave struct {
	Reason string `json:"reason"`
}

// Validate checks that a reason was given.
func (l *Leave) Validate() error { return checkWords("reason", l.Reason, true, maxReason) }

// Leaver is the answer to POST /v1/people/{id}/leave: the person, the
// active keys IT is to collect (mark them retired once back), and the day
// their records may be erased (erasure reason retention-expired).
type Leaver struct {
	Person        Person    `json:"person"`
	KeysToCollect []Key     `json:"keys_to_collect"`
	RetainUntil   time.Time `json:"retain_until"`
}

// ImportRow is one row of a roster CSV (POST /v1/people/import), as read
// from its columns email, name, team, manager_email, start_date and
// due_date.
type ImportRow struct {
	Email, Name, Team, ManagerEmail, StartDate, DueDate string
	// NoDueDate: the file has no due_date column, so an existing person's
	// due date is kept (an empty cell returns it to the default).
	NoDueDate bool
}

// Validate checks a row with the same rules as [CreatePerson]; due_date
// may be empty.
func (r *ImportRow) Validate() error {
	c := CreatePerson{Email: r.Email, Name: r.Name, Team: r.Team, ManagerEmail: r.ManagerEmail, StartDate: r.StartDate, DueDate: r.DueDate}
	return c.Validate()
}

// Import actions.
const (
	ImportCreate    = "create"
	ImportUpdate    = "update"
	ImportUnchanged = "unchanged"
)

// ImportChange is what an import does, or would do, to one row's person.
type ImportChange struct {
	Row     int      `json:"row"` // 1 is the first row after the header
	Email   string   `json:"email"`
	Action  string   `json:"action"`
	Changes []Change `json:"changes,omitempty"`
}

// ImportResult is the answer to POST /v1/people/import.
type ImportResult struct {
	// DryRun is true when nothing was changed (?dry_run=true).
	DryRun    bool           `json:"dry_run"`
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Rows      []ImportChange `json:"rows"`
}

// CheckText checks an optional free-text field as every request's text is
// checked (valid UTF-8, no controls, no invisible or direction-changing
// characters, at most max characters), for entry points that do not
// decode a request type of this package (SCIM).
func CheckText(field, s string, max int) error { return checkText(field, s, false, max) }

// CheckName checks a required name as a person's name is checked, words
// in one script included.
func CheckName(field, s string) error { return checkWords(field, s, true, 100) }
