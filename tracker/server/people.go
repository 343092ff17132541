package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

// The dashboard's person page and IT's recovery forms. Every form is a POST
// that needs the session cookie, a same-origin request (Origin and
// Sec-Fetch-Site, by http.CrossOriginProtection) and the session's form
// token; the work is done by the same functions as the API's (exportAs,
// eraseAs, ...), so both are audited alike. A form that succeeds redirects
// back with a flash message (POST/redirect/GET); one that fails validation
// shows the page again with the error next to the form, naming the field.

const flashCookie = "kw_flash"

// crossOrigin refuses cross-site browser requests. Requests without
// Origin or Sec-Fetch-Site (not a browser, or an old one) pass it; the
// form token still stops them.
var crossOrigin = http.NewCrossOriginProtection()

var errBadForm = &HTTPError{Code: http.StatusForbidden, Msg: "form expired or not from this site; reload the page and try again"}

// formToken is the CSRF token of the session whose credential is cred: a
// hash of the credential under a fixed label. It is bound to the session
// (another session's token does not fit), needs no server-side state (so
// instances behind a load balancer agree), and does not reveal the
// credential.
func formToken(cred string) string {
	h := sha256.Sum256([]byte("keywizard dashboard form token\x00" + cred))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func formTokenOK(r *http.Request, cred string) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(formToken(cred))) == 1
}

// checkForm checks that a POST from a signed-in browser is a form of this
// site's: same origin, and carrying the session's form token.
func checkForm(r *http.Request, cred string) error {
	if crossOrigin.Check(r) != nil {
		return errBadForm
	}
	if err := r.ParseForm(); err != nil {
		return &HTTPError{Code: http.StatusBadRequest, Msg: "form unreadable", Err: err}
	}
	if !formTokenOK(r, cred) {
		return errBadForm
	}
	return nil
}

// adminForm wraps an IT form: session cookie (401 without), same-origin
// request with the session's form token (403 without), and an admin (403).
// Nothing is read or changed before all three pass.
func (s *Server) adminForm(h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.session(r)
		if err != nil {
			return err
		}
		if err := checkForm(r, c.cred); err != nil {
			return err
		}
		if !c.Admin {
			return errForbidden
		}
		return h(w, r, c)
	}
}

// ownForm wraps a form a person may use about themselves and IT about
// anyone (exporting one's own data): the checks of adminForm, with the
// person's own ID allowed.
func (s *Server) ownForm(h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.session(r)
		if err != nil {
			return err
		}
		if err := checkForm(r, c.cred); err != nil {
			return err
		}
		if !c.Admin && r.PathValue("id") != c.ID {
			return errForbidden
		}
		return h(w, r, c)
	}
}

// decodeForm reads the named form fields into T through the API's own
// strict decoder and validation, so a form and a JSON body are held to the
// same rules and a refusal names the same field. A missing field is empty.
func decodeForm[T any, P interface {
	*T
	Validate() error
}](form url.Values, fields ...string) (T, error) {
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		m[f] = strings.TrimSpace(form.Get(f))
	}
	b, err := json.Marshal(m)
	if err != nil {
		var zero T
		return zero, err
	}
	return tracker.Decode[T, P](bytes.NewReader(b))
}

// flash is the message shown once after a form's redirect. Invite is the
// new invite code, shown to IT this once and stored nowhere else in
// clear: it is set only on the invite form's own response, never carried
// in the flash cookie (json:"-").
type flash struct {
	Msg           string    `json:"m"`
	Invite        string    `json:"-"`
	InviteExpires time.Time `json:"-"`
}

// redirectWith sends the browser to path (POST/redirect/GET) with a flash
// message in a short-lived cookie limited to the dashboard.
func (s *Server) redirectWith(w http.ResponseWriter, r *http.Request, path string, f flash) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/dashboard",
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: 300})
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// takeFlash reads and clears the flash message, if any.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return flash{}
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/dashboard",
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	var f flash
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || json.Unmarshal(b, &f) != nil {
		return flash{}
	}
	return f
}

