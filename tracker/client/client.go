// Package client is the wizard's side of the onboarding tracker: it queues
// reports on disk, sends them with retries and an idempotency key so each
// arrives exactly once even across crashes, restarts and network loss,
// exchanges invite codes for tokens kept in the OS keychain, and fetches the
// manager's team view. With no tracker configured, [LocalRecorder] keeps the
// record on this machine instead.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

// Errors callers branch on.
var (
	// ErrNoToken: this machine has no tracker token yet; ask for an
	// invite code.
	ErrNoToken = errors.New("no tracker token; enter the invite code from IT")
	// ErrUnauthorized: the tracker refused the token (revoked or expired).
	ErrUnauthorized = errors.New("the tracker no longer accepts this machine's token; ask IT for a new invite code")
	// ErrQueued: Record kept the report on disk but could not deliver it
	// yet; Run (or a later Record) will. It is not a failure.
	ErrQueued = errors.New("the report is saved and will be sent when the tracker is reachable")
	// ErrRejected matches every *RejectedError.
	ErrRejected = errors.New("the tracker refused the report")
)

// RejectedError says the tracker refused a report for good (a 4xx answer
// other than 401, 408 and 429): sending the same report again cannot help.
// The report is kept in Path, for IT.
type RejectedError struct {
	Path string
	Err  *APIError
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("the tracker refused the report (%v); it is kept in %s", e.Err, e.Path)
}

// Unwrap returns the tracker's answer.
func (e *RejectedError) Unwrap() error { return e.Err }

// Is makes RejectedError match ErrRejected.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// TokenStore keeps the bearer token. [KeyringStore] is the production one.
type TokenStore interface {
	// Token returns the stored token, or ErrNoToken.
	Token() (string, error)
	SetToken(token string) error
	DeleteToken() error
}

// Recorder is what the wizard hands finished keys to: a [Client] sending to
// a tracker, or a [LocalRecorder].
type Recorder interface {
	// Record keeps r. nil means it reached its destination; an error
	// matching ErrQueued means it is safe on disk and will be sent later;
	// anything else means it was not kept.
	Record(ctx context.Context, r tracker.Report) error
	// Destination says where the record goes, for the wizard to show.
	Destination() string
}

// APIError is a non-2xx answer from the tracker.
type APIError struct {
	Status int
	Body   tracker.ErrorBody
}

func (e *APIError) Error() string {
	return fmt.Sprintf("tracker answered %d: %s", e.Status, e.Body.Error)
}

// Permanent reports whether retrying the same request cannot help: a 4xx
// other than 401 (a token to renew), 408 and 429.
func (e *APIError) Permanent() bool {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusRequestTimeout:
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

// Config configures a [Client].
type Config struct {
	// BaseURL is the tracker, e.g. https://tracker.example.com.
	BaseURL string
	// Dir holds the queue; it is created if missing.
	Dir    string
	Tokens TokenStore
	// AppVersion is stamped on reports that do not carry one.
	AppVersion string
	// HTTPClient defaults to one with a 30 s timeout.
	HTTPClient *http.Client
	// MinBackoff and MaxBackoff bound the retry delay (defaults 1 s, 5 min).
	MinBackoff, MaxBackoff time.Duration
	// Sleep waits d or until ctx ends; tests inject it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logf logs retries; defaults to discarding.
	Logf func(format string, args ...any)
}

// Client talks to one tracker. It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  *url.URL
	mu    sync.Mutex // serialises Flush
	kick  chan struct{}
	queue string
	dead  string

	// rejected holds the tracker's refusals since this client started, by
	// idempotency key: Flush (often the Run loop's) moves a refused report
	// aside without an error, and whoever enqueued it must still learn of
	// it (Rejected).
	rmu      sync.Mutex
	rejected map[string]*RejectedError
	// answers holds the tracker's answers since this client started, by
	// idempotency key (answers.go).
	answers map[string]tracker.ReportResult
}

