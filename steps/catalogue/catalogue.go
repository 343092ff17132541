// Package catalogue is the wizard's service catalogue as data: for each
// service where a new hire registers their keys, the page to open, the steps
// in plain words, how keywizard can verify the registration, and on which
// operating systems it applies.
//
// keywizard embeds a default catalogue (Google Workspace, AWS, 1Password,
// GitHub and macOS smart-card login, with the facts of
// docs/services.md). An organisation changes it without a
// rebuild by handing the wizard its own file, which is merged into the
// default by service ID: a new ID adds a service, a known ID replaces only
// the fields it sets, and "disabled": true drops the service.
//
// # Errors
//
// Parse, Merge and Load return a *[FieldError] naming the file and the field
// (for example services[2].verification.rp_id) that is wrong; it matches
// [ErrInvalid].
package catalogue

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Schema is the catalogue file format version this package reads.
const Schema = 1

// Kind says how keywizard can check that a service is set up on a key.
type Kind string

// Verification kinds.
const (
	// KindFIDOCredential: a discoverable credential (passkey) for RPID is on
	// the key, read with the FIDO2 PIN (CTAP 2.1 credential management).
	// Only discoverable credentials can be listed, so services that also
	// accept non-discoverable "security keys" must steer people to the
	// passkey choice (docs/services.md §0).
	KindFIDOCredential Kind = "fido-credential"
	// KindSCAuth: macOS smart-card pairing, found with `sc_auth list`.
	KindSCAuth Kind = "sc-auth"
	// KindSelfAttest: nothing on the key or the computer can show the
	// registration; the person confirms it.
	KindSelfAttest Kind = "self-attest"
)

// UserMatch says which user name a credential must carry to count.
type UserMatch string

// User-name rules for KindFIDOCredential.
const (
	// UserEmail: the person's work e-mail address (Google: docs/services.md §1).
	UserEmail UserMatch = "email"
	// UserAccount: an account name the person types, labelled by the
	// service's AccountLabel (GitHub login: docs/services.md §5).
	UserAccount UserMatch = "account"
	// UserAny: any credential for the RP ID counts.
	UserAny UserMatch = "any"
)

// Verification is how a service's registration is checked.
type Verification struct {
	Kind Kind `json:"kind"`
	// RPID is the WebAuthn relying-party ID, for KindFIDOCredential.
	RPID string `json:"rp_id,omitempty"`
	// User is the user-name rule, for KindFIDOCredential.
	User UserMatch `json:"user,omitempty"`
}

// Link is an alternative page with a label saying when to use it.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Service is one place where both keys get registered.
type Service struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// URL is the exact page where a key is registered. Empty only for
	// services the wizard sets up itself (KindSCAuth).
	URL           string   `json:"url,omitempty"`
	AlternateURLs []Link   `json:"alternate_urls,omitempty"`
	Instructions  []string `json:"instructions"`
	// Verification says which evidence the wizard can collect.
	Verification Verification `json:"verification"`
	// PasskeyHint tells the person which choice lets keywizard verify.
	PasskeyHint string `json:"passkey_hint,omitempty"`
	// AccountLabel names the account the person types (UserAccount).
	AccountLabel string `json:"account_label,omitempty"`
	// Platforms lists GOOS values the service applies on; empty means all.
	Platforms []string `json:"platforms,omitempty"`
	// Note is for whoever maintains the file; the wizard does not show it.
	Note string `json:"note,omitempty"`
	// Removal says how to take a lost key off the service; nil gives the
	// wizard's general advice (an organisation's own service may not say).
	Removal *Removal `json:"removal,omitempty"`
}

// Removal is how a lost key comes off a service (docs/services.md §9): the
// page and steps for the person, signed in with their other key, and what
// an administrator can do instead when the person cannot.
type Removal struct {
	// URL is the page where the person removes the key; empty for services
	// keywizard undoes itself (KindSCAuth: sc_auth unpair).
	URL string `json:"url,omitempty"`
	// Steps are the person's steps in plain words; "<serial>" stands for
	// the lost key's serial.
	Steps []string `json:"steps"`
	// Admin is what IT can do instead.
	Admin string `json:"admin"`
}

// clone deep-copies r.
func (r *Removal) clone() *Removal {
	if r == nil {
		return nil
	}
	c := *r
	c.Steps = append([]string(nil), r.Steps...)
	return &c
}

