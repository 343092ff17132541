package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest"
	"github.com/keywizard/keywizard/tracker/store"
)

func (s *Server) routeTable() []route {
	return []route{
		{"GET", "/healthz", s.health},
		{"GET", "/v1/openapi.json", s.openAPI},
		{"GET", "/v1/signing-key", s.signingKey},
		{"POST", "/v1/auth/exchange", s.exchange},
		{"GET", "/v1/me", s.user(s.me)},
		{"POST", "/v1/reports", s.user(s.report)},
		{"GET", "/v1/team", s.user(s.team)},
		{"GET", "/v1/people", s.admin(s.listPeople)},
		{"POST", "/v1/people", s.admin(s.createPerson)},
		{"GET", "/v1/people/{id}", s.user(s.getPerson)},
		{"GET", "/v1/people/{id}/export", s.user(s.exportPerson)},
		{"POST", "/v1/people/{id}/erase", s.admin(s.erase)},
		{"POST", "/v1/people/{id}/invite", s.admin(s.invite)},
		{"POST", "/v1/people/{id}/revoke-tokens", s.admin(s.revokeTokens)},
		{"POST", "/v1/people/{id}/keys/{serial}/status", s.admin(s.keyStatus)},
		{"GET", "/v1/audit", s.admin(s.audit)},
		{"GET", "/v1/audit/chain", s.admin(s.auditChain)},
		{"GET", "/v1/export.csv", s.page(s.exportCSV)},
		{"GET", "/v1/export.json", s.page(s.exportJSON)},
		{"GET", "/dashboard", toLogin(s.page(s.dashboard))},
		{"GET", "/dashboard/people/{id}", toLogin(s.page(s.personPage))},
		{"GET", "/dashboard/search", toLogin(s.page(s.searchPage))},
		{"POST", "/dashboard/people/{id}/keys/{serial}/status", s.adminForm(s.formKeyStatus)},
		{"POST", "/dashboard/people/{id}/invite", s.adminForm(s.formInvite)},
		{"POST", "/dashboard/people/{id}/revoke-tokens", s.adminForm(s.formRevokeTokens)},
		{"POST", "/dashboard/people/{id}/export", s.ownForm(s.formExport)},
		{"POST", "/dashboard/people/{id}/erase", s.adminForm(s.formErase)},
		{"GET", "/login", s.loginForm},
		{"POST", "/login", s.login},
		{"POST", "/logout", s.logout},
		{"GET", "/login/oidc", s.oidcStart},
		{"GET", "/login/oidc/callback", s.oidcCallback},
	}
}

type authedFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// user requires a bearer token.
func (s *Server) user(h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.authenticate(r, false)
		if err != nil {
			return err
		}
		return h(w, r, c)
	}
}

// page accepts the dashboard cookie as well; only for GET routes, which
// change nothing, so cross-site requests gain nothing.
func (s *Server) page(h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.authenticate(r, true)
		if err != nil {
			return err
		}
		return h(w, r, c)
	}
}

