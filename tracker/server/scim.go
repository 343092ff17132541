package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

// SCIM 2.0 provisioning (RFC 7643, RFC 7644) at /scim/v2, so that an
// identity provider (Okta, Entra ID, Google) keeps the roster: it creates
// people, changes them, and deactivates leavers (active=false). The
// protocol (routing, schema validation, PATCH parsing, filters, list
// responses, the error schema) is github.com/elimity-com/scim's; this file
// maps a User to a person and back, and sends every change through the
// roster's own functions (updateAs, leaveAs, rejoinAs), so the input
// checks and audit entries are the API's. Mapping and limits are in
// docs/tracker-scim.md.
//
// Clients authenticate with a provisioning token (kws_...), stored apart
// from people's tokens: a person's token is refused here and a
// provisioning token is refused everywhere else.

const scimTokenPrefix = "kws_"

// URNs of the schemas a User carries (RFC 7643 §4.1, §4.3, and ours).
const (
	scimEnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	scimOnboardingURN = "urn:keywizard:params:scim:schemas:extension:onboarding:2.0:User"
)

// scimRoutes are SCIM's routes, kept in one block of their own. Each is
// registered (so the authorisation matrix and openapi.json cover it) and
// handed to the library's handler after the provisioning token is checked.
func (s *Server) scimRoutes() []route {
	h := s.scimAuth
	return []route{
		{"GET", "/scim/v2/ServiceProviderConfig", h},
		{"GET", "/scim/v2/Schemas", h},
		{"GET", "/scim/v2/Schemas/{id}", h},
		{"GET", "/scim/v2/ResourceTypes", h},
		{"GET", "/scim/v2/ResourceTypes/{id}", h},
		{"GET", "/scim/v2/Users", h},
		{"POST", "/scim/v2/Users", h},
		{"GET", "/scim/v2/Users/{id}", h},
		{"PUT", "/scim/v2/Users/{id}", h},
		{"PATCH", "/scim/v2/Users/{id}", h},
		{"DELETE", "/scim/v2/Users/{id}", h},
	}
}

// scimError writes e in SCIM's error schema (RFC 7644 §3.12).
func scimError(w http.ResponseWriter, e scimerrors.ScimError) error {
	b, err := e.MarshalJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_, err = w.Write(b)
	return err
}

