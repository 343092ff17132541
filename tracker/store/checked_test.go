package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// TestGenuineCheckedAt: a key's genuine result carries the time the tracker
// checked the attestation that gave it (the report's receipt), kept while
// later reports of the same owner carry none, set again by each checked
// attestation (genuine or not), absent for a key whose attestation was
// never checked, and dropped with the result when the key changes hands
// without one.
func TestGenuineCheckedAt(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("ann", "ann@x.test", ""))
		mustCreate(t, s, person("bob", "bob@x.test", ""))
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
		genuine := store.KeyInfo{Verified: true, Genuine: true, GenuineDetail: "attested by Yubico PIV Root CA Serial 263751", Firmware: "5.7.1", FormFactor: "USB-C Nano"}
		n := 0
		submit := func(who string, serial uint32, k store.KeyInfo, h int) {
			t.Helper()
			n++
			if _, err := s.SubmitReport(ctx, who, report(fmt.Sprintf("report-%04d", n), serial, tracker.RoleEveryday, "google"), k, []string{"google"}, at(h)); err != nil {
				t.Fatalf("report %d of key %d by %s: %v", n, serial, who, err)
			}
		}
		check := func(what string, serial uint32, wantGenuine bool, wantChecked time.Time) {
			t.Helper()
			rec, err := s.KeyRecord(ctx, serial)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Genuine != wantGenuine || !rec.GenuineCheckedAt.Equal(wantChecked) {
				t.Errorf("%s: genuine %v checked at %v, want %v checked at %v", what, rec.Genuine, rec.GenuineCheckedAt, wantGenuine, wantChecked)
			}
		}

		submit("ann", 301, genuine, 1)
		check("attested", 301, true, at(1))
		submit("ann", 301, store.KeyInfo{}, 2)
		check("a later report without an attestation", 301, true, at(1))
		if rec, _ := s.KeyRecord(ctx, 301); !rec.UpdatedAt.Equal(at(2)) {
			t.Errorf("updated at %v, want the later report's %v (the check time is not the update time)", rec.UpdatedAt, at(2))
		}
		submit("ann", 301, store.KeyInfo{Verified: true, GenuineDetail: "attestation could not be checked"}, 3)
		check("a failed check", 301, false, at(3))

		submit("ann", 302, store.KeyInfo{}, 1)
		check("never attested", 302, false, time.Time{})
		if _, err := s.ChangeKeyStatus(ctx, store.KeyChange{Serial: 301, Owner: "ann", To: tracker.KeyRetired, Rules: lostRules,
			Audit: tracker.AuditEntry{At: at(4), Actor: "it", Action: "key.retired", Reason: "handed back"}}); err != nil {
			t.Fatal(err)
		}
		submit("bob", 301, store.KeyInfo{}, 5)
		check("handed on without an attestation", 301, false, time.Time{})
		submit("bob", 301, genuine, 6)
		check("attested by its new owner", 301, true, at(6))
	})
}

// TestItemCheckedAt: an item keeps the report's checked_at (when the
// wizard last found it on the key); the same result sent again out of
// order does not take a later check time back; a new result carries its
// own, none if its report did not say.
func TestItemCheckedAt(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		s, _ := testdb.Open(t, b)
		mustCreate(t, s, person("ann", "ann@x.test", ""))
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
		n := 0
		submit := func(itemAt, checked time.Time) {
			t.Helper()
			n++
			r := report(fmt.Sprintf("report-%04d", n), 401, tracker.RoleEveryday)
			r.Items = []tracker.ReportItem{{Service: "google", Evidence: tracker.EvidenceOnKey, At: itemAt, CheckedAt: checked}}
			if _, err := s.SubmitReport(ctx, "ann", r, store.KeyInfo{}, []string{"google"}, at(10)); err != nil {
				t.Fatalf("report %d: %v", n, err)
			}
		}
		check := func(what string, wantAt, wantChecked time.Time) {
			t.Helper()
			_, items, err := s.Records(ctx, []string{"ann"})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || !items[0].At.Equal(wantAt) || !items[0].CheckedAt.Equal(wantChecked) {
				t.Errorf("%s: items %+v; want one at %v checked at %v", what, items, wantAt, wantChecked)
			}
		}
		submit(at(0), at(2))
		check("first report", at(0), at(2))
		submit(at(0), at(1))
		check("an earlier check of the same result, sent late", at(0), at(2))
		submit(at(0), at(3))
		check("a later check", at(0), at(3))
		submit(at(4), time.Time{})
		check("a new result whose report gives no check time", at(4), time.Time{})
	})
}

// TestUpgradeLeavesCheckTimesUnknown: keys and items stored before version 7
// keep their results, with no check times: the tracker did not keep them,
// and their other times are not taken for them.
func TestUpgradeLeavesCheckTimesUnknown(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		dsn, _ := atVersion(t, b, 6,
			fmt.Sprintf("INSERT INTO keys (serial, person_id, model, role, status, firmware, genuine, genuine_detail, updated_at) VALUES (7, 'ann', 'YubiKey 5C', 'everyday', 'active', '5.4.3', 1, 'attested by Yubico', %d)", t0.UnixMicro()),
			fmt.Sprintf("INSERT INTO items (person_id, serial, service, evidence, at, app_version, received_at) VALUES ('ann', 7, 'google', 'verified-on-key', %d, '1.0.0', %d)", t0.UnixMicro(), t0.UnixMicro()),
		)
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("upgrading: %v", err)
		}
		defer s.Close()
		rec, err := s.KeyRecord(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Genuine || rec.GenuineDetail != "attested by Yubico" || rec.Firmware != "5.4.3" || !rec.UpdatedAt.Equal(t0) || !rec.GenuineCheckedAt.IsZero() {
			t.Errorf("key after the upgrade: %+v; want genuine, attested by Yubico, 5.4.3, updated %v, no check time", rec.Key, t0)
		}
		_, items, err := s.Records(ctx, []string{"ann"})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].Evidence != tracker.EvidenceOnKey || !items[0].At.Equal(t0) || !items[0].ReceivedAt.Equal(t0) || !items[0].CheckedAt.IsZero() {
			t.Errorf("items after the upgrade: %+v; want google verified on the key at %v, received then, no check time", items, t0)
		}
	})
}