// admin requires an IT administrator's bearer token.
func (s *Server) admin(h authedFunc) handlerFunc {
	return s.user(func(w http.ResponseWriter, r *http.Request, c *caller) error {
		if !c.Admin {
			return errForbidden
		}
		return h(w, r, c)
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "store": s.cfg.Store.Backend()})
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(tracker.OpenAPI)
	return err
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) error {
	req, err := tracker.Decode[tracker.Exchange](r.Body)
	if err != nil {
		return err
	}
	p, tok, err := s.redeem(r.Context(), req, s.cfg.TokenTTL)
	if errors.Is(err, errBadInvite) {
		return s.failedAttempt(r, err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tracker.ExchangeResult{Token: tok, Person: p})
}

var errBadInvite = &HTTPError{Code: http.StatusUnauthorized, Msg: "invite_code: unknown, already used or expired; ask IT for a new one", Field: "invite_code"}

// redeem exchanges an invite code for a token that lasts ttl: the
// wizard's TokenTTL, a browser's sessionTTL.
func (s *Server) redeem(ctx context.Context, req tracker.Exchange, ttl time.Duration) (tracker.Person, string, error) {
	selector, sec, ok := splitSecret(invitePrefix, req.InviteCode)
	if !ok {
		return tracker.Person{}, "", errBadInvite
	}
	tok := newSecret(tokenPrefix)
	now := s.cfg.Now()
	p, err := s.cfg.Store.RedeemInvite(ctx, selector, func(c store.Credential) bool { return matches(c.Hash, sec) },
		store.Credential{Selector: tok.selector, Hash: tok.hash, Device: req.Device, ExpiresAt: now.Add(ttl)}, now)
	if errors.Is(err, store.ErrInvalid) {
		return p, "", errBadInvite
	}
	if err != nil {
		return p, "", err
	}
	return p, tok.full, nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, c *caller) error {
	return writeJSON(w, http.StatusOK, c.Person)
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, c *caller) error {
	// Before reading the body: a token past its budget costs the least.
	if !s.reportLimiter.take(c.ID) {
		return errReportRate
	}
	rep, err := tracker.Decode[tracker.Report](r.Body)
	if err != nil {
		return err
	}
	if rep.PersonEmail != "" && rep.PersonEmail != c.Email {
		return &HTTPError{Code: http.StatusForbidden, Msg: "person_email: reports can only be made about yourself", Field: "person_email"}
	}
	now := s.cfg.Now()
	if err := rep.CheckItemTimes(c.StartDate, now); err != nil {
		return err
	}
	info, res := s.checkAttestation(rep)
	out, err := s.cfg.Store.SubmitReportRules(r.Context(), c.ID, rep, info, s.rules(), now)
	if le := (*store.LimitError)(nil); errors.As(err, &le) {
		// A refused write still cost a transaction: a token that keeps
		// going past its limits spends its budget faster.
		s.reportLimiter.spend(c.ID, limitPenalty)
	}
	if err != nil {
		return err
	}
	res.Duplicate, res.Complete = out.Duplicate, out.Complete
	if out.NewlyComplete {
		s.notifyComplete(r.Context(), c.Person, out.Again)
	}
	return writeJSON(w, http.StatusOK, res)
}

// checkAttestation verifies a report's attestation, if any.
func (s *Server) checkAttestation(rep tracker.Report) (store.KeyInfo, tracker.ReportResult) {
	var res tracker.ReportResult
	if rep.Attestation == nil {
		res.GenuineDetail = "no attestation received"
		return store.KeyInfo{}, res
	}
	if s.cfg.Verifier == nil {
		res.GenuineDetail = "this tracker does not check attestations"
		return store.KeyInfo{}, res
	}
	info := store.KeyInfo{Verified: true}
	a, err := s.cfg.Verifier.Verify(rep.Attestation.Certificate, rep.Attestation.Slot)
	var ng *attest.NotGenuineError
	switch {
	case errors.As(err, &ng):
		info.GenuineDetail = ng.Error()
	case err != nil:
		info.GenuineDetail = "attestation could not be checked"
	case a.Serial != rep.Serial:
		info.GenuineDetail = "attestation is for serial " + strconv.FormatUint(uint64(a.Serial), 10) + ", not the reported key"
	default:
		info.Genuine, info.Firmware, info.FormFactor = true, a.Firmware, a.FormFactor
		info.GenuineDetail = "attested by " + a.Root
	}
	res.Genuine, res.GenuineDetail = info.Genuine, info.GenuineDetail
	return info, res
}

// scope decides whose team the caller may see: their own reporting tree by
// default; another manager's tree if that manager is below them; anyone's
// (or, with no manager parameter, everyone) for admins.
// teamView builds the view-model for the caller's scope: their own
// reporting tree by default; another manager's tree if that manager is
// below them; anyone's (or, with no manager parameter, everyone) for
// admins. The dashboard, GET /v1/team, the exports and the digest all use
// it.
func (s *Server) teamView(ctx context.Context, c *caller, managerParam string) (tracker.TeamView, []tracker.Key, []tracker.Item, error) {
	var manager tracker.Person
	switch {
	case managerParam == "" && c.Admin:
		people, err := s.cfg.Store.People(ctx)
		if err != nil {
			return tracker.TeamView{}, nil, nil, err
		}
		keys, items, err := s.cfg.Store.Records(ctx, nil)
		if err != nil {
			return tracker.TeamView{}, nil, nil, err
		}
		services, err := s.services(ctx)
		if err != nil {
			return tracker.TeamView{}, nil, nil, err
		}
		v := tracker.BuildTeamViewPolicy(tracker.Person{Name: "Everyone"}, people, keys, items, tracker.ServiceIDs(services), s.cfg.Now(), *s.cfg.Policy)
		v.ServiceNames = serviceNames(services)
		return v, keys, items, s.datesOfLost(ctx, &v)
	case managerParam == "" || managerParam == c.ID:
		manager = c.Person
	default:
		ok := c.Admin
		if !ok {
			var err error
			if ok, err = s.cfg.Store.Manages(ctx, c.ID, managerParam); err != nil {
				return tracker.TeamView{}, nil, nil, err
			}
		}
		if !ok {
			return tracker.TeamView{}, nil, nil, errForbidden
		}
		var err error
		if manager, err = s.cfg.Store.Person(ctx, managerParam); err != nil {
			return tracker.TeamView{}, nil, nil, err
		}
	}
	people, keys, items, err := s.cfg.Store.Team(ctx, manager.ID)
	if err != nil {
		return tracker.TeamView{}, nil, nil, err
	}
	services, err := s.services(ctx)
	if err != nil {
		return tracker.TeamView{}, nil, nil, err
	}
	v := tracker.BuildTeamViewPolicy(manager, people, keys, items, tracker.ServiceIDs(services), s.cfg.Now(), *s.cfg.Policy)
	v.ServiceNames = serviceNames(services)
	return v, keys, items, s.datesOfLost(ctx, &v)
}

func serviceNames(services []tracker.Service) map[string]string {
	out := make(map[string]string, len(services))
	for _, sv := range services {
		out[sv.ID] = sv.Name
	}
	return out
}

func (s *Server) team(w http.ResponseWriter, r *http.Request, c *caller) error {
	v, _, _, err := s.teamView(r.Context(), c, r.URL.Query().Get("manager"))
	if err != nil {
		return err
	}
	if err := s.auditRead(r.Context(), c, actTeamRead, v.Manager.ID, fmt.Sprintf("team view, %d people", len(v.Rows))); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) listPeople(w http.ResponseWriter, r *http.Request, c *caller) error {
	ps, err := s.cfg.Store.People(r.Context())
	if err != nil {
		return err
	}
	if err := s.auditRead(r.Context(), c, actPeopleList, "", fmt.Sprintf("all people, %d", len(ps))); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ps)
}

