package server

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

//go:embed web/dashboard.html web/person.html web/error.html
var webFS embed.FS

// pages is parsed on first use: `keywizard tracker serve` shares its binary
// with commands that never render a page (BENCHMARKS.md, "Listing keys").
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{"keyForm": newKeyForm, "dec": func(n int) int { return n - 1 }}).
		ParseFS(webFS, "web/dashboard.html", "web/person.html", "web/error.html"))
})

// keyForm is what IT's confirm-lost and mark-found form needs.
type keyForm struct {
	CSRF, PersonID string
	Serial         uint32
}

func newKeyForm(csrf, personID string, serial uint32) keyForm {
	return keyForm{CSRF: csrf, PersonID: personID, Serial: serial}
}

// dashCell is one rendered matrix cell.
type dashCell struct{ Class, Symbol, Title string }

type dashRow struct {
	tracker.Row
	// Cells is the row's matrix cells, rendered in Go: html/template's
	// reflection over ~700 cells was most of the dashboard's latency.
	// Every variable part is escaped by html.EscapeString.
	Cells template.HTML
	// StartsIn is the number of calendar days until the start date, 0 once
	// started.
	StartsIn int
	// Via names the manager an indirect report reports to.
	Via string
	// Left is what is left to do, in words ("" when complete).
	Left string
}

type dashData struct {
	Title  string
	Caller tracker.Person
	View   tracker.TeamView
	Rows   []dashRow
	Query  string
	Error  string
	// CSRF is the session's form token (the sign-out form's).
	CSRF  string
	Flash flash
	// Leavers are the view's leavers with the end of their retention.
	Leavers []leaverRow
	// SSO names the identity provider on the sign-in page's button; empty
	// when OpenID Connect is not configured.
	SSO string
}

// ServiceName is how a column is headed: the name the reports gave the
// service, else its ID.
func (d dashData) ServiceName(id string) string {
	if n := d.View.ServiceNames[id]; n != "" {
		return n
	}
	return id
}

func evidenceCell(c tracker.Cell, has bool, e tracker.Evidence, what string) dashCell {
	switch {
	case c.Serial == 0:
		return dashCell{"none", "·", "no active key yet"}
	case !has:
		return dashCell{"no", "✗", what + ": missing"}
	case e == tracker.EvidenceOnKey:
		return dashCell{"key", "✓", what + ": verified on the key"}
	case e == tracker.EvidenceBySystem:
		return dashCell{"sys", "✓", what + ": verified by the service"}
	}
	return dashCell{"self", "?", what + ": self-attested"}
}

// cells flattens a row into the matrix's column order: each service for
// (everyday, backup), then OTP, then genuine.
func cells(services, names []string, r tracker.Row) []dashCell {
	out := make([]dashCell, 0, 2*len(services)+4)
	for i, s := range services {
		for _, c := range []tracker.Cell{r.Everyday, r.Backup} {
			e, ok := c.Services[s]
			out = append(out, evidenceCell(c, ok, e, names[i]))
		}
	}
	for _, c := range []tracker.Cell{r.Everyday, r.Backup} {
		out = append(out, evidenceCell(c, c.OTPDisabled, tracker.EvidenceOnKey, "OTP disabled"))
	}
	for _, c := range []tracker.Cell{r.Everyday, r.Backup} {
		switch {
		case c.Serial == 0:
			out = append(out, dashCell{"none", "·", "no active key yet"})
		case c.Genuine:
			out = append(out, dashCell{"key", "✓", "genuine YubiKey, serial " + itoa(c.Serial) + ", firmware " + c.Firmware + checkedAt(c)})
		default:
			out = append(out, dashCell{"no", "✗", "not attested, serial " + itoa(c.Serial) + checkedAt(c)})
		}
	}
	return out
}

// checkedAt is ", checked at ..." for a key whose attestation the tracker
// checked, and "" for one it never checked (nor kept the time of): the
// cell never dates a check that the tracker has no time for.
func checkedAt(c tracker.Cell) string {
	if c.GenuineCheckedAt.IsZero() {
		return ""
	}
	return ", checked at " + c.GenuineCheckedAt.UTC().Format("2006-01-02 15:04 MST")
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, c *caller) error {
	m := r.URL.Query().Get("manager")
	v, _, _, err := s.teamView(r.Context(), c, m)
	if err != nil {
		return err
	}
	if err := s.auditRead(r.Context(), c, actTeamRead, v.Manager.ID, fmt.Sprintf("dashboard, %d people", len(v.Rows))); err != nil {
		return err
	}
	d := dashData{Caller: c.Person, View: v, Rows: make([]dashRow, len(v.Rows)), CSRF: formToken(c.cred), Flash: s.takeFlash(w, r)}
	d.Title = "Team of " + v.Manager.Name
	if v.Manager.ID == "" {
		d.Title = "Everyone"
	}
	if m != "" {
		d.Query = "?manager=" + url.QueryEscape(m)
	}
	d.Leavers = s.leaverRows(v)
	names := namesOf(v.Services, v.ServiceNames)
	var b strings.Builder
	for i, row := range v.Rows {
		b.Reset()
		for j, c := range cells(v.Services, names, row) {
			if j%2 == 0 {
				b.WriteString(`<td class="first">`)
			} else {
				b.WriteString(`<td>`)
			}
			b.WriteString(`<span class="m `)
			b.WriteString(html.EscapeString(c.Class))
			b.WriteString(`" title="`)
			b.WriteString(html.EscapeString(c.Title))
			b.WriteString(`">`)
			b.WriteString(html.EscapeString(c.Symbol))
			b.WriteString("</span></td>")
		}
		d.Rows[i] = s.rowDetail(dashRow{Row: row, Cells: template.HTML(b.String())}, v)
	}
	return render(w, http.StatusOK, "dashboard", d)
}

