package tracker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The lost-key vocabulary: a person's own report that a key is gone
// ([LossReport]), IT's view of a key by serial ([KeyRecord]) and the
// statuses a key may move between ([CheckTransition]).

// KeyReportedLost is a key its owner said is lost. IT then confirms it
// ([KeyLost]), or marks it found ([KeyActive]), or retires it. Like lost, it
// does not count towards completion.
const KeyReportedLost KeyStatus = "reported-lost"

// KeyStatuses lists every key status, in life-cycle order.
var KeyStatuses = []KeyStatus{KeyActive, KeyReportedLost, KeyLost, KeyRetired}

// ITStatuses are the statuses IT sets (KeyStatusChange.Status): a person's
// report is the only way to [KeyReportedLost].
var ITStatuses = []KeyStatus{KeyActive, KeyLost, KeyRetired}

// transitions lists, per status, where a key may go next. A retired key
// goes nowhere: it is handed to someone new by their first report (the
// store starts it afresh as active for them), never revived in place.
var transitions = map[KeyStatus][]KeyStatus{
	KeyActive:       {KeyReportedLost, KeyLost, KeyRetired},
	KeyReportedLost: {KeyActive, KeyLost, KeyRetired},
	KeyLost:         {KeyActive, KeyRetired},
	KeyRetired:      {},
}

// ErrTransition matches every *[TransitionError].
var ErrTransition = errors.New("key status change not allowed")

// TransitionError refuses a key status change the life cycle does not
// allow (a retired key marked found, say).
type TransitionError struct {
	Serial   uint32
	From, To KeyStatus
}

func (e *TransitionError) Error() string {
	next := transitions[e.From]
	if len(next) == 0 {
		return fmt.Sprintf("status: key %d is %s and cannot become %s; a retired key is taken over by its next owner's enrolment", e.Serial, e.From, e.To)
	}
	names := make([]string, len(next))
	for i, s := range next {
		names[i] = string(s)
	}
	return fmt.Sprintf("status: key %d is %s and cannot become %s (only %s)", e.Serial, e.From, e.To, strings.Join(names, ", "))
}

// Is makes a TransitionError match [ErrTransition].
func (e *TransitionError) Is(target error) bool { return target == ErrTransition }

// CheckTransition returns a *[TransitionError] unless a key may move from
// status from to status to. Staying put is allowed (a repeated report, or
// a wipe recorded on a key already retired): the change is recorded, the
// status stays.
func CheckTransition(serial uint32, from, to KeyStatus) error {
	if from == to || slices.Contains(transitions[from], to) {
		return nil
	}
	return &TransitionError{Serial: serial, From: from, To: to}
}

// Counts reports whether a key in status s counts towards completion.
func (s KeyStatus) Counts() bool { return s == KeyActive }

// LossReport is the body of POST /v1/me/keys/{serial}/lost: the caller
// says one of their own keys is lost. Serial must match the path.
type LossReport struct {
	Serial uint32 `json:"serial"`
	// Role, if set, must be the key's role (the wizard names the key it
	// means); the command line, which knows only the serial, leaves it out.
	Role   KeyRole `json:"role,omitempty"`
	Reason string  `json:"reason"`
	// At is when the person noticed, by their computer's clock; the
	// tracker keeps its own time too.
	At time.Time `json:"at"`
}

// Validate checks a loss report.
func (l *LossReport) Validate() error {
	if l.Serial == 0 {
		return fieldErr("serial", "required")
	}
	if l.Role != "" && !l.Role.Valid() {
		return fieldErr("role", "must be %q or %q", RoleEveryday, RoleBackup)
	}
	if err := checkWords("reason", l.Reason, true, maxReason); err != nil {
		return err
	}
	if l.At.IsZero() {
		return fieldErr("at", "required")
	}
	return nil
}

// KeyEvent is one change in a key's life, for its current owner: enrolled,
// reported lost, confirmed lost, found, retired (with what a wipe erased).
type KeyEvent struct {
	At     time.Time `json:"at"`
	Status KeyStatus `json:"status"`
	// Actor is the person ID who made the change (the owner, IT);
	// ActorName their name where known.
	Actor     string `json:"actor"`
	ActorName string `json:"actor_name,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Erased lists what a wipe erased, as IT's tool reported it.
	Erased []string `json:"erased,omitempty"`
}

// OwnedKeyEvent is a [KeyEvent] with the key and owner it is about, as the
// exports list every key's history.
type OwnedKeyEvent struct {
	Serial   uint32  `json:"serial"`
	PersonID string  `json:"person_id"`
	Role     KeyRole `json:"role"`
	KeyEvent
}

// KeyRecord is one key as IT finds it by serial (GET /v1/keys/{serial}):
// its owner, status and history. A key that changed hands shows only its
// current owner's history.
type KeyRecord struct {
	Key
	OwnerName  string     `json:"owner_name"`
	OwnerEmail string     `json:"owner_email"`
	History    []KeyEvent `json:"history"`
}

// CompletionChange is one entry of a person's completion history: when
// they became complete, or incomplete again, and why.
type CompletionChange struct {
	At       time.Time `json:"at"`
	Complete bool      `json:"complete"`
	// Cause says what changed it ("key 123 reported lost", "report for
	// key 456").
	Cause string `json:"cause,omitempty"`
}

// PersonStatus is a person's state now: the answer to a loss report and
// the person views' completion detail.
type PersonStatus struct {
	Person Person `json:"person"`
	// Complete is whether the person is complete now.
	Complete   bool               `json:"complete"`
	Keys       []Key              `json:"keys"`
	Completion []CompletionChange `json:"completion"`
}

// maxErased bounds KeyStatusChange.Erased.
const maxErased = 16