// AppliesOn reports whether the service applies on goos.
func (s Service) AppliesOn(goos string) bool {
	if len(s.Platforms) == 0 {
		return true
	}
	for _, p := range s.Platforms {
		if p == goos {
			return true
		}
	}
	return false
}

// Catalogue is an ordered list of services.
type Catalogue struct {
	Services []Service
}

// Service returns the service with the given ID.
func (c *Catalogue) Service(id string) (Service, bool) {
	for _, s := range c.Services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// Clone returns a deep copy, so callers can hand catalogues out freely.
func (c *Catalogue) Clone() *Catalogue {
	out := &Catalogue{Services: make([]Service, len(c.Services))}
	for i, s := range c.Services {
		s.AlternateURLs = append([]Link(nil), s.AlternateURLs...)
		s.Instructions = append([]string(nil), s.Instructions...)
		s.Platforms = append([]string(nil), s.Platforms...)
		s.Removal = s.Removal.clone()
		out.Services[i] = s
	}
	return out
}

// ErrInvalid matches every catalogue validation error.
var ErrInvalid = errors.New("invalid service catalogue")

// FieldError names the file and field a catalogue problem is in.
type FieldError struct {
	File  string // "default" for the embedded catalogue
	Field string // e.g. services[2].verification.rp_id
	Msg   string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Field != "" {
		loc += ": " + e.Field
	}
	return "service catalogue " + loc + ": " + e.Msg + "; fix the file and start keywizard again"
}

// Is makes every FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

//go:embed default.json
var defaultJSON []byte

// DefaultName is the File of errors about the embedded catalogue.
const DefaultName = "default"

// Default returns the embedded catalogue.
func Default() *Catalogue {
	c, err := Parse(DefaultName, defaultJSON)
	if err != nil {
		// The embedded file is tested; a failure here is a build defect.
		panic(err)
	}
	return c
}

// file is the on-disk form. Override fields are pointers or nil slices so
// Merge can tell "not set" from "set to empty".
type file struct {
	Schema   *int          `json:"schema"`
	Services []serviceFile `json:"services"`
}

type serviceFile struct {
	ID            string        `json:"id"`
	Disabled      bool          `json:"disabled,omitempty"`
	Name          *string       `json:"name,omitempty"`
	URL           *string       `json:"url,omitempty"`
	AlternateURLs []Link        `json:"alternate_urls,omitempty"`
	Instructions  []string      `json:"instructions,omitempty"`
	Verification  *Verification `json:"verification,omitempty"`
	PasskeyHint   *string       `json:"passkey_hint,omitempty"`
	AccountLabel  *string       `json:"account_label,omitempty"`
	Platforms     []string      `json:"platforms,omitempty"`
	Note          *string       `json:"note,omitempty"`
	Removal       *Removal      `json:"removal,omitempty"`
}

func decode(name string, data []byte) (*file, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	// Unknown fields are errors: a typo such as "rpid" would otherwise
	// silently drop a verification.
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, &FieldError{File: name, Field: jsonField(err), Msg: "not valid catalogue JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &FieldError{File: name, Msg: "unexpected data after the JSON object"}
	}
	if f.Schema == nil {
		return nil, &FieldError{File: name, Field: "schema", Msg: fmt.Sprintf("missing; this keywizard reads schema %d", Schema)}
	}
	if *f.Schema != Schema {
		return nil, &FieldError{File: name, Field: "schema", Msg: fmt.Sprintf("is %d; this keywizard reads schema %d", *f.Schema, Schema)}
	}
	seen := map[string]bool{}
	for i, s := range f.Services {
		if !idRE().MatchString(s.ID) {
			return nil, &FieldError{File: name, Field: fmt.Sprintf("services[%d].id", i), Msg: fmt.Sprintf("%q must be a lower-case slug matching %s", s.ID, idRE())}
		}
		if reserved[s.ID] {
			return nil, &FieldError{File: name, Field: fmt.Sprintf("services[%d].id", i), Msg: fmt.Sprintf("%q is the name of one of the wizard's own steps; choose another", s.ID)}
		}
		if seen[s.ID] {
			return nil, &FieldError{File: name, Field: fmt.Sprintf("services[%d].id", i), Msg: fmt.Sprintf("%q appears twice", s.ID)}
		}
		seen[s.ID] = true
	}
	return &f, nil
}

func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

// Parse reads a complete catalogue (every service fully described), such as
// the embedded default. name is used in error messages.
func Parse(name string, data []byte) (*Catalogue, error) {
	f, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	c := &Catalogue{}
	for _, sf := range f.Services {
		if sf.Disabled {
			continue
		}
		var s Service
		apply(&s, sf)
		c.Services = append(c.Services, s)
	}
	if err := c.validate(name, f); err != nil {
		return nil, err
	}
	return c, nil
}

// Merge applies an organisation's file to base and returns the result; base
// is not modified. Services are matched by ID: unknown IDs are appended in
// file order, known ones get the fields the file sets, and "disabled": true
// removes a service.
func Merge(base *Catalogue, name string, data []byte) (*Catalogue, error) {
	f, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	out := base.Clone()
	for _, sf := range f.Services {
		idx := -1
		for i, s := range out.Services {
			if s.ID == sf.ID {
				idx = i
			}
		}
		switch {
		case sf.Disabled && idx >= 0:
			out.Services = append(out.Services[:idx], out.Services[idx+1:]...)
		case sf.Disabled:
			// Dropping a service the base does not have is harmless
			// (an org file shared across keywizard versions).
		case idx >= 0:
			apply(&out.Services[idx], sf)
		default:
			var s Service
			apply(&s, sf)
			out.Services = append(out.Services, s)
		}
	}
	if err := out.validate(name, f); err != nil {
		return nil, err
	}
	return out, nil
}

// Load returns the default catalogue merged with the organisation file at
// path; an empty path means the default alone.
func Load(path string) (*Catalogue, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the organisation's service catalogue: %w", err)
	}
	return Merge(Default(), path, data)
}

