package trackerlink_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/internal/cli"
	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/join"
	"github.com/keywizard/keywizard/tracker/server/servertest"
)

// wipeTracker is a real tracker (server + SQLite) on httptest where Ann
// has enrolled her everyday key 6100; it returns its URL, IT's token and
// Ann's.
func wipeTracker(t *testing.T) (url string, it, ann *client.MemoryStore, audit func() []tracker.AuditEntry) {
	t.Helper()
	ctx := context.Background()
	tr := servertest.Start(t, servertest.Options{})
	now := time.Now()
	person := tr.AddPerson(t, tracker.CreatePerson{Email: "ann@example.com", Name: "Ann Example", Team: "Eng", StartDate: now.Format(time.DateOnly)})
	code := tr.Invite(t, person.ID)
	ann = &client.MemoryStore{}
	cl, err := client.New(client.Config{BaseURL: tr.URL, Dir: t.TempDir(), Tokens: ann})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Exchange(ctx, code, "laptop"); err != nil {
		t.Fatal(err)
	}
	rep := tracker.Report{IdempotencyKey: "ann-everyday-1", Serial: 6100, Model: "YubiKey 5C Nano", Role: tracker.RoleEveryday, AppVersion: "1.0.0",
		Items: []tracker.ReportItem{{Service: "github", Evidence: tracker.EvidenceOnKey, At: now}}}
	if err := cl.Record(ctx, rep); err != nil {
		t.Fatal(err)
	}
	audit = func() []tracker.AuditEntry {
		entries, err := tr.Store.Audit(ctx, person.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		return entries
	}
	return tr.URL, &client.MemoryStore{Value: tr.AdminToken}, ann, audit
}

func TestWipeRecorder(t *testing.T) {
	ctx := context.Background()
	url, it, ann, audit := wipeTracker(t)
	dir := t.TempDir()

	// Before anything is erased: no token, or a person's token, is refused.
	if _, err := trackerlink.OpenWipeRecorder(ctx, dir, url, &client.MemoryStore{}); !errors.Is(err, client.ErrNoToken) {
		t.Fatalf("no token: %v", err)
	}
	if _, err := trackerlink.OpenWipeRecorder(ctx, dir, url, ann); !errors.Is(err, trackerlink.ErrNotIT) {
		t.Fatalf("Ann's token: %v", err)
	}
	if _, err := trackerlink.OpenWipeRecorder(ctx, dir, "", it); !errors.Is(err, trackerlink.ErrNoTracker) {
		t.Fatalf("no URL and no settings: %v", err)
	}

	// The tracker is found as "keywizard tracker key" finds it: the one
	// login saved, and a URL typed with a trailing slash or in capitals
	// is the same tracker (and the same keychain item).
	if err := os.MkdirAll(filepath.Join(dir, "keywizard"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keywizard", "config.json"), []byte(`{"tracker_url": "`+url+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"", strings.ToUpper(url) + "/"} {
		r, err := trackerlink.OpenWipeRecorder(ctx, dir, u, it)
		if err != nil || r.URL != url {
			t.Fatalf("tracker %q: recorder for %v, %v; want %s", u, r, err, url)
		}
	}
	if _, err := trackerlink.OpenWipeRecorder(ctx, dir, "http://tracker.example.com", it); !errors.Is(err, join.ErrBadTrackerURL) {
		t.Fatalf("plain http to another machine: %v, want join.ErrBadTrackerURL", err)
	}

	rec, err := trackerlink.OpenWipeRecorder(ctx, dir, url, it)
	if err != nil {
		t.Fatal(err)
	}
	erased := []string{"PIV", cli.AppOATH, cli.AppOpenPGP, cli.AppHSMAuth, cli.AppOTP, "FIDO2"}
	got, err := rec.RecordWipe(ctx, cli.WipeRecord{Serial: 6100, Erased: erased})
	if err != nil || got.Owner != "Ann Example" || got.Status != "retired" || got.AlreadyRetired {
		t.Fatalf("RecordWipe: %+v, %v", got, err)
	}
	// The tracker has it: retired, reason "wiped", with what was erased.
	key, err := rec.Client.FindKey(ctx, 6100)
	if err != nil {
		t.Fatal(err)
	}
	last := key.History[len(key.History)-1]
	if key.Status != tracker.KeyRetired || last.Status != tracker.KeyRetired || last.Reason != "wiped" ||
		!slices.Equal(last.Erased, []string{"piv", "oath", "openpgp", "hsmauth", "otp", "fido2"}) {
		t.Fatalf("key in the tracker: %+v, last event %+v", key.Key, last)
	}

	// IT's audit log has it, in IT's name.
	if !slices.ContainsFunc(audit(), func(e tracker.AuditEntry) bool {
		return e.Action == "key.retired" && e.Actor == key.History[len(key.History)-1].Actor && e.Reason == "wiped" &&
			strings.Contains(e.Detail, "erased: piv, oath, openpgp, hsmauth, otp, fido2")
	}) {
		t.Fatalf("no audit entry for the wipe: %+v", audit())
	}

	// Wiped again: the retired key's record stays as it is, and says so.
	if got, err = rec.RecordWipe(ctx, cli.WipeRecord{Serial: 6100, Erased: erased}); err != nil || !got.AlreadyRetired {
		t.Fatalf("second RecordWipe: %+v, %v", got, err)
	}
	if _, err := rec.RecordWipe(ctx, cli.WipeRecord{Serial: 6999, Erased: erased}); !errors.Is(err, client.ErrNoSuchKey) {
		t.Fatalf("a key the tracker does not know: %v", err)
	}
}