// New returns a client. It creates the queue directory.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracker URL %q: must be http(s)://host", cfg.BaseURL)
	}
	if cfg.Tokens == nil {
		return nil, errors.New("tracker client: no token store")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	c := &Client{cfg: cfg, base: u, kick: make(chan struct{}, 1), rejected: map[string]*RejectedError{}, queue: filepath.Join(cfg.Dir, "outbox"), dead: filepath.Join(cfg.Dir, "rejected")}
	for _, d := range []string{c.queue, c.dead} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating report queue: %w", err)
		}
	}
	return c, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Destination implements [Recorder].
func (c *Client) Destination() string {
	return "Reporting to the onboarding tracker at " + c.base.String()
}

// NewIdempotencyKey returns a fresh random key.
func NewIdempotencyKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Enqueue validates r, gives it an idempotency key if it has none, and
// writes it to the queue durably. It returns the key.
func (c *Client) Enqueue(r tracker.Report) (string, error) {
	if r.IdempotencyKey == "" {
		r.IdempotencyKey = NewIdempotencyKey()
	}
	if r.AppVersion == "" {
		r.AppVersion = c.cfg.AppVersion
	}
	if err := r.Validate(); err != nil {
		return "", fmt.Errorf("invalid report: %w", err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	// Names sort in queue order; the key makes them unique.
	name := fmt.Sprintf("%020d-%s.json", time.Now().UnixNano(), r.IdempotencyKey)
	if err := writeAtomic(filepath.Join(c.queue, name), data); err != nil {
		return "", fmt.Errorf("queueing report: %w", err)
	}
	// A report queued again is a new attempt; an earlier refusal of the
	// same content says nothing about this one.
	c.setRejected(r.IdempotencyKey, nil)
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return r.IdempotencyKey, nil
}

// writeAtomic writes data so that path either does not exist or holds all
// of it, even across a crash: temp file, fsync, rename, fsync directory.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not supported everywhere (Windows); best effort
		d.Close()
	}
	return nil
}

// Pending returns the number of queued reports.
func (c *Client) Pending() (int, error) {
	names, err := c.queued()
	return len(names), err
}

func (c *Client) queued() ([]string, error) {
	es, err := os.ReadDir(c.queue)
	if err != nil {
		return nil, fmt.Errorf("reading report queue: %w", err)
	}
	var names []string
	for _, e := range es {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Flush sends every queued report once, oldest first, and returns how many
// the tracker accepted. It stops at the first failure that a retry might
// fix and returns it; reports the tracker rejects for good are moved aside
// to the "rejected" directory and do not stop the queue.
func (c *Client) Flush(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	names, err := c.queued()
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, name := range names {
		path := filepath.Join(c.queue, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return sent, fmt.Errorf("reading queued report: %w", err)
		}
		err = c.sendQueued(ctx, name, data)
		var ae *APIError
		switch {
		case err == nil:
			// Removing after the tracker has it: a crash in between
			// resends it, and the idempotency key makes that harmless.
			if err := os.Remove(path); err != nil {
				return sent, fmt.Errorf("dequeuing report: %w", err)
			}
			c.setRejected(queueKey(name), nil)
			sent++
		case errors.As(err, &ae) && ae.Permanent():
			c.cfg.Logf("tracker: report %s rejected: %v", name, err)
			dead := filepath.Join(c.dead, name)
			if err := os.Rename(path, dead); err != nil {
				return sent, fmt.Errorf("setting rejected report aside: %w", err)
			}
			c.setRejected(queueKey(name), &RejectedError{Path: dead, Err: ae})
		default:
			return sent, err
		}
	}
	return sent, nil
}

// queueKey returns the idempotency key in a queue file's name
// ("<20 digits>-<key>.json", Enqueue).
func queueKey(name string) string {
	_, key, _ := strings.Cut(strings.TrimSuffix(strings.TrimSuffix(name, lossSuffix), ".json"), "-")
	return key
}

func (c *Client) setRejected(key string, e *RejectedError) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if e == nil {
		delete(c.rejected, key)
		return
	}
	c.rejected[key] = e
}

// Rejected returns a *RejectedError if the tracker refused, for good, the
// report queued with idempotency key key (Enqueue's result) since this
// client started, and nil otherwise (sent, still queued, or unknown).
func (c *Client) Rejected(key string) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if e, ok := c.rejected[key]; ok {
		return e
	}
	return nil
}

