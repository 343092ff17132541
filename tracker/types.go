package tracker

import (
	"time"
)

// APIVersion is the path prefix of the current JSON API.
const APIVersion = "v1"

// Evidence says how the wizard knows a service is set up on a key.
type Evidence string

// Evidence levels, strongest first.
const (
	// EvidenceOnKey: the wizard read the credential back from the key itself.
	EvidenceOnKey Evidence = "verified-on-key"
	// EvidenceBySystem: the service or OS confirmed the registration.
	EvidenceBySystem Evidence = "verified-by-system"
	// EvidenceSelf: the person said so and nothing could check it.
	EvidenceSelf Evidence = "self-attested"
)

// KeyRole distinguishes the two keys every person carries.
type KeyRole string

// Key roles.
const (
	RoleEveryday KeyRole = "everyday" // the Nano that stays in the laptop
	RoleBackup   KeyRole = "backup"   // the NFC/5Ci kept elsewhere
)

// KeyStatus is the life-cycle state of a key.
type KeyStatus string

// Key statuses. Only active keys count towards completion; see also
// [KeyReportedLost] and [CheckTransition].
const (
	KeyActive  KeyStatus = "active"
	KeyLost    KeyStatus = "lost"
	KeyRetired KeyStatus = "retired"
)

// ServiceOTP is the item meaning "OTP disabled on this key". Every other
// service ID is a catalogue's (steps/catalogue), named by the reports that
// cover it (Report.Services); see [ValidServiceID].
const ServiceOTP = "otp"

// Service is a service of the wizard's catalogue as a report names it: the
// dashboard's columns are the services reports named, in catalogue order.
type Service struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ServiceIDs returns the IDs of services, in order.
func ServiceIDs(services []Service) []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = s.ID
	}
	return out
}

// OverdueAfter is how long after their start date a person who is not
// complete counts as overdue ("within your first month").
const OverdueAfter = 30 * 24 * time.Hour

// Person is someone being onboarded, a manager, or IT.
type Person struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Team      string    `json:"team"`
	ManagerID string    `json:"manager_id,omitempty"`
	StartDate string    `json:"start_date"` // YYYY-MM-DD
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
	// CompletedAt is when the person last became complete; zero while
	// they are not complete now (a key lost and not yet replaced).
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// Complete is whether the person is complete now.
	Complete bool `json:"complete"`
	// DueDate is when enrolment is due (YYYY-MM-DD); empty means the
	// default, [Person.Due].
	DueDate string `json:"due_date,omitempty"`
	// LeftAt is when the person left (the leaver state): their tokens
	// are revoked, their active keys are to be collected, and their
	// records are kept for the retention period, then erasable.
	LeftAt time.Time `json:"left_at,omitzero"`
	// ExternalID is the identity provider's ID for the person (SCIM
	// externalId), if provisioned by one.
	ExternalID string `json:"external_id,omitempty"`
}

