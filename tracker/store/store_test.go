package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func person(id, email, manager string) tracker.Person {
	return tracker.Person{ID: id, Email: email, Name: "N " + id, Team: "eng", ManagerID: manager, StartDate: "2026-03-02", CreatedAt: t0}
}

func mustCreate(t *testing.T, s store.Store, p tracker.Person) {
	t.Helper()
	if _, err := s.CreatePerson(context.Background(), p, tracker.AuditEntry{At: t0, Actor: "test", Action: "person.create", Subject: p.ID}); err != nil {
		t.Fatalf("creating %s: %v", p.ID, err)
	}
}

func report(key string, serial uint32, role tracker.KeyRole, services ...string) tracker.Report {
	r := tracker.Report{IdempotencyKey: key, Serial: serial, Model: "YubiKey 5C Nano", Role: role, AppVersion: "1.0.0"}
	for _, s := range services {
		r.Items = append(r.Items, tracker.ReportItem{Service: s, Evidence: tracker.EvidenceOnKey, At: t0})
	}
	return r
}

func TestStore(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("boss", "boss@x.test", ""))
		mustCreate(t, s, person("mid", "mid@x.test", "boss"))
		mustCreate(t, s, person("ann", "ann@x.test", "mid"))
		mustCreate(t, s, person("bob", "bob@x.test", "boss"))
		mustCreate(t, s, person("eve", "eve@x.test", ""))

		if _, err := s.CreatePerson(ctx, person("dup", "ann@x.test", ""), tracker.AuditEntry{}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate e-mail: got %v, want ErrConflict", err)
		}
		if _, err := s.CreatePerson(ctx, person("orphan", "o@x.test", "nobody"), tracker.AuditEntry{}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("unknown manager: got %v, want ErrConflict", err)
		}

		reps, err := s.Reports(ctx, "boss")
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 3 {
			t.Errorf("boss has %d reports, want 3 (mid, ann, bob)", len(reps))
		}
		for _, c := range []struct {
			m, p string
			want bool
		}{{"boss", "ann", true}, {"mid", "ann", true}, {"mid", "bob", false}, {"ann", "mid", false}, {"eve", "ann", false}, {"ann", "ann", false}} {
			got, err := s.Manages(ctx, c.m, c.p)
			if err != nil || got != c.want {
				t.Errorf("Manages(%s, %s) = %v, %v; want %v", c.m, c.p, got, err, c.want)
			}
		}

		svc := []string{"google", "github"}
		out, err := s.SubmitReport(ctx, "ann", report("report-0001", 101, tracker.RoleEveryday, "google", "github", "otp"), store.KeyInfo{}, svc, t0)
		if err != nil || out.Duplicate || out.Complete {
			t.Fatalf("first report: %+v, %v", out, err)
		}
		out, err = s.SubmitReport(ctx, "ann", report("report-0001", 101, tracker.RoleEveryday, "google"), store.KeyInfo{}, svc, t0)
		if err != nil || !out.Duplicate {
			t.Fatalf("repeated report: %+v, %v; want duplicate", out, err)
		}
		if _, err := s.SubmitReport(ctx, "bob", report("report-0002", 101, tracker.RoleEveryday, "google"), store.KeyInfo{}, svc, t0); !errors.Is(err, store.ErrConflict) {
			t.Errorf("someone else's key: got %v, want ErrConflict", err)
		}
		info := store.KeyInfo{Verified: true, Genuine: true, Firmware: "5.7.1"}
		out, err = s.SubmitReport(ctx, "ann", report("report-0003", 102, tracker.RoleBackup, "google", "github", "otp"), info, svc, t0)
		if err != nil || !out.Complete || !out.NewlyComplete {
			t.Fatalf("completing report: %+v, %v", out, err)
		}
		out, err = s.SubmitReport(ctx, "ann", report("report-0004", 102, tracker.RoleBackup, "google"), store.KeyInfo{}, svc, t0)
		if err != nil || out.NewlyComplete {
			t.Fatalf("report after completion: %+v, %v; want not newly complete", out, err)
		}
		keys, items, err := s.Records(ctx, []string{"ann", "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || len(items) != 6 {
			t.Errorf("records: %d keys, %d items; want 2, 6", len(keys), len(items))
		}
		for _, k := range keys {
			if k.Serial == 102 && (!k.Genuine || k.Firmware != "5.7.1") {
				t.Errorf("attested key lost its attestation after a plain report: %+v", k)
			}
		}
		if n, _ := s.ReportCount(ctx); n != 3 {
			t.Errorf("ReportCount = %d, want 3", n)
		}

		if err := s.SetKeyStatus(ctx, "ann", 102, tracker.KeyLost, tracker.AuditEntry{At: t0, Actor: "it", Action: "key.status", Subject: "ann", Reason: "lost on the train"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetKeyStatus(ctx, "bob", 102, tracker.KeyLost, tracker.AuditEntry{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("status of someone else's key: %v, want ErrNotFound", err)
		}

		// Invites are single-use and expire.
		ok := func(store.Credential) bool { return true }
		if err := s.AddInvite(ctx, store.Credential{Selector: "inv1", Hash: "h", PersonID: "bob", ExpiresAt: t0.Add(time.Hour)}, tracker.AuditEntry{Actor: "it", Action: "invite"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RedeemInvite(ctx, "inv1", func(store.Credential) bool { return false }, store.Credential{Selector: "tokX", Hash: "h"}, t0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("wrong secret: %v", err)
		}
		if _, err := s.RedeemInvite(ctx, "inv1", ok, store.Credential{Selector: "tokX", Hash: "h"}, t0.Add(2*time.Hour)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("expired invite: %v", err)
		}
		p, err := s.RedeemInvite(ctx, "inv1", ok, store.Credential{Selector: "tok1", Hash: "th"}, t0)
		if err != nil || p.ID != "bob" {
			t.Fatalf("redeem: %v %v", p.ID, err)
		}
		if _, err := s.RedeemInvite(ctx, "inv1", ok, store.Credential{Selector: "tok2", Hash: "h"}, t0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("reused invite: %v", err)
		}
		c, err := s.Token(ctx, "tok1")
		if err != nil || c.PersonID != "bob" || c.Hash != "th" || c.Used {
			t.Errorf("token: %+v %v", c, err)
		}
		if err := s.RevokeTokens(ctx, "bob", tracker.AuditEntry{Actor: "it", Action: "revoke"}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Token(ctx, "tok1"); !c.Used {
			t.Error("token not revoked")
		}

		// Erasure removes everything, redacts reasons, keeps the tree.
		if err := s.Erase(ctx, "mid", tracker.AuditEntry{At: t0, Actor: "it", Action: "person.erase", Subject: "mid", Reason: "request"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Erase(ctx, "ann", tracker.AuditEntry{At: t0, Actor: "it", Action: "person.erase", Subject: "ann", Reason: "request"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Person(ctx, "ann"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("erased person still there: %v", err)
		}
		keys, items, _ = s.Records(ctx, []string{"ann"})
		if len(keys)+len(items) != 0 {
			t.Errorf("erased person's records remain: %d keys, %d items", len(keys), len(items))
		}
		audit, _ := s.Audit(ctx, "ann", 0)
		for _, e := range audit {
			if e.Reason == "lost on the train" {
				t.Errorf("audit entry kept a reason about an erased person: %+v", e)
			}
		}
		if len(audit) == 0 || audit[0].Action != "person.erase" {
			t.Errorf("no erasure entry in audit: %+v", audit)
		}

		first, err := s.ClaimDigest(ctx, "2026-03-02")
		second, err2 := s.ClaimDigest(ctx, "2026-03-02")
		if err != nil || err2 != nil || !first || second {
			t.Errorf("ClaimDigest twice: %v %v, %v %v", first, err, second, err2)
		}
		// Released (the post failed), it can be claimed once more.
		if err := s.ReleaseDigest(ctx, "2026-03-02"); err != nil {
			t.Fatal(err)
		}
		again, err := s.ClaimDigest(ctx, "2026-03-02")
		twice, err2 := s.ClaimDigest(ctx, "2026-03-02")
		if err != nil || err2 != nil || !again || twice {
			t.Errorf("ClaimDigest after release: %v %v, %v %v", again, err, twice, err2)
		}
	})
}

// TestConcurrentWrites checks group commit: concurrent reports, some failing,
// all get their own answer and only the good ones are stored.
func TestConcurrentWrites(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("a", "a@x.test", ""))
		mustCreate(t, s, person("b", "b@x.test", ""))
		if _, err := s.SubmitReport(ctx, "b", report("owned-by-b", 7, tracker.RoleEveryday), store.KeyInfo{}, nil, t0); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 200)
		for i := range errs {
			wg.Go(func() {
				serial := uint32(1000 + i)
				if i%10 == 0 {
					serial = 7 // b's key: must fail without spoiling the batch
				}
				_, errs[i] = s.SubmitReport(ctx, "a", report(fmt.Sprintf("concurrent-%d", i), serial, tracker.RoleEveryday, "google"), store.KeyInfo{}, nil, t0)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if (i%10 == 0) != errors.Is(err, store.ErrConflict) {
				t.Errorf("report %d: %v", i, err)
			}
		}
		if n, _ := s.ReportCount(ctx); n != 1+180 {
			t.Errorf("stored %d reports, want 181", n)
		}
	})
}