// EnvPath names the environment variable that points at an organisation
// catalogue explicitly (IT testing a new file, a managed launcher).
const EnvPath = "KEYWIZARD_CATALOGUE"

// OrgPaths lists where an organisation's catalogue file is looked for, in
// order: $KEYWIZARD_CATALOGUE, then the system-wide place device-management
// tools install configuration to, then the user's config directory. The
// system-wide file comes before the user's so a person cannot drop a
// service the organisation requires by writing their own file.
func OrgPaths(goos, userConfigDir string, getenv func(string) string) []string {
	var out []string
	if p := getenv(EnvPath); p != "" {
		out = append(out, p)
	}
	switch goos {
	case "darwin":
		out = append(out, "/Library/Application Support/keywizard/catalogue.json")
	case "windows":
		if pd := getenv("ProgramData"); pd != "" {
			out = append(out, filepath.Join(pd, "keywizard", "catalogue.json"))
		}
	default:
		out = append(out, "/etc/keywizard/catalogue.json")
	}
	if userConfigDir != "" {
		out = append(out, filepath.Join(userConfigDir, "keywizard", "catalogue.json"))
	}
	return out
}

// LoadFirst returns the default catalogue merged with the first file of
// paths that exists, and that file's path ("" when none exists, which is
// not an error). A file that exists but cannot be read or is invalid is an
// error: silently falling back to the default would drop the
// organisation's services.
func LoadFirst(paths []string) (*Catalogue, string, error) {
	for _, p := range paths {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		c, err := Load(p)
		if err != nil {
			return nil, p, err
		}
		return c, p, nil
	}
	return Default(), "", nil
}

func apply(s *Service, f serviceFile) {
	s.ID = f.ID
	if f.Name != nil {
		s.Name = *f.Name
	}
	if f.URL != nil {
		s.URL = *f.URL
	}
	if f.AlternateURLs != nil {
		s.AlternateURLs = append([]Link(nil), f.AlternateURLs...)
	}
	if f.Instructions != nil {
		s.Instructions = append([]string(nil), f.Instructions...)
	}
	if f.Verification != nil {
		s.Verification = *f.Verification
	}
	if f.PasskeyHint != nil {
		s.PasskeyHint = *f.PasskeyHint
	}
	if f.AccountLabel != nil {
		s.AccountLabel = *f.AccountLabel
	}
	if f.Platforms != nil {
		s.Platforms = append([]string(nil), f.Platforms...)
	}
	if f.Note != nil {
		s.Note = *f.Note
	}
	if f.Removal != nil {
		s.Removal = f.Removal.clone()
	}
}

