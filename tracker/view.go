package tracker

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// TeamView is what a manager sees: one row per person in their reporting
// tree. The dashboard, GET /v1/team and the app's team view all render it.
type TeamView struct {
	// Manager is the person whose team this is; empty ID means "everyone".
	Manager  Person   `json:"manager"`
	Services []string `json:"services"`
	// ServiceNames are the services' display names, as the reports named
	// them (tracker.Report.Services).
	ServiceNames map[string]string `json:"service_names,omitempty"`
	GeneratedAt  time.Time         `json:"generated_at"`
	Rows         []Row             `json:"rows"`
	// LostKeys lists keys lost or reported lost by their owner (not yet
	// confirmed by IT), newest first.
	LostKeys []LostKey `json:"lost_keys"`
	// KeysToCollect lists leavers' keys that are still active: IT is to
	// collect them and mark them retired.
	KeysToCollect []LostKey `json:"keys_to_collect"`
	// Leavers are the rows of people who left, kept for the retention
	// period: in the exports, not in the matrix or the counts.
	Leavers []Row   `json:"leavers"`
	Summary Summary `json:"summary"`
	// Policy is what counted as complete (the server's configuration).
	Policy Policy `json:"policy"`
}

// Summary counts the rows by state.
type Summary struct {
	People   int `json:"people"`
	Complete int `json:"complete"`
	Overdue  int `json:"overdue"`
}

// Row is one person in a [TeamView].
type Row struct {
	Person   Person `json:"person"`
	Everyday Cell   `json:"everyday"`
	Backup   Cell   `json:"backup"`
	Complete bool   `json:"complete"`
	Overdue  bool   `json:"overdue"`
	// DaysSinceStart is negative before the start date.
	DaysSinceStart int `json:"days_since_start"`
	// DueDate is when enrolment is due (YYYY-MM-DD, [Person.Due]); a row
	// is overdue once it has passed and the person is not complete.
	DueDate string `json:"due_date"`
	// Indirect is true when the person reports to the view's manager
	// through someone else.
	Indirect bool `json:"indirect"`
}

// Cell is one key's column group in a [Row]. A zero Serial means the person
// has no active key in that role yet.
type Cell struct {
	Serial   uint32 `json:"serial,omitempty"`
	Model    string `json:"model,omitempty"`
	Firmware string `json:"firmware,omitempty"`
	Genuine  bool   `json:"genuine"`
	// GenuineCheckedAt is the key's [Key.GenuineCheckedAt].
	GenuineCheckedAt time.Time           `json:"genuine_checked_at,omitzero"`
	OTPDisabled      bool                `json:"otp_disabled"`
	Services         map[string]Evidence `json:"services"`
}

// Has reports whether service s is registered on this key.
func (c Cell) Has(s string) bool { _, ok := c.Services[s]; return ok }

// LostKey is a key reported lost, with its owner.
type LostKey struct {
	Key    Key    `json:"key"`
	Person Person `json:"person"`
	// LostAt is when it was reported or marked lost (the tracker fills
	// it from the key's history; else the key's last update).
	LostAt time.Time `json:"lost_at,omitzero"`
	// ReplacedBy is the serial of the active key the person now has in
	// the lost key's role, if any; ReplacedAt when that key was enrolled
	// (the tracker fills it from the key's history).
	ReplacedBy uint32    `json:"replaced_by,omitempty"`
	ReplacedAt time.Time `json:"replaced_at,omitzero"`
}

// BuildTeamView assembles the view-model from stored records. people are the
// team members (not the manager), keys and items belong to them; services are
// the required services in column order. Keys in people's records that are
// not active are only listed as lost keys. Rows are ordered overdue first,
// then incomplete, then complete, each by start date then name.
func BuildTeamView(manager Person, people []Person, keys []Key, items []Item, services []string, now time.Time) TeamView {
	return BuildTeamViewPolicy(manager, people, keys, items, services, now, LegacyPolicy)
}

