package cli_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker/cli"
)

// startServe runs `tracker <args>` until the test ends and returns its
// base URL and output.
func startServe(t *testing.T, env cli.Env, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- runEnv(t, ctx, env, &out, args...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`).FindStringSubmatch(out.String()); m != nil {
			return "http://" + m[1], &out
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %q", out.String())
		}
	}
}

// TestServeDefaults: `keywizard tracker serve` with no flags listens on
// loopback port 8740 and keeps a SQLite file in the user data directory.
func TestServeDefaults(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG_DATA_HOME applies on Linux")
	}
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	var mu sync.Mutex
	var asked []string
	// 8740 may be taken on this machine: note the address serve asks
	// for and serve on a free loopback port instead.
	env := cli.Env{Listen: func(network, addr string) (net.Listener, error) {
		mu.Lock()
		asked = append(asked, network+" "+addr)
		mu.Unlock()
		return net.Listen("tcp", "127.0.0.1:0")
	}}
	base, out := startServe(t, env, "serve")
	mu.Lock()
	if len(asked) != 1 || asked[0] != "tcp 127.0.0.1:8740" {
		t.Errorf("serve listened on %q, want tcp 127.0.0.1:8740", asked)
	}
	mu.Unlock()
	db := filepath.Join(data, "keywizard", "tracker.db")
	if _, err := os.Stat(db); err != nil {
		t.Errorf("no SQLite file in the data directory: %v", err)
	}
	if !strings.Contains(out.String(), "sqlite: "+db) {
		t.Errorf("serve output %q does not name %s", out.String(), db)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]string
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["store"] != "sqlite" {
		t.Errorf("healthz: %d %v", resp.StatusCode, health)
	}
}

// TestServeWebhookStartsDigest: with --webhook, serve runs the daily digest
// loop, which posts the overdue people to the hook.
func TestServeWebhookStartsDigest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	var out syncBuffer
	if err := run(t, context.Background(), &out, "--db", db, "person", "add", "--email", "old@example.com", "--name", "Old Hand", "--start", "2020-01-06", "--due", "2020-02-05"); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	posts := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		json.NewDecoder(r.Body).Decode(&m)
		select {
		case posts <- m.Text:
		default:
		}
	}))
	defer hook.Close()
	// The loop's first wait ends at once; later ones never do.
	fired := make(chan time.Time, 1)
	fired <- time.Now()
	env := cli.Env{DigestAfter: func(time.Duration) <-chan time.Time { return fired }}
	startServe(t, env, "--db", db, "serve", "--listen", "127.0.0.1:0", "--webhook", hook.URL)
	select {
	case msg := <-posts:
		if !strings.Contains(msg, "old@example.com") {
			t.Errorf("digest %q does not list the overdue person", msg)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a deadline
		t.Fatal("serve --webhook posted no digest")
	}
}
