package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

// Lost keys: a person reports their own key lost (POST
// /v1/me/keys/{serial}/lost), IT finds a key by serial and confirms it
// lost, marks it found or retires it (GET and POST /v1/keys/{serial}...).
// Every change goes through changeKey, so the API, the dashboard and the
// CLI (which calls this API) are audited alike and settle completion the
// same way.

// actKeyRead is the audit action of IT looking a key up by serial: whose
// key a serial is counts as a read of that person's record.
const actKeyRead = "key.read"

// actSearch is the audit action of a dashboard search: what was found is
// a read of those records (the query is not kept: it may be a name).
const actSearch = "search"

func (s *Server) lostRoutes() []route {
	return []route{
		{"POST", "/v1/me/keys/{serial}/lost", s.user(s.reportLost)},
		{"GET", "/v1/keys/{serial}", s.admin(s.findKey)},
		{"POST", "/v1/keys/{serial}/status", s.admin(s.setKeyStatus)},
	}
}

// reportLost is a person's own "I lost a key": their key only (404 for
// any other serial, whether or not it exists, so serials cannot be
// probed), reported lost until IT decides. Sent again, it changes nothing.
func (s *Server) reportLost(w http.ResponseWriter, r *http.Request, c *caller) error {
	serial, req, err := serialAndBody[tracker.LossReport](r)
	if err != nil {
		return err
	}
	if req.Serial != serial {
		return &HTTPError{Code: http.StatusBadRequest, Msg: "serial: must be the serial in the path", Field: "serial"}
	}
	now := s.cfg.Now()
	out, err := s.cfg.Store.ChangeKeyStatus(r.Context(), store.KeyChange{
		Serial: serial, Owner: c.ID, Role: req.Role, To: tracker.KeyReportedLost,
		Settled: []tracker.KeyStatus{tracker.KeyReportedLost, tracker.KeyLost},
		Audit: tracker.AuditEntry{At: now, Actor: c.ID, Action: "key." + string(tracker.KeyReportedLost), Subject: c.ID, Reason: req.Reason,
			Detail: fmt.Sprintf("serial %d, noticed %s by the person's clock", serial, req.At.UTC().Format(time.RFC3339))},
		Rules: s.rules(),
	})
	if err != nil {
		return err
	}
	if out.Changed {
		s.notifyReportedLost(c.Person, out.Key, req.Reason)
	}
	st, err := s.personStatus(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// personStatus is person id's state now, with their keys and completion
// history.
func (s *Server) personStatus(ctx context.Context, id string) (tracker.PersonStatus, error) {
	p, err := s.cfg.Store.Person(ctx, id)
	if err != nil {
		return tracker.PersonStatus{}, err
	}
	keys, _, err := s.cfg.Store.Records(ctx, []string{id})
	if err != nil {
		return tracker.PersonStatus{}, err
	}
	hist, err := s.cfg.Store.CompletionHistory(ctx, []string{id})
	if err != nil {
		return tracker.PersonStatus{}, err
	}
	st := tracker.PersonStatus{Person: p, Complete: p.Complete, Keys: keys, Completion: hist[id]}
	if st.Completion == nil {
		st.Completion = []tracker.CompletionChange{}
	}
	return st, nil
}

func (s *Server) findKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	serial, err := parseSerial(r.PathValue("serial"))
	if err != nil {
		return err
	}
	rec, err := s.cfg.Store.KeyRecord(r.Context(), serial)
	if err != nil {
		return err
	}
	if err := s.auditRead(r.Context(), c, actKeyRead, rec.PersonID, "key "+itoa(serial)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}

func (s *Server) setKeyStatus(w http.ResponseWriter, r *http.Request, c *caller) error {
	serial, req, err := serialAndBody[tracker.KeyStatusChange](r)
	if err != nil {
		return err
	}
	if err := s.keyStatusAs(r.Context(), c, "", serial, req); err != nil {
		return err
	}
	rec, err := s.cfg.Store.KeyRecord(r.Context(), serial)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}

// keyStatusAs is IT's change of a key's status: person id's key (the
// person-scoped route and the dashboard's form), or whoever's key it is
// (id ""). A wipe's erased list goes into the audit entry's detail.
func (s *Server) keyStatusAs(ctx context.Context, c *caller, id string, serial uint32, req tracker.KeyStatusChange) error {
	detail := "serial " + itoa(serial)
	if len(req.Erased) > 0 {
		detail += "; erased: " + strings.Join(req.Erased, ", ")
	}
	out, err := s.cfg.Store.ChangeKeyStatus(ctx, store.KeyChange{
		Serial: serial, Owner: id, To: req.Status, Erased: req.Erased,
		Audit: tracker.AuditEntry{At: s.cfg.Now(), Actor: c.ID, Action: "key." + string(req.Status), Subject: id, Reason: req.Reason, Detail: detail},
		Rules: s.rules(),
	})
	if err != nil {
		return err
	}
	if out.NewlyComplete {
		p, err := s.cfg.Store.Person(ctx, out.Key.PersonID)
		if err != nil {
			return err
		}
		s.notifyComplete(ctx, p, out.Again)
	}
	return nil
}

// transitionError turns a refused status change into a 409 naming the
// status field.
func transitionError(err error) *HTTPError {
	var te *tracker.TransitionError
	if errors.As(err, &te) {
		return &HTTPError{Code: http.StatusConflict, Msg: te.Error(), Field: "status"}
	}
	return nil
}

// datesOfLost dates the view's lost keys from their owners' key history:
// when each was reported or marked lost, and when its replacement was
// enrolled.
func (s *Server) datesOfLost(ctx context.Context, v *tracker.TeamView) error {
	if len(v.LostKeys) == 0 {
		return nil
	}
	var ids []string
	for _, l := range v.LostKeys {
		if !slices.Contains(ids, l.Person.ID) {
			ids = append(ids, l.Person.ID)
		}
	}
	evs, err := s.cfg.Store.KeyHistory(ctx, ids)
	if err != nil {
		return err
	}
	for i, l := range v.LostKeys {
		var lostAt, replacedAt time.Time
		for _, e := range evs {
			switch {
			case e.PersonID != l.Person.ID:
			case e.Serial == l.Key.Serial && (e.Status == tracker.KeyReportedLost || e.Status == tracker.KeyLost) && lostAt.IsZero():
				lostAt = e.At
			case e.Serial == l.Key.Serial && e.Status == tracker.KeyActive:
				lostAt = time.Time{} // found, and lost again later: the latest loss counts
			case l.ReplacedBy != 0 && e.Serial == l.ReplacedBy && e.Status == tracker.KeyActive && replacedAt.IsZero():
				replacedAt = e.At
			}
		}
		if !lostAt.IsZero() {
			v.LostKeys[i].LostAt = lostAt
		}
		v.LostKeys[i].ReplacedAt = replacedAt
	}
	return nil
}
