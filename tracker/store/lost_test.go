package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// lostRules judge completion by one service, both keys, OTP off.
var lostRules = store.Rules{Services: []string{"google"}, Policy: tracker.LegacyPolicy}

func fullKey(key string, serial uint32, role tracker.KeyRole) tracker.Report {
	return report(key, serial, role, "google", tracker.ServiceOTP)
}

// TestCompletionFollowsKeys: completion is judged on active keys now. A
// person's completion drops when a key is reported lost, stays down while
// IT confirms it, and returns when a replacement in that role is enrolled;
// completed_at and the history say so (completed, incomplete since,
// completed again), and the outcomes say which write did each.
func TestCompletionFollowsKeys(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("ann", "ann@x.test", ""))
		mustCreate(t, s, person("bob", "bob@x.test", ""))
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

		if out, err := s.SubmitReportRules(ctx, "ann", fullKey("e", 100, tracker.RoleEveryday), store.KeyInfo{}, lostRules, at(1)); err != nil || out.Complete || out.NewlyComplete {
			t.Fatalf("first key: %+v, %v; want not complete", out, err)
		}
		out, err := s.SubmitReportRules(ctx, "ann", fullKey("b", 200, tracker.RoleBackup), store.KeyInfo{}, lostRules, at(2))
		if err != nil || !out.Complete || !out.NewlyComplete || out.Again {
			t.Fatalf("second key: %+v, %v; want newly complete, not again", out, err)
		}
		if p, _ := s.Person(ctx, "ann"); !p.Complete || !p.CompletedAt.Equal(at(2)) {
			t.Errorf("after both keys: complete %v since %v, want since %v", p.Complete, p.CompletedAt, at(2))
		}

		// Bob cannot report Ann's key; nothing changes.
		_, err = s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 200, Owner: "bob", To: tracker.KeyReportedLost, Rules: lostRules,
			Audit: tracker.AuditEntry{At: at(3), Actor: "bob", Action: "key.reported-lost", Reason: "mine now"}})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bob reporting ann's key: %v, want ErrNotFound", err)
		}
		// Naming the wrong role is refused.
		_, err = s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 200, Owner: "ann", Role: tracker.RoleEveryday, To: tracker.KeyReportedLost, Rules: lostRules,
			Audit: tracker.AuditEntry{At: at(3), Actor: "ann", Action: "key.reported-lost", Reason: "gone"}})
		var ce *store.ConflictError
		if !errors.As(err, &ce) || ce.Field != "role" {
			t.Errorf("wrong role: %v, want a conflict on role", err)
		}

		lost := func(h int, owner string, to tracker.KeyStatus, settled ...tracker.KeyStatus) store.KeyChangeOutcome {
			t.Helper()
			out, err := s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 200, Owner: owner, To: to, Settled: settled, Rules: lostRules,
				Audit: tracker.AuditEntry{At: at(h), Actor: "ann", Action: "key." + string(to), Reason: "left it on the train"}})
			if err != nil {
				t.Fatalf("key 200 to %s: %v", to, err)
			}
			return out
		}
		ko := lost(4, "ann", tracker.KeyReportedLost, tracker.KeyReportedLost, tracker.KeyLost)
		if !ko.Changed || ko.From != tracker.KeyActive || ko.Complete || !ko.Dropped {
			t.Errorf("report lost: %+v; want changed from active, dropped, not complete", ko)
		}
		if p, _ := s.Person(ctx, "ann"); p.Complete || !p.CompletedAt.IsZero() {
			t.Errorf("after loss: complete %v since %v, want not complete", p.Complete, p.CompletedAt)
		}
		// The report sent again (the wizard's queue) changes nothing.
		if ko := lost(5, "ann", tracker.KeyReportedLost, tracker.KeyReportedLost, tracker.KeyLost); ko.Changed || ko.Dropped {
			t.Errorf("loss reported twice: %+v; want unchanged", ko)
		}
		// IT confirms; still incomplete, nothing dropped twice.
		if ko := lost(6, "", tracker.KeyLost); !ko.Changed || ko.From != tracker.KeyReportedLost || ko.Dropped || ko.Complete {
			t.Errorf("confirm: %+v", ko)
		}
		// A lost key cannot be reported lost again by its owner (settled),
		// and a retired one goes nowhere.
		if ko := lost(7, "ann", tracker.KeyReportedLost, tracker.KeyReportedLost, tracker.KeyLost); ko.Changed {
			t.Errorf("reporting a confirmed loss: %+v; want unchanged", ko)
		}

		// A report about the everyday key does not make her complete.
		if out, err := s.SubmitReportRules(ctx, "ann", fullKey("e2", 100, tracker.RoleEveryday), store.KeyInfo{}, lostRules, at(8)); err != nil || out.Complete {
			t.Errorf("everyday again while backup lost: %+v, %v", out, err)
		}
		// The replacement for the backup role.
		out, err = s.SubmitReportRules(ctx, "ann", fullKey("b2", 300, tracker.RoleBackup), store.KeyInfo{}, lostRules, at(9))
		if err != nil || !out.Complete || !out.NewlyComplete || !out.Again {
			t.Fatalf("replacement: %+v, %v; want newly complete again", out, err)
		}
		if p, _ := s.Person(ctx, "ann"); !p.Complete || !p.CompletedAt.Equal(at(9)) {
			t.Errorf("after replacement: complete %v since %v, want since %v", p.Complete, p.CompletedAt, at(9))
		}
		// Resent, it is a duplicate and says complete now.
		if out, err := s.SubmitReportRules(ctx, "ann", fullKey("b2", 300, tracker.RoleBackup), store.KeyInfo{}, lostRules, at(10)); err != nil || !out.Duplicate || !out.Complete || out.NewlyComplete {
			t.Errorf("duplicate: %+v, %v; want duplicate, complete, not newly", out, err)
		}

		hist, err := s.CompletionHistory(ctx, []string{"ann"})
		if err != nil {
			t.Fatal(err)
		}
		var got []bool
		var when []time.Time
		for _, c := range hist["ann"] {
			got, when = append(got, c.Complete), append(when, c.At)
		}
		if !slices.Equal(got, []bool{true, false, true}) || !slices.Equal(when, []time.Time{at(2), at(4), at(9)}) {
			t.Errorf("completion history %+v; want complete at 2h, incomplete at 4h, complete at 9h", hist["ann"])
		}
		if c := hist["ann"][1].Cause; c != "key 200 reported lost" {
			t.Errorf("cause of the drop: %q", c)
		}

		// The lost key's record: its history, with reasons from the audit log.
		rec, err := s.KeyRecord(ctx, 200)
		if err != nil {
			t.Fatal(err)
		}
		var statuses []tracker.KeyStatus
		for _, e := range rec.History {
			statuses = append(statuses, e.Status)
		}
		if rec.PersonID != "ann" || rec.OwnerEmail != "ann@x.test" || rec.Status != tracker.KeyLost ||
			!slices.Equal(statuses, []tracker.KeyStatus{tracker.KeyActive, tracker.KeyReportedLost, tracker.KeyLost}) ||
			rec.History[1].Reason != "left it on the train" || rec.History[0].Reason != "enrolled as backup key" {
			t.Errorf("key record %+v", rec)
		}
		if _, err := s.KeyRecord(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown key: %v", err)
		}
	})
}

