package trackerlink_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/cli"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/join"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/server/servertest"
	"github.com/keywizard/keywizard/tracker/store"
	"github.com/keywizard/keywizard/ui/team"
)

// The adapter is what the app's team view reads from.
var _ team.Source = (*trackerlink.TeamSource)(nil)

// org is a real tracker (server + SQLite) on httptest with IT, a manager
// with two reports (one indirect) and a new hire.
type org struct {
	// down is how many requests the tracker answers 503 before working.
	down   *atomic.Int32
	url    string
	st     store.Store
	admin  tracker.Person
	people map[string]tracker.Person
}

func newOrg(t *testing.T, configure ...func(*server.Config)) *org {
	t.Helper()
	down := new(atomic.Int32)
	tr := servertest.Start(t, servertest.Options{
		Configure: func(c *server.Config) {
			for _, f := range configure {
				f(c)
			}
		},
		Wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// While down is above zero the tracker answers as one that is
				// restarting behind its load balancer.
				if down.Add(-1) >= 0 {
					http.Error(w, `{"error":"restarting"}`, http.StatusServiceUnavailable)
					return
				}
				down.Store(0)
				h.ServeHTTP(w, r)
			})
		},
	})
	now := time.Now()
	o := &org{url: tr.URL, st: tr.Store, admin: tr.Admin, people: map[string]tracker.Person{}, down: down}
	for _, p := range []struct{ name, manager string }{{"ada", ""}, {"ann", "ada"}, {"dee", "ann"}} {
		req := tracker.CreatePerson{Email: p.name + "@example.com", Name: p.name, Team: "Eng", StartDate: now.Format(time.DateOnly)}
		if p.manager != "" {
			req.ManagerEmail = p.manager + "@example.com"
		}
		o.people[p.name] = tr.AddPerson(t, req)
	}
	o.people["it"] = tr.Admin
	return o
}