// scimAuth checks the provisioning token and passes the request to the
// SCIM handler. Refusals are in SCIM's error schema, like everything else
// a SCIM client gets.
func (s *Server) scimAuth(w http.ResponseWriter, r *http.Request) error {
	name, err := s.scimCaller(r)
	if err != nil {
		he := toHTTPError(err)
		if he.Code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "60")
		}
		if he.Code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="keywizard-scim"`)
		}
		if he.Code >= 500 {
			return err
		}
		return scimError(w, scimerrors.ScimError{Status: he.Code, Detail: he.Msg})
	}
	h, err := s.scimHandler()
	if err != nil {
		return err
	}
	r = r.WithContext(context.WithValue(r.Context(), scimActorKey{}, "scim:"+name))
	http.StripPrefix("/scim", h).ServeHTTP(w, r)
	return nil
}

type scimActorKey struct{}

func scimActor(r *http.Request) string {
	a, _ := r.Context().Value(scimActorKey{}).(string)
	return a
}

// scimCaller returns the name of the provisioning token the request
// carries, spending the client IP's budget when it does not work.
func (s *Server) scimCaller(r *http.Request) (string, error) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", errUnauthorized
	}
	selector, sec, ok := splitSecret(scimTokenPrefix, strings.TrimSpace(v))
	if !ok {
		return "", s.failedAttempt(r, errUnauthorized)
	}
	c, err := s.cfg.Store.ServiceToken(r.Context(), selector)
	if errors.Is(err, store.ErrInvalid) {
		return "", s.failedAttempt(r, errUnauthorized)
	}
	if err != nil {
		return "", err
	}
	if !matches(c.Hash, sec) || c.Used {
		return "", s.failedAttempt(r, errUnauthorized)
	}
	return c.Device, nil
}

// IssueSCIMToken stores a new provisioning token named name (say "okta")
// and returns it, for `keywizard tracker scim token` on the server host.
func IssueSCIMToken(ctx context.Context, st store.Store, name string, now time.Time) (string, error) {
	if err := tracker.CheckName("name", name); err != nil {
		return "", err
	}
	sec := newSecret(scimTokenPrefix)
	err := st.AddServiceToken(ctx, store.Credential{Selector: sec.selector, Hash: sec.hash, Device: name}, now,
		tracker.AuditEntry{At: now, Actor: "local-admin-command", Action: "scim.token.issue", Detail: "provisioning token " + name})
	if err != nil {
		return "", fmt.Errorf("issuing provisioning token: %w", err)
	}
	return sec.full, nil
}

// scimHandler builds the library's server once.
func (s *Server) scimHandler() (http.Handler, error) {
	s.scimOnce.Do(func() {
		onboarding := schema.Schema{
			ID:          scimOnboardingURN,
			Name:        optional.NewString("Onboarding"),
			Description: optional.NewString("KeyWizard onboarding dates"),
			Attributes: []schema.CoreAttribute{
				schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "startDate", Description: optional.NewString("First working day, YYYY-MM-DD")})),
				schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "enrolmentDueDate", Description: optional.NewString("When both YubiKeys are due, YYYY-MM-DD")})),
			},
		}
		srv, err := scim.NewServer(&scim.ServerArgs{
			ServiceProviderConfig: &scim.ServiceProviderConfig{
				DocumentationURI: optional.NewString("https://github.com/keywizard/keywizard/blob/main/docs/tracker-scim.md"),
				AuthenticationSchemes: []scim.AuthenticationScheme{{
					Type: scim.AuthenticationTypeOauthBearerToken, Name: "Provisioning token",
					Description: "A kws_ token from `keywizard tracker scim token`, as an HTTP bearer token", Primary: true,
				}},
				MaxResults:       200,
				SupportFiltering: true,
				SupportPatch:     true,
			},
			ResourceTypes: []scim.ResourceType{{
				ID:          optional.NewString("User"),
				Name:        "User",
				Endpoint:    "/Users",
				Description: optional.NewString("A person on the onboarding roster"),
				Schema:      schema.CoreUserSchema(),
				SchemaExtensions: []scim.SchemaExtension{
					{Schema: schema.ExtensionEnterpriseUser()},
					{Schema: onboarding},
				},
				Handler: scimUsers{s},
			}},
		}, scim.WithBaseURL("/scim/v2"))
		s.scimSrv, s.scimErr = srv, err
	})
	if s.scimErr != nil {
		return nil, fmt.Errorf("building SCIM server: %w", s.scimErr)
	}
	return s.scimSrv, nil
}

// scimState is the Server's lazily built SCIM handler.
type scimState struct {
	scimOnce sync.Once
	scimSrv  http.Handler
	scimErr  error
}

// scimUsers implements the library's ResourceHandler over the roster.
type scimUsers struct{ s *Server }

// user is a person as a SCIM User resource.
func (u scimUsers) user(p tracker.Person) scim.Resource {
	attrs := scim.ResourceAttributes{
		"userName":    p.Email,
		"displayName": p.Name,
		"name":        map[string]any{"formatted": p.Name},
		"active":      !p.Left(),
		"emails":      []any{map[string]any{"value": p.Email, "primary": true, "type": "work"}},
	}
	ent := map[string]any{}
	if p.Team != "" {
		ent["department"] = p.Team
	}
	if p.ManagerID != "" {
		ent["manager"] = map[string]any{"value": p.ManagerID}
	}
	attrs[scimEnterpriseURN] = ent
	ob := map[string]any{"startDate": p.StartDate}
	if p.DueDate != "" {
		ob["enrolmentDueDate"] = p.DueDate
	}
	attrs[scimOnboardingURN] = ob
	created := p.CreatedAt
	r := scim.Resource{ID: p.ID, Attributes: attrs, Meta: scim.Meta{Created: &created}}
	if p.ExternalID != "" {
		r.ExternalID = optional.NewString(p.ExternalID)
	}
	return r
}

// wanted is what a User's attributes ask for, in the roster's terms.
type wanted struct {
	email, name, team, managerID, startDate, dueDate, externalID string
	// active is the leaver state asked for; nil (not given) keeps it.
	active *bool
}

func str(v any) string { s, _ := v.(string); return strings.TrimSpace(s) }

func sub(m any, key string) any {
	mm, _ := m.(map[string]any)
	for k, v := range mm {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// fromAttributes reads a User's attributes. userName is the e-mail
// address (lower-cased: addresses are matched case-insensitively, and the
// roster keeps them lower case); the name is name.formatted, else
// displayName, else given and family name.
func fromAttributes(a scim.ResourceAttributes) wanted {
	m := map[string]any(a)
	var w wanted
	w.email = strings.ToLower(str(sub(m, "userName")))
	n := sub(m, "name")
	w.name = str(sub(n, "formatted"))
	if w.name == "" {
		w.name = str(sub(m, "displayName"))
	}
	if w.name == "" {
		w.name = strings.TrimSpace(str(sub(n, "givenName")) + " " + str(sub(n, "familyName")))
	}
	if v, ok := sub(m, "active").(bool); ok {
		w.active = &v
	}
	w.externalID = str(sub(m, "externalId"))
	ent := sub(m, scimEnterpriseURN)
	w.team = str(sub(ent, "department"))
	w.managerID = str(sub(sub(ent, "manager"), "value"))
	ob := sub(m, scimOnboardingURN)
	w.startDate = str(sub(ob, "startDate"))
	w.dueDate = str(sub(ob, "enrolmentDueDate"))
	return w
}

// scimAttr maps the roster's field names to the SCIM attributes they
// come from, for error details.
var scimAttr = map[string]string{
	"email": "userName", "name": "name.formatted", "team": scimEnterpriseURN + ":department",
	"manager_email": scimEnterpriseURN + ":manager", "start_date": scimOnboardingURN + ":startDate",
	"due_date": scimOnboardingURN + ":enrolmentDueDate", "reason": "reason",
}

// toSCIM turns an error into SCIM's error schema: a 400 invalidValue
// naming the SCIM attribute for a refused field, a 409 uniqueness for a
// taken userName, a 404 for an unknown ID. Anything else is logged and
// answered with a bare 500, so internal detail does not reach the client.
func (u scimUsers) toSCIM(r *http.Request, id string, err error) error {
	var fe *tracker.FieldError
	var ce *store.ConflictError
	var he *HTTPError
	switch {
	case errors.As(err, &fe):
		attr := scimAttr[fe.Field]
		if attr == "" {
			attr = fe.Field
		}
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidValue, Status: http.StatusBadRequest, Detail: attr + ": " + fe.Msg}
	case errors.As(err, &ce) && ce.Field == "email":
		e := scimerrors.ScimErrorUniqueness
		e.Detail = "userName: a person with this e-mail address already exists"
		return e
	case errors.As(err, &ce):
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidValue, Status: http.StatusBadRequest, Detail: scimAttr[ce.Field] + ": " + ce.Msg}
	case errors.As(err, &he) && he.Code < 500:
		attr := scimAttr[he.Field]
		if attr == "" {
			attr = he.Field
		}
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidValue, Status: http.StatusBadRequest, Detail: attr + ": " + strings.TrimPrefix(he.Msg, he.Field+": ")}
	case errors.Is(err, store.ErrNotFound):
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	u.s.cfg.Logf("tracker: %s %s: SCIM: %v", r.Method, r.URL.Path, err)
	return scimerrors.ScimErrorInternal
}

// checkManager checks that a manager named by SCIM ID exists.
func (u scimUsers) checkManager(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if _, err := u.s.cfg.Store.Person(ctx, id); errors.Is(err, store.ErrNotFound) {
		return &tracker.FieldError{Field: "manager_email", Msg: "no such user"}
	} else if err != nil {
		return err
	}
	return nil
}

// Create adds a person (RFC 7644 §3.3). Without a start date the person
// starts today; active=false makes them a leaver at once.
func (u scimUsers) Create(r *http.Request, a scim.ResourceAttributes) (scim.Resource, error) {
	ctx := r.Context()
	w := fromAttributes(a)
	now := u.s.cfg.Now()
	if w.startDate == "" {
		w.startDate = now.UTC().Format(time.DateOnly)
	}
	row := tracker.ImportRow{Email: w.email, Name: w.name, Team: w.team, StartDate: w.startDate, DueDate: w.dueDate}
	if err := row.Validate(); err != nil {
		return scim.Resource{}, u.toSCIM(r, "", err)
	}
	if err := tracker.CheckText("external_id", w.externalID, 200); err != nil {
		return scim.Resource{}, u.toSCIM(r, "", err)
	}
	if err := u.checkManager(ctx, w.managerID); err != nil {
		return scim.Resource{}, u.toSCIM(r, "", err)
	}
	p := tracker.Person{ID: store.NewID("p_"), Email: w.email, Name: w.name, Team: w.team, ManagerID: w.managerID,
		StartDate: w.startDate, DueDate: w.dueDate, ExternalID: w.externalID, CreatedAt: now.UTC()}
	p, err := u.s.cfg.Store.CreatePerson(ctx, p, tracker.AuditEntry{At: now, Actor: scimActor(r), Action: "person.create", Subject: p.ID, Detail: "provisioned over SCIM"})
	if err != nil {
		return scim.Resource{}, u.toSCIM(r, "", err)
	}
	if w.active != nil && !*w.active {
		l, err := u.s.leaveAs(ctx, scimActor(r), p.ID, "deactivated by the identity provider")
		if err != nil {
			return scim.Resource{}, u.toSCIM(r, p.ID, err)
		}
		p = l.Person
	}
	return u.user(p), nil
}

// Get returns one person (RFC 7644 §3.4.1).
func (u scimUsers) Get(r *http.Request, id string) (scim.Resource, error) {
	p, err := u.s.cfg.Store.Person(r.Context(), id)
	if err != nil {
		return scim.Resource{}, u.toSCIM(r, id, err)
	}
	if err := u.auditSCIMRead(r, actSCIMRead, p.ID, "SCIM User"); err != nil {
		return scim.Resource{}, u.toSCIM(r, id, err)
	}
	return u.user(p), nil
}

// GetAll lists people, filtered by the library's filter evaluation (say
// userName eq "ann@example.com", the query identity providers make before
// creating someone; RFC 7644 §3.4.2.2), paged by startIndex and count.
func (u scimUsers) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	people, err := u.s.cfg.Store.People(r.Context())
	if err != nil {
		return scim.Page{}, u.toSCIM(r, "", err)
	}
	var match []scim.Resource
	for _, p := range people {
		res := u.user(p)
		if params.FilterValidator != nil {
			attrs := map[string]any(res.Attributes)
			attrs["id"] = res.ID
			if res.ExternalID.Present() {
				attrs["externalId"] = res.ExternalID.Value()
			}
			if params.FilterValidator.PassesFilter(attrs) != nil {
				continue
			}
		}
		match = append(match, res)
	}
	page := scim.Page{TotalResults: len(match), Resources: []scim.Resource{}}
	start := max(params.StartIndex, 1) - 1
	if start < len(match) && params.Count > 0 {
		page.Resources = match[start:min(len(match), start+params.Count)]
	}
	if err := u.auditSCIMRead(r, actSCIMList, "", scimListDetail(params.FilterValidator != nil, len(match), len(page.Resources))); err != nil {
		return scim.Page{}, u.toSCIM(r, "", err)
	}
	return page, nil
}

// Replace sets every attribute of a person (RFC 7644 §3.5.1): attributes
// left out are cleared where the roster allows (team, manager, due date);
// the start date is kept when not given. active decides the leaver state;
// left out, the state stays (a leaver is not brought back by omission).
func (u scimUsers) Replace(r *http.Request, id string, a scim.ResourceAttributes) (scim.Resource, error) {
	return u.apply(r, id, fromAttributes(a))
}

// apply makes person id what w asks for, through the roster's functions.
func (u scimUsers) apply(r *http.Request, id string, w wanted) (scim.Resource, error) {
	ctx := r.Context()
	before, err := u.s.cfg.Store.Person(ctx, id)
	if err != nil {
		return scim.Resource{}, u.toSCIM(r, id, err)
	}
	if w.startDate == "" {
		w.startDate = before.StartDate
	}
	row := tracker.ImportRow{Email: w.email, Name: w.name, Team: w.team, StartDate: w.startDate, DueDate: w.dueDate}
	if err := row.Validate(); err != nil {
		return scim.Resource{}, u.toSCIM(r, id, err)
	}
	if err := tracker.CheckText("external_id", w.externalID, 200); err != nil {
		return scim.Resource{}, u.toSCIM(r, "", err)
	}
	if err := u.checkManager(ctx, w.managerID); err != nil {
		return scim.Resource{}, u.toSCIM(r, id, err)
	}
	actor := scimActor(r)
	p, err := u.s.cfg.Store.UpdatePerson(ctx, id, func(b tracker.Person) (tracker.Person, tracker.AuditEntry, error) {
		after := b
		after.Email, after.Name, after.Team, after.ManagerID = w.email, w.name, w.team, w.managerID
		after.StartDate, after.DueDate, after.ExternalID = w.startDate, w.dueDate, w.externalID
		return after, u.s.changeEntry(actor, "person.update", "identity provider", b, after), nil
	})
	if err != nil {
		return scim.Resource{}, u.toSCIM(r, id, err)
	}
	switch {
	case w.active == nil:
		// Not given: the leaver state stays as it is.
	case !*w.active && !p.Left():
		l, err := u.s.leaveAs(ctx, actor, id, "deactivated by the identity provider")
		if err != nil {
			return scim.Resource{}, u.toSCIM(r, id, err)
		}
		p = l.Person
	case *w.active && p.Left():
		if p, err = u.s.rejoinAs(ctx, actor, id, "activated by the identity provider"); err != nil {
			return scim.Resource{}, u.toSCIM(r, id, err)
		}
	}
	return u.user(p), nil
}

// Delete is refused: a deleted resource must answer 404 from then on (RFC
// 7644 §3.6), but a leaver's records are kept for the retention period
// and erased by IT with a reason code. Identity providers deprovision with
// active=false, which makes the person a leaver.
func (u scimUsers) Delete(r *http.Request, id string) error {
	return scimerrors.ScimError{Status: http.StatusNotImplemented,
		Detail: "deleting is not supported: set active to false to make the person a leaver; their records are kept for the retention period"}
}

// Patch applies RFC 7644 §3.5.2 operations to the person's current
// attributes, then stores the result as Replace does.
func (u scimUsers) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	p, err := u.s.cfg.Store.Person(r.Context(), id)
	if err != nil {
		return scim.Resource{}, u.toSCIM(r, id, err)
	}
	cur := u.user(p)
	attrs := map[string]any(cur.Attributes)
	if cur.ExternalID.Present() {
		attrs["externalId"] = cur.ExternalID.Value()
	}
	for _, op := range ops {
		forgetOtherNames(attrs, op)
		if err := patchAttrs(attrs, op); err != nil {
			return scim.Resource{}, err
		}
	}
	return u.apply(r, id, fromAttributes(attrs))
}

// forgetOtherNames drops the current name attributes an operation on
// another one would otherwise be shadowed by (fromAttributes prefers
// name.formatted, then displayName, then given and family name).
func forgetOtherNames(attrs map[string]any, op scim.PatchOperation) {
	var touched []string
	if op.Path == nil {
		if m, ok := op.Value.(map[string]any); ok {
			for k, v := range m {
				touched = append(touched, k)
				if vm, ok := v.(map[string]any); ok && strings.EqualFold(k, "name") {
					for kk := range vm {
						touched = append(touched, "name."+kk)
					}
				}
			}
		}
	} else if op.Path.AttributePath.URIPrefix == nil {
		t := op.Path.AttributePath.AttributeName
		if op.Path.AttributePath.SubAttribute != nil {
			t += "." + *op.Path.AttributePath.SubAttribute
		}
		touched = append(touched, t)
	}
	name, _ := attrs["name"].(map[string]any)
	for _, t := range touched {
		switch strings.ToLower(t) {
		case "displayname":
			if name != nil {
				delete(name, "formatted")
			}
		case "name.givenname", "name.familyname":
			if name != nil {
				delete(name, "formatted")
			}
			delete(attrs, "displayName")
		}
	}
}

// patchAttrs applies one operation to attrs. Paths with a value filter
// (emails[type eq "work"].value) are accepted and ignored: the address is
// userName's.
func patchAttrs(attrs map[string]any, op scim.PatchOperation) error {
	opName := strings.ToLower(op.Op)
	if op.Path == nil {
		m, ok := op.Value.(map[string]any)
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		for k, v := range m {
			if vm, ok := v.(map[string]any); ok {
				if old, ok := attrs[k].(map[string]any); ok {
					for kk, vv := range vm {
						old[kk] = vv
					}
					continue
				}
			}
			attrs[k] = v
		}
		return nil
	}
	if op.Path.ValueExpression != nil {
		return nil
	}
	ap := op.Path.AttributePath
	target := attrs
	if ap.URIPrefix != nil {
		urn := ap.URI()
		m, _ := target[urn].(map[string]any)
		if m == nil {
			m = map[string]any{}
			target[urn] = m
		}
		target = m
	}
	name := ap.AttributeName
	if ap.SubAttribute != nil {
		m, _ := target[name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			target[name] = m
		}
		target, name = m, *ap.SubAttribute
	}
	if opName == scim.PatchOperationRemove {
		delete(target, name)
		return nil
	}
	target[name] = op.Value
	return nil
}
