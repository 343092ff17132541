package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/keywizard/keywizard/tracker"
)

// The dashboard's search box: a key serial or part of a name or e-mail
// address, answered only from what the caller may see anyway (IT:
// everyone; a manager: themselves and their reporting tree; a person:
// themselves), so a search reveals nothing the dashboard would not.

// maxHits bounds a search's results.
const maxHits = 50

// searchHit is one result: a person, with the key the query named.
type searchHit struct {
	Person tracker.Person
	Key    *tracker.Key
}

type searchData struct {
	Title  string
	Caller tracker.Person
	CSRF   string
	Query  string
	Hits   []searchHit
	// More is true when there were more than maxHits results.
	More bool
}

// IT is whether the key forms are shown.
func (d searchData) IT() bool { return d.Caller.Admin }

// visible returns the people c may see and their keys.
func (s *Server) visible(ctx context.Context, c *caller) ([]tracker.Person, []tracker.Key, error) {
	var people []tracker.Person
	var err error
	if c.Admin {
		people, err = s.cfg.Store.People(ctx)
	} else {
		people, err = s.cfg.Store.Reports(ctx, c.ID)
		people = append(people, c.Person)
	}
	if err != nil {
		return nil, nil, err
	}
	var ids []string // nil: everyone
	if !c.Admin {
		for _, p := range people {
			ids = append(ids, p.ID)
		}
	}
	keys, _, err := s.cfg.Store.Records(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	return people, keys, nil
}

// search finds q among what c may see: a serial matches that key exactly;
// otherwise q matches names and e-mail addresses, case-insensitively.
func (s *Server) search(ctx context.Context, c *caller, q string) ([]searchHit, bool, error) {
	people, keys, err := s.visible(ctx, c)
	if err != nil {
		return nil, false, err
	}
	byID := make(map[string]tracker.Person, len(people))
	for _, p := range people {
		byID[p.ID] = p
	}
	var hits []searchHit
	if serial, err := strconv.ParseUint(q, 10, 32); err == nil {
		for _, k := range keys {
			if uint64(k.Serial) == serial {
				if p, ok := byID[k.PersonID]; ok {
					hits = append(hits, searchHit{Person: p, Key: &k})
				}
			}
		}
		return hits, false, nil
	}
	needle := strings.ToLower(q)
	for _, p := range people {
		if strings.Contains(strings.ToLower(p.Name), needle) || strings.Contains(strings.ToLower(p.Email), needle) {
			hits = append(hits, searchHit{Person: p})
		}
	}
	slices.SortFunc(hits, func(a, b searchHit) int { return strings.Compare(a.Person.Name, b.Person.Name) })
	if len(hits) > maxHits {
		return hits[:maxHits], true, nil
	}
	return hits, false, nil
}

func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Title: "Search", Caller: c.Person, CSRF: formToken(c.cred), Query: q}
	if len([]rune(q)) > 200 {
		return &HTTPError{Code: http.StatusBadRequest, Msg: "q: at most 200 characters", Field: "q"}
	}
	if q != "" {
		var err error
		if d.Hits, d.More, err = s.search(r.Context(), c, q); err != nil {
			return err
		}
		// What was shown is a read of those records; the query is not
		// kept (it may be a name), the one person found is.
		subject := ""
		if len(d.Hits) == 1 {
			subject = d.Hits[0].Person.ID
		}
		if err := s.auditRead(r.Context(), c, actSearch, subject, fmt.Sprintf("dashboard search, %d results", len(d.Hits))); err != nil {
			return err
		}
	}
	return render(w, http.StatusOK, "search", d)
}
