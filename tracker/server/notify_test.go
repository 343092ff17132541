package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
)

// flakyHook is a webhook that refuses posts while down is set, and
// records the ones it accepts.
type flakyHook struct {
	mu       sync.Mutex
	down     bool
	refused  int
	accepted []string
	srv      *httptest.Server
}

func newFlakyHook(t *testing.T) *flakyHook {
	h := &flakyHook{down: true}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		json.NewDecoder(r.Body).Decode(&m)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.down {
			h.refused++
			// A 4xx, which post does not retry by itself.
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		h.accepted = append(h.accepted, m.Text)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *flakyHook) set(down bool) { h.mu.Lock(); h.down = down; h.mu.Unlock() }

func (h *flakyHook) counts() (refused int, accepted []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused, append([]string(nil), h.accepted...)
}

// TestDigestFailedPostNotLost: a digest the webhook refused is not marked
// sent; a later attempt the same day, by this instance or another, sends
// it, and only once.
func TestDigestFailedPostNotLost(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		h := newFlakyHook(t)
		cfg := server.Config{Store: e.st, Now: e.clock.Now, WebhookURL: h.srv.URL, Logf: t.Logf}
		srv1, _ := server.New(cfg)
		srv2, _ := server.New(cfg)
		if sent, err := srv1.SendDigest(ctx); sent || err == nil {
			t.Fatalf("digest to a refusing webhook: %v %v, want an error", sent, err)
		}
		h.set(false)
		if sent, err := srv2.SendDigest(ctx); !sent || err != nil {
			t.Fatalf("retry the same day on another instance: %v %v, want sent", sent, err)
		}
		if sent, err := srv1.SendDigest(ctx); sent || err != nil {
			t.Errorf("third attempt the same day: %v %v, want not sent", sent, err)
		}
		if refused, accepted := h.counts(); refused != 1 || len(accepted) != 1 {
			t.Errorf("webhook refused %d, accepted %d; want 1 and 1", refused, len(accepted))
		}
	})
}

// TestRunDigestRetries: after a failed post the loop tries again within the
// day rather than waiting for tomorrow.
func TestRunDigestRetries(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	h := newFlakyHook(t)
	srv, _ := server.New(server.Config{Store: e.st, Now: e.clock.Now, WebhookURL: h.srv.URL, Logf: t.Logf})
	ticks := make(chan time.Time)
	waits := make(chan time.Duration, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		srv.RunDigest(ctx, 10, func(d time.Duration) <-chan time.Time { waits <- d; return ticks })
		close(done)
	}()
	// start is 09:00 UTC: the digest is due in an hour.
	if d := <-waits; d != time.Hour {
		t.Errorf("first wait %v, want 1h", d)
	}
	e.clock.Add(time.Hour)
	ticks <- e.clock.Now()
	if d := <-waits; d >= 14*time.Hour {
		t.Errorf("after a failed post the loop waits %v, until the next day", d)
	}
	h.set(false)
	ticks <- e.clock.Now()
	if d := <-waits; d < 14*time.Hour {
		t.Errorf("after the digest was sent the loop waits only %v", d)
	}
	cancel()
	<-done
	if refused, accepted := h.counts(); refused != 1 || len(accepted) != 1 {
		t.Errorf("webhook refused %d, accepted %d; want 1 and 1", refused, len(accepted))
	}
}

// TestSlackEscaping: names are people's input; Slack must show them, not
// act on them (<!channel> pings everyone, <url|text> makes a link).
func TestSlackEscaping(t *testing.T) {
	e := newEnv(t, testdb.Backend{Name: "sqlite", DSN: testdb.SQLiteDSN})
	e.do("it", "POST", "/v1/people", tracker.CreatePerson{Email: "zoe@example.com", Name: "Zoe <!channel> & <https://evil.example|IT>",
		Team: "R&D <ops>", StartDate: "2025-01-01", DueDate: "2025-02-01"}, http.StatusCreated, nil)
	if sent, err := e.srv.SendDigest(context.Background()); !sent || err != nil {
		t.Fatalf("digest: %v %v", sent, err)
	}
	msgs := e.hook.messages()
	if len(msgs) != 1 {
		t.Fatalf("messages %q", msgs)
	}
	want := "Zoe &lt;!channel&gt; &amp; &lt;https://evil.example|IT&gt; (zoe@example.com, R&amp;D &lt;ops&gt;)"
	if !strings.Contains(msgs[0], want) || strings.Contains(msgs[0], "<") {
		t.Errorf("digest %q, want it to contain %q and no '<'", msgs[0], want)
	}
}