func (s *Server) createPerson(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := tracker.Decode[tracker.CreatePerson](r.Body)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	p := tracker.Person{ID: store.NewID("p_"), Email: req.Email, Name: req.Name, Team: req.Team, StartDate: req.StartDate, DueDate: req.DueDate, Admin: req.Admin, CreatedAt: now.UTC()}
	if req.ManagerEmail != "" {
		m, err := s.cfg.Store.PersonByEmail(r.Context(), req.ManagerEmail)
		if errors.Is(err, store.ErrNotFound) {
			return &HTTPError{Code: http.StatusBadRequest, Msg: "manager_email: no such person", Field: "manager_email"}
		} else if err != nil {
			return err
		}
		p.ManagerID = m.ID
	}
	p, err = s.cfg.Store.CreatePerson(r.Context(), p, tracker.AuditEntry{At: now, Actor: c.ID, Action: "person.create", Subject: p.ID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, p)
}

// target loads the {id} person and checks the caller may see them.
func (s *Server) target(r *http.Request, c *caller, managersToo bool) (tracker.Person, error) {
	id := r.PathValue("id")
	allowed := c.Admin || id == c.ID
	if !allowed && managersToo {
		ok, err := s.cfg.Store.Manages(r.Context(), c.ID, id)
		if err != nil {
			return tracker.Person{}, err
		}
		allowed = ok
	}
	if !allowed {
		// 403 whether or not the person exists, so IDs cannot be probed.
		return tracker.Person{}, errForbidden
	}
	return s.cfg.Store.Person(r.Context(), id)
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.target(r, c, true)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) exportPerson(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.target(r, c, false)
	if err != nil {
		return err
	}
	return s.exportAs(w, r, c, p.ID)
}

// exportAs sends everything stored about person id to c as a signed JSON
// file, and audits it. The API and the dashboard both export through it.
func (s *Server) exportAs(w http.ResponseWriter, r *http.Request, c *caller, id string) error {
	x, err := s.cfg.Store.Export(r.Context(), id)
	if err != nil {
		return err
	}
	scope := fmt.Sprintf("everything stored about %s <%s> (%s)", x.Person.Name, x.Person.Email, id)
	h, err := s.exportHeader(r.Context(), c, scope, s.cfg.Now(), nil)
	if err != nil {
		return err
	}
	x.Header = &h
	file, err := s.signJSON(x, trustedComment("json", h))
	if err != nil {
		return err
	}
	return s.sendExport(w, r, c, actPersonExport, id, scope, "application/json", "keywizard-export.json", file)
}

func (s *Server) erase(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := tracker.Decode[tracker.Erasure](r.Body)
	if err != nil {
		return err
	}
	if err := s.eraseAs(r.Context(), c, r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// eraseAs erases person id for admin c; the API and the dashboard both
// erase through it.
func (s *Server) eraseAs(ctx context.Context, c *caller, id string, req tracker.Erasure) error {
	if id == c.ID {
		return &HTTPError{Code: http.StatusConflict, Msg: "an admin cannot erase themselves"}
	}
	if err := s.checkRetention(ctx, id, req.Reason); err != nil {
		return err
	}
	// The entry outlives the person: it holds their opaque ID and a
	// reason code, never free text that could name them.
	err := s.cfg.Store.Erase(ctx, id, tracker.AuditEntry{At: s.cfg.Now(), Actor: c.ID, Action: "person.erase", Subject: id, Reason: string(req.Reason), Detail: "all personal data erased"})
	if errors.Is(err, store.ErrNotScrubbed) {
		// The records are gone; only the files' old copies wait for the
		// next erasure's rewrite (tracker/README.md, Privacy).
		s.cfg.Logf("tracker: erasure of %s: %v", id, err)
		return nil
	}
	return err
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := tracker.Decode[tracker.Reasoned](r.Body)
	if err != nil {
		return err
	}
	inv, err := s.inviteAs(r.Context(), c, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, inv)
}

// inviteAs issues a new invite code for person id; earlier codes stop
// working.
func (s *Server) inviteAs(ctx context.Context, c *caller, id string, req tracker.Reasoned) (tracker.Invite, error) {
	p, err := s.cfg.Store.Person(ctx, id)
	if err != nil {
		return tracker.Invite{}, err
	}
	return IssueInvite(ctx, s.cfg.Store, p.ID, c.ID, req.Reason, s.cfg.InviteTTL, s.cfg.Now())
}

func (s *Server) revokeTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	req, err := tracker.Decode[tracker.Reasoned](r.Body)
	if err != nil {
		return err
	}
	if err := s.revokeTokensAs(r.Context(), c, r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeTokensAs revokes every token and unused invite of person id.
func (s *Server) revokeTokensAs(ctx context.Context, c *caller, id string, req tracker.Reasoned) error {
	p, err := s.cfg.Store.Person(ctx, id)
	if err != nil {
		return err
	}
	return s.cfg.Store.RevokeTokens(ctx, p.ID, tracker.AuditEntry{At: s.cfg.Now(), Actor: c.ID, Action: "token.revoke", Subject: p.ID, Reason: req.Reason})
}

func (s *Server) keyStatus(w http.ResponseWriter, r *http.Request, c *caller) error {
	serial, req, err := serialAndBody[tracker.KeyStatusChange](r)
	if err != nil {
		return err
	}
	if err := s.keyStatusAs(r.Context(), c, r.PathValue("id"), serial, req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// serialAndBody parses the key serial in the request's path, then decodes
// its JSON body, for the routes that change a key: each error is the 400
// of parseSerial or tracker.Decode.
func serialAndBody[T any, P interface {
	*T
	Validate() error
}](r *http.Request) (uint32, T, error) {
	var req T
	serial, err := parseSerial(r.PathValue("serial"))
	if err != nil {
		return 0, req, err
	}
	req, err = tracker.Decode[T, P](r.Body)
	if err != nil {
		return 0, req, err
	}
	return serial, req, nil
}

func parseSerial(v string) (uint32, error) {
	serial, err := strconv.ParseUint(v, 10, 32)
	if err != nil || serial == 0 {
		return 0, &HTTPError{Code: http.StatusBadRequest, Msg: "serial: must be a key serial number", Field: "serial"}
	}
	return uint32(serial), nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, c *caller) error {
	limit := 1000
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return &HTTPError{Code: http.StatusBadRequest, Msg: "limit: must be 1 to 10000", Field: "limit"}
		}
		limit = n
	}
	subject := r.URL.Query().Get("subject")
	es, err := s.cfg.Store.Audit(r.Context(), subject, limit)
	if err != nil {
		return err
	}
	if err := s.auditRead(r.Context(), c, actAuditRead, subject, fmt.Sprintf("%d entries", len(es))); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, es)
}
