package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

// Audited reads and refusals. Who looked at whom is part of the record an
// auditor relies on, so exports, people listings and audit reads are
// logged like changes are; refused requests too, but rate-limited, so a
// flood of bad requests cannot fill the log.
const (
	actPersonExport = "person.export"
	actExportCSV    = "export.csv"
	actExportJSON   = "export.json"
	actPeopleList   = "people.list"
	actTeamRead     = "team.read"
	actAuditRead    = "audit.read"
	actRefused      = "request.refused"
)

// auditRead records that c read something. A read that cannot be
// recorded is not served.
func (s *Server) auditRead(ctx context.Context, c *caller, action, subject, detail string) error {
	return s.cfg.Store.AppendAudit(ctx, tracker.AuditEntry{At: s.cfg.Now(), Actor: c.ID, Action: action, Subject: subject, Detail: detail})
}

type callerKey struct{}

// callerSlot carries the authenticated caller from authenticate to adapt,
// which logs refusals: a 403 names who was refused.
type callerSlot struct{ id string }

func noteCaller(r *http.Request, c *caller) {
	if slot, ok := r.Context().Value(callerKey{}).(*callerSlot); ok && c != nil {
		slot.id = c.ID
	}
}

// refusedLog decides which refused requests are written to the audit log:
// a token bucket per client address and one for all, so neither one
// address nor many can write more than their share. What is left out is
// counted and reported in the next entry that is written.
type refusedLog struct {
	perIP, all *limiter
	mu         sync.Mutex
	dropped    int
	since      time.Time
}

func newRefusedLog(rate, burst, total int, now func() time.Time) *refusedLog {
	return &refusedLog{perIP: newLimiter(rate, burst, now), all: newLimiter(total, total, now)}
}

// admit reports whether to log this refusal and how many were left out
// before it.
func (l *refusedLog) admit(ip string, now time.Time) (bool, int, time.Time) {
	ok := l.perIP.take(ip) && l.all.take("")
	l.mu.Lock()
	defer l.mu.Unlock()
	if !ok {
		if l.dropped == 0 {
			l.since = now
		}
		l.dropped++
		return false, 0, time.Time{}
	}
	n, since := l.dropped, l.since
	l.dropped = 0
	return true, n, since
}

// refusal reports whether code is a refusal the audit log records.
func refusal(code int) bool {
	return code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusTooManyRequests
}

// auditRefused logs a 401, 403 or 429: the address, method and path (never
// the query or headers, where a credential could be), and who it was when
// the credential worked. It never fails the request.
func (s *Server) auditRefused(r *http.Request, code int) {
	now := s.cfg.Now()
	ip := s.clientIP(r)
	ok, dropped, since := s.refusals.admit(ip, now)
	if !ok {
		return
	}
	actor := "anonymous"
	if slot, _ := r.Context().Value(callerKey{}).(*callerSlot); slot != nil && slot.id != "" {
		actor = slot.id
	}
	detail := fmt.Sprintf("%d %s %s from %s", code, r.Method, r.URL.Path, ip)
	if dropped > 0 {
		detail += fmt.Sprintf("; %d more refusals since %s not logged (rate limit)", dropped, since.UTC().Format(time.RFC3339))
	}
	// Its own deadline: the request's may be what ran out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.cfg.Store.AppendAudit(ctx, tracker.AuditEntry{At: now, Actor: actor, Action: actRefused, Detail: detail}); err != nil {
		s.cfg.Logf("tracker: logging a refused request: %v", err)
	}
}
