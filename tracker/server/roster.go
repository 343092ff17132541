package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

// The roster's life cycle over the API and the dashboard: editing a person,
// the leaver state and its retention period, bulk import from CSV. SCIM
// provisioning (scim.go) goes through the same functions (updateAs,
// leaveAs, rejoinAs), so every way in is validated and audited alike.

// DefaultLeaverRetention is how long a leaver's records are kept before
// they may be erased with the reason retention-expired, when
// Config.LeaverRetention is not set.
const DefaultLeaverRetention = 2 * 365 * 24 * time.Hour

// rosterRoutes are the roster's routes, kept in one block of their own.
func (s *Server) rosterRoutes() []route {
	return []route{
		{"PATCH", "/v1/people/{id}", s.admin(s.updatePerson)},
		{"POST", "/v1/people/{id}/leave", s.admin(s.leave)},
		{"POST", "/v1/people/import", s.admin(s.importPeople)},
		{"POST", "/dashboard/people/{id}/edit", s.adminForm(s.formEdit)},
		{"POST", "/dashboard/people/{id}/leave", s.adminForm(s.formLeave)},
	}
}

func (s *Server) updatePerson(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := tracker.Decode[tracker.PersonUpdate](r.Body)
	if err != nil {
		return err
	}
	p, err := s.updateAs(r.Context(), c.ID, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// managerID resolves a manager's e-mail address to their ID; "" is the
// top of the tree.
func (s *Server) managerID(ctx context.Context, email string) (string, error) {
	if email == "" {
		return "", nil
	}
	m, err := s.cfg.Store.PersonByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return "", &HTTPError{Code: http.StatusBadRequest, Msg: "manager_email: no such person", Field: "manager_email"}
	}
	return m.ID, err
}

// updateAs applies a validated update to person id for actor (a person's
// ID, or "scim:<token name>"), with one audit entry holding each changed
// field's value before and after.
func (s *Server) updateAs(ctx context.Context, actor, id string, u tracker.PersonUpdate) (tracker.Person, error) {
	var mid *string
	if u.ManagerEmail != nil {
		v, err := s.managerID(ctx, *u.ManagerEmail)
		if err != nil {
			return tracker.Person{}, err
		}
		mid = &v
	}
	return s.cfg.Store.UpdatePerson(ctx, id, func(before tracker.Person) (tracker.Person, tracker.AuditEntry, error) {
		after := applyUpdate(before, u, mid)
		return after, s.changeEntry(actor, "person.update", u.Reason, before, after), nil
	})
}

// applyUpdate returns p with u's fields set; mid is the resolved manager.
func applyUpdate(p tracker.Person, u tracker.PersonUpdate, mid *string) tracker.Person {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Email, u.Email)
	set(&p.Name, u.Name)
	set(&p.Team, u.Team)
	set(&p.ManagerID, mid)
	set(&p.StartDate, u.StartDate)
	set(&p.DueDate, u.DueDate)
	return p
}

