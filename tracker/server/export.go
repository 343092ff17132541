package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/store"
)

// Exports are signed files (tracker/evidence, docs/tracker-evidence.md):
// a header block (who, when, scope, policy, audit head), the records, and
// the signature as the last field. Each export is audited with its scope
// and the SHA-256 of the file sent, so an export and its entry can be
// matched.

// Export is the JSON export: the caller's scope as records and as the view.
type Export struct {
	Header      tracker.ExportHeader   `json:"header"`
	GeneratedAt time.Time              `json:"generated_at"`
	People      []tracker.ExportPerson `json:"people"`
	Keys        []tracker.Key          `json:"keys"`
	Items       []tracker.Item         `json:"items"`
	// History is each person's events from the audit log, oldest first.
	History []tracker.ExportEvent `json:"history"`
	// KeyHistory is each key's life with its owner in scope (enrolled,
	// reported lost, lost, found, retired with what a wipe erased),
	// oldest first: which keys were lost and which replaced them, when.
	KeyHistory []tracker.OwnedKeyEvent `json:"key_history"`
	View       tracker.TeamView        `json:"view"`
	// Signature is empty (left out) in what is signed; the signer adds it
	// as the last member (tracker/evidence), where a reader finds it.
	Signature string `json:"signature,omitempty"`
}

// scopeExport gathers the caller's scope for an export.
func (s *Server) scopeExport(ctx context.Context, c *caller, managerParam string) (Export, error) {
	v, keys, items, err := s.teamView(ctx, c, managerParam)
	if err != nil {
		return Export{}, err
	}
	scope := "everyone"
	if v.Manager.ID != "" {
		scope = fmt.Sprintf("reports of %s <%s> (%s), direct and indirect", v.Manager.Name, v.Manager.Email, v.Manager.ID)
	}
	h, err := s.exportHeader(ctx, c, scope, v.GeneratedAt, v.Services)
	if err != nil {
		return Export{}, err
	}
	// Leavers' records are kept for the retention period, and exported
	// with their left_at.
	rows := append(slices.Clone(v.Rows), v.Leavers...)
	x := Export{Header: h, GeneratedAt: v.GeneratedAt, People: make([]tracker.ExportPerson, 0, len(rows)), Keys: keys, Items: items, View: v}
	names := map[string]tracker.Person{v.Manager.ID: v.Manager}
	for _, row := range rows {
		names[row.Person.ID] = row.Person
	}
	for _, row := range rows {
		p := tracker.ExportPerson{Person: row.Person, Overdue: row.Overdue}
		p.Complete = row.Complete
		if d := row.Person.Due(); !d.IsZero() {
			p.DueDate = d.Format(time.DateOnly)
		}
		if id := row.Person.ManagerID; id != "" {
			m, ok := names[id]
			if !ok {
				// Their manager is above the scope (or erased: blank).
				if m, err = s.cfg.Store.Person(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
					return Export{}, err
				}
				names[id] = m
			}
			p.ManagerEmail, p.ManagerName = m.Email, m.Name
		}
		x.People = append(x.People, p)
	}
	var ids []string // nil: everyone
	if v.Manager.ID != "" {
		ids = make([]string, 0, len(rows))
		for _, row := range rows {
			ids = append(ids, row.Person.ID)
		}
	}
	if x.History, err = s.history(ctx, ids); err != nil {
		return Export{}, err
	}
	if x.KeyHistory, err = s.cfg.Store.KeyHistory(ctx, ids); err != nil {
		return Export{}, err
	}
	completion, err := s.cfg.Store.CompletionHistory(ctx, ids)
	if err != nil {
		return Export{}, err
	}
	for i := range x.People {
		x.People[i].Completion = completion[x.People[i].ID]
		if x.People[i].Completion == nil {
			x.People[i].Completion = []tracker.CompletionChange{}
		}
	}
	if ids == nil {
		// Entries about people no longer in the roster (erased) are not
		// part of anyone's record here.
		in := make(map[string]bool, len(rows))
		for _, row := range rows {
			in[row.Person.ID] = true
		}
		x.History = slices.DeleteFunc(x.History, func(ev tracker.ExportEvent) bool { return !in[ev.PersonID] })
		x.KeyHistory = slices.DeleteFunc(x.KeyHistory, func(ev tracker.OwnedKeyEvent) bool { return !in[ev.PersonID] })
	}
	if x.Keys == nil {
		x.Keys = []tracker.Key{}
	}
	if x.Items == nil {
		x.Items = []tracker.Item{}
	}
	return x, nil
}

