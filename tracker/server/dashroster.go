package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/store"
)

// The dashboard's words for people: service names for IDs, "starts in 9
// days", indirect reports, what is left to do, and HTML error pages for
// browsers in place of the API's JSON.

// namesOf returns the names of the services ids, by names (a view's
// ServiceNames, as the reports named them), falling back to the ID.
func namesOf(ids []string, names map[string]string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if n := names[id]; n != "" {
			out[i] = n
		}
	}
	return out
}

// startsIn is the number of calendar days (UTC) from now to the start
// date, or 0 if it has passed or cannot be read.
func startsIn(startDate string, now time.Time) int {
	start, err := tracker.ParseDate(startDate)
	if err != nil {
		return 0
	}
	y, m, d := now.UTC().Date()
	return max(0, int(start.Sub(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)).Hours()/24))
}

// rowDetail fills in a row's words: days until the start, the manager an
// indirect report reports to (named where the view has them), and what is
// left to do.
func (s *Server) rowDetail(r dashRow, v tracker.TeamView) dashRow {
	r.StartsIn = startsIn(r.Person.StartDate, v.GeneratedAt)
	if r.Indirect {
		r.Via = "indirect"
		for _, o := range v.Rows {
			if o.Person.ID == r.Person.ManagerID {
				r.Via = "via " + o.Person.Name
				break
			}
		}
	}
	if !r.Complete {
		r.Left = leftToDo(r.ToDo(v.Services), v.ServiceNames)
	}
	return r
}

// leftToDo says what is left in a line: "everyday key: enrol it; backup
// key: GitHub, turn off OTP".
func leftToDo(todo []tracker.ToDo, names map[string]string) string {
	var parts []string
	for _, t := range todo {
		what := string(t.Role) + " key: "
		if t.NoKey {
			parts = append(parts, what+"enrol it")
			continue
		}
		items := namesOf(t.Services, names)
		if t.OTPOn {
			items = append(items, "turn off OTP")
		}
		parts = append(parts, what+strings.Join(items, ", "))
	}
	return strings.Join(parts, "; ")
}