// changes lists the fields that differ between before and after. The
// manager is named by ID: the audit entry outlives the manager's name.
func changes(before, after tracker.Person) []tracker.Change {
	var out []tracker.Change
	add := func(field, b, a string) {
		if b != a {
			out = append(out, tracker.Change{Field: field, Before: b, After: a})
		}
	}
	add("email", before.Email, after.Email)
	add("name", before.Name, after.Name)
	add("team", before.Team, after.Team)
	add("manager_id", before.ManagerID, after.ManagerID)
	add("start_date", before.StartDate, after.StartDate)
	add("due_date", before.DueDate, after.DueDate)
	add("external_id", before.ExternalID, after.ExternalID)
	if before.Left() != after.Left() {
		add("left_at", stamp(before.LeftAt), stamp(after.LeftAt))
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// changeEntry is the audit entry of an edit, or one with no Action (so
// nothing is written) when nothing changed. Detail is the JSON list of
// changes; erasing the person blanks it with the other details about them.
func (s *Server) changeEntry(actor, action, reason string, before, after tracker.Person) tracker.AuditEntry {
	cs := changes(before, after)
	if len(cs) == 0 {
		return tracker.AuditEntry{}
	}
	b, _ := json.Marshal(cs)
	return tracker.AuditEntry{At: s.cfg.Now(), Actor: actor, Action: action, Subject: before.ID, Reason: reason, Detail: string(b)}
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := tracker.Decode[tracker.Leave](r.Body)
	if err != nil {
		return err
	}
	l, err := s.leaveAs(r.Context(), c.ID, r.PathValue("id"), req.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

// leaveAs makes person id a leaver: tokens and invites revoked (in the
// store's transaction), records kept until the retention period ends. It
// returns the keys to collect. Leaving twice changes nothing.
func (s *Server) leaveAs(ctx context.Context, actor, id, reason string) (tracker.Leaver, error) {
	if actor == id {
		return tracker.Leaver{}, &HTTPError{Code: http.StatusConflict, Msg: "an admin cannot make themselves a leaver"}
	}
	now := s.cfg.Now().UTC()
	p, err := s.cfg.Store.UpdatePerson(ctx, id, func(before tracker.Person) (tracker.Person, tracker.AuditEntry, error) {
		after := before
		if !before.Left() {
			after.LeftAt = now
		}
		return after, s.changeEntry(actor, "person.leave", reason, before, after), nil
	})
	if err != nil {
		return tracker.Leaver{}, err
	}
	return s.leaver(ctx, p)
}

// rejoinAs ends person id's leaver state (an identity provider activating
// them again). Their tokens stay revoked: they join again with a new
// invite code.
func (s *Server) rejoinAs(ctx context.Context, actor, id, reason string) (tracker.Person, error) {
	return s.cfg.Store.UpdatePerson(ctx, id, func(before tracker.Person) (tracker.Person, tracker.AuditEntry, error) {
		after := before
		after.LeftAt = time.Time{}
		return after, s.changeEntry(actor, "person.rejoin", reason, before, after), nil
	})
}

func (s *Server) leaver(ctx context.Context, p tracker.Person) (tracker.Leaver, error) {
	keys, _, err := s.cfg.Store.Records(ctx, []string{p.ID})
	if err != nil {
		return tracker.Leaver{}, err
	}
	l := tracker.Leaver{Person: p, KeysToCollect: []tracker.Key{}, RetainUntil: p.LeftAt.Add(s.cfg.LeaverRetention)}
	for _, k := range keys {
		if k.Status == tracker.KeyActive {
			l.KeysToCollect = append(l.KeysToCollect, k)
		}
	}
	return l, nil
}

// checkRetention refuses the erasure reason retention-expired for anyone
// who is not a leaver whose retention period has ended: the code in the
// audit log must be true.
func (s *Server) checkRetention(ctx context.Context, id string, reason tracker.ErasureReason) error {
	if reason != tracker.ErasureRetentionExpired {
		return nil
	}
	p, err := s.cfg.Store.Person(ctx, id)
	if err != nil {
		return err
	}
	if !p.Left() {
		return &HTTPError{Code: http.StatusConflict, Field: "reason", Msg: "reason: retention-expired is for leavers; this person has not left"}
	}
	if until := p.LeftAt.Add(s.cfg.LeaverRetention); s.cfg.Now().Before(until) {
		return &HTTPError{Code: http.StatusConflict, Field: "reason", Msg: "reason: the retention period ends on " + until.UTC().Format(time.DateOnly)}
	}
	return nil
}

// importColumns are the roster CSV's columns; the header row must name
// them (in any order; due_date may be left out).
var importColumns = []string{"email", "name", "team", "manager_email", "start_date", "due_date"}

// maxImportRows bounds one import; the body limit (64 KiB) bounds it too.
const maxImportRows = 2000

// importPeople adds and updates people from a CSV roster. With
// ?dry_run=true it only reports what would change. Every row is checked
// (the same validation as the API's) before anything is written, and a
// refusal names the row and field: rows[3].email.
func (s *Server) importPeople(w http.ResponseWriter, r *http.Request, c *caller) error {
	dry := false
	switch v := r.URL.Query().Get("dry_run"); v {
	case "", "false":
	case "true":
		dry = true
	default:
		return &HTTPError{Code: http.StatusBadRequest, Msg: "dry_run: must be true or false", Field: "dry_run"}
	}
	rows, err := readRoster(r.Body)
	if err != nil {
		return err
	}
	res, err := s.importAs(r.Context(), c.ID, rows, dry)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func readRoster(body io.Reader) ([]tracker.ImportRow, error) {
	cr := csv.NewReader(body)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // a spreadsheet's byte-order mark
		if !slices.Contains(importColumns, h) {
			return nil, &tracker.FieldError{Field: "header", Msg: fmt.Sprintf("unknown column %q; the columns are %s", safeColumn(h), strings.Join(importColumns, ", "))}
		}
		col[h] = i
	}
	for _, need := range importColumns[:5] {
		if _, ok := col[need]; !ok {
			return nil, &tracker.FieldError{Field: "header", Msg: "missing column " + need}
		}
	}
	var rows []tracker.ImportRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(rows) == maxImportRows {
			return nil, &tracker.FieldError{Msg: fmt.Sprintf("at most %d rows per import", maxImportRows)}
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		_, hasDue := col["due_date"]
		rows = append(rows, tracker.ImportRow{Email: strings.ToLower(get("email")), Name: get("name"), Team: get("team"),
			ManagerEmail: strings.ToLower(get("manager_email")), StartDate: get("start_date"), DueDate: get("due_date"), NoDueDate: !hasDue})
	}
	if len(rows) == 0 {
		return nil, &tracker.FieldError{Msg: "no rows after the header"}
	}
	return rows, nil
}

func safeColumn(h string) string {
	if len(h) > 40 {
		h = h[:40]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, h)
}

func csvError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &tracker.FieldError{Msg: fmt.Sprintf("CSV line %d: %v", pe.Line, pe.Err)}
	}
	if errors.Is(err, io.EOF) {
		return &tracker.FieldError{Msg: "body required: a CSV roster with a header row"}
	}
	return &tracker.FieldError{Msg: "CSV unreadable", Err: err}
}

// importAs plans the import (every row validated, managers found among
// the stored people and the file's own rows) and, unless dry, applies it:
// new people first, then every manager and field change, each its own
// audited store write.
func (s *Server) importAs(ctx context.Context, actor string, rows []tracker.ImportRow, dry bool) (tracker.ImportResult, error) {
	res := tracker.ImportResult{DryRun: dry, Rows: make([]tracker.ImportChange, 0, len(rows))}
	inFile := map[string]int{}
	for i := range rows {
		if err := rows[i].Validate(); err != nil {
			return res, rowError(i, err)
		}
		if j, dup := inFile[rows[i].Email]; dup {
			return res, rowError(i, &tracker.FieldError{Field: "email", Msg: fmt.Sprintf("also in row %d", j+1)})
		}
		inFile[rows[i].Email] = i
	}
	people, err := s.cfg.Store.People(ctx)
	if err != nil {
		return res, err
	}
	byEmail := make(map[string]tracker.Person, len(people))
	for _, p := range people {
		byEmail[p.Email] = p
	}
	for i, row := range rows {
		if _, ok := byEmail[row.ManagerEmail]; row.ManagerEmail != "" && !ok {
			if _, ok := inFile[row.ManagerEmail]; !ok {
				return res, rowError(i, &tracker.FieldError{Field: "manager_email", Msg: "no such person, here or in the file"})
			}
		}
		ch := tracker.ImportChange{Row: i + 1, Email: row.Email}
		old, exists := byEmail[row.Email]
		if !exists {
			ch.Action = tracker.ImportCreate
			res.Created++
		} else {
			after := old
			after.Name, after.Team, after.StartDate = row.Name, row.Team, row.StartDate
			if !row.NoDueDate {
				after.DueDate = row.DueDate
			}
			if m, ok := byEmail[row.ManagerEmail]; ok {
				after.ManagerID = m.ID
			} else {
				after.ManagerID = "new:" + row.ManagerEmail // a person this import creates
			}
			if row.ManagerEmail == "" {
				after.ManagerID = ""
			}
			ch.Changes = changes(old, after)
			for k := range ch.Changes {
				if ch.Changes[k].Field == "manager_id" {
					ch.Changes[k] = tracker.Change{Field: "manager_email", Before: emailOf(people, old.ManagerID), After: row.ManagerEmail}
				}
			}
			if len(ch.Changes) == 0 {
				ch.Action = tracker.ImportUnchanged
				res.Unchanged++
			} else {
				ch.Action = tracker.ImportUpdate
				res.Updated++
			}
		}
		res.Rows = append(res.Rows, ch)
	}
	if dry {
		return res, nil
	}
	now := s.cfg.Now()
	for _, ch := range res.Rows {
		if ch.Action != tracker.ImportCreate {
			continue
		}
		row := rows[ch.Row-1]
		p := tracker.Person{ID: store.NewID("p_"), Email: row.Email, Name: row.Name, Team: row.Team, StartDate: row.StartDate, DueDate: row.DueDate, CreatedAt: now.UTC()}
		if _, err := s.cfg.Store.CreatePerson(ctx, p, tracker.AuditEntry{At: now, Actor: actor, Action: "person.create", Subject: p.ID, Detail: "roster import, row " + strconv.Itoa(ch.Row)}); err != nil {
			return res, rowError(ch.Row-1, err)
		}
	}
	for _, ch := range res.Rows {
		if ch.Action == tracker.ImportUnchanged {
			continue
		}
		row := rows[ch.Row-1]
		if ch.Action == tracker.ImportCreate && row.ManagerEmail == "" {
			continue
		}
		p, err := s.cfg.Store.PersonByEmail(ctx, row.Email)
		if err != nil {
			return res, rowError(ch.Row-1, err)
		}
		u := tracker.PersonUpdate{Name: &row.Name, Team: &row.Team, ManagerEmail: &row.ManagerEmail, StartDate: &row.StartDate, DueDate: &row.DueDate,
			Reason: "roster import, row " + strconv.Itoa(ch.Row)}
		if row.NoDueDate {
			u.DueDate = nil
		}
		if _, err := s.updateAs(ctx, actor, p.ID, u); err != nil {
			return res, rowError(ch.Row-1, err)
		}
	}
	return res, nil
}

func emailOf(people []tracker.Person, id string) string {
	for _, p := range people {
		if p.ID == id && id != "" {
			return p.Email
		}
	}
	return ""
}

// rowError names the row (0-based i, shown 1-based after the header) in a
// field error or conflict.
func rowError(i int, err error) error {
	prefix := fmt.Sprintf("rows[%d]", i+1)
	var fe *tracker.FieldError
	if errors.As(err, &fe) {
		return &tracker.FieldError{Field: joinField(prefix, fe.Field), Msg: fe.Msg, Err: fe.Err}
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return &store.ConflictError{Field: joinField(prefix, ce.Field), Msg: ce.Msg}
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Field != "" {
		msg := strings.TrimPrefix(he.Msg, he.Field+": ")
		return &HTTPError{Code: he.Code, Field: joinField(prefix, he.Field), Msg: joinField(prefix, he.Field) + ": " + msg, Err: he.Err}
	}
	return err
}

func joinField(prefix, f string) string {
	if f == "" {
		return prefix
	}
	return prefix + "." + f
}

// The dashboard's edit and leaver forms (IT only), doing the API's work.

func (s *Server) formEdit(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	u, err := formUpdate(r)
	if err == nil {
		_, err = s.updateAs(r.Context(), c.ID, id, u)
	}
	if err != nil {
		return s.refused(w, r, c, "edit", 0, err)
	}
	return s.redirectWith(w, r, personPath(id), flash{Msg: "Details saved."})
}

// formUpdate reads the edit form into a PersonUpdate through the API's
// decoder (decodeForm): every field is sent, so every field is set.
func formUpdate(r *http.Request) (tracker.PersonUpdate, error) {
	m := map[string]any{}
	for _, f := range []string{"email", "name", "team", "manager_email", "start_date", "due_date", "reason"} {
		m[f] = strings.TrimSpace(r.PostForm.Get(f))
	}
	b, err := json.Marshal(m)
	if err != nil {
		return tracker.PersonUpdate{}, err
	}
	return tracker.Decode[tracker.PersonUpdate](strings.NewReader(string(b)))
}

func (s *Server) formLeave(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	req, err := decodeForm[tracker.Leave](r.PostForm, "reason")
	if err == nil && r.PostForm.Get("confirm") != "yes" {
		err = &tracker.FieldError{Field: "confirm", Msg: "tick the box to confirm: the person is signed out everywhere"}
	}
	var l tracker.Leaver
	if err == nil {
		l, err = s.leaveAs(r.Context(), c.ID, id, req.Reason)
	}
	if err != nil {
		return s.refused(w, r, c, "leave", 0, err)
	}
	msg := fmt.Sprintf("%s is now a leaver; records kept until %s.", l.Person.Name, l.RetainUntil.Format(time.DateOnly))
	if n := len(l.KeysToCollect); n > 0 {
		msg += fmt.Sprintf(" Collect %d key(s), then mark them retired.", n)
	}
	return s.redirectWith(w, r, personPath(id), flash{Msg: msg})
}

// The roster's work for callers on the tracker's host (the CLI), where
// access to the database is the authority: actor names who acted in the
// audit log ("local-admin-command").

// UpdatePerson edits person id as PATCH /v1/people/{id} does.
func (s *Server) UpdatePerson(ctx context.Context, actor, id string, u tracker.PersonUpdate) (tracker.Person, error) {
	if err := u.Validate(); err != nil {
		return tracker.Person{}, err
	}
	return s.updateAs(ctx, actor, id, u)
}

// Leave makes person id a leaver as POST /v1/people/{id}/leave does.
func (s *Server) Leave(ctx context.Context, actor, id, reason string) (tracker.Leaver, error) {
	l := tracker.Leave{Reason: reason}
	if err := l.Validate(); err != nil {
		return tracker.Leaver{}, err
	}
	return s.leaveAs(ctx, actor, id, reason)
}

// Import reads a CSV roster and imports it as POST /v1/people/import does.
func (s *Server) Import(ctx context.Context, actor string, csv io.Reader, dryRun bool) (tracker.ImportResult, error) {
	rows, err := readRoster(csv)
	if err != nil {
		return tracker.ImportResult{}, err
	}
	return s.importAs(ctx, actor, rows, dryRun)
}
