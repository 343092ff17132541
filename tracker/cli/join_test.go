package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/cli"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/join"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// liveTracker is a real tracker (server + SQLite store) on httptest.
type liveTracker struct {
	url      string
	st       store.Store
	now      time.Time
	admin    tracker.Person
	adminTok string
}

func newLiveTracker(t *testing.T, cfg server.Config) *liveTracker {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "tracker.db"))
	if err != nil {
		t.Fatal(err)
	}
	lt := &liveTracker{st: st, now: time.Now().UTC()}
	cfg.Store, cfg.Logf = st, t.Logf
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close(); st.Close() })
	lt.url = hs.URL
	lt.admin, lt.adminTok, err = server.CreateAdmin(ctx, st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk", Team: "IT"}, lt.now)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

// person adds someone through the API, as IT does.
func (lt *liveTracker) person(t *testing.T, email, name, manager string) tracker.Person {
	t.Helper()
	body, _ := json.Marshal(tracker.CreatePerson{Email: email, Name: name, Team: "Eng", ManagerEmail: manager, StartDate: lt.now.Format(time.DateOnly)})
	req, _ := http.NewRequest("POST", lt.url+"/v1/people", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+lt.adminTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p tracker.Person
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating %s: %s", email, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// invite issues a code valid for ttl from issued.
func (lt *liveTracker) invite(t *testing.T, p tracker.Person, issued time.Time, ttl time.Duration) string {
	t.Helper()
	inv, err := server.IssueInvite(context.Background(), lt.st, p.ID, lt.admin.ID, "test", ttl, issued)
	if err != nil {
		t.Fatal(err)
	}
	return inv.Code
}

// joiner runs `join` with injected side effects.
type joiner struct {
	dir    string
	tokens map[string]*client.MemoryStore
	env    map[string]string
}

func newJoiner(t *testing.T) *joiner {
	return &joiner{dir: t.TempDir(), tokens: map[string]*client.MemoryStore{}, env: map[string]string{}}
}

func (j *joiner) opts() join.Options {
	return join.Options{
		ConfigDir: func() (string, error) { return j.dir, nil },
		Tokens: func(u string) client.TokenStore {
			if j.tokens[u] == nil {
				j.tokens[u] = &client.MemoryStore{}
			}
			return j.tokens[u]
		},
		Hostname: func() (string, error) { return "ada-laptop", nil },
		Getenv:   func(k string) string { return j.env[k] },
	}
}

func (j *joiner) run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runJoin(t, j.opts(), stdin, args...)
}

// runJoin runs `tracker join <args>` with o as join's side effects.
func runJoin(t *testing.T, o join.Options, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := cli.NewCommand(cli.Env{Join: o})
	cmd.SetArgs(append([]string{"join"}, args...))
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func (j *joiner) config(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(j.dir, "keywizard", "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("config.json: %v\n%s", err, b)
	}
	return m
}

func TestJoinAsManager(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	ada := lt.person(t, "ada@example.com", "Ada Lovelace", "")
	for _, n := range []string{"ann", "bob", "cy"} {
		lt.person(t, n+"@example.com", n, "ada@example.com")
	}
	lt.person(t, "dee@example.com", "dee", "ann@example.com") // indirect report
	lt.person(t, "zed@example.com", "zed", "")                // someone else's
	code := lt.invite(t, ada, lt.now, time.Hour)

	j := newJoiner(t)
	out, errOut, err := j.run(t, "\n  "+code+"  \r\n", "--url", lt.url)
	if err != nil {
		t.Fatalf("join: %v\n%s", err, errOut)
	}
	if want := "Joined " + lt.url + " as Ada Lovelace <ada@example.com> (manager of 4)\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if strings.Contains(out+errOut, code) {
		t.Error("the invite code was printed")
	}

	// The URL is saved, and nothing else.
	if cfg := j.config(t); len(cfg) != 1 || cfg["tracker_url"] != lt.url {
		t.Errorf("config.json = %v, want only tracker_url %s", cfg, lt.url)
	}
	fi, err := os.Stat(filepath.Join(j.dir, "keywizard", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("config.json mode %v: readable by others", fi.Mode())
	}
	b, _ := os.ReadFile(filepath.Join(j.dir, "keywizard", "config.json"))
	if strings.Contains(string(b), code) || strings.Contains(string(b), "kwt_") {
		t.Error("a secret reached config.json")
	}
	if left, _ := filepath.Glob(filepath.Join(j.dir, "keywizard", ".config-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// The stored token is Ada's: the tracker knows her by it.
	tok := j.tokens[lt.url]
	if tok == nil || tok.Value == "" {
		t.Fatalf("no token stored under %s: %v", lt.url, j.tokens)
	}
	cl, err := client.New(client.Config{BaseURL: lt.url, Dir: t.TempDir(), Tokens: tok})
	if err != nil {
		t.Fatal(err)
	}
	me, err := cl.Me(context.Background())
	if err != nil || me.ID != ada.ID {
		t.Errorf("Me with the stored token = %+v, %v; want Ada", me, err)
	}

	// The code worked once.
	_, _, err = newJoiner(t).run(t, code+"\n", "--url", lt.url)
	if !errors.Is(err, join.ErrInviteRejected) {
		t.Errorf("second use of the code: %v, want ErrInviteRejected", err)
	}
}

// TestJoinDefaultWiring runs join as `keywizard tracker join` does: the
// OS keychain (go-keyring's mock) and the user config dir from the
// environment, then checks the token is where trackerlink.NewClient looks.
func TestJoinDefaultWiring(t *testing.T) {
	keyring.MockInit()
	cfgHome := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfgHome)
	t.Setenv("HOME", t.TempDir())
	t.Setenv(join.EnvTracker, "")
	if dir, err := os.UserConfigDir(); err != nil || dir != cfgHome {
		t.Fatalf("UserConfigDir = %q, %v; this test needs XDG_CONFIG_HOME to count (Linux)", dir, err)
	}
	// An earlier tracker and a setting from a later version.
	if err := os.MkdirAll(filepath.Join(cfgHome, "keywizard"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgHome, "keywizard", "config.json"), []byte(`{"tracker_url":"https://old.example.com","future":{"x":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	lt := newLiveTracker(t, server.Config{})
	ann := lt.person(t, "ann@example.com", "Ann Lee", "")
	code := lt.invite(t, ann, lt.now, time.Hour)
	var out, errOut bytes.Buffer
	cmd := cli.Command()
	cmd.SetArgs([]string{"join", "--url", lt.url + "/"})
	cmd.SetIn(strings.NewReader(code + "\n"))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("join: %v\n%s", err, errOut.String())
	}
	want := "Joined " + lt.url + " as Ann Lee <ann@example.com>\nThis computer now reports to " + lt.url + " instead of https://old.example.com.\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	tok, err := keyring.Get(join.KeyringService, lt.url)
	if err != nil || !strings.HasPrefix(tok, "kwt_") {
		t.Errorf("keychain item (keywizard, %s) = %q, %v", lt.url, tok, err)
	}
	b, err := os.ReadFile(filepath.Join(cfgHome, "keywizard", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		TrackerURL string         `json:"tracker_url"`
		Future     map[string]any `json:"future"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.TrackerURL != lt.url || cfg.Future["x"] != 1.0 {
		t.Errorf("config.json = %s (%v): want the new URL and the unknown setting kept", b, err)
	}
}

func TestJoinAsIT(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	lt.person(t, "ann@example.com", "Ann", "")
	lt.person(t, "bob@example.com", "Bob", "ann@example.com")
	code := lt.invite(t, lt.admin, lt.now, time.Hour)
	j := newJoiner(t)
	j.env[join.EnvTracker] = "https://elsewhere.example.com"
	out, errOut, err := j.run(t, code, "--url", lt.url)
	if err != nil {
		t.Fatal(err)
	}
	// Everyone: IT Desk, Ann and Bob.
	if want := "Joined " + lt.url + " as IT Desk <it@example.com> (IT administrator: sees all 3 people)\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if !strings.Contains(errOut, "KEYWIZARD_TRACKER=https://elsewhere.example.com is set and overrides") {
		t.Errorf("no warning about the environment override: %q", errOut)
	}
}

func TestJoinRefused(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	ann := lt.person(t, "ann@example.com", "Ann", "")
	used := lt.invite(t, ann, lt.now, time.Hour)
	if _, _, err := newJoiner(t).run(t, used, "--url", lt.url); err != nil {
		t.Fatal(err)
	}
	bob := lt.person(t, "bob@example.com", "Bob", "")
	expired := lt.invite(t, bob, lt.now.Add(-48*time.Hour), 24*time.Hour)
	cy := lt.person(t, "cy@example.com", "Cy", "")
	replaced := lt.invite(t, cy, lt.now, time.Hour)
	lt.invite(t, cy, lt.now, time.Hour) // a newer code voids the older one

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	notTracker := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notTracker.Close)
	htmlProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>Sign in to the guest Wi-Fi</html>"))
	}))
	t.Cleanup(htmlProxy.Close)

	for _, tc := range []struct {
		name, url, code string
		want            error
	}{
		{"used code", lt.url, used, join.ErrInviteRejected},
		{"expired code", lt.url, expired, join.ErrInviteRejected},
		{"replaced code", lt.url, replaced, join.ErrInviteRejected},
		{"unknown code", lt.url, "kwi_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", join.ErrInviteRejected},
		{"not a code", lt.url, "hello", join.ErrInviteRejected},
		{"a token, not a code", lt.url, lt.adminTok, join.ErrInviteRejected},
		{"too long", lt.url, strings.Repeat("k", 200), join.ErrInviteRejected},
		{"no code", lt.url, "\n \n", join.ErrNoInviteCode},
		{"no network", deadURL, used, join.ErrTrackerUnreachable},
		{"not a tracker", notTracker.URL, used, join.ErrBadTrackerURL},
		{"captive portal", htmlProxy.URL, used, join.ErrBadTrackerURL},
		{"no scheme", "tracker.example.com", used, join.ErrBadTrackerURL},
		{"ftp", "ftp://tracker.example.com", used, join.ErrBadTrackerURL},
		{"password in URL", "https://ann:secret@tracker.example.com", used, join.ErrBadTrackerURL},
		{"query", "https://tracker.example.com/?x=1", used, join.ErrBadTrackerURL},
		{"plain http to the network", "http://tracker.example.com", used, join.ErrBadTrackerURL},
		{"empty URL", "", used, join.ErrBadTrackerURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJoiner(t)
			out, errOut, err := j.run(t, tc.code+"\n", "--url", tc.url)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(tc.code) > 8 && strings.Contains(err.Error()+out+errOut, tc.code) {
				t.Errorf("the code reached the output: %v", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the URL's password reached the error: %v", err)
			}
			if cfg := j.config(t); cfg != nil {
				t.Errorf("config written after a failed join: %v", cfg)
			}
			for u, s := range j.tokens {
				if s.Value != "" {
					t.Errorf("token stored for %s after a failed join", u)
				}
			}
		})
	}
}

func TestJoinRateLimited(t *testing.T) {
	lt := newLiveTracker(t, server.Config{AuthRate: 1, AuthBurst: 1})
	j := newJoiner(t)
	_, _, err := j.run(t, "kwi_0123456789abcdef_AAAA", "--url", lt.url)
	if !errors.Is(err, join.ErrInviteRejected) {
		t.Fatalf("first attempt: %v", err)
	}
	if _, _, err = j.run(t, "kwi_0123456789abcdef_AAAA", "--url", lt.url); !errors.Is(err, join.ErrTooManyAttempts) {
		t.Errorf("second attempt: %v, want ErrTooManyAttempts", err)
	}
}

// brokenKeychain fails reads, writes or both.
type brokenKeychain struct {
	client.MemoryStore
	failGet, failSet bool
}

var errKeychain = errors.New("org.freedesktop.secrets was not provided by any .service files")

func (b *brokenKeychain) Token() (string, error) {
	if b.failGet {
		return "", errKeychain
	}
	return b.MemoryStore.Token()
}

func (b *brokenKeychain) SetToken(t string) error {
	if b.failSet {
		return errKeychain
	}
	return b.MemoryStore.SetToken(t)
}

func TestJoinKeychainBroken(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	ann := lt.person(t, "ann@example.com", "Ann", "")
	code := lt.invite(t, ann, lt.now, time.Hour)

	// A keychain that cannot even be read: refuse before spending the code.
	j := newJoiner(t)
	o := j.opts()
	o.Tokens = func(string) client.TokenStore { return &brokenKeychain{failGet: true, failSet: true} }
	_, _, err := runJoin(t, o, code, "--url", lt.url)
	if !errors.Is(err, errKeychain) || !strings.Contains(err.Error(), "run join again") {
		t.Fatalf("unreadable keychain: %v", err)
	}
	if j.config(t) != nil {
		t.Error("config written")
	}

	// Reads work but the write fails: the code is spent; say so.
	o.Tokens = func(string) client.TokenStore { return &brokenKeychain{failSet: true} }
	_, _, err = runJoin(t, o, code, "--url", lt.url)
	if !errors.Is(err, errKeychain) || !strings.Contains(err.Error(), "new invite code") {
		t.Fatalf("keychain refusing the write: %v", err)
	}
	if j.config(t) != nil {
		t.Error("config written without a token")
	}
	if _, _, err := newJoiner(t).run(t, code, "--url", lt.url); !errors.Is(err, join.ErrInviteRejected) {
		t.Errorf("the code should be spent now: %v", err)
	}
}

func TestJoinBadSettingsFile(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	ann := lt.person(t, "ann@example.com", "Ann", "")
	code := lt.invite(t, ann, lt.now, time.Hour)
	j := newJoiner(t)
	os.MkdirAll(filepath.Join(j.dir, "keywizard"), 0o700)
	os.WriteFile(filepath.Join(j.dir, "keywizard", "config.json"), []byte("{not json"), 0o600)
	if _, _, err := j.run(t, code, "--url", lt.url); err == nil || !strings.Contains(err.Error(), "fix or delete") {
		t.Fatalf("broken settings: %v", err)
	}
	// Refused before the exchange: the code still works.
	if _, _, err := newJoiner(t).run(t, code, "--url", lt.url); err != nil {
		t.Errorf("code spent by a join that could not save: %v", err)
	}
}

func TestJoinNeedsURLFlag(t *testing.T) {
	if _, _, err := newJoiner(t).run(t, "kwi_x_y"); err == nil || !strings.Contains(err.Error(), "url") {
		t.Errorf("join without --url: %v", err)
	}
}

// TestJoinAgain: a person joining the same tracker again (a new laptop
// image, a revoked token) replaces the token; the settings stay as they
// were and nothing says the tracker changed.
func TestJoinAgain(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	ann := lt.person(t, "ann@example.com", "Ann Lee", "")
	j := newJoiner(t)
	if _, _, err := j.run(t, lt.invite(t, ann, lt.now, time.Hour), "--url", lt.url); err != nil {
		t.Fatal(err)
	}
	first := j.tokens[lt.url].Value
	out, _, err := j.run(t, lt.invite(t, ann, lt.now, time.Hour), "--url", strings.ToUpper(lt.url[:4])+lt.url[4:]+"/")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Joined " + lt.url + " as Ann Lee <ann@example.com>\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if second := j.tokens[lt.url].Value; second == "" || second == first {
		t.Error("the token was not replaced")
	}
	if len(j.tokens) != 1 {
		t.Errorf("tokens under %d names, want one (the URL is canonical): %v", len(j.tokens), j.tokens)
	}
	if cfg := j.config(t); cfg["tracker_url"] != lt.url {
		t.Errorf("config %v", cfg)
	}
}

// TestJoinFunction is Join, as the wizard's window calls it with the code
// typed into a field: the same exchange, keychain and settings as the
// command, and the same typed errors.
func TestJoinFunction(t *testing.T) {
	lt := newLiveTracker(t, server.Config{})
	ada := lt.person(t, "ada@example.com", "Ada Lovelace", "")
	code := lt.invite(t, ada, lt.now, time.Hour)
	j := newJoiner(t)
	ctx := context.Background()

	if _, err := join.Join(ctx, lt.url, "  \n", j.opts()); !errors.Is(err, join.ErrNoInviteCode) {
		t.Errorf("empty code: %v, want ErrNoInviteCode", err)
	}
	if _, err := join.Join(ctx, "ftp://tracker.example.com", code, j.opts()); !errors.Is(err, join.ErrBadTrackerURL) {
		t.Errorf("bad URL: %v, want ErrBadTrackerURL", err)
	}
	if _, err := join.Join(ctx, "http://tracker.example.com", code, j.opts()); !errors.Is(err, join.ErrBadTrackerURL) {
		t.Errorf("plain http to another machine: %v, want ErrBadTrackerURL (the window has no --allow-http)", err)
	}
	if _, err := join.Join(ctx, lt.url, "not-the-code", j.opts()); !errors.Is(err, join.ErrInviteRejected) || strings.Contains(err.Error(), "not-the-code") {
		t.Errorf("wrong code: %v, want ErrInviteRejected without the code in it", err)
	}
	if j.config(t) != nil {
		t.Fatal("a failed join saved settings")
	}

	res, err := join.Join(ctx, lt.url+"/", " "+code+" ", j.opts())
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if res.URL != lt.url || res.Person.Email != "ada@example.com" || res.Previous != "" {
		t.Errorf("result %+v", res)
	}
	if got := j.config(t)["tracker_url"]; got != lt.url {
		t.Errorf("saved tracker_url %v, want %s", got, lt.url)
	}
	if tok, err := j.tokens[lt.url].Token(); err != nil || tok == "" || tok == code {
		t.Errorf("keychain holds %q (%v), want the exchanged token", tok, err)
	}
	// The code works once.
	if _, err := join.Join(ctx, lt.url, code, j.opts()); !errors.Is(err, join.ErrInviteRejected) {
		t.Errorf("reused code: %v, want ErrInviteRejected", err)
	}
}
