package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

// Credentials look like kwt_<selector>_<secret> (tokens) and
// kwi_<selector>_<secret> (invite codes). The selector finds the stored row;
// only the SHA-256 of the secret is stored, and it is compared in constant
// time, so neither a database leak nor response timing yields a usable
// credential.
const (
	tokenPrefix  = "kwt_"
	invitePrefix = "kwi_"
	cookieName   = "kw_token"
)

type secret struct {
	full, selector, hash string
}

func newSecret(prefix string) secret {
	var sel [8]byte
	var sec [24]byte
	if _, err := rand.Read(sel[:]); err != nil {
		panic(err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		panic(err)
	}
	selector := hex.EncodeToString(sel[:])
	s := base64.RawURLEncoding.EncodeToString(sec[:])
	return secret{full: prefix + selector + "_" + s, selector: selector, hash: hashSecret(s)}
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// splitSecret parses a credential with the given prefix.
func splitSecret(prefix, v string) (selector, sec string, ok bool) {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return "", "", false
	}
	selector, sec, ok = strings.Cut(rest, "_")
	if !ok || len(selector) != 16 || sec == "" || len(sec) > 64 {
		return "", "", false
	}
	return selector, sec, true
}

func matches(storedHex, sec string) bool {
	return subtle.ConstantTimeCompare([]byte(storedHex), []byte(hashSecret(sec))) == 1
}

// caller is the authenticated person making a request.
type caller struct {
	tracker.Person
	// cred is the credential the request came with; the dashboard's form
	// token is derived from it (formToken). Never logged or shown.
	cred string
}

// authenticate finds the caller from the Authorization header or, when
// allowCookie is set (GET pages only, so a cross-site form cannot use it),
// from the dashboard cookie.
func (s *Server) authenticate(r *http.Request, allowCookie bool) (*caller, error) {
	var v string
	if h := r.Header.Get("Authorization"); h != "" {
		var ok bool
		if v, ok = strings.CutPrefix(h, "Bearer "); !ok {
			return nil, errUnauthorized
		}
	} else if allowCookie {
		if c, err := r.Cookie(cookieName); err == nil {
			v = c.Value
		}
	}
	return s.callerFor(r, v)
}

// session finds the caller of a dashboard form from the cookie alone: a
// form is a browser's, and a bearer header would not need its CSRF check.
func (s *Server) session(r *http.Request) (*caller, error) {
	var v string
	if c, err := r.Cookie(cookieName); err == nil {
		v = c.Value
	}
	return s.callerFor(r, v)
}

// callerFor checks the token v, spending the client IP's budget if it does
// not work.
func (s *Server) callerFor(r *http.Request, v string) (*caller, error) {
	if v == "" {
		return nil, errUnauthorized
	}
	p, err := s.checkToken(r.Context(), v)
	if errors.Is(err, store.ErrInvalid) {
		return nil, s.failedAttempt(r, errUnauthorized)
	}
	if err != nil {
		return nil, err
	}
	c := &caller{Person: p, cred: v}
	noteCaller(r, c)
	return c, nil
}

// failedAttempt spends one of the client IP's attempts on a credential
// that did not work and returns err, or errRateLimited once the budget is
// spent.
//
// The credential is checked before the budget, and only failures spend it:
// behind a load balancer or an office NAT many people share one address,
// and one guesser there must not lock all of them out, so a valid token or
// invite code works whatever the budget. The guesser still only ever gets
// 429s once their budget is gone. What makes guessing hopeless is the
// credential itself (a 64-bit selector and a 192-bit secret, newSecret);
// the budget keeps the failures, and the log lines about them, few.
func (s *Server) failedAttempt(r *http.Request, err error) error {
	if !s.limiter.take(s.clientIP(r)) {
		return errRateLimited
	}
	return err
}

func (s *Server) checkToken(ctx context.Context, v string) (tracker.Person, error) {
	selector, sec, ok := splitSecret(tokenPrefix, v)
	if !ok {
		return tracker.Person{}, store.ErrInvalid
	}
	c, p, err := s.cfg.Store.TokenPerson(ctx, selector)
	if err != nil {
		return tracker.Person{}, err
	}
	if !matches(c.Hash, sec) || c.Used || (!c.ExpiresAt.IsZero() && !s.cfg.Now().Before(c.ExpiresAt)) {
		return tracker.Person{}, store.ErrInvalid
	}
	if p.Left() {
		// Leaving revokes every token; this also covers one issued
		// afterwards on the server host (AdminToken).
		return tracker.Person{}, store.ErrInvalid
	}
	return p, nil
}

// IssueInvite stores a new invite code for person and returns it; earlier
// unused codes stop working. actor is the admin's person ID.
func IssueInvite(ctx context.Context, st store.Store, person, actor, reason string, ttl time.Duration, now time.Time) (tracker.Invite, error) {
	sec := newSecret(invitePrefix)
	inv := tracker.Invite{Code: sec.full, ExpiresAt: now.Add(ttl).UTC()}
	err := st.AddInvite(ctx, store.Credential{Selector: sec.selector, Hash: sec.hash, PersonID: person, ExpiresAt: inv.ExpiresAt},
		tracker.AuditEntry{At: now, Actor: actor, Action: "invite.issue", Subject: person, Reason: reason})
	if err != nil {
		return tracker.Invite{}, fmt.Errorf("issuing invite: %w", err)
	}
	return inv, nil
}

// CreateAdmin creates the first IT administrator directly in the store and
// returns a token for them. It is what `keywizard tracker admin create-admin`
// runs on the machine hosting the tracker, where access to the database is
// the proof of authority.
func CreateAdmin(ctx context.Context, st store.Store, req tracker.CreatePerson, now time.Time) (tracker.Person, string, error) {
	req.Admin = true
	if req.StartDate == "" {
		req.StartDate = now.Format(time.DateOnly)
	}
	if err := req.Validate(); err != nil {
		return tracker.Person{}, "", err
	}
	p := tracker.Person{ID: store.NewID("p_"), Email: req.Email, Name: req.Name, Team: req.Team, StartDate: req.StartDate, Admin: true, CreatedAt: now.UTC()}
	if req.ManagerEmail != "" {
		m, err := st.PersonByEmail(ctx, req.ManagerEmail)
		if err != nil {
			return p, "", fmt.Errorf("finding manager: %w", err)
		}
		p.ManagerID = m.ID
	}
	p, err := st.CreatePerson(ctx, p, tracker.AuditEntry{At: now, Actor: "local-admin-command", Action: "person.create", Subject: p.ID, Detail: "first admin created on the server host"})
	if err != nil {
		return p, "", err
	}
	tok, err := AdminToken(ctx, st, p.ID, "create-admin", 0, now)
	return p, tok, err
}

// AdminToken issues a token for an existing person directly in the store
// (for `tracker admin token`, to recover a lost admin credential). ttl 0
// means one year.
func AdminToken(ctx context.Context, st store.Store, personID, device string, ttl time.Duration, now time.Time) (string, error) {
	if ttl == 0 {
		ttl = 365 * 24 * time.Hour
	}
	sec := newSecret(tokenPrefix)
	err := st.AddToken(ctx, store.Credential{Selector: sec.selector, Hash: sec.hash, PersonID: personID, Device: device, ExpiresAt: now.Add(ttl)},
		tracker.AuditEntry{At: now, Actor: "local-admin-command", Action: "token.issue", Subject: personID, Detail: "token issued on the server host"})
	if err != nil {
		return "", fmt.Errorf("issuing token: %w", err)
	}
	return sec.full, nil
}

func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a per-IP token bucket for authentication attempts.
type limiter struct {
	mu      sync.Mutex
	perMin  float64
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMin, burst int, now func() time.Time) *limiter {
	return &limiter{perMin: float64(perMin), burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

func (l *limiter) refill(ip string) *bucket {
	now := l.now()
	if now.Sub(l.sweep) > 10*time.Minute {
		// Forget full buckets so the map does not grow without bound.
		for k, b := range l.buckets {
			if now.Sub(b.last) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Minutes()*l.perMin)
	b.last = now
	return b
}

// take spends one attempt if there is one.
func (l *limiter) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(ip)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