// Key is one YubiKey assigned to a person.
type Key struct {
	Serial     uint32    `json:"serial"`
	PersonID   string    `json:"person_id"`
	Model      string    `json:"model"`
	Role       KeyRole   `json:"role"`
	Status     KeyStatus `json:"status"`
	Firmware   string    `json:"firmware,omitempty"`
	FormFactor string    `json:"form_factor,omitempty"`
	// Genuine is true when a PIV attestation chained to a Yubico root.
	Genuine bool `json:"genuine"`
	// GenuineDetail says why a key is not (yet) known to be genuine.
	GenuineDetail string `json:"genuine_detail,omitempty"`
	// GenuineCheckedAt is when the tracker checked the attestation that
	// gave Genuine and GenuineDetail: the receipt of the report that
	// carried it, by the tracker's clock. Zero when no attestation was
	// checked (GenuineDetail says why) and for keys stored before the
	// tracker kept it; a later report without an attestation leaves it.
	GenuineCheckedAt time.Time `json:"genuine_checked_at,omitzero"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Item records that a service is set up on a key.
type Item struct {
	PersonID   string    `json:"person_id"`
	Serial     uint32    `json:"serial"`
	Service    string    `json:"service"`
	Evidence   Evidence  `json:"evidence"`
	At         time.Time `json:"at"`
	AppVersion string    `json:"app_version"`
	// ReceivedAt is when the tracker received the item (At is the
	// wizard's clock); absent for items stored before it was kept.
	ReceivedAt time.Time `json:"received_at,omitzero"`
	// CheckedAt is the report's [ReportItem.CheckedAt]: when the wizard
	// last read the key or system and found the item still there, by the
	// wizard's clock. Absent when the report did not say, and for items
	// stored before the tracker kept it.
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// AuditEntry is one line of the append-only audit log. Actor and Subject are
// opaque person IDs, never e-mail addresses, so erasing a person leaves the
// log free of their personal data.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Report is what the wizard sends after working through a key. It always
// describes the caller's own key.
type Report struct {
	// IdempotencyKey is chosen by the client when the report is queued; the
	// server stores each (person, key) pair once, however often it is sent.
	IdempotencyKey string `json:"idempotency_key"`
	// PersonEmail, if set, must be the caller's own address; it lets the
	// server refuse a report made under the wrong account.
	PersonEmail string       `json:"person_email,omitempty"`
	Serial      uint32       `json:"serial"`
	Model       string       `json:"model"`
	Role        KeyRole      `json:"role"`
	AppVersion  string       `json:"app_version"`
	Items       []ReportItem `json:"items"`
	Attestation *Attestation `json:"attestation,omitempty"`
	// Services are the services of the catalogue the report was made
	// with, in catalogue order (OTP is not one): what every key must
	// have, and the dashboard's columns. Reports from wizards before it
	// was added leave it out and the tracker keeps the list it has.
	Services []Service `json:"services,omitempty"`
}

// ReportItem is one service result inside a [Report].
type ReportItem struct {
	Service  string    `json:"service"`
	Evidence Evidence  `json:"evidence"`
	At       time.Time `json:"at"`
	// CheckedAt is when the wizard last read the key or system and found
	// the result still there (at or after At). Reports from wizards
	// before re-checks leave it out.
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Attestation carries a key's PIV attestation: the device's attestation
// certificate (slot F9) and the certificate it issued for a key generated in
// a slot, both DER, base64 in JSON.
type Attestation struct {
	Certificate []byte `json:"certificate"`
	Slot        []byte `json:"slot"`
}

// ReportResult is the server's answer to a [Report].
type ReportResult struct {
	// Duplicate is true when the idempotency key had been seen before and
	// the report was not applied again.
	Duplicate bool `json:"duplicate"`
	Genuine   bool `json:"genuine"`
	// GenuineDetail explains a failed or missing attestation.
	GenuineDetail string `json:"genuine_detail,omitempty"`
	Complete      bool   `json:"complete"`
}

// CreatePerson is the body of POST /v1/people.
type CreatePerson struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Team  string `json:"team"`
	// ManagerEmail names an existing person; empty for the top of the tree.
	ManagerEmail string `json:"manager_email,omitempty"`
	StartDate    string `json:"start_date"`
	Admin        bool   `json:"admin,omitempty"`
	// DueDate is when enrolment is due; empty for the default
	// ([Person.Due]).
	DueDate string `json:"due_date,omitempty"`
}

// Exchange is the body of POST /v1/auth/exchange.
type Exchange struct {
	InviteCode string `json:"invite_code"`
	// Device names the machine the token is for, shown to IT.
	Device string `json:"device,omitempty"`
}

// ExchangeResult returns the new bearer token. The server keeps only its hash.
type ExchangeResult struct {
	Token  string `json:"token"`
	Person Person `json:"person"`
}

// Invite is the answer to POST /v1/people/{id}/invite.
type Invite struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// KeyStatusChange is the body of POST /v1/keys/{serial}/status and POST
// /v1/people/{id}/keys/{serial}/status, an IT recovery action.
type KeyStatusChange struct {
	Status KeyStatus `json:"status"`
	Reason string    `json:"reason"`
	// Erased lists what a wipe erased (application names such as "fido2",
	// "piv", "oath"), recorded in the audit entry's detail.
	Erased []string `json:"erased,omitempty"`
}

// Reasoned is the body of recovery actions that need only a reason (revoke
// tokens, re-invite). Erasure has its own, [Erasure].
type Reasoned struct {
	Reason string `json:"reason"`
}

// ErasureReason says why a person's data was erased. It is one of a fixed
// set of codes, not free text: the erasure's audit entry outlives the person
// and must hold nothing that could name them, which free text cannot
// promise. Ticket numbers stay in IT's own system, matched by time and actor.
type ErasureReason string

// Erasure reasons.
const (
	// ErasurePersonRequest: the person asked for their data to be erased.
	ErasurePersonRequest ErasureReason = "person-request"
	// ErasureLeft: the person left, or never started, and the record is no
	// longer needed.
	ErasureLeft ErasureReason = "left-organisation"
	// ErasureRetentionExpired: the retention period for the record ended.
	ErasureRetentionExpired ErasureReason = "retention-expired"
	// ErasureCreatedInError: the person was added by mistake or twice.
	ErasureCreatedInError ErasureReason = "created-in-error"
)

// ErasureReasons lists the valid erasure reasons.
var ErasureReasons = []ErasureReason{ErasurePersonRequest, ErasureLeft, ErasureRetentionExpired, ErasureCreatedInError}

// Erasure is the body of POST /v1/people/{id}/erase.
type Erasure struct {
	Reason ErasureReason `json:"reason"`
}

// PersonExport is everything stored about one person (GET /v1/people/{id}/export).
type PersonExport struct {
	// Header is set on what the server sends, which is signed (see
	// ExportHeader).
	Header *ExportHeader `json:"header,omitempty"`
	Person Person        `json:"person"`
	Keys   []Key         `json:"keys"`
	Items  []Item        `json:"items"`
	Audit  []AuditEntry  `json:"audit"`
	// Completion and KeyHistory are their completion history and their
	// keys' lives, oldest first.
	Completion []CompletionChange `json:"completion"`
	KeyHistory []OwnedKeyEvent    `json:"key_history"`
	// Signature is empty (left out) in what is signed; the server adds it
	// as the last member (tracker/evidence), where a reader finds it.
	Signature string `json:"signature,omitempty"`
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}
