package tracker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// FieldError reports an invalid request field by its JSON name.
type FieldError struct {
	Field string
	Msg   string
	// Err is the underlying cause, if any (say *http.MaxBytesError, which
	// the server turns into a 413).
	Err error
}

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Limits on request contents. They bound what one client can make the server
// store, and keep the dashboard readable.
const (
	MaxBodyBytes   = 64 << 10
	maxItems       = 64
	maxText        = 200
	maxReason      = 500
	maxCertBytes   = 8 << 10
	maxIdempotency = 64
)

// The patterns are compiled on first use, not at package initialisation:
// every keywizard command links this package, and compiling them at start-up
// is time `keywizard keys` pays for nothing (BENCHMARKS.md, "Listing keys").
var (
	serviceRE     = lazyRegexp(`^[a-z0-9][a-z0-9-]{0,31}$`)
	idempotencyRE = lazyRegexp(`^[A-Za-z0-9_-]{8,64}$`)
	dateRE        = lazyRegexp(`^\d{4}-\d{2}-\d{2}$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ValidServiceID reports whether s is an acceptable service identifier:
// the defaults plus any organisation-specific lower-case slug.
func ValidServiceID(s string) bool { return serviceRE().MatchString(s) }

// Valid reports whether e is a known evidence level.
func (e Evidence) Valid() bool {
	return e == EvidenceOnKey || e == EvidenceBySystem || e == EvidenceSelf
}

// Valid reports whether r is a known key role.
func (r KeyRole) Valid() bool { return r == RoleEveryday || r == RoleBackup }

// Valid reports whether s is a known key status.
func (s KeyStatus) Valid() bool { return slices.Contains(KeyStatuses, s) }

// ParseDate parses a YYYY-MM-DD date.
func ParseDate(s string) (time.Time, error) {
	if !dateRE().MatchString(s) {
		return time.Time{}, errors.New("must be YYYY-MM-DD")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errors.New("must be YYYY-MM-DD")
	}
	return t, nil
}

// checkText rejects empty (if required), over-long, invalid UTF-8 and control
// characters, which would otherwise end up in CSV exports and Slack messages.
func checkText(field, s string, required bool, max int) error {
	if s == "" {
		if required {
			return fieldErr(field, "required")
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return fieldErr(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return fieldErr(field, "at most %d characters", max)
	}
	if strings.TrimSpace(s) != s {
		return fieldErr(field, "must not start or end with spaces")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fieldErr(field, "must not contain control characters")
		}
	}
	if p := textProblem(s, false); p != "" {
		return fieldErr(field, "%s", p)
	}
	return nil
}

// checkWords is checkText for text people read as words (names, teams,
// reasons): each word must also be in one script (textProblem).
func checkWords(field, s string, required bool, max int) error {
	if err := checkText(field, s, required, max); err != nil || s == "" {
		return err
	}
	if p := textProblem(s, true); p != "" {
		return fieldErr(field, "%s", p)
	}
	return nil
}

func checkEmail(field, s string, required bool) error {
	if err := checkText(field, s, required, 254); err != nil || s == "" {
		return err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fieldErr(field, "must be a plain e-mail address")
	}
	if s != strings.ToLower(s) {
		return fieldErr(field, "must be lower case")
	}
	if p := emailProblem(s); p != "" {
		return fieldErr(field, "%s", p)
	}
	return nil
}

// Validate checks every field of a report.
func (r *Report) Validate() error {
	if !idempotencyRE().MatchString(r.IdempotencyKey) {
		return fieldErr("idempotency_key", "must be 8 to %d letters, digits, '-' or '_'", maxIdempotency)
	}
	if err := checkEmail("person_email", r.PersonEmail, false); err != nil {
		return err
	}
	if r.Serial == 0 {
		return fieldErr("serial", "required")
	}
	if err := checkText("model", r.Model, true, 64); err != nil {
		return err
	}
	if !r.Role.Valid() {
		return fieldErr("role", "must be %q or %q", RoleEveryday, RoleBackup)
	}
	if err := checkText("app_version", r.AppVersion, true, 64); err != nil {
		return err
	}
	if len(r.Items) > maxItems {
		return fieldErr("items", "at most %d items", maxItems)
	}
	seen := make(map[string]bool, len(r.Items))
	for i, it := range r.Items {
		p := fmt.Sprintf("items[%d].", i)
		if !ValidServiceID(it.Service) {
			return fieldErr(p+"service", "must match %s", serviceRE())
		}
		if seen[it.Service] {
			return fieldErr(p+"service", "duplicate service %q", it.Service)
		}
		seen[it.Service] = true
		if !it.Evidence.Valid() {
			return fieldErr(p+"evidence", "must be %q, %q or %q", EvidenceOnKey, EvidenceBySystem, EvidenceSelf)
		}
		if it.At.IsZero() {
			return fieldErr(p+"at", "required (RFC 3339 time)")
		}
		if y := it.At.Year(); y < 2000 || y > 9999 {
			return fieldErr(p+"at", "out of range")
		}
		if !it.CheckedAt.IsZero() && it.CheckedAt.Before(it.At) {
			return fieldErr(p+"checked_at", "must not be before at")
		}
		if y := it.CheckedAt.Year(); !it.CheckedAt.IsZero() && y > 9999 {
			return fieldErr(p+"checked_at", "out of range")
		}
	}
	if len(r.Services) > maxItems {
		return fieldErr("services", "at most %d services", maxItems)
	}
	named := make(map[string]bool, len(r.Services))
	for i, s := range r.Services {
		p := fmt.Sprintf("services[%d].", i)
		if !ValidServiceID(s.ID) || s.ID == ServiceOTP {
			return fieldErr(p+"id", "must match %s and not be %q", serviceRE(), ServiceOTP)
		}
		if named[s.ID] {
			return fieldErr(p+"id", "duplicate service %q", s.ID)
		}
		named[s.ID] = true
		if err := checkText(p+"name", s.Name, true, maxText); err != nil {
			return err
		}
	}
	if a := r.Attestation; a != nil {
		if len(a.Certificate) == 0 || len(a.Certificate) > maxCertBytes {
			return fieldErr("attestation.certificate", "required, at most %d bytes of DER", maxCertBytes)
		}
		if len(a.Slot) == 0 || len(a.Slot) > maxCertBytes {
			return fieldErr("attestation.slot", "required, at most %d bytes of DER", maxCertBytes)
		}
	}
	return nil
}

// Validate checks every field of a new person.
func (c *CreatePerson) Validate() error {
	if err := checkEmail("email", c.Email, true); err != nil {
		return err
	}
	if err := checkWords("name", c.Name, true, maxText); err != nil {
		return err
	}
	if err := checkWords("team", c.Team, false, maxText); err != nil {
		return err
	}
	if err := checkEmail("manager_email", c.ManagerEmail, false); err != nil {
		return err
	}
	if c.ManagerEmail == c.Email {
		return fieldErr("manager_email", "must not be the person themselves")
	}
	if _, err := ParseDate(c.StartDate); err != nil {
		return fieldErr("start_date", "%v", err)
	}
	if c.DueDate != "" {
		if _, err := ParseDate(c.DueDate); err != nil {
			return fieldErr("due_date", "%v", err)
		}
	}
	return nil
}

// Validate checks an invite exchange.
func (e *Exchange) Validate() error {
	if e.InviteCode == "" {
		return fieldErr("invite_code", "required")
	}
	if len(e.InviteCode) > 128 {
		return fieldErr("invite_code", "too long")
	}
	return checkText("device", e.Device, false, 100)
}

// Validate checks a key status change.
func (k *KeyStatusChange) Validate() error {
	if !slices.Contains(ITStatuses, k.Status) {
		return fieldErr("status", "must be %q, %q or %q", KeyActive, KeyLost, KeyRetired)
	}
	if err := checkWords("reason", k.Reason, true, maxReason); err != nil {
		return err
	}
	if len(k.Erased) > maxErased {
		return fieldErr("erased", "at most %d entries", maxErased)
	}
	for i, e := range k.Erased {
		if !ValidServiceID(e) {
			return fieldErr(fmt.Sprintf("erased[%d]", i), "must be a lower-case name such as fido2 or piv")
		}
	}
	return nil
}

// Validate checks that a reason was given.
func (r *Reasoned) Validate() error { return checkWords("reason", r.Reason, true, maxReason) }

// Validate checks that the reason is one of [ErasureReasons].
func (e *Erasure) Validate() error {
	if slices.Contains(ErasureReasons, e.Reason) {
		return nil
	}
	names := make([]string, len(ErasureReasons))
	for i, r := range ErasureReasons {
		names[i] = strconv.Quote(string(r))
	}
	return fieldErr("reason", "must be one of %s (free text could name the person, and the erasure's audit entry is kept)", strings.Join(names, ", "))
}

// validator is implemented by every request body.
type validator interface{ Validate() error }

// Decode reads one JSON request body into v, strictly: unknown fields,
// trailing data and oversize bodies are errors. It then validates v. Every
// error is a *FieldError.
func Decode[T any, P interface {
	*T
	validator
}](r io.Reader) (T, error) {
	var v T
	data, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return v, &FieldError{Msg: fmt.Sprintf("body unreadable or larger than %d bytes", MaxBodyBytes), Err: err}
	}
	if len(data) > MaxBodyBytes {
		return v, &FieldError{Msg: fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(data, reflect.TypeFor[T](), err)
	}
	if dec.More() {
		return v, &FieldError{Msg: "body must be a single JSON object"}
	}
	if err := P(&v).Validate(); err != nil {
		return v, err
	}
	return v, nil
}

// decodeError names the field behind a decoding error by its full path
// (items[0].at, attestation.certificate). encoding/json cannot: its type
// errors leave out array indices, and its unknown-field, time and base64
// errors name no field or only the last key. So when the body is a well-formed JSON
// object, locate walks it alongside the type to find the value that was
// refused. It runs only after decoding failed: valid requests pay nothing.
func decodeError(data []byte, t reflect.Type, err error) error {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		if fe := locate(trimmed, t, ""); fe != nil {
			return fe
		}
	}
	return jsonFieldError(err)
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	bytesType       = reflect.TypeFor[[]byte]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	// safeKeyRE is what an unknown key must look like to be echoed in an
	// error: the body's contents are otherwise never sent back.
	safeKeyRE = lazyRegexp(`^[A-Za-z0-9_-]{1,64}$`)
)

// locate returns the first value in the well-formed JSON raw that
// encoding/json would refuse to decode into a t (strictly, as Decode
// does), as a *FieldError naming its path below path, or nil.
func locate(raw []byte, t reflect.Type, path string) *FieldError {
	if string(raw) == "null" {
		return nil // leaves the Go value alone, as encoding/json does
	}
	if t.Kind() == reflect.Pointer && !t.Implements(unmarshalerType) {
		return locate(raw, t.Elem(), path)
	}
	switch {
	case t == bytesType || reflect.PointerTo(t).Implements(unmarshalerType):
		return locateLeaf(raw, t, path)
	case t.Kind() == reflect.Struct:
		return locateObject(raw, t, path)
	case t.Kind() == reflect.Slice:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return &FieldError{Field: path, Msg: "must be an array"}
		}
		for i, e := range elems {
			if fe := locate(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); fe != nil {
				return fe
			}
		}
		return nil
	}
	return locateLeaf(raw, t, path)
}

func locateObject(raw []byte, t reflect.Type, path string) *FieldError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if path == "" {
			return nil // a body that is no object has no field to name
		}
		return &FieldError{Field: path, Msg: "must be an object"}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		f, ok := jsonField(t, key)
		if !ok {
			if !safeKeyRE().MatchString(key) {
				key = "?"
			}
			return &FieldError{Field: joinPath(path, key), Msg: "unknown field"}
		}
		if fe := locate(v, f.Type, joinPath(path, f.Name)); fe != nil {
			return fe
		}
	}
	return nil
}

// jsonField finds the field encoding/json would decode key into: the exact
// name first, then any case-insensitive match. Name is set to its JSON name.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded reflect.StructField
	found := false
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || (f.Anonymous && f.Tag.Get("json") == "") {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		f.Name = name
		if name == key {
			return f, true
		}
		if !found && strings.EqualFold(name, key) {
			folded, found = f, true
		}
	}
	return folded, found
}

// locateLeaf decodes raw into a new t and words its error, if any, without
// the value.
func locateLeaf(raw []byte, t reflect.Type, path string) *FieldError {
	err := json.Unmarshal(raw, reflect.New(t).Interface())
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	switch {
	case t == timeType:
		return &FieldError{Field: path, Msg: "must be an RFC 3339 time, like 2026-03-02T10:00:00Z"}
	case t == bytesType:
		return &FieldError{Field: path, Msg: "must be a base64 string"}
	case errors.As(err, &te):
		return &FieldError{Field: path, Msg: "must be a " + jsonKind(t.Kind().String())}
	}
	return &FieldError{Field: path, Msg: "invalid value"}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonFieldError turns encoding/json's errors into field errors without
// echoing the request's contents back, when locate found nothing (a body
// that is no JSON object, or malformed JSON).
func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := te.Field
		if f == "" {
			return &FieldError{Msg: "body must be a JSON object"}
		}
		return fieldErr(f, "must be a %s", jsonKind(te.Type.Kind().String()))
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return &FieldError{Msg: "times must be RFC 3339"}
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name := strings.Trim(rest, `"`)
		if len(name) > 64 || !utf8.ValidString(name) {
			return &FieldError{Msg: "unknown field"}
		}
		return fieldErr(name, "unknown field")
	}
	if errors.Is(err, io.EOF) {
		return &FieldError{Msg: "body required"}
	}
	return &FieldError{Msg: "malformed JSON"}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice":
		return "array or base64 string"
	case "struct", "ptr", "map":
		return "object"
	default:
		return "number in range"
	}
}
