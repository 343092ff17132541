package tracker_test

import (
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

func TestBuildTeamView(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	services := []string{"google", "github"}
	people := []tracker.Person{
		{ID: "done", Name: "Done", StartDate: "2025-01-01"},
		{ID: "late", Name: "Late", StartDate: "2026-01-01"},
		{ID: "new", Name: "New", StartDate: "2026-03-01"},
		{ID: "future", Name: "Future", StartDate: "2026-04-01"},
		{ID: "reuse", Name: "Reuse", StartDate: "2026-03-01"},
	}
	full := func(p string, serial uint32) []tracker.Item {
		var out []tracker.Item
		for _, s := range []string{"google", "github", "otp"} {
			out = append(out, tracker.Item{PersonID: p, Serial: serial, Service: s, Evidence: tracker.EvidenceBySystem})
		}
		return out
	}
	keys := []tracker.Key{
		{Serial: 1, PersonID: "done", Role: tracker.RoleEveryday, Status: tracker.KeyActive, Genuine: true},
		{Serial: 2, PersonID: "done", Role: tracker.RoleBackup, Status: tracker.KeyActive},
		{Serial: 3, PersonID: "late", Role: tracker.RoleEveryday, Status: tracker.KeyActive},
		{Serial: 4, PersonID: "late", Role: tracker.RoleBackup, Status: tracker.KeyLost, UpdatedAt: now},
		// Serial 5 once belonged to "late" (retired), now to "reuse".
		{Serial: 5, PersonID: "reuse", Role: tracker.RoleEveryday, Status: tracker.KeyActive},
	}
	var items []tracker.Item
	items = append(items, full("done", 1)...)
	items = append(items, full("done", 2)...)
	items = append(items, full("late", 3)...)
	items = append(items, full("late", 4)...)
	items = append(items, full("late", 5)...) // previous owner's items
	v := tracker.BuildTeamView(tracker.Person{ID: "m"}, people, keys, items, services, now)

	var order []string
	for _, r := range v.Rows {
		order = append(order, r.Person.ID)
	}
	want := []string{"late", "new", "reuse", "future", "done"}
	if len(order) != len(want) {
		t.Fatalf("rows %v", order)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	row := func(id string) tracker.Row {
		for _, r := range v.Rows {
			if r.Person.ID == id {
				return r
			}
		}
		t.Fatalf("no row %s", id)
		return tracker.Row{}
	}
	if r := row("done"); !r.Complete || r.Overdue || !r.Everyday.Genuine || r.Backup.Genuine || !r.Backup.OTPDisabled {
		t.Errorf("done: %+v", r)
	}
	if r := row("late"); r.Complete || !r.Overdue || r.Backup.Serial != 0 || r.DaysSinceStart != 60 {
		t.Errorf("late (backup lost): %+v", r)
	}
	if r := row("reuse"); len(r.Everyday.Services) != 0 || r.Everyday.OTPDisabled {
		t.Errorf("reused key shows its previous owner's items: %+v", r.Everyday)
	}
	if r := row("future"); r.Overdue || r.DaysSinceStart >= 0 {
		t.Errorf("future starter: %+v", r)
	}
	if len(v.LostKeys) != 1 || v.LostKeys[0].Key.Serial != 4 || v.LostKeys[0].Person.ID != "late" {
		t.Errorf("lost keys %+v", v.LostKeys)
	}
	if v.Summary != (tracker.Summary{People: 5, Complete: 1, Overdue: 1}) {
		t.Errorf("summary %+v", v.Summary)
	}
	// OTP is required: without it a key is not done.
	noOTP := []tracker.Item{}
	for _, it := range items {
		if !(it.PersonID == "done" && it.Serial == 2 && it.Service == "otp") {
			noOTP = append(noOTP, it)
		}
	}
	if tracker.Complete(people[0], keys, noOTP, services) {
		t.Error("complete without OTP disabled on the backup key")
	}
}