var (
	// idRE is the tracker's service-ID rule (tracker.ValidServiceID), so
	// every catalogue service can be reported.
	// Both are compiled on first use: the command-line tool links this
	// package and should not pay for them at start-up (BENCHMARKS.md, "Listing keys").
	idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`) })
	// rpIDRE: a registrable domain name, lower case (WebAuthn §5.1.2 RP ID is
	// a valid domain string).
	rpIDRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	})
	// reserved are the wizard's own step IDs; a service may not shadow them.
	reserved = map[string]bool{"welcome": true, "keys": true, "fido-pin": true, "otp": true, "report": true, "summary": true, "lost": true}
	// platforms are the GOOS values keywizard builds for.
	platforms = map[string]bool{"darwin": true, "linux": true, "windows": true, "freebsd": true, "openbsd": true}
)

// validate checks the merged result, naming fields by their index in the
// file that set them when there is one, else by service ID.
func (c *Catalogue) validate(name string, f *file) error {
	if len(c.Services) == 0 {
		return &FieldError{File: name, Field: "services", Msg: "no services left; keep at least one"}
	}
	fileIdx := map[string]int{}
	for i, s := range f.Services {
		fileIdx[s.ID] = i
	}
	for _, s := range c.Services {
		where := name
		prefix := fmt.Sprintf("services[id=%s]", s.ID)
		if i, ok := fileIdx[s.ID]; ok {
			prefix = fmt.Sprintf("services[%d]", i)
		} else {
			where = DefaultName
		}
		bad := func(field, format string, args ...any) error {
			return &FieldError{File: where, Field: prefix + "." + field, Msg: fmt.Sprintf(format, args...)}
		}
		if strings.TrimSpace(s.Name) == "" {
			return bad("name", "is missing")
		}
		if len(s.Instructions) == 0 {
			return bad("instructions", "is missing; give the steps in plain words")
		}
		for j, in := range s.Instructions {
			if strings.TrimSpace(in) == "" {
				return bad(fmt.Sprintf("instructions[%d]", j), "is empty")
			}
		}
		switch s.Verification.Kind {
		case KindFIDOCredential:
			if !rpIDRE().MatchString(s.Verification.RPID) {
				return bad("verification.rp_id", "%q is not a lower-case domain name such as github.com", s.Verification.RPID)
			}
			switch s.Verification.User {
			case UserEmail, UserAny:
			case UserAccount:
				if strings.TrimSpace(s.AccountLabel) == "" {
					return bad("account_label", "is needed when verification.user is %q (e.g. \"GitHub username\")", UserAccount)
				}
			default:
				return bad("verification.user", "%q must be %q, %q or %q", s.Verification.User, UserEmail, UserAccount, UserAny)
			}
		case KindSCAuth, KindSelfAttest:
			if s.Verification.RPID != "" || s.Verification.User != "" {
				return bad("verification", "rp_id and user apply only to kind %q", KindFIDOCredential)
			}
		default:
			return bad("verification.kind", "%q must be %q, %q or %q", s.Verification.Kind, KindFIDOCredential, KindSCAuth, KindSelfAttest)
		}
		if s.URL == "" && s.Verification.Kind != KindSCAuth {
			return bad("url", "is missing; give the exact page where a key is registered")
		}
		if s.URL != "" {
			if err := checkURL(s.URL); err != nil {
				return bad("url", "%s", err)
			}
		}
		for j, l := range s.AlternateURLs {
			if strings.TrimSpace(l.Label) == "" {
				return bad(fmt.Sprintf("alternate_urls[%d].label", j), "is missing; say when to use this page")
			}
			if err := checkURL(l.URL); err != nil {
				return bad(fmt.Sprintf("alternate_urls[%d].url", j), "%s", err)
			}
		}
		if r := s.Removal; r != nil {
			if len(r.Steps) == 0 {
				return bad("removal.steps", "is missing; say how the person removes a lost key")
			}
			for j, in := range r.Steps {
				if strings.TrimSpace(in) == "" {
					return bad(fmt.Sprintf("removal.steps[%d]", j), "is empty")
				}
			}
			if strings.TrimSpace(r.Admin) == "" {
				return bad("removal.admin", "is missing; say what IT can do instead")
			}
			if r.URL == "" && s.Verification.Kind != KindSCAuth {
				return bad("removal.url", "is missing; give the exact page where a key is removed")
			}
			if r.URL != "" {
				if err := checkURL(r.URL); err != nil {
					return bad("removal.url", "%s", err)
				}
			}
		}
		for j, p := range s.Platforms {
			if !platforms[p] {
				return bad(fmt.Sprintf("platforms[%d]", j), "%q is not one of darwin, linux, windows, freebsd, openbsd", p)
			}
		}
	}
	return nil
}

// checkURL accepts absolute https URLs only: the wizard opens them in the
// person's browser, and a plain-http or relative link there is a mistake.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q must be an absolute https:// address", raw)
	}
	return nil
}