// BuildTeamViewPolicy is [BuildTeamView] judging completion by pol, which
// the view names (TeamView.Policy).
func BuildTeamViewPolicy(manager Person, people []Person, keys []Key, items []Item, services []string, now time.Time, pol Policy) TeamView {
	v := TeamView{
		Policy:        pol,
		Manager:       manager,
		Services:      slices.Clone(services),
		GeneratedAt:   now.UTC(),
		Rows:          make([]Row, 0, len(people)),
		LostKeys:      []LostKey{},
		KeysToCollect: []LostKey{},
		Leavers:       []Row{},
	}
	byID := make(map[string]Person, len(people))
	for _, p := range people {
		byID[p.ID] = p
	}
	type slot struct {
		person string
		role   KeyRole
	}
	active := make(map[slot]Key)
	// Evidence is keyed by person and serial: a retired key handed to
	// someone else must not carry its previous owner's items.
	type owned struct {
		person string
		serial uint32
	}
	activeSerial := make(map[owned]bool)
	for _, k := range keys {
		switch k.Status {
		case KeyActive:
			if p, ok := byID[k.PersonID]; ok && p.Left() {
				v.KeysToCollect = append(v.KeysToCollect, LostKey{Key: k, Person: p})
				continue
			}
			s := slot{k.PersonID, k.Role}
			// Two active keys in one role should not happen; prefer the
			// most recently updated so the view shows current work.
			if old, ok := active[s]; !ok || k.UpdatedAt.After(old.UpdatedAt) {
				active[s] = k
			}
		case KeyLost, KeyReportedLost:
			if p, ok := byID[k.PersonID]; ok {
				v.LostKeys = append(v.LostKeys, LostKey{Key: k, Person: p, LostAt: k.UpdatedAt})
			}
		}
	}
	for _, k := range active {
		activeSerial[owned{k.PersonID, k.Serial}] = true
	}
	for i, l := range v.LostKeys {
		if r, ok := active[slot{l.Key.PersonID, l.Key.Role}]; ok {
			v.LostKeys[i].ReplacedBy = r.Serial
		}
	}
	evidence := make(map[owned]map[string]Evidence)
	for _, it := range items {
		o := owned{it.PersonID, it.Serial}
		if !activeSerial[o] {
			continue
		}
		m := evidence[o]
		if m == nil {
			m = make(map[string]Evidence)
			evidence[o] = m
		}
		m[it.Service] = it.Evidence
	}
	cell := func(p string, r KeyRole) Cell {
		k, ok := active[slot{p, r}]
		if !ok {
			return Cell{Services: map[string]Evidence{}}
		}
		c := Cell{Serial: k.Serial, Model: k.Model, Firmware: k.Firmware, Genuine: k.Genuine, GenuineCheckedAt: k.GenuineCheckedAt, Services: map[string]Evidence{}}
		for s, e := range evidence[owned{p, k.Serial}] {
			if s == ServiceOTP {
				c.OTPDisabled = true
				continue
			}
			c.Services[s] = e
		}
		return c
	}
	for _, p := range people {
		if p.Left() {
			// A leaver has nothing left to do, and their active keys are
			// to collect (KeysToCollect), so their row has no keys.
			v.Leavers = append(v.Leavers, Row{Person: p, Everyday: Cell{Services: map[string]Evidence{}}, Backup: Cell{Services: map[string]Evidence{}}})
			continue
		}
		r := Row{Person: p, Everyday: cell(p.ID, RoleEveryday), Backup: cell(p.ID, RoleBackup)}
		r.Complete = pol.met(r, services)
		r.Indirect = manager.ID != "" && p.ManagerID != manager.ID
		if start, err := ParseDate(p.StartDate); err == nil {
			r.DaysSinceStart = int(math.Floor(now.Sub(start).Hours() / 24))
		}
		if due := p.Due(); !due.IsZero() {
			r.DueDate = due.Format(time.DateOnly)
			r.Overdue = !r.Complete && now.After(due)
		}
		v.Rows = append(v.Rows, r)
		v.Summary.People++
		if r.Complete {
			v.Summary.Complete++
		}
		if r.Overdue {
			v.Summary.Overdue++
		}
	}
	rank := func(r Row) int {
		switch {
		case r.Overdue:
			return 0
		case !r.Complete:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(v.Rows, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(rank(a), rank(b)),
			cmp.Compare(a.Person.StartDate, b.Person.StartDate),
			cmp.Compare(a.Person.Name, b.Person.Name),
			cmp.Compare(a.Person.ID, b.Person.ID),
		)
	})
	slices.SortFunc(v.LostKeys, func(a, b LostKey) int {
		return cmp.Or(b.Key.UpdatedAt.Compare(a.Key.UpdatedAt), cmp.Compare(a.Key.Serial, b.Key.Serial))
	})
	slices.SortFunc(v.KeysToCollect, func(a, b LostKey) int {
		return cmp.Or(a.Person.LeftAt.Compare(b.Person.LeftAt), cmp.Compare(a.Key.Serial, b.Key.Serial))
	})
	return v
}

// ToDo is what is left for one of a person's keys: no key yet, or the
// services still to register on it and whether OTP is still on.
type ToDo struct {
	Role     KeyRole
	NoKey    bool
	Services []string // required service IDs not yet on the key
	OTPOn    bool
}

// ToDo lists what is left before the row is complete, per key role,
// leaving out roles with nothing left.
func (r Row) ToDo(services []string) []ToDo {
	var out []ToDo
	for _, x := range []struct {
		role KeyRole
		c    Cell
	}{{RoleEveryday, r.Everyday}, {RoleBackup, r.Backup}} {
		if x.c.Serial == 0 {
			out = append(out, ToDo{Role: x.role, NoKey: true})
			continue
		}
		t := ToDo{Role: x.role, OTPOn: !x.c.OTPDisabled}
		for _, s := range services {
			if !x.c.Has(s) {
				t.Services = append(t.Services, s)
			}
		}
		if t.OTPOn || len(t.Services) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// Complete reports whether one person's keys and items make them complete;
// the server uses it to decide when to send the completion webhook.
func Complete(p Person, keys []Key, items []Item, services []string) bool {
	return LegacyPolicy.Complete(p, keys, items, services)
}