// wantsHTML reports whether an error answer should be a page: for the
// dashboard's own paths always, and for any other path but SCIM's when
// the client is a browser asking for HTML (a followed export link).
func wantsHTML(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/scim/"):
		return false
	case p == "/dashboard", strings.HasPrefix(p, "/dashboard/"), p == "/login", strings.HasPrefix(p, "/login/"), p == "/logout":
		return true
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// errorPage is what the error template shows: a headline, one next action
// and the details behind them.
type errorPage struct {
	Title    string
	Headline string
	Next     string
	// Link and LinkText are the next action's link, if any.
	Link, LinkText string
	Code           int
	Detail         string
}

// errorWords are the headline and next action for each status.
func errorWords(he *HTTPError) errorPage {
	e := errorPage{Code: he.Code, Detail: he.Msg, Link: "/dashboard", LinkText: "Back to the dashboard"}
	if he.page != nil {
		e.Headline, e.Next, e.Link, e.LinkText, e.Title = he.page.Headline, he.page.Next, he.page.Link, he.page.LinkText, he.page.Headline
		return e
	}
	switch he.Code {
	case http.StatusUnauthorized:
		e.Headline, e.Next, e.Link, e.LinkText = "You are not signed in", "Sign in with your token or invite code.", "/login", "Sign in"
	case http.StatusForbidden:
		e.Headline, e.Next = "You cannot see or do this", "Go back to your dashboard; ask IT if you need this page."
		if he == errBadForm {
			e.Headline, e.Next = "This form has expired", "Reload the page and send the form again."
		}
	case http.StatusNotFound:
		e.Headline, e.Next = "Nothing here", "The person or page may have been removed. Go back to your dashboard."
	case http.StatusMethodNotAllowed:
		e.Headline, e.Next = "That link does not work this way", "Use the dashboard's own links and buttons."
	case http.StatusTooManyRequests:
		e.Headline, e.Next, e.Link, e.LinkText = "Too many attempts", "Wait a minute, then try again.", "/login", "Sign in"
	case http.StatusServiceUnavailable:
		e.Headline, e.Next = "The tracker is busy", "Try again in a moment."
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		e.Headline, e.Next = "That did not work", "Go back, correct it and try again."
	default:
		e.Headline, e.Next = "Something went wrong on the tracker", "Try again; if it keeps happening, tell IT the time it happened."
	}
	e.Title = e.Headline
	return e
}

// renderError writes he as an HTML page with the same status. The detail
// is the message the JSON answer would carry, which holds no internal
// error: those are logged, not shown.
func renderError(w http.ResponseWriter, r *http.Request, he *HTTPError) {
	if err := render(w, he.Code, "error", errorWords(he)); err != nil {
		writeJSON(w, he.Code, tracker.ErrorBody{Error: he.Msg, Field: he.Field})
	}
}

// roster is the person page's roster detail.
type roster struct {
	// Due is the enrolment due date in effect (YYYY-MM-DD).
	Due string
	// Left is what is left to do, in words; Complete when nothing is.
	Left     string
	Complete bool
	// StartsIn is the number of days until the start date, 0 once started.
	StartsIn int
	// RetainUntil is when a leaver's records may be erased as
	// retention-expired.
	RetainUntil time.Time
	// ManagerEmail fills in the edit form.
	ManagerEmail string
	names        map[string]string
}

// ServiceName is the service's name for the page, or its ID.
func (r roster) ServiceName(id string) string {
	if n := r.names[id]; n != "" {
		return n
	}
	return id
}

func (s *Server) rosterOf(ctx context.Context, p tracker.Person, keys []tracker.Key, items []tracker.Item) (roster, error) {
	services, err := s.services(ctx)
	if err != nil {
		return roster{}, err
	}
	ids := tracker.ServiceIDs(services)
	r := roster{names: serviceNames(services)}
	if due := p.Due(); !due.IsZero() {
		r.Due = due.Format(time.DateOnly)
	}
	if p.Left() {
		r.RetainUntil = p.LeftAt.Add(s.cfg.LeaverRetention)
	}
	r.StartsIn = startsIn(p.StartDate, s.cfg.Now())
	// The person's row as the team view has it: the same rule decides
	// complete and what is left. A leaver has no row (nothing to do).
	v := tracker.BuildTeamViewPolicy(tracker.Person{}, []tracker.Person{p}, keys, items, ids, s.cfg.Now(), *s.cfg.Policy)
	if len(v.Rows) == 1 {
		r.Complete = v.Rows[0].Complete
		if !r.Complete {
			r.Left = leftToDo(v.Rows[0].ToDo(ids), r.names)
		}
	}
	if p.ManagerID != "" {
		m, err := s.cfg.Store.Person(ctx, p.ManagerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
		r.ManagerEmail = m.Email
	}
	return r, nil
}

// Self is whether the caller is looking at their own page.
func (d personData) Self() bool { return d.Caller.ID == d.Person.ID }

// leaverRow is a leaver in the dashboard's leavers table.
type leaverRow struct {
	Person      tracker.Person
	RetainUntil time.Time
	// Erasable: the retention period has ended; IT may erase the records
	// with the reason retention-expired.
	Erasable bool
}

// leaverRows lists the view's leavers, those whose retention has ended
// first, then by when they left.
func (s *Server) leaverRows(v tracker.TeamView) []leaverRow {
	out := make([]leaverRow, 0, len(v.Leavers))
	for _, r := range v.Leavers {
		until := r.Person.LeftAt.Add(s.cfg.LeaverRetention)
		out = append(out, leaverRow{Person: r.Person, RetainUntil: until, Erasable: !v.GeneratedAt.Before(until)})
	}
	slices.SortFunc(out, func(a, b leaverRow) int {
		if a.Erasable != b.Erasable {
			if a.Erasable {
				return -1
			}
			return 1
		}
		return a.Person.LeftAt.Compare(b.Person.LeftAt)
	})
	return out
}
