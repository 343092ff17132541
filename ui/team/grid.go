package team

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/tracker"
)

// Mark is what one key shows in one column of the table.
type Mark int

// Marks, for service columns (evidence levels, tracker.Evidence) and for
// the OTP and genuine columns.
const (
	// MarkNoKey: the person has no active key in that role yet.
	MarkNoKey Mark = iota
	// MarkMissing: the key exists but the service (or OTP off) is not done.
	MarkMissing
	// MarkSelfAttested: the person said so; nothing could check it.
	MarkSelfAttested
	// MarkBySystem: the service or the OS confirmed the registration.
	MarkBySystem
	// MarkOnKey: the wizard read the credential back from the key.
	MarkOnKey
	// MarkDone: OTP is disabled, or the key is attested genuine.
	MarkDone
	// MarkUnconfirmed: no attestation chained to a Yubico root (yet).
	MarkUnconfirmed
)

// String describes m in words, for the row details and for tests.
func (m Mark) String() string {
	switch m {
	case MarkNoKey:
		return "no key yet"
	case MarkMissing:
		return "missing"
	case MarkSelfAttested:
		return "self-attested"
	case MarkBySystem:
		return "confirmed by the service"
	case MarkOnKey:
		return "verified on the key"
	case MarkDone:
		return "yes"
	case MarkUnconfirmed:
		return "not confirmed"
	}
	return fmt.Sprintf("Mark(%d)", int(m))
}

// columnKind says what a table column shows.
type columnKind int

const (
	colPerson columnKind = iota
	colStatus
	colService
	colOTP
	colGenuine
)

// column is one column of the table.
type column struct {
	kind    columnKind
	service string // colService only
	title   string
	width   float32
}

// Column widths chosen so the default five services fit a 1024x768 window
// (ui.DefaultSize) without horizontal scrolling: 192+124+7*92 plus nine
// 4px separators is 996 of the 1008 the table gets; "1Password" in bold
// needs 92, "Overdue · day 100" 124.
const (
	personWidth = 192
	statusWidth = 124
	markWidth   = 92
)

// shortTitles are narrow column headings for the default catalogue's
// services, whose names ("macOS smart-card login") do not fit a column of
// markWidth. They only abbreviate: which columns there are comes from the
// view (the catalogue the reports named), and other services are headed
// with the name the reports gave them.
var shortTitles = map[string]string{
	"google":    "Google",
	"macos":     "macOS",
	"aws":       "AWS",
	"1password": "1Password",
	"github":    "GitHub",
}

// serviceTitle heads service s's column in v.
func serviceTitle(v tracker.TeamView, s string) string {
	if t, ok := shortTitles[s]; ok {
		return t
	}
	if n := v.ServiceNames[s]; n != "" {
		return n
	}
	return s
}

// columns lays out the table for v: the person, their status, one column
// per required service in the view's order, then OTP and genuine. Each
// key-column shows the everyday and the backup key side by side, like the
// dashboard's E/B column pairs.
func columns(v tracker.TeamView) []column {
	cols := []column{
		{kind: colPerson, title: "Person", width: personWidth},
		{kind: colStatus, title: "Status", width: statusWidth},
	}
	for _, s := range v.Services {
		cols = append(cols, column{kind: colService, service: s, title: serviceTitle(v, s), width: markWidth})
	}
	return append(cols,
		column{kind: colOTP, title: "OTP off", width: markWidth},
		column{kind: colGenuine, title: "Genuine", width: markWidth})
}

// mark is what cell c (one key) shows in column col.
func mark(c tracker.Cell, col column) Mark {
	if c.Serial == 0 {
		return MarkNoKey
	}
	switch col.kind {
	case colService:
		e, ok := c.Services[col.service]
		if !ok {
			return MarkMissing
		}
		switch e {
		case tracker.EvidenceOnKey:
			return MarkOnKey
		case tracker.EvidenceBySystem:
			return MarkBySystem
		case tracker.EvidenceSelf:
			return MarkSelfAttested
		}
		// An evidence level this app does not know yet is still a claim
		// that the service is set up; show the weakest.
		return MarkSelfAttested
	case colOTP:
		if c.OTPDisabled {
			return MarkDone
		}
		return MarkMissing
	case colGenuine:
		if c.Genuine {
			return MarkDone
		}
		return MarkUnconfirmed
	}
	return MarkNoKey
}

// marks returns what the everyday and the backup key show in col.
func marks(r tracker.Row, col column) (everyday, backup Mark) {
	return mark(r.Everyday, col), mark(r.Backup, col)
}

