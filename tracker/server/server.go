// Package server is the onboarding tracker's HTTP service: the versioned
// JSON API described by tracker/openapi.json, the server-rendered dashboard,
// CSV/JSON exports, the completion webhook and the daily overdue digest.
//
// Handlers have the shape func(w, r) error (as in tailscale's tsweb): they
// return an error and one adapter turns it into a status code and a JSON
// body, and logs it. Secrets (tokens, invite codes) are never logged or
// echoed.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/store"
)

// Config configures a [Server]. Store is required; the rest have defaults.
type Config struct {
	Store store.Store
	// Verifier checks PIV attestations; nil leaves keys unverified.
	Verifier *attest.Verifier
	// Services, if set, are the services every key must have, in column
	// order. By default they are those of the catalogue the latest report
	// named (tracker.Report.Services), so the wizard's catalogue is the
	// one list.
	Services []string
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Logf logs one line; defaults to log.Printf.
	Logf func(format string, args ...any)
	// WebhookURL receives Slack-compatible JSON on completion and in the
	// daily digest; empty disables notifications.
	WebhookURL string
	// HTTPClient sends webhooks; defaults to a client with a 10 s timeout.
	HTTPClient *http.Client
	// InviteTTL is how long an invite code works; default 14 days.
	InviteTTL time.Duration
	// TokenTTL is how long a token works; default one year. A wizard's
	// token only needs to outlive onboarding and any key replacement.
	TokenTTL time.Duration
	// AuthRate and AuthBurst bound authentication attempts per client IP
	// per minute; defaults 10 and 20.
	AuthRate, AuthBurst int
	// InsecureCookies drops the Secure attribute from the dashboard's
	// cookies, for plain-HTTP development only: by default a browser sends
	// them over HTTPS alone, so a session never crosses the network in the
	// clear.
	InsecureCookies bool
	// RequestTimeout bounds each request: its context ends then, store
	// calls give up, and the client gets a 503 with a JSON body. Default
	// 20 s, under the 30 s write timeout of `tracker serve`, so the 503 is
	// written before the connection is cut.
	RequestTimeout time.Duration
	// Signer signs exports (tracker/evidence). Nil: a key made for this
	// process only, logged as such; `tracker serve` always passes the key
	// kept in its data directory.
	Signer *evidence.Signer
	// RefusedRate and RefusedBurst bound how many refused requests (401,
	// 403, 429) per client IP per minute go into the audit log; defaults
	// 6 and 6. RefusedTotal bounds them across all addresses, default 60
	// a minute. The rest are counted in the next entry that is logged.
	RefusedRate, RefusedBurst, RefusedTotal int
	// TrustProxy takes the client IP for rate limits from the last
	// X-Forwarded-For entry, as appended by a load balancer. Only set it
	// when a proxy that appends that header always sits in front.
	TrustProxy bool

	// Roster (roster.go, scim.go).

	// LeaverRetention is how long a leaver's records are kept before they
	// may be erased as retention-expired; default DefaultLeaverRetention.
	LeaverRetention time.Duration

	// Integrity (integrity.go).

	// Policy decides completion; nil: tracker.DefaultPolicy.
	Policy *tracker.Policy
	// Limits bound each person's record; zero fields: store.DefaultLimits.
	Limits store.Limits
	// ReportRate and ReportBurst bound each person's reports per minute
	// on this instance; defaults 30 and 60.
	ReportRate, ReportBurst int

	// Sign-in (oidc.go).

	// OIDC, if set, offers OpenID Connect sign-in on /login.
	OIDC *OIDCConfig
}

// services are the required services, in column order: the configured
// ones (named as the reports name them, where they do), else those the
// latest report named.
func (s *Server) services(ctx context.Context) ([]tracker.Service, error) {
	named, err := s.cfg.Store.Services(ctx)
	if err != nil {
		return nil, err
	}
	if len(s.cfg.Services) == 0 {
		return named, nil
	}
	out := make([]tracker.Service, len(s.cfg.Services))
	for i, id := range s.cfg.Services {
		out[i] = tracker.Service{ID: id, Name: id}
		for _, n := range named {
			if n.ID == id {
				out[i].Name = n.Name
			}
		}
	}
	return out, nil
}

// Server serves the tracker API and dashboard.
type Server struct {
	cfg      Config
	limiter  *limiter
	mux      *http.ServeMux
	routes   []route
	wg       sync.WaitGroup // webhook deliveries in flight
	refusals *refusedLog
	scimState
	integrityState
	oidc oidcState
}

