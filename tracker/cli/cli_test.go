package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/cli"
	"github.com/keywizard/keywizard/tracker/store"
)

func run(t *testing.T, ctx context.Context, out io.Writer, args ...string) error {
	t.Helper()
	return runEnv(t, ctx, cli.Env{}, out, args...)
}

// runEnv runs `tracker <args>` over env, with out as its standard output
// and error.
func runEnv(t *testing.T, ctx context.Context, env cli.Env, out io.Writer, args ...string) error {
	t.Helper()
	cmd := cli.NewCommand(env)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	return cmd.ExecuteContext(ctx)
}

// syncBuffer is written by the serve goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestFirstAdminInviteAndServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(t, ctx, &out, "--db", db, "admin", "create-admin", "--email", "it@example.com", "--name", "IT Desk"); err != nil {
		t.Fatal(err)
	}
	tok := regexp.MustCompile(`kwt_[0-9a-f]{16}_[A-Za-z0-9_-]+`).FindString(out.String())
	if tok == "" {
		t.Fatalf("no token in %q", out.String())
	}
	out.Reset()
	if err := run(t, ctx, &out, "--db", db, "person", "add", "--email", "ann@example.com", "--name", "Ann", "--manager", "it@example.com", "--start", "2026-03-02"); err != nil {
		t.Fatal(err)
	}
	if err := run(t, ctx, &out, "--db", db, "person", "add", "--email", "Bad", "--name", "B"); err == nil || !strings.Contains(err.Error(), "email") {
		t.Errorf("bad e-mail accepted: %v", err)
	}
	out.Reset()
	if err := run(t, ctx, &out, "--db", db, "invite", "--email", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`kwi_[0-9a-f]{16}_[A-Za-z0-9_-]+`).FindString(out.String())
	if code == "" {
		t.Fatalf("no invite code in %q", out.String())
	}

	sctx, cancel := context.WithCancel(ctx)
	var sout syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(t, sctx, &sout, "--db", db, "serve", "--listen", "127.0.0.1:0") }()
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %q", sout.String())
		}
		if m := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`).FindStringSubmatch(sout.String()); m != nil {
			base = "http://" + m[1]
		}
	}
	req, _ := http.NewRequest("GET", base+"/v1/people", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var people []tracker.Person
	json.NewDecoder(resp.Body).Decode(&people)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(people) != 2 {
		t.Errorf("GET /v1/people with the create-admin token: %d, %d people", resp.StatusCode, len(people))
	}
	resp, err = http.Post(base+"/v1/auth/exchange", "application/json", strings.NewReader(`{"invite_code":"`+code+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("exchanging the CLI's invite: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if !strings.Contains(sout.String(), "sqlite") || !strings.Contains(sout.String(), "stopped") {
		t.Errorf("serve output: %q", sout.String())
	}
}

func TestServeHintsFirstAdmin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(t, ctx, &out, "--db", db, "serve", "--listen", "127.0.0.1:0") }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "create-admin"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no first-admin hint in %q", out.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "--db "+db) {
		t.Errorf("hint does not name the database: %q", out.String())
	}
}

func TestDefaultDBPath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG_DATA_HOME applies on Linux")
	}
	t.Setenv("XDG_DATA_HOME", "/data")
	p, err := cli.DefaultDBPath()
	if err != nil || p != filepath.Join("/data", "keywizard", "tracker.db") {
		t.Errorf("DefaultDBPath = %q, %v", p, err)
	}
}

// TestRunFunctionsWithEnv calls the run functions directly, as the
// commands do, with a fixed clock and a counting store opener: the invite
// expires from the injected clock, a person refused by validation opens
// no database, and the one e-mail lookup names what the address was for.
func TestRunFunctionsWithEnv(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "t.db")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	var opened []string
	env := cli.Env{
		Out: &out, Err: io.Discard, In: strings.NewReader(""),
		Now: func() time.Time { return now },
		OpenStore: func(ctx context.Context, dsn string) (store.Store, error) {
			opened = append(opened, dsn)
			return store.Open(ctx, dsn)
		},
	}
	if err := cli.RunPersonAdd(ctx, env, cli.PersonAddOptions{DB: db, Person: tracker.CreatePerson{Email: "Bad", Name: "B"}}); err == nil {
		t.Error("bad e-mail accepted")
	}
	err := cli.RunPersonAdd(ctx, env, cli.PersonAddOptions{DB: db, Person: tracker.CreatePerson{Email: "ann@example.com", Name: "Ann", ManagerEmail: "nobody@example.com", StartDate: "2026-03-02"}})
	if err == nil || !strings.Contains(err.Error(), "finding manager nobody@example.com") {
		t.Errorf("unknown manager: %v", err)
	}
	if err := cli.RunPersonAdd(ctx, env, cli.PersonAddOptions{DB: db, Person: tracker.CreatePerson{Email: "ann@example.com", Name: "Ann", StartDate: "2026-03-02"}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := cli.RunInvite(ctx, env, cli.InviteOptions{DB: db, Email: "ann@example.com", Reason: "test", Valid: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if want := "valid until 2026-03-04T09:00:00Z"; !strings.Contains(out.String(), want) {
		t.Errorf("invite output %q, want %q (from the injected clock)", out.String(), want)
	}
	err = cli.RunAdminToken(ctx, env, cli.AdminTokenOptions{DB: db, Email: "zed@example.com"})
	if err == nil || !strings.Contains(err.Error(), "finding zed@example.com") || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown person: %v", err)
	}
	if len(opened) != 4 {
		t.Errorf("stores opened %d times (%q), want once per command that needs one (a refused e-mail opens none)", len(opened), opened)
	}
}