// TestKeyTransitions: the life cycle refuses what it does not allow with
// a *tracker.TransitionError, and records nothing then.
func TestKeyTransitions(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("ann", "ann@x.test", ""))
		if _, err := s.SubmitReportRules(ctx, "ann", fullKey("e", 100, tracker.RoleEveryday), store.KeyInfo{}, lostRules, t0); err != nil {
			t.Fatal(err)
		}
		change := func(to tracker.KeyStatus, erased ...string) error {
			_, err := s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 100, To: to, Erased: erased, Rules: lostRules,
				Audit: tracker.AuditEntry{At: t0, Actor: "it", Action: "key." + string(to), Reason: "ticket 7", Detail: "serial 100"}})
			return err
		}
		for _, step := range []struct {
			to tracker.KeyStatus
			ok bool
		}{
			{tracker.KeyLost, true}, {tracker.KeyReportedLost, false}, {tracker.KeyActive, true},
			{tracker.KeyRetired, true}, {tracker.KeyActive, false}, {tracker.KeyLost, false}, {tracker.KeyRetired, true},
		} {
			err := change(step.to, "fido2", "piv")
			var te *tracker.TransitionError
			if step.ok && err != nil {
				t.Errorf("to %s: %v", step.to, err)
			}
			if !step.ok && (!errors.Is(err, tracker.ErrTransition) || !errors.As(err, &te) || te.To != step.to) {
				t.Errorf("to %s: %v, want a TransitionError", step.to, err)
			}
		}
		rec, err := s.KeyRecord(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		// enrolled, lost, active, retired, retired again (the wipe).
		if len(rec.History) != 5 || rec.Status != tracker.KeyRetired || !slices.Equal(rec.History[4].Erased, []string{"fido2", "piv"}) {
			t.Errorf("history %+v", rec.History)
		}
	})
}

