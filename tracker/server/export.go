package server

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

// exportCSV writes one row per enrolment item in the caller's scope, plus one
// row for each person with no items, for auditors' spreadsheets.
func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request, c *caller) error {
	v, keys, items, err := s.teamView(r.Context(), c, r.URL.Query().Get("manager"))
	if err != nil {
		return err
	}
	type pk struct {
		person string
		serial uint32
	}
	keyOf := make(map[pk]tracker.Key, len(keys))
	for _, k := range keys {
		keyOf[pk{k.PersonID, k.Serial}] = k
	}
	byPerson := make(map[string][]tracker.Item)
	for _, it := range items {
		byPerson[it.PersonID] = append(byPerson[it.PersonID], it)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="keywizard-enrolment.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"email", "name", "team", "start_date", "complete", "overdue", "serial", "role", "model", "key_status", "genuine", "firmware", "service", "evidence", "at", "app_version", "left_at"})
	// Leavers' records are kept for the retention period, and exported.
	for _, row := range append(slices.Clone(v.Rows), v.Leavers...) {
		p := row.Person
		base := []string{p.Email, p.Name, p.Team, p.StartDate, strconv.FormatBool(row.Complete), strconv.FormatBool(row.Overdue)}
		its := byPerson[p.ID]
		if len(its) == 0 {
			cw.Write(csvCells(append(base, "", "", "", "", "", "", "", "", "", "", stamp(p.LeftAt))...))
			continue
		}
		for _, it := range its {
			k := keyOf[pk{p.ID, it.Serial}]
			cw.Write(csvCells(append(base, strconv.FormatUint(uint64(it.Serial), 10), string(k.Role), k.Model, string(k.Status),
				strconv.FormatBool(k.Genuine), k.Firmware, it.Service, string(it.Evidence), it.At.Format(time.RFC3339), it.AppVersion, stamp(p.LeftAt))...))
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCells defuses spreadsheet formulas: a cell starting with = + - @ would
// run when an auditor opens the file.
func csvCells(vs ...string) []string {
	for i, v := range vs {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			vs[i] = "'" + v
		}
	}
	return vs
}

// Export is the JSON export: the caller's scope as records and as the view.
type Export struct {
	GeneratedAt time.Time        `json:"generated_at"`
	People      []tracker.Person `json:"people"`
	Keys        []tracker.Key    `json:"keys"`
	Items       []tracker.Item   `json:"items"`
	View        tracker.TeamView `json:"view"`
}

func (s *Server) exportJSON(w http.ResponseWriter, r *http.Request, c *caller) error {
	v, keys, items, err := s.teamView(r.Context(), c, r.URL.Query().Get("manager"))
	if err != nil {
		return err
	}
	x := Export{GeneratedAt: v.GeneratedAt, People: make([]tracker.Person, 0, len(v.Rows)), Keys: keys, Items: items, View: v}
	for _, row := range append(slices.Clone(v.Rows), v.Leavers...) {
		x.People = append(x.People, row.Person)
	}
	if x.Keys == nil {
		x.Keys = []tracker.Key{}
	}
	if x.Items == nil {
		x.Items = []tracker.Item{}
	}
	w.Header().Set("Content-Disposition", `attachment; filename="keywizard-enrolment.json"`)
	return writeJSON(w, http.StatusOK, x)
}