// New returns a server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	for _, s := range cfg.Services {
		if !tracker.ValidServiceID(s) || s == tracker.ServiceOTP {
			return nil, fmt.Errorf("server: invalid required service %q", s)
		}
	}
	cfg.Services = slices.Clone(cfg.Services)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.InviteTTL == 0 {
		cfg.InviteTTL = 14 * 24 * time.Hour
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 365 * 24 * time.Hour
	}
	if cfg.AuthRate == 0 {
		cfg.AuthRate = 10
	}
	if cfg.AuthBurst == 0 {
		cfg.AuthBurst = 20
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 20 * time.Second
	}
	if cfg.Signer == nil {
		sg, err := evidence.NewSigner()
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		cfg.Signer = sg
		cfg.Logf("tracker: exports are signed with a key made for this process only (no signing key configured)")
	}
	if cfg.RefusedRate == 0 {
		cfg.RefusedRate = 6
	}
	if cfg.RefusedBurst == 0 {
		cfg.RefusedBurst = 6
	}
	if cfg.RefusedTotal == 0 {
		cfg.RefusedTotal = 60
	}
	if cfg.LeaverRetention == 0 {
		cfg.LeaverRetention = DefaultLeaverRetention
	}
	s := &Server{cfg: cfg, limiter: newLimiter(cfg.AuthRate, cfg.AuthBurst, cfg.Now)}
	s.refusals = newRefusedLog(cfg.RefusedRate, cfg.RefusedBurst, cfg.RefusedTotal, cfg.Now)
	s.initIntegrity()
	s.mux = http.NewServeMux()
	s.routes = append(s.routeTable(), s.rosterRoutes()...)
	s.routes = append(s.routes, s.scimRoutes()...)
	s.routes = append(s.routes, s.lostRoutes()...)
	// paths knows every path regardless of method, to tell 405 from 404.
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.adapt(rt.h))
		if _, ok := allow[rt.Path]; !ok {
			paths.Handle(rt.Path, http.NotFoundHandler())
		}
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
	}
	// Anything else is a JSON 404 or 405 rather than the mux's plain text.
	s.mux.Handle("/", s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
			return nil
		}
		if _, pattern := paths.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allow[pattern], ", "))
			return &HTTPError{Code: http.StatusMethodNotAllowed, Msg: "method not allowed"}
		}
		return &HTTPError{Code: http.StatusNotFound, Msg: "no such endpoint"}
	}))
	return s, nil
}

// Handler returns the HTTP handler. It limits request bodies and gives
// each request a deadline (Config.RequestTimeout): the http.Server's
// timeouts bound reading and writing, not a slow database.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(context.WithValue(ctx, callerKey{}, new(callerSlot)))
		r.Body = http.MaxBytesReader(w, r.Body, tracker.MaxBodyBytes)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		s.mux.ServeHTTP(w, r)
	})
}

// Close waits for webhook deliveries in flight.
func (s *Server) Close() { s.wg.Wait() }

// Route is one registered method and path pattern, as in the OpenAPI file.
type Route struct {
	Method, Path string
}

type route struct {
	Method, Path string
	h            handlerFunc
}

// Routes lists every registered route.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, r := range s.routes {
		out[i] = Route{r.Method, r.Path}
	}
	return out
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// HTTPError is an error with a status code and a message safe to show the
// client. Err, if set, is logged but not shown.
type HTTPError struct {
	Code  int
	Msg   string
	Field string
	Err   error
	// page, if set, is the browser page's own headline and next step
	// (errorWords gives the status's otherwise).
	page *errorPage
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Msg)
}

func (e *HTTPError) Unwrap() error { return e.Err }

var (
	errUnauthorized = &HTTPError{Code: http.StatusUnauthorized, Msg: "missing or invalid credentials"}
	errForbidden    = &HTTPError{Code: http.StatusForbidden, Msg: "not allowed"}
	errNotFound     = &HTTPError{Code: http.StatusNotFound, Msg: "not found"}
	errRateLimited  = &HTTPError{Code: http.StatusTooManyRequests, Msg: "too many attempts; wait a minute"}
	errTimedOut     = &HTTPError{Code: http.StatusServiceUnavailable, Msg: "request timed out; try again"}
)

// statusWriter remembers the status for the log line, and has a refusal
// audited before its answer is sent, so whoever got the answer can find the
// entry.
type statusWriter struct {
	http.ResponseWriter
	code      int
	onRefusal func(code int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
		if refusal(code) && w.onRefusal != nil {
			w.onRefusal(code)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// adapt turns a handlerFunc into an http.Handler: it maps errors to status
// codes and JSON bodies and logs one line per failed request. Paths, not
// queries, are logged, since query strings are the one place a careless
// client might put a secret.
func (s *Server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.Now()
		sw := &statusWriter{ResponseWriter: w, onRefusal: func(code int) { s.auditRefused(r, code) }}
		err := h(sw, r)
		if err == nil {
			return
		}
		he := toHTTPError(err)
		if he.Code == http.StatusInternalServerError && r.Context().Err() != nil {
			// A driver may answer an ended context with its own error
			// (SQLite's "interrupted"); it is still the deadline.
			he = errTimedOut
		}
		if he.Code >= 500 {
			s.cfg.Logf("tracker: %s %s: %d: %v (%v)", r.Method, r.URL.Path, he.Code, err, s.cfg.Now().Sub(start))
		}
		if he.Code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "60")
		}
		if sw.code != 0 {
			return // the handler had started its answer
		}
		if wantsHTML(r) {
			renderError(sw, r, he)
			return
		}
		writeJSON(sw, he.Code, tracker.ErrorBody{Error: he.Msg, Field: he.Field})
	})
}

func toHTTPError(err error) *HTTPError {
	var (
		he *HTTPError
		fe *tracker.FieldError
		ce *store.ConflictError
		mb *http.MaxBytesError
		le *store.LimitError
	)
	switch {
	case errors.As(err, &he):
		return he
	case transitionError(err) != nil:
		return transitionError(err)
	case errors.As(err, &mb):
		return &HTTPError{Code: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body larger than %d bytes", mb.Limit)}
	case errors.As(err, &fe):
		msg := fe.Error()
		return &HTTPError{Code: http.StatusBadRequest, Msg: msg, Field: fe.Field}
	case errors.As(err, &le):
		return &HTTPError{Code: http.StatusRequestEntityTooLarge, Msg: le.Error(), Field: le.Limit}
	case errors.As(err, &ce):
		return &HTTPError{Code: http.StatusConflict, Msg: ce.Error(), Field: ce.Field}
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errTimedOut
	}
	return &HTTPError{Code: http.StatusInternalServerError, Msg: "internal error", Err: err}
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
