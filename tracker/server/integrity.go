package server

import (
	"net/http"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

// integrityState is the server's part of the record's integrity: a
// per-person budget of reports, so one token cannot keep the single writer
// busy (see store.Limits for what a record may hold).
type integrityState struct {
	reportLimiter *limiter
}

var errReportRate = &HTTPError{Code: http.StatusTooManyRequests, Msg: "reports_per_minute: too many reports from this person; wait a minute", Field: "reports_per_minute"}

// limitPenalty is how many reports' budget a report refused by a limit
// costs: past its limits a token is soon held to a few reports a minute.
const limitPenalty = 10

// spend takes up to n attempts from key's bucket, leaving at least none.
func (l *limiter) spend(key string, n float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	b.tokens = max(0, b.tokens-n)
}

func (s *Server) initIntegrity() {
	if s.cfg.Policy == nil {
		p := tracker.DefaultPolicy
		s.cfg.Policy = &p
	}
	if s.cfg.ReportRate <= 0 {
		s.cfg.ReportRate = 30
	}
	if s.cfg.ReportBurst <= 0 {
		s.cfg.ReportBurst = 60
	}
	s.reportLimiter = newLimiter(s.cfg.ReportRate, s.cfg.ReportBurst, s.cfg.Now)
}

// rules are what reports are judged by.
func (s *Server) rules() store.Rules {
	return store.Rules{Services: s.cfg.Services, Policy: *s.cfg.Policy, Limits: s.cfg.Limits}
}
