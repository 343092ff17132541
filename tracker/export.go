package tracker

import "time"

// ExportFormat names the layout of the tracker's exports (CSV, JSON and a
// person's own export). A reader checks it; fields are only ever added
// under the same name, so a reader of /1 ignores what it does not know.
const ExportFormat = "keywizard-tracker-export/1"

// ExportHeader says who made an export, when, of what, under which
// completion policy, and where the audit log stood. It is signed with the
// rest of the file (docs/tracker-evidence.md).
type ExportHeader struct {
	Format      string       `json:"format"`
	GeneratedBy ExportActor  `json:"generated_by"`
	GeneratedAt time.Time    `json:"generated_at"`
	Scope       string       `json:"scope"`
	Policy      ExportPolicy `json:"policy"`
	// AuditHead is the audit chain's last link when the export was made,
	// "SEQ:SHA256HEX": `tracker audit verify --anchor` checks that the log
	// still holds it, so entries before it cannot have been removed since.
	AuditHead string `json:"audit_head"`
	// SigningKey is the ID of the key that signed the file (hex, as
	// minisign prints it).
	SigningKey string `json:"signing_key"`
}

// ExportActor is who asked for an export.
type ExportActor struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// ExportPolicy is the completion rule the export's "complete" column
// follows.
type ExportPolicy struct {
	Rule             string   `json:"rule"`
	RequiredServices []string `json:"required_services"`
	OverdueAfterDays int      `json:"overdue_after_days"`
}

// ExportPerson is a person in an export, with what a reader would
// otherwise have to look up: their manager and their state.
type ExportPerson struct {
	// Person's DueDate is filled in here: the person's own or the
	// default, [Person.Due], so a reader need not know the rule.
	Person
	ManagerEmail string `json:"manager_email,omitempty"`
	ManagerName  string `json:"manager_name,omitempty"`
	// Person.Complete is whether they are complete now, by the export's
	// policy.
	Overdue bool `json:"overdue"`
	// Completion is their completion history: completed, incomplete
	// since (a key lost), completed again; oldest first.
	Completion []CompletionChange `json:"completion"`
}

// ExportEvent is one step of a person's history from the audit log: keys
// lost, retired or found (replacements follow a loss: a new key of the same
// role, with its own first report), invites for enrolling, tokens revoked,
// roster changes. Reads (exports, listings) are not history.
type ExportEvent struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	PersonID string    `json:"person_id"`
	Event    string    `json:"event"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}