// readActions are audited reads, not a person's history.
var readActions = []string{actPersonExport, actExportCSV, actExportJSON, actPeopleList, actTeamRead, actAuditRead, actRefused, "session.start", "session.end", actKeyRead, actSearch}

// history is the events of the people in scope (nil: everyone), oldest
// first.
func (s *Server) history(ctx context.Context, ids []string) ([]tracker.ExportEvent, error) {
	es, err := s.cfg.Store.History(ctx, ids, readActions)
	if err != nil {
		return nil, err
	}
	out := make([]tracker.ExportEvent, 0, len(es))
	for _, e := range es {
		out = append(out, tracker.ExportEvent{Seq: e.ID, At: e.At, PersonID: e.Subject, Event: e.Action, Actor: e.Actor, Reason: e.Reason, Detail: e.Detail})
	}
	return out, nil
}

// exportHeader describes an export made now for c; services are the
// required services its completion follows (nil: the server's current
// ones).
func (s *Server) exportHeader(ctx context.Context, c *caller, scope string, at time.Time, services []string) (tracker.ExportHeader, error) {
	head, err := s.cfg.Store.AuditHead(ctx)
	if err != nil {
		return tracker.ExportHeader{}, err
	}
	if services == nil {
		svc, err := s.services(ctx)
		if err != nil {
			return tracker.ExportHeader{}, err
		}
		services = tracker.ServiceIDs(svc)
	}
	return tracker.ExportHeader{
		Format:      tracker.ExportFormat,
		GeneratedBy: tracker.ExportActor{ID: c.ID, Email: c.Email, Name: c.Name},
		GeneratedAt: at.UTC(),
		Scope:       scope,
		Policy: tracker.ExportPolicy{
			Rule:             "complete when both keys (everyday and backup) are active, each has every required service, and OTP is off on both",
			RequiredServices: append([]string{}, services...),
			OverdueAfterDays: int(tracker.OverdueAfter / (24 * time.Hour)),
		},
		AuditHead:  head.String(),
		SigningKey: strings.ToUpper(strconv.FormatUint(s.cfg.Signer.PublicKey().ID(), 16)),
	}, nil
}

// csvColumns: one row per record; "record" says which columns apply
// (person, key, item, event, completion, key_event). New record kinds or
// columns may be added at the end; readers go by column name.
var csvColumns = []string{"record", "email", "name", "team", "manager_email", "start_date", "completed_at", "complete", "overdue",
	"serial", "role", "model", "key_status", "genuine", "genuine_detail", "firmware", "form_factor",
	"service", "evidence", "at", "app_version", "event", "actor", "reason", "detail", "person_id", "due_date", "left_at", "genuine_checked_at", "checked_at"}