// Run flushes the queue until ctx ends, retrying with exponential backoff
// and jitter while the tracker is unreachable, and waking when a report is
// enqueued.
func (c *Client) Run(ctx context.Context) error {
	backoff := c.cfg.MinBackoff
	for {
		_, err := c.Flush(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			c.cfg.Logf("tracker: will retry in %v: %v", backoff, err)
			if err := c.cfg.Sleep(ctx, jitter(backoff)); err != nil {
				return err
			}
			backoff = min(2*backoff, c.cfg.MaxBackoff)
			continue
		}
		backoff = c.cfg.MinBackoff
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.kick:
		}
	}
}

// jitter spreads retries from many laptops over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(d/2)))
	if err != nil {
		return d
	}
	return d/2 + time.Duration(n.Int64())
}

// Record implements [Recorder]: it queues r durably, then tries to send
// the queue once. If the tracker cannot be reached the report stays queued
// and Record returns an error matching ErrQueued (and the cause); if the
// tracker refuses it for good, a *RejectedError.
func (c *Client) Record(ctx context.Context, r tracker.Report) error {
	key, err := c.Enqueue(r)
	if err != nil {
		return err
	}
	if _, err := c.Flush(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrQueued, err)
	}
	// Flush skips reports the tracker rejected for good; this one must
	// not be among them unnoticed.
	return c.Rejected(key)
}

// Exchange trades an invite code for a token and stores the token.
func (c *Client) Exchange(ctx context.Context, inviteCode, device string) (tracker.Person, error) {
	body, err := json.Marshal(tracker.Exchange{InviteCode: strings.TrimSpace(inviteCode), Device: device})
	if err != nil {
		return tracker.Person{}, err
	}
	var res tracker.ExchangeResult
	if err := c.send(ctx, http.MethodPost, "/v1/auth/exchange", body, &res, ""); err != nil {
		return tracker.Person{}, err
	}
	if err := c.cfg.Tokens.SetToken(res.Token); err != nil {
		return tracker.Person{}, fmt.Errorf("storing tracker token: %w", err)
	}
	return res.Person, nil
}

// Me returns the signed-in person.
func (c *Client) Me(ctx context.Context) (tracker.Person, error) {
	var p tracker.Person
	err := c.do(ctx, http.MethodGet, "/v1/me", nil, &p)
	return p, err
}

// Team returns the caller's team as the dashboard shows it. managerID may
// be empty for the caller's own team.
func (c *Client) Team(ctx context.Context, managerID string) (tracker.TeamView, error) {
	var v tracker.TeamView
	path := "/v1/team"
	if managerID != "" {
		path += "?manager=" + url.QueryEscape(managerID)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &v)
	return v, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	tok, err := c.cfg.Tokens.Token()
	if err != nil {
		return err
	}
	return c.send(ctx, method, path, body, out, tok)
}

func (c *Client) send(ctx context.Context, method, path string, body []byte, out any, token string) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		// Do's error names the URL, which carries no secret.
		return fmt.Errorf("reaching tracker: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading tracker answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode}
		json.Unmarshal(data, &ae.Body)
		if ae.Body.Error == "" {
			ae.Body.Error = http.StatusText(resp.StatusCode)
		}
		if resp.StatusCode == http.StatusUnauthorized && token != "" {
			return fmt.Errorf("%w (%v)", ErrUnauthorized, ae)
		}
		return ae
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding tracker answer: %w", err)
		}
	}
	return nil
}