// join runs `keywizard tracker join` as the person, with the OS keychain
// (go-keyring's in-memory mock) and configDir as the user config dir.
func (o *org) join(t *testing.T, who, configDir string) {
	t.Helper()
	inv, err := server.IssueInvite(context.Background(), o.st, o.people[who].ID, o.admin.ID, "test", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := cli.Env{
		In: strings.NewReader(inv.Code + "\n"), Out: &out, Err: &out,
		Join: join.Options{ConfigDir: func() (string, error) { return configDir, nil }},
	}
	if err := cli.RunJoin(context.Background(), env, cli.JoinOptions{URL: o.url}); err != nil {
		t.Fatalf("join as %s: %v\n%s", who, err, out.String())
	}
}

// report is a report from the app with one key and one confirmed item
// (github), as the wizard sends it.
func report(email string, serial uint32, model string, role steps.Role) steps.Report {
	return steps.Report{
		Person:   steps.Person{Name: "ann", Email: email, StartDate: time.Now()},
		Deadline: time.Now().Add(30 * 24 * time.Hour), AppVersion: "test", GeneratedAt: time.Now(),
		Keys: []steps.ReportKey{{Serial: serial, Model: model, Role: role,
			Items: []steps.ReportItem{{Service: "github", Level: steps.SelfAttested, Detail: "confirmed", At: time.Now()}}}},
	}
}

func setup(t *testing.T) *org {
	keyring.MockInit()
	t.Setenv("KEYWIZARD_TRACKER", "")
	return newOrg(t)
}

func TestTrackerTeamAfterJoin(t *testing.T) {
	o := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		who       string
		wantTeam  bool
		managerID string
		rows      []string
	}{
		{"ada", true, o.people["ada"].ID, []string{"ann", "dee"}},
		{"ann", true, o.people["ann"].ID, []string{"dee"}},
		{"dee", false, "", nil},
		// IT sees everyone, themselves first: created by create-admin
		// without a start date, which sorts before any date.
		{"it", true, "", []string{"IT Desk", "ada", "ann", "dee"}},
	} {
		t.Run(tc.who, func(t *testing.T) {
			dir := t.TempDir()
			o.join(t, tc.who, dir)
			src, me, err := trackerlink.Team(ctx, dir, "test")
			if err != nil {
				t.Fatal(err)
			}
			if me.ID != o.people[tc.who].ID {
				t.Errorf("Me = %s, want %s", me.Name, tc.who)
			}
			if (src != nil) != tc.wantTeam {
				t.Fatalf("team source %v, want one: %v", src, tc.wantTeam)
			}
			if src == nil {
				return
			}
			if src.ManagerID != tc.managerID {
				t.Errorf("ManagerID %q, want %q", src.ManagerID, tc.managerID)
			}
			v, err := src.Team(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range v.Rows {
				names = append(names, r.Person.Name)
			}
			// Nobody has reported: all in progress, ordered by start
			// date (all today) then name.
			if strings.Join(names, ",") != strings.Join(tc.rows, ",") {
				t.Errorf("rows %q, want %q", names, tc.rows)
			}
		})
	}
}

// TestJoinFeedsReporter checks that join and the wizard's Reporter agree
// on where the URL and the token are: after a join, Reporter's client is
// signed in as the person.
func TestJoinFeedsReporter(t *testing.T) {
	o := setup(t)
	dir := t.TempDir()
	o.join(t, "ann", dir)
	r, err := trackerlink.NewAppReporter(t.Context(), dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Destination(); strings.Contains(d, "kept locally") {
		t.Fatalf("Reporter after join keeps reports locally: %s", d)
	}
	tr, err := trackerlink.NewClient(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	me, err := tr.Me(context.Background())
	if err != nil || me.ID != o.people["ann"].ID {
		t.Errorf("Reporter's client is %+v, %v; want ann", me, err)
	}
}

func TestTrackerTeamNotSetUp(t *testing.T) {
	o := setup(t)
	ctx := context.Background()

	if _, _, err := trackerlink.Team(ctx, t.TempDir(), "test"); !errors.Is(err, trackerlink.ErrNoTracker) {
		t.Errorf("no config: %v, want ErrNoTracker", err)
	}

	// A tracker URL but no token (settings copied from someone else, or
	// KEYWIZARD_TRACKER set before joining).
	t.Setenv("KEYWIZARD_TRACKER", o.url)
	if _, _, err := trackerlink.Team(ctx, t.TempDir(), "test"); !errors.Is(err, client.ErrNoToken) {
		t.Errorf("not joined: %v, want client.ErrNoToken", err)
	}

	// A revoked token.
	dir := t.TempDir()
	t.Setenv("KEYWIZARD_TRACKER", "")
	o.join(t, "ada", dir)
	if err := keyring.Set("keywizard", o.url, "kwt_0123456789abcdef_revoked"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := trackerlink.Team(ctx, dir, "test"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("refused token: %v, want client.ErrUnauthorized", err)
	}

	// The tracker gone.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	t.Setenv("KEYWIZARD_TRACKER", dead.URL)
	keyring.Set("keywizard", dead.URL, "kwt_0123456789abcdef_x")
	if src, _, err := trackerlink.Team(ctx, dir, "test"); err == nil || src != nil {
		t.Errorf("tracker down: %v, %v; want an error", src, err)
	}

	// Broken settings.
	t.Setenv("KEYWIZARD_TRACKER", "")
	bad := t.TempDir()
	os.MkdirAll(filepath.Join(bad, "keywizard"), 0o700)
	os.WriteFile(filepath.Join(bad, "keywizard", "config.json"), []byte("{"), 0o600)
	if _, err := trackerlink.NewClient(bad, "test"); err == nil {
		t.Error("broken config.json accepted")
	}
}

// TestFindTrackerTeamWaitsForTheTracker: a manager who opens keywizard
// while the tracker cannot answer gets the team view once it can, after
// waits that grow; an answer that waiting cannot change comes at once.
func TestFindTrackerTeamWaitsForTheTracker(t *testing.T) {
	o := setup(t)
	dir := t.TempDir()
	o.join(t, "ada", dir)
	var waits []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		ch := make(chan time.Time, 1)
		ch <- time.Now()
		return ch
	}
	o.down.Store(3)
	src, err := trackerlink.FindTeam(t.Context(), dir, "test", after)
	if err != nil || src == nil || src.ManagerID != o.people["ada"].ID {
		t.Fatalf("FindTrackerTeam = %+v, %v; want ada's team", src, err)
	}
	if want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}; !slices.Equal(waits, want) {
		t.Errorf("waited %v, want %v", waits, want)
	}

	// No tracker on this computer: no waiting, the answer stands.
	waits = nil
	if _, err := trackerlink.FindTeam(t.Context(), t.TempDir(), "test", after); !errors.Is(err, trackerlink.ErrNoTracker) || len(waits) != 0 {
		t.Errorf("no tracker: %v after %d waits, want trackerlink.ErrNoTracker at once", err, len(waits))
	}

	// The window closes while the tracker is still down.
	o.down.Store(1 << 20)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := trackerlink.FindTeam(ctx, dir, "test", after); !errors.Is(err, context.Canceled) {
		t.Errorf("closed window: %v, want context.Canceled", err)
	}
}
