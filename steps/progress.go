package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ProgressSchema is the version of the progress file format.
const ProgressSchema = 1

// Level is how sure keywizard is that a step is done on a key. The values
// are the tracker's evidence levels (tracker.Evidence*).
type Level string

// Evidence levels, strongest first.
const (
	VerifiedOnKey    Level = "verified-on-key"
	VerifiedBySystem Level = "verified-by-system"
	SelfAttested     Level = "self-attested"
)

// Words is the level as it reads in a sentence ("verified on the key"):
// the one wording the summary, the report's reader and the UI share.
func (l Level) Words() string {
	switch l {
	case VerifiedOnKey:
		return "verified on the key"
	case VerifiedBySystem:
		return "verified by the system"
	case SelfAttested:
		return "confirmed by you, not verified"
	}
	return string(l)
}

// Evidence records one result with what it rests on.
type Evidence struct {
	Level  Level     `json:"level"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
	// CheckedAt is when keywizard last read the key or system and found
	// the result still there (Wizard.Recheck); zero means At (progress
	// saved before re-checks). A self-attestation cannot be re-read: its
	// CheckedAt stays At.
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Checked is when the result was last found to hold.
func (e Evidence) Checked() time.Time {
	if e.CheckedAt.After(e.At) {
		return e.CheckedAt
	}
	return e.At
}

// Role is what a key is for. The values are the tracker's key roles.
type Role string

// Key roles.
const (
	RoleEveryday Role = "everyday" // the Nano that stays in the laptop
	RoleBackup   Role = "backup"   // the NFC or 5Ci, mobile and backup
)

// Words names a key by its role as it reads in a sentence ("everyday
// key"), in the wizard's texts and the UI's.
func (r Role) Words() string {
	if r == RoleEveryday {
		return "everyday key"
	}
	return "backup key"
}

// Person is who is being onboarded.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// StartDate is the first working day (a date; time of day ignored).
	StartDate time.Time `json:"start_date"`
	// Accounts holds account names per service ID where passkeys are
	// matched by an account name (e.g. "github": "alice").
	Accounts map[string]string `json:"accounts,omitempty"`
}

// AssignedKey is one of the person's keys.
type AssignedKey struct {
	Serial     uint32 `json:"serial"`
	Model      string `json:"model"`
	Role       Role   `json:"role"`
	FormFactor string `json:"form_factor,omitempty"`
	Firmware   string `json:"firmware,omitempty"`
	HasNFC     bool   `json:"has_nfc,omitempty"`
}

// Item is the state of one step on one key.
type Item struct {
	Evidence *Evidence `json:"evidence,omitempty"`
	// OpenedAt is when the service page was last opened for this key.
	OpenedAt time.Time `json:"opened_at,omitzero"`
	// Lost says why a result recorded earlier was taken back: a re-check
	// found it no longer holds ("Google passkey not found on key 12345678
	// at 14:02: set it up again"). Cleared by new evidence or Redo.
	Lost string `json:"lost,omitempty"`
}

// PIVRecord remembers a key's smart-card setup: the identity hashes are
// public (they name certificates) and let the macOS check find the key.
type PIVRecord struct {
	Identities    []string  `json:"identities"`
	ProvisionedAt time.Time `json:"provisioned_at"`
}

// ReportRecord is the state of the tracker report.
type ReportRecord struct {
	SentAt      time.Time `json:"sent_at,omitzero"`
	Pending     bool      `json:"pending,omitempty"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	Destination string    `json:"destination,omitempty"`
	// Local is set when the report was kept on this computer because no
	// tracker was connected.
	Local bool `json:"local,omitempty"`
	// Genuine is the tracker's answer about each key's attestation, by
	// serial (GenuineReporter).
	Genuine map[uint32]GenuineAnswer `json:"genuine,omitempty"`
}