// status is the Status column's two lines and how loudly to show the
// first, worded as the dashboard does ("overdue · day 45", "complete",
// "day 12"). Two short lines rather than one long one: "Overdue · day 365"
// in bold would need a column too wide for 1024x768.
func status(r tracker.Row, at time.Time) (head, detail string, imp widget.Importance) {
	switch {
	case r.Complete:
		return "Complete", "", widget.SuccessImportance
	case r.Overdue:
		return "Overdue", fmt.Sprintf("day %d", r.DaysSinceStart), widget.DangerImportance
	}
	if start, err := tracker.ParseDate(r.Person.StartDate); err == nil && !at.IsZero() {
		// DaysSinceStart truncates towards zero, which is a day short
		// before the start date (9:30 on the 2nd is -6.6 days from the
		// 9th); count calendar days instead.
		y, m, d := at.UTC().Date()
		if until := int(start.Sub(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)).Hours() / 24); until > 0 {
			if until == 1 {
				return "Not started", "starts tomorrow", widget.MediumImportance
			}
			return "Not started", fmt.Sprintf("starts in %d days", until), widget.MediumImportance
		}
	}
	// "of 30": the deadline is a month (tracker.OverdueAfter).
	return "In progress", fmt.Sprintf("day %d of %d", r.DaysSinceStart, int(tracker.OverdueAfter.Hours()/24)), widget.MediumImportance
}

// statusLine is status on one line, for the row details.
func statusLine(r tracker.Row, at time.Time) string {
	head, detail, _ := status(r, at)
	if detail == "" {
		return head
	}
	return head + " · " + detail
}

// personLine is the second line of the Person column.
func personLine(p tracker.Person) string {
	if p.Team == "" {
		return p.Email
	}
	return p.Email + " · " + p.Team
}

// title heads the view: whose team it is.
func title(v tracker.TeamView) string {
	if v.Manager.ID == "" {
		// The tracker sends everyone to IT administrators (GET /v1/team
		// without ?manager=, tracker/server teamView).
		return "Everyone in the tracker"
	}
	return "Team of " + v.Manager.Name
}

// summary counts the view's rows and lost keys in one line.
func summary(v tracker.TeamView) string {
	return fmt.Sprintf("%s · %d complete · %d overdue · %s",
		plural(v.Summary.People, "person"), v.Summary.Complete, v.Summary.Overdue, plural(len(v.LostKeys), "lost key"))
}

// lostLine describes one lost key.
func lostLine(l tracker.LostKey) string {
	s := fmt.Sprintf("%s <%s> · %s key %s, serial %d", l.Person.Name, l.Person.Email, l.Key.Role, l.Key.Model, l.Key.Serial)
	if !l.Key.UpdatedAt.IsZero() {
		s += " · reported " + l.Key.UpdatedAt.Local().Format("2 Jan 2006")
	}
	return s
}

// details spells out one row in words: what the table shows as icons, and
// what it has no room for (serials, models, firmware).
func details(v tracker.TeamView, r tracker.Row) string {
	var b strings.Builder
	st := statusLine(r, v.GeneratedAt)
	fmt.Fprintf(&b, "%s\nStarted %s · %s\n", personLine(r.Person), r.Person.StartDate, st)
	cols := columns(v)
	for _, k := range []struct {
		name string
		cell tracker.Cell
	}{{"Everyday key", r.Everyday}, {"Backup key", r.Backup}} {
		b.WriteString("\n")
		if k.cell.Serial == 0 {
			fmt.Fprintf(&b, "%s: none yet\n", k.name)
			continue
		}
		fmt.Fprintf(&b, "%s: %s, serial %d", k.name, k.cell.Model, k.cell.Serial)
		if k.cell.Firmware != "" {
			fmt.Fprintf(&b, ", firmware %s", k.cell.Firmware)
		}
		b.WriteString("\n")
		for _, c := range cols[2:] {
			m := mark(k.cell, c)
			switch c.kind {
			case colOTP:
				if m == MarkDone {
					b.WriteString("  OTP: disabled\n")
				} else {
					b.WriteString("  OTP: still enabled\n")
				}
			case colGenuine:
				// The time is the tracker's check of the attestation,
				// shown only when the tracker kept one.
				checked := ""
				if at := k.cell.GenuineCheckedAt; !at.IsZero() {
					checked = ", checked at " + at.Local().Format("2 Jan 2006 15:04")
				}
				switch {
				case m == MarkDone:
					fmt.Fprintf(&b, "  Genuine YubiKey: yes (attested%s)\n", checked)
				case checked != "":
					fmt.Fprintf(&b, "  Genuine YubiKey: not confirmed (%s)\n", strings.TrimPrefix(checked, ", "))
				default:
					b.WriteString("  Genuine YubiKey: not confirmed\n")
				}
			default:
				fmt.Fprintf(&b, "  %s: %s\n", c.title, m)
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// plural writes n and noun, adding "s" (or "people") when n is not one.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if noun == "person" {
		return fmt.Sprintf("%d people", n)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