func render(w http.ResponseWriter, code int, name string, d any) error {
	var b strings.Builder
	if err := pages().ExecuteTemplate(&b, name, d); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No external assets and no scripts: the policy says so to the browser.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(code)
	_, err := w.Write([]byte(b.String()))
	return err
}

// toLogin sends browsers without a valid session to the sign-in page.
func toLogin(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := h(w, r)
		if errors.Is(err, errUnauthorized) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		return err
	}
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) error {
	return render(w, http.StatusOK, "login", s.loginData(""))
}

// loginData is the sign-in page, with the identity provider's button when
// OpenID Connect is configured.
func (s *Server) loginData(msg string) dashData {
	d := dashData{Title: "Sign in", Error: msg}
	if s.cfg.OIDC != nil {
		d.SSO = s.cfg.OIDC.label()
	}
	return d
}

// errCrossSiteLogin refuses a sign-in posted from another site: without
// it, a page elsewhere could post its own token and sign IT's browser in
// as someone else (login CSRF), so that what IT then does or enters
// lands in that account.
var errCrossSiteLogin = &HTTPError{Code: http.StatusForbidden, Msg: "sign-in form not sent from this site; open the sign-in page and try again"}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	// A browser names the origin of a form it posts (Origin,
	// Sec-Fetch-Site); Go's CrossOriginProtection refuses other sites'.
	if crossOrigin.Check(r) != nil {
		return errCrossSiteLogin
	}
	// As for the API (failedAttempt), only credentials that do not work
	// spend the address's budget.
	refuse := func(msg string) error {
		if !s.limiter.take(s.clientIP(r)) {
			return render(w, http.StatusTooManyRequests, "login", s.loginData("Too many attempts; wait a minute."))
		}
		return render(w, http.StatusUnauthorized, "login", s.loginData(msg))
	}
	if err := r.ParseForm(); err != nil {
		return &HTTPError{Code: http.StatusBadRequest, Msg: "credential: form unreadable", Field: "credential"}
	}
	cred := strings.TrimSpace(r.PostForm.Get("credential"))
	var tok string
	switch {
	case strings.HasPrefix(cred, invitePrefix):
		// The browser's token lasts a session, like any other sign-in;
		// the wizard's (exchange) lasts TokenTTL.
		_, t, err := s.redeem(r.Context(), tracker.Exchange{InviteCode: cred, Device: "dashboard session"}, sessionTTL)
		if errors.Is(err, errBadInvite) {
			return refuse("That invite code is unknown, used or expired.")
		}
		if err != nil {
			return err
		}
		tok = t
	default:
		p, err := s.checkToken(r.Context(), cred)
		if errors.Is(err, store.ErrInvalid) {
			return refuse("That token is not valid.")
		}
		if err != nil {
			return err
		}
		// The browser gets a token of its own, so that signing out can
		// revoke it without revoking the pasted one (an admin's only
		// token, or the wizard's).
		if tok, err = s.startSession(r.Context(), p, "signed in to the dashboard with a token"); err != nil {
			return err
		}
	}
	s.setSessionCookie(w, tok)
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	return nil
}

// startSession stores a dashboard session token for p, lasting
// sessionTTL on the server whatever the credential that opened it, and
// audits it (session.start, with how the person signed in).
func (s *Server) startSession(ctx context.Context, p tracker.Person, how string) (string, error) {
	now := s.cfg.Now()
	sec := newSecret(tokenPrefix)
	err := s.cfg.Store.AddToken(ctx, store.Credential{Selector: sec.selector, Hash: sec.hash, PersonID: p.ID, Device: "dashboard session", ExpiresAt: now.Add(sessionTTL)},
		tracker.AuditEntry{At: now, Actor: p.ID, Action: "session.start", Subject: p.ID, Detail: how})
	if err != nil {
		return "", fmt.Errorf("starting session: %w", err)
	}
	return sec.full, nil
}

func (s *Server) setSessionCookie(w http.ResponseWriter, tok string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, Secure: !s.cfg.InsecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
}

// sessionTTL is how long a dashboard sign-in lasts, on the server (the
// token's expiry) and in the browser (the cookie's).
const sessionTTL = 12 * time.Hour

// logout ends the dashboard session: it revokes the session's token on
// the server, so a copy of the cookie stops working too, then clears the
// cookie. A session that still works is only ended by a same-origin form
// carrying its form token, so another site cannot sign IT out; a cookie
// that no longer works is just cleared.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(cookieName); err == nil && ck.Value != "" {
		p, err := s.checkToken(r.Context(), ck.Value)
		switch {
		case err == nil:
			if err := checkForm(r, ck.Value); err != nil {
				return err
			}
			selector, _, _ := splitSecret(tokenPrefix, ck.Value)
			err := s.cfg.Store.RevokeToken(r.Context(), selector, tracker.AuditEntry{At: s.cfg.Now(), Actor: p.ID, Action: "session.end", Subject: p.ID, Detail: "signed out of the dashboard"})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("ending session: %w", err)
			}
		case !errors.Is(err, store.ErrInvalid):
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