// exportCSV writes the caller's scope as a signed CSV file: '#' header
// lines, then a row per person, key, item and history event.
func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request, c *caller) error {
	x, err := s.scopeExport(r.Context(), c, r.URL.Query().Get("manager"))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	h := x.Header
	for _, kv := range [][2]string{
		{"format", h.Format},
		{"generated_by", fmt.Sprintf("%s <%s> (%s)", h.GeneratedBy.Name, h.GeneratedBy.Email, h.GeneratedBy.ID)},
		{"generated_at", h.GeneratedAt.Format(time.RFC3339Nano)},
		{"scope", h.Scope},
		{"policy", fmt.Sprintf("%s; required services: %s; overdue after the due date, by default %d days after the later of the start date and being added", h.Policy.Rule, strings.Join(h.Policy.RequiredServices, " "), h.Policy.OverdueAfterDays)},
		{"audit_head", h.AuditHead},
		{"signing_key", h.SigningKey},
	} {
		fmt.Fprintf(&b, "# %s: %s\n", kv[0], oneLine(kv[1]))
	}
	cw := csv.NewWriter(&b)
	cw.Write(csvColumns)
	row := func(kv map[string]string) {
		out := make([]string, len(csvColumns))
		for i, c := range csvColumns {
			out[i] = kv[c]
		}
		cw.Write(csvCells(out...))
	}
	keysOf := map[string][]tracker.Key{}
	for _, k := range x.Keys {
		keysOf[k.PersonID] = append(keysOf[k.PersonID], k)
	}
	itemsOf := map[string][]tracker.Item{}
	for _, it := range x.Items {
		itemsOf[it.PersonID] = append(itemsOf[it.PersonID], it)
	}
	histOf := map[string][]tracker.ExportEvent{}
	for _, ev := range x.History {
		histOf[ev.PersonID] = append(histOf[ev.PersonID], ev)
	}
	keyHistOf := map[string][]tracker.OwnedKeyEvent{}
	for _, ev := range x.KeyHistory {
		keyHistOf[ev.PersonID] = append(keyHistOf[ev.PersonID], ev)
	}
	for _, p := range x.People {
		base := map[string]string{"email": p.Email, "name": p.Name, "team": p.Team, "manager_email": p.ManagerEmail,
			"start_date": p.StartDate, "completed_at": timeCell(p.CompletedAt), "complete": strconv.FormatBool(p.Complete),
			"overdue": strconv.FormatBool(p.Overdue), "person_id": p.ID, "due_date": p.DueDate, "left_at": timeCell(p.LeftAt)}
		with := func(kv ...string) map[string]string {
			m := map[string]string{"email": p.Email, "person_id": p.ID}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		base["record"] = "person"
		row(base)
		keyOf := map[uint32]tracker.Key{}
		for _, k := range keysOf[p.ID] {
			keyOf[k.Serial] = k
			row(with("record", "key", "serial", itoa(k.Serial), "role", string(k.Role), "model", k.Model, "key_status", string(k.Status),
				"genuine", strconv.FormatBool(k.Genuine), "genuine_detail", k.GenuineDetail, "firmware", k.Firmware, "form_factor", k.FormFactor,
				"at", timeCell(k.UpdatedAt), "genuine_checked_at", timeCell(k.GenuineCheckedAt)))
		}
		for _, it := range itemsOf[p.ID] {
			k := keyOf[it.Serial]
			row(with("record", "item", "serial", itoa(it.Serial), "role", string(k.Role), "model", k.Model, "key_status", string(k.Status),
				"genuine", strconv.FormatBool(k.Genuine), "service", it.Service, "evidence", string(it.Evidence), "at", timeCell(it.At), "app_version", it.AppVersion,
				"checked_at", timeCell(it.CheckedAt)))
		}
		for _, ev := range histOf[p.ID] {
			row(with("record", "event", "event", ev.Event, "at", timeCell(ev.At), "actor", ev.Actor, "reason", ev.Reason, "detail", ev.Detail))
		}
		// Completed, incomplete since, completed again.
		for _, c := range p.Completion {
			ev := "incomplete"
			if c.Complete {
				ev = "completed"
			}
			row(with("record", "completion", "event", ev, "complete", strconv.FormatBool(c.Complete), "at", timeCell(c.At), "detail", c.Cause))
		}
		// Each key's life: which were lost, which replaced them, when.
		for _, e := range keyHistOf[p.ID] {
			detail := ""
			if len(e.Erased) > 0 {
				detail = "erased: " + strings.Join(e.Erased, ", ")
			}
			row(with("record", "key_event", "serial", itoa(e.Serial), "role", string(e.Role), "key_status", string(e.Status),
				"at", timeCell(e.At), "actor", e.Actor, "reason", e.Reason, "detail", detail))
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	file := s.cfg.Signer.SignCSV(b.Bytes(), trustedComment("csv", h))
	return s.sendExport(w, r, c, actExportCSV, x.View.Manager.ID, h.Scope, "text/csv; charset=utf-8", "keywizard-enrolment.csv", file)
}

func (s *Server) exportJSON(w http.ResponseWriter, r *http.Request, c *caller) error {
	x, err := s.scopeExport(r.Context(), c, r.URL.Query().Get("manager"))
	if err != nil {
		return err
	}
	file, err := s.signJSON(x, trustedComment("json", x.Header))
	if err != nil {
		return err
	}
	return s.sendExport(w, r, c, actExportJSON, x.View.Manager.ID, x.Header.Scope, "application/json", "keywizard-enrolment.json", file)
}

func (s *Server) signJSON(v any, trusted string) ([]byte, error) {
	obj, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding export: %w", err)
	}
	return s.cfg.Signer.SignJSON(obj, trusted)
}

// sendExport audits an export (scope and the file's SHA-256), then sends
// it. An export that cannot be audited is not sent.
func (s *Server) sendExport(w http.ResponseWriter, r *http.Request, c *caller, action, subject, scope, ctype, name string, file []byte) error {
	sum := sha256.Sum256(file)
	if err := s.cfg.Store.AppendAudit(r.Context(), tracker.AuditEntry{At: s.cfg.Now(), Actor: c.ID, Action: action, Subject: subject,
		Detail: "scope: " + scope + "; sha256 " + hex.EncodeToString(sum[:])}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(file)
	return err
}

// trustedComment is minisign's signed comment: what `tracker verify`
// prints first.
func trustedComment(kind string, h tracker.ExportHeader) string {
	return fmt.Sprintf("keywizard tracker export (%s) of %s, by %s, at %s, audit head %s",
		kind, h.Scope, h.GeneratedBy.Email, h.GeneratedAt.Format(time.RFC3339), h.AuditHead)
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine keeps a header value on its line.
func oneLine(v string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
}

// csvCells defuses spreadsheet formulas: a cell starting with = + - @ would
// run when an auditor opens the file.
func csvCells(vs ...string) []string {
	for i, v := range vs {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			vs[i] = "'" + v
		}
	}
	return vs
}

// AuditChainExport is the whole audit log with its hash chain
// (GET /v1/audit/chain), signed like the exports, so an auditor without
// access to the database can check it offline:
// `keywizard tracker audit verify --file FILE --key tracker.pub`.
type AuditChainExport struct {
	Header  tracker.ExportHeader `json:"header"`
	Entries []evidence.Entry     `json:"entries"`
	// Signature is added by the signer as the last member.
	Signature string `json:"signature,omitempty"`
}

func (s *Server) auditChain(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	h, err := s.exportHeader(ctx, c, "the audit log", s.cfg.Now(), nil)
	if err != nil {
		return err
	}
	// Read after the head: the file holds at least what the header says.
	x := AuditChainExport{Header: h, Entries: []evidence.Entry{}}
	if err := s.cfg.Store.AuditChain(ctx, func(e evidence.Entry) error { x.Entries = append(x.Entries, e); return nil }); err != nil {
		return err
	}
	file, err := s.signJSON(x, trustedComment("audit chain", h))
	if err != nil {
		return err
	}
	return s.sendExport(w, r, c, actAuditRead, "", fmt.Sprintf("the audit log, %d entries", len(x.Entries)), "application/json", "keywizard-audit.json", file)
}

// The signature's public half, for auditors: minisign's public key file.
func (s *Server) signingKey(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write([]byte(s.cfg.Signer.PublicKeyText()))
	return err
}