func personPath(id string) string { return "/dashboard/people/" + url.PathEscape(id) }

// formError is a refused form: which form, which field, and why.
type formError struct {
	Form, Field, Msg string
	Serial           uint32 // the key's, for a key status form
}

// auditRow is an audit entry with the actor's name where known.
type auditRow struct {
	tracker.AuditEntry
	ActorName string
}

type personData struct {
	Title  string
	Caller tracker.Person
	CSRF   string
	Person tracker.Person
	// Manager is the manager's name, or empty.
	Manager string
	Keys    []tracker.Key
	Items   []tracker.Item
	// Completion is the completion history; KeyHistory each key's life
	// (reasons shown to IT and the person only).
	Completion []tracker.CompletionChange
	KeyHistory []tracker.OwnedKeyEvent
	// Audit is filled for IT only.
	Audit  []auditRow
	Flash  flash
	Err    formError
	Values url.Values // the refused form's values, to fill it in again
	// Roster detail (dashroster.go).
	roster
}

// IT is whether the recovery forms are shown.
func (d personData) IT() bool { return d.Caller.Admin }

// erasureChoice is one option of the erase form's reason.
type erasureChoice struct {
	Code  tracker.ErasureReason
	Label string
}

// ErasureChoices are the erasure reasons the API accepts, in its order,
// with the words the form shows: the audit entry keeps only the code, so
// IT cannot name the person in it.
func (d personData) ErasureChoices() []erasureChoice {
	labels := map[tracker.ErasureReason]string{
		tracker.ErasurePersonRequest:    "The person asked for their data to be erased",
		tracker.ErasureLeft:             "The person left, or never started",
		tracker.ErasureRetentionExpired: "The retention period ended",
		tracker.ErasureCreatedInError:   "Added by mistake or twice",
	}
	out := make([]erasureChoice, len(tracker.ErasureReasons))
	for i, r := range tracker.ErasureReasons {
		out[i] = erasureChoice{Code: r, Label: labels[r]}
		if out[i].Label == "" {
			out[i].Label = string(r)
		}
	}
	return out
}

// personPage shows a person's details, keys, enrolment items and, to IT,
// the audit entries about them and the recovery forms. IT sees anyone,
// managers their reports (read-only), a person themselves.
func (s *Server) personPage(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.target(r, c, true)
	if err != nil {
		return err
	}
	d, err := s.personData(r.Context(), c, p)
	if err != nil {
		return err
	}
	if c.Admin {
		// IT's page shows the audit entries about the person.
		if err := s.auditRead(r.Context(), c, actAuditRead, p.ID, fmt.Sprintf("person page, %d entries", len(d.Audit))); err != nil {
			return err
		}
	}
	d.Flash = s.takeFlash(w, r)
	return render(w, http.StatusOK, "person", d)
}

func (s *Server) personData(ctx context.Context, c *caller, p tracker.Person) (personData, error) {
	d := personData{Title: p.Name, Caller: c.Person, CSRF: formToken(c.cred), Person: p}
	if p.ManagerID != "" {
		m, err := s.cfg.Store.Person(ctx, p.ManagerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return d, err
		}
		d.Manager = m.Name
	}
	var err error
	if d.Keys, d.Items, err = s.cfg.Store.Records(ctx, []string{p.ID}); err != nil {
		return d, err
	}
	if d.roster, err = s.rosterOf(ctx, p, d.Keys, d.Items); err != nil {
		return d, err
	}
	hist, err := s.cfg.Store.CompletionHistory(ctx, []string{p.ID})
	if err != nil {
		return d, err
	}
	d.Completion = hist[p.ID]
	if d.KeyHistory, err = s.cfg.Store.KeyHistory(ctx, []string{p.ID}); err != nil {
		return d, err
	}
	if !c.Admin {
		return d, nil
	}
	es, err := s.cfg.Store.Audit(ctx, p.ID, 200)
	if err != nil {
		return d, err
	}
	names := map[string]string{}
	for _, e := range es {
		if _, ok := names[e.Actor]; !ok {
			a, err := s.cfg.Store.Person(ctx, e.Actor)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return d, err
			}
			names[e.Actor] = a.Name
		}
		d.Audit = append(d.Audit, auditRow{AuditEntry: e, ActorName: names[e.Actor]})
	}
	return d, nil
}