// Progress is everything the wizard saves. It holds no secrets: no PIN, PUK,
// management key or token ever goes in here.
type Progress struct {
	Schema  int           `json:"schema"`
	Person  *Person       `json:"person,omitempty"`
	Keys    []AssignedKey `json:"keys"`
	Ignored []uint32      `json:"ignored_serials,omitempty"`
	Current StepID        `json:"current"`
	// Items maps step ID, then key serial, to that step's state on the key.
	Items  map[StepID]map[uint32]*Item `json:"items"`
	PIV    map[uint32]*PIVRecord       `json:"piv,omitempty"`
	Report ReportRecord                `json:"report"`
	// Losses are the keys the person reported lost, oldest first; the
	// removal checklist is the latest one's (Wizard.ReportLost).
	Losses    []*LossRecord `json:"losses,omitempty"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// LossRecord is a key the person reported lost: what it was, what the
// tracker was told, and what was removed where. It holds no secrets: the
// identity hashes name public certificates.
type LossRecord struct {
	Serial     uint32    `json:"serial"`
	Model      string    `json:"model"`
	Role       Role      `json:"role"`
	FormFactor string    `json:"form_factor,omitempty"`
	Reason     string    `json:"reason"`
	ReportedAt time.Time `json:"reported_at"`
	// Identities are the key's macOS login identity hashes, remembered when
	// it was set up (PIVRecord), so its pairing can be undone without it.
	Identities []string `json:"identities,omitempty"`
	// Tracker is the state of telling the tracker (sent, waiting, kept
	// locally), as for the report.
	Tracker ReportRecord `json:"tracker"`
	// Refused is why the tracker refused the loss report for good, if it
	// did.
	Refused string `json:"refused,omitempty"`
	// Removed holds, per catalogue service ID, the evidence that the key
	// was removed there.
	Removed map[string]*Evidence `json:"removed,omitempty"`
	// Results are the key's step results when it was lost, kept as
	// history; they no longer count for anything.
	Results map[StepID]*Item `json:"results,omitempty"`
}

func newProgress() *Progress {
	return &Progress{Schema: ProgressSchema, Current: StepWelcome, Items: map[StepID]map[uint32]*Item{}, PIV: map[uint32]*PIVRecord{}}
}

// clone deep-copies p via JSON, which is also the saved form.
func (p *Progress) clone() *Progress {
	data, err := json.Marshal(p)
	if err != nil {
		panic(err) // every field is plain data
	}
	out, err := decodeProgress(data)
	if err != nil {
		panic(err)
	}
	return out
}

func (p *Progress) key(serial uint32) (AssignedKey, bool) {
	for _, k := range p.Keys {
		if k.Serial == serial {
			return k, true
		}
	}
	return AssignedKey{}, false
}

func (p *Progress) keyByRole(r Role) (AssignedKey, bool) {
	for _, k := range p.Keys {
		if k.Role == r {
			return k, true
		}
	}
	return AssignedKey{}, false
}

func (p *Progress) item(step StepID, serial uint32) *Item {
	m := p.Items[step]
	if m == nil {
		m = map[uint32]*Item{}
		p.Items[step] = m
	}
	it := m[serial]
	if it == nil {
		it = &Item{}
		m[serial] = it
	}
	return it
}

func (p *Progress) evidence(step StepID, serial uint32) *Evidence {
	if it := p.Items[step][serial]; it != nil {
		return it.Evidence
	}
	return nil
}

// decodeProgress parses a progress file. It is strict about the schema
// version: a file from a newer keywizard is refused rather than half-read
// and overwritten.
func decodeProgress(data []byte) (*Progress, error) {
	var head struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamagedProgress, err)
	}
	if head.Schema != ProgressSchema {
		return nil, fmt.Errorf("%w: schema %d, this keywizard reads %d (update keywizard)", ErrDamagedProgress, head.Schema, ProgressSchema)
	}
	p := newProgress()
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDamagedProgress, err)
	}
	if p.Items == nil {
		p.Items = map[StepID]map[uint32]*Item{}
	}
	if p.PIV == nil {
		p.PIV = map[uint32]*PIVRecord{}
	}
	if p.Person != nil && len(p.Person.Accounts) == 0 {
		p.Person.Accounts = nil // the saved form omits an empty map
	}
	roles := map[Role]bool{}
	serials := map[uint32]bool{}
	for _, k := range p.Keys {
		if (k.Role != RoleEveryday && k.Role != RoleBackup) || roles[k.Role] || k.Serial == 0 || serials[k.Serial] {
			return nil, fmt.Errorf("%w: keys list is inconsistent", ErrDamagedProgress)
		}
		roles[k.Role], serials[k.Serial] = true, true
	}
	for _, m := range p.Items {
		for _, it := range m {
			if it == nil {
				return nil, fmt.Errorf("%w: empty item", ErrDamagedProgress)
			}
			if e := it.Evidence; e != nil && e.Level != VerifiedOnKey && e.Level != VerifiedBySystem && e.Level != SelfAttested {
				return nil, fmt.Errorf("%w: unknown evidence level %q", ErrDamagedProgress, e.Level)
			}
		}
	}
	for s, r := range p.PIV {
		if r == nil {
			delete(p.PIV, s)
		}
	}
	for _, l := range p.Losses {
		if l == nil || l.Serial == 0 {
			return nil, fmt.Errorf("%w: empty lost-key record", ErrDamagedProgress)
		}
		for _, e := range l.Removed {
			if e == nil || (e.Level != VerifiedBySystem && e.Level != SelfAttested) {
				return nil, fmt.Errorf("%w: lost-key record with an unknown evidence level", ErrDamagedProgress)
			}
		}
	}
	return p, nil
}

// FileStore keeps progress as JSON in one file, written atomically: a
// temporary file in the same directory, fsync, rename, fsync of the
// directory, so a crash leaves either the old or the new file.
type FileStore struct {
	Path string
}

// DefaultStorePath is keywizard/progress.json in the user config dir.
func DefaultStorePath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding your config directory: %w", err)
	}
	return filepath.Join(dir, "keywizard", "progress.json"), nil
}

// Load reads the progress file.
func (s *FileStore) Load(ctx context.Context) (*Progress, error) {
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s)", ErrNoProgress, s.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading progress: %w", err)
	}
	p, err := decodeProgress(data)
	if err != nil {
		return nil, fmt.Errorf("%w; move %s away to start over", err, s.Path)
	}
	return p, nil
}

// SetAside renames a progress file that cannot be read (ErrDamagedProgress)
// to <name>.damaged-<time> beside it and returns the new path, so the person
// can start over without the old file being lost or overwritten: IT can
// still look at it, and a newer keywizard can still read it.
func (s *FileStore) SetAside(now time.Time) (string, error) {
	to := s.Path + ".damaged-" + now.UTC().Format("20060102-150405")
	if err := os.Rename(s.Path, to); err != nil {
		return "", fmt.Errorf("setting the unreadable progress file aside: %w", err)
	}
	return to, nil
}

// Save writes the progress file atomically, readable by the user only.
func (s *FileStore) Save(ctx context.Context, p *Progress) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding progress: %w", err)
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving progress: %w", err)
	}
	f, err := os.CreateTemp(dir, ".progress-*.tmp")
	if err != nil {
		return fmt.Errorf("saving progress: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("saving progress: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("saving progress: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving progress: %w", err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return fmt.Errorf("saving progress: %w", err)
	}
	// The rename is durable only once the directory entry is synced. Not
	// every OS lets a directory be opened for sync (Windows); that is not
	// an error worth losing the save over.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// sortedSerials returns the keys of m in order.
func sortedSerials[V any](m map[uint32]V) []uint32 {
	out := make([]uint32, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