// TestRetiredKeyTakeover: a retired key reported by a new owner starts
// afresh: active, with no genuine-key result, firmware, form factor or
// history of its former owner, and the former owner's items stay theirs.
func TestRetiredKeyTakeover(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("old", "old@x.test", ""))
		mustCreate(t, s, person("new", "new@x.test", ""))
		attested := store.KeyInfo{Verified: true, Genuine: true, GenuineDetail: "attested by Yubico", Firmware: "5.7.1", FormFactor: "USB-C Nano"}
		if _, err := s.SubmitReportRules(ctx, "old", fullKey("o", 77, tracker.RoleEveryday), attested, lostRules, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 77, To: tracker.KeyRetired, Erased: []string{"fido2"}, Rules: lostRules,
			Audit: tracker.AuditEntry{At: t0, Actor: "it", Action: "key.retired", Reason: "wiped"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubmitReportRules(ctx, "new", report("n", 77, tracker.RoleBackup), store.KeyInfo{}, lostRules, t0.Add(time.Hour)); err != nil {
			t.Fatalf("new owner's report: %v", err)
		}
		rec, err := s.KeyRecord(ctx, 77)
		if err != nil {
			t.Fatal(err)
		}
		if rec.PersonID != "new" || rec.Status != tracker.KeyActive || rec.Genuine || rec.Firmware != "" || rec.FormFactor != "" ||
			rec.GenuineDetail != "no attestation received" || rec.Role != tracker.RoleBackup {
			t.Errorf("taken-over key %+v; want the new owner's, active, nothing of the former", rec.Key)
		}
		if len(rec.History) != 1 || rec.History[0].Actor != "new" || rec.History[0].Status != tracker.KeyActive {
			t.Errorf("taken-over key's history %+v; want only the new owner's enrolment", rec.History)
		}
		_, items, err := s.Records(ctx, []string{"new"})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 0 {
			t.Errorf("new owner has the former owner's items: %+v", items)
		}
		// The new owner can report it lost; the former cannot.
		_, err = s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 77, Owner: "old", To: tracker.KeyReportedLost, Rules: lostRules,
			Audit: tracker.AuditEntry{At: t0, Actor: "old", Action: "key.reported-lost", Reason: "x"}})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("former owner reporting it lost: %v, want ErrNotFound", err)
		}
	})
}

// TestUpgradeSettlesCompletion: a completion stored before version 6
// (when completed_at meant "ever completed") is kept if it still holds and
// ended, with a history entry, if a key was lost since and not replaced.
func TestUpgradeSettlesCompletion(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		done := t0.UnixMicro()
		dsn, db := atVersion(t, b, 5,
			"INSERT INTO services (position, id, name) VALUES (0, 'google', 'Google')",
			fmt.Sprintf("INSERT INTO people (id, email, name, team, start_date, created_at, completed_at) VALUES ('ann', 'ann@x.test', 'Ann', 'ops', '2026-01-05', 1, %d), ('bob', 'bob@x.test', 'Bob', 'ops', '2026-01-05', 1, %d)", done, done),
		)
		for _, k := range []struct {
			person string
			serial int
			role   tracker.KeyRole
			status tracker.KeyStatus
		}{{"ann", 1, tracker.RoleEveryday, tracker.KeyActive}, {"ann", 2, tracker.RoleBackup, tracker.KeyActive},
			{"bob", 3, tracker.RoleEveryday, tracker.KeyActive}, {"bob", 4, tracker.RoleBackup, tracker.KeyLost}} {
			if _, err := db.Exec(fmt.Sprintf("INSERT INTO keys (serial, person_id, model, role, status, updated_at) VALUES (%d, '%s', 'YubiKey', '%s', '%s', 1)", k.serial, k.person, k.role, k.status)); err != nil {
				t.Fatal(err)
			}
			for _, svc := range []string{"google", "otp"} {
				if _, err := db.Exec(fmt.Sprintf("INSERT INTO items (person_id, serial, service, evidence, at, app_version) VALUES ('%s', %d, '%s', 'verified-on-key', 1, '1')", k.person, k.serial, svc)); err != nil {
					t.Fatal(err)
				}
			}
		}
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("upgrading: %v", err)
		}
		defer s.Close()
		ann, _ := s.Person(ctx, "ann")
		bob, _ := s.Person(ctx, "bob")
		if !ann.Complete || !ann.CompletedAt.Equal(t0) || bob.Complete || !bob.CompletedAt.IsZero() {
			t.Errorf("after the upgrade: ann complete %v since %v, bob complete %v since %v; want ann still complete, bob not", ann.Complete, ann.CompletedAt, bob.Complete, bob.CompletedAt)
		}
		hist, err := s.CompletionHistory(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist["ann"]) != 1 || !hist["ann"][0].Complete || len(hist["bob"]) != 2 || hist["bob"][1].Complete || !hist["bob"][0].At.Equal(t0) {
			t.Errorf("completion history after the upgrade: %+v", hist)
		}
	})
}

// TestFoundKeyCompletesAgain: a key marked found counts again, and the
// change that makes its owner complete again says so (for the webhook).
func TestFoundKeyCompletesAgain(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("ann", "ann@x.test", ""))
		for _, r := range []tracker.Report{fullKey("e", 100, tracker.RoleEveryday), fullKey("b", 200, tracker.RoleBackup)} {
			if _, err := s.SubmitReportRules(ctx, "ann", r, store.KeyInfo{}, lostRules, t0); err != nil {
				t.Fatal(err)
			}
		}
		change := func(to tracker.KeyStatus) store.KeyChangeOutcome {
			out, err := s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 100, To: to, Rules: lostRules,
				Audit: tracker.AuditEntry{At: t0, Actor: "it", Action: "key." + string(to), Reason: "ticket 9"}})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		if out := change(tracker.KeyLost); !out.Dropped || out.Complete {
			t.Errorf("lost: %+v", out)
		}
		if out := change(tracker.KeyActive); !out.NewlyComplete || !out.Again || !out.Complete {
			t.Errorf("found: %+v, want newly complete again", out)
		}
	})
}