// refused shows the person page again with err next to form, if err is
// one the person at the form can fix (a 400 or 409); other errors go to
// the usual error answer.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, c *caller, form string, serial uint32, err error) error {
	he := toHTTPError(err)
	if he.Code != http.StatusBadRequest && he.Code != http.StatusConflict {
		return err
	}
	p, perr := s.cfg.Store.Person(r.Context(), r.PathValue("id"))
	if perr != nil {
		return perr
	}
	d, perr := s.personData(r.Context(), c, p)
	if perr != nil {
		return perr
	}
	d.Err = formError{Form: form, Field: he.Field, Msg: he.Msg, Serial: serial}
	d.Values = r.PostForm
	return render(w, he.Code, "person", d)
}

func (s *Server) formKeyStatus(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	serial, err := parseSerial(r.PathValue("serial"))
	if err != nil {
		return err
	}
	req, err := decodeForm[tracker.KeyStatusChange](r.PostForm, "status", "reason")
	if err == nil {
		err = s.keyStatusAs(r.Context(), c, id, serial, req)
	}
	if err != nil {
		return s.refused(w, r, c, "key", serial, err)
	}
	return s.redirectWith(w, r, personPath(id), flash{Msg: "Key " + itoa(serial) + " is now " + string(req.Status) + "."})
}

func (s *Server) formInvite(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	req, err := decodeForm[tracker.Reasoned](r.PostForm, "reason")
	if err != nil {
		return s.refused(w, r, c, "invite", 0, err)
	}
	inv, err := s.inviteAs(r.Context(), c, id, req)
	if err != nil {
		return s.refused(w, r, c, "invite", 0, err)
	}
	// The code is shown in this response, not after a redirect: carried
	// in a cookie to the next page it would travel in a request header,
	// where proxies log, and sit in the browser until it expired. Reloading
	// this page asks before posting again, which would issue another code.
	p, err := s.cfg.Store.Person(r.Context(), id)
	if err != nil {
		return err
	}
	d, err := s.personData(r.Context(), c, p)
	if err != nil {
		return err
	}
	d.Flash = flash{Msg: "New invite code issued.", Invite: inv.Code, InviteExpires: inv.ExpiresAt}
	w.Header().Set("Cache-Control", "no-store")
	return render(w, http.StatusOK, "person", d)
}

func (s *Server) formRevokeTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	req, err := decodeForm[tracker.Reasoned](r.PostForm, "reason")
	if err == nil && r.PostForm.Get("confirm") != "yes" {
		err = &tracker.FieldError{Field: "confirm", Msg: "tick the box to confirm: the person's wizard and browsers are signed out"}
	}
	if err == nil {
		err = s.revokeTokensAs(r.Context(), c, id, req)
	}
	if err != nil {
		return s.refused(w, r, c, "revoke", 0, err)
	}
	return s.redirectWith(w, r, personPath(id), flash{Msg: "All tokens and unused invite codes revoked."})
}

func (s *Server) formExport(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	return s.exportAs(w, r, c, id)
}

func (s *Server) formErase(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	p, err := s.cfg.Store.Person(r.Context(), id)
	if err != nil {
		return err
	}
	req, err := decodeForm[tracker.Erasure](r.PostForm, "reason")
	if err == nil && !strings.EqualFold(strings.TrimSpace(r.PostForm.Get("confirm_email")), p.Email) {
		err = &tracker.FieldError{Field: "confirm_email", Msg: "type the person's e-mail address to confirm"}
	}
	if err == nil {
		err = s.eraseAs(r.Context(), c, id, req)
	}
	if err != nil {
		return s.refused(w, r, c, "erase", 0, err)
	}
	return s.redirectWith(w, r, "/dashboard", flash{Msg: "Person " + id + " erased; the audit log keeps only this ID."})
}
