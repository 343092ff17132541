// Package join connects a computer to the onboarding tracker: it trades the
// single-use invite code from IT for the computer's own token (or, for
// IT, checks a token they already have: Login), keeps the
// token in the OS keychain and saves the tracker's address in the keywizard
// settings, where the wizard's reporter and team view look (internal/trackerlink).
// Both `keywizard tracker join` (tracker/cli) and the wizard's Tell IT step
// use it. It links only the tracker client, not the server, so the window's
// executable stays small (BENCHMARKS.md, "Enrollment window").
package join

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
)

// KeyringService names the OS keychain item holding this computer's
// tracker token; its account is the tracker URL. internal/trackerlink's
// NewClient reads the token under the same names, so what join
// stores is what the wizard sends with.
const KeyringService = "keywizard"

// EnvTracker overrides the saved tracker URL (internal/settings.Load).
const EnvTracker = "KEYWIZARD_TRACKER"

// Errors join returns, for callers that branch on them with errors.Is.
// The messages say what to do next in the command line's words (`keywizard
// tracker join`); the window maps them to the steps package's own.
var (
	// ErrInviteRejected: the tracker did not accept the invite code.
	ErrInviteRejected = errors.New("the tracker did not accept this invite code: it is unknown, already used or expired; ask IT for a new one")
	// ErrTrackerUnreachable: no answer from the tracker at all.
	ErrTrackerUnreachable = errors.New("cannot reach the tracker; check the network (VPN?) and the --url, then run join again with the same invite code")
	// ErrBadTrackerURL: --url is not a tracker's address.
	ErrBadTrackerURL = errors.New("--url must be the tracker's address as IT gave it, like https://tracker.example.com")
	// ErrNoInviteCode: nothing was typed or piped in.
	ErrNoInviteCode = errors.New("no invite code given; paste the code from IT when asked, or pipe it in from a file (never put it on the command line)")
	// ErrTooManyAttempts: the tracker is rate-limiting this network.
	ErrTooManyAttempts = errors.New("the tracker refused: too many attempts from this network; wait a minute and run join again")
)

// Options are Join's side effects; the zero value uses the real ones.
type Options struct {
	// ConfigDir is the user config directory; default os.UserConfigDir.
	// The tracker URL is saved in <ConfigDir>/keywizard/config.json.
	ConfigDir func() (string, error)
	// Tokens returns where the token for a tracker goes; default the OS
	// keychain, client.KeyringStore{Service: KeyringService, User: url}.
	Tokens func(trackerURL string) client.TokenStore
	// Hostname names this computer to IT in the tracker; default
	// os.Hostname.
	Hostname func() (string, error)
	// Getenv reads the environment; default os.Getenv.
	Getenv func(string) string
	// HTTPClient talks to the tracker; default the client's own.
	HTTPClient *http.Client
}

func (o *Options) defaults() {
	if o.ConfigDir == nil {
		o.ConfigDir = os.UserConfigDir
	}
	if o.Tokens == nil {
		o.Tokens = func(u string) client.TokenStore { return client.KeyringStore{Service: KeyringService, User: u} }
	}
	if o.Hostname == nil {
		o.Hostname = os.Hostname
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
}

// Result is what a successful join did.
type Result struct {
	// URL is the tracker's address as saved (normalised).
	URL string
	// Person is who the invite code was for.
	Person tracker.Person
	// Role says, in words, what they can see ("" for a new hire; " (manager
	// of 3)" with a leading space otherwise).
	Role string
	// Previous is the tracker this computer reported to before, if another.
	Previous string
	// OverriddenBy is KEYWIZARD_TRACKER's value when it names another
	// tracker, which then still wins over the saved one.
	OverriddenBy string
}

// Join does what `keywizard tracker join` does with an invite code already
// in hand (the wizard's window asks for it): it trades code for this
// computer's token at rawURL (https, or http on this computer only), keeps
// the token in the OS keychain and saves the tracker's address. Errors
// match ErrBadTrackerURL, ErrNoInviteCode, ErrInviteRejected,
// ErrTrackerUnreachable or ErrTooManyAttempts where those apply; none
// carries the code.
func Join(ctx context.Context, rawURL, code string, o Options) (Result, error) {
	return Run(ctx, rawURL, false, o, func() (string, error) {
		if code = strings.TrimSpace(code); code == "" {
			return "", ErrNoInviteCode
		}
		return code, nil
	})
}

// Run joins with the code getCode returns, asked for only once everything
// that can fail locally has been checked (the code works once): the command
// line reads it from standard input then. allowHTTP permits a plain-http
// tracker on another machine.
func Run(ctx context.Context, rawURL string, allowHTTP bool, o Options, getCode func() (string, error)) (Result, error) {
	o.defaults()
	// Everything that can fail locally is checked before the invite code
	// is spent: the code works once, and a token the keychain refused to
	// keep would be lost with it.
	loc, err := o.local(rawURL, allowHTTP)
	if err != nil {
		return Result{}, err
	}
	base, dir := loc.base, loc.dir
	tokens := &watchedStore{TokenStore: o.Tokens(base)}
	if _, err := tokens.Token(); err != nil && !errors.Is(err, client.ErrNoToken) {
		return Result{}, fmt.Errorf("the OS keychain cannot be used, so the tracker token could not be kept (unlock the keychain or log in to the desktop, then run join again): %w", err)
	}
	cl, err := client.New(client.Config{BaseURL: base, Dir: filepath.Join(dir, "keywizard", "queue"), Tokens: tokens, HTTPClient: o.HTTPClient})
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrBadTrackerURL, err)
	}

	code, err := getCode()
	if err != nil {
		return Result{}, err
	}
	me, err := cl.Exchange(ctx, code, deviceName(o.Hostname))
	if tokens.setErr != nil {
		// The code is spent and its token is gone with the failed write.
		return Result{}, fmt.Errorf("the invite code was accepted but the OS keychain refused the token, so it is lost; unlock the keychain, then ask IT for a new invite code: %w", tokens.setErr)
	}
	if err != nil {
		return Result{}, explain(base, err)
	}
	if err := loc.saveURL(); err != nil {
		return Result{}, fmt.Errorf("joined, and the token is in the keychain, but the tracker address could not be saved (run join again with a new invite code once fixed): %w", err)
	}
	return loc.result(ctx, o, cl, me), nil
}

// local is what join and login check on this computer before they talk
// to the tracker: the tracker's canonical address and the settings file
// it will be saved in.
type local struct {
	base, dir, cfgPath string
	settings           map[string]any
	previous           string
}

// local checks rawURL and reads the settings it will be saved in.
func (o Options) local(rawURL string, allowHTTP bool) (local, error) {
	base, err := trackerURL(rawURL, allowHTTP)
	if err != nil {
		return local{}, err
	}
	dir, err := o.ConfigDir()
	if err != nil {
		return local{}, fmt.Errorf("finding the user config directory: %w", err)
	}
	cfgPath := filepath.Join(dir, "keywizard", "config.json")
	settings, err := readSettings(cfgPath)
	if err != nil {
		return local{}, err
	}
	return local{base: base, dir: dir, cfgPath: cfgPath, settings: settings}, nil
}

// saveURL saves the tracker's address, remembering the one it replaces.
func (l *local) saveURL() error {
	l.previous, _ = l.settings["tracker_url"].(string)
	l.settings["tracker_url"] = l.base
	return writeSettings(l.cfgPath, l.settings)
}

// result says who joined or signed in, and what the saved address replaced
// or is overridden by.
func (l *local) result(ctx context.Context, o Options, cl *client.Client, me tracker.Person) Result {
	res := Result{URL: l.base, Person: me, Role: role(ctx, cl, me)}
	if l.previous != "" && l.previous != l.base {
		res.Previous = l.previous
	}
	if env := o.Getenv(EnvTracker); env != "" && strings.TrimSuffix(env, "/") != l.base {
		res.OverriddenBy = env
	}
	return res
}

// watchedStore remembers whether storing the token failed: client.Exchange
// wraps that failure without a type of its own, and join must tell it
// apart from a refused code (the code is spent in that case).
type watchedStore struct {
	client.TokenStore
	setErr error
}

func (w *watchedStore) SetToken(tok string) error {
	w.setErr = w.TokenStore.SetToken(tok)
	return w.setErr
}

// trackerURL checks and normalises --url. The result is both the saved
// tracker_url and the keychain account, so it must be canonical: no
// trailing slash, no path junk.
func trackerURL(raw string, allowHTTP bool) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w (got %q)", ErrBadTrackerURL, raw)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w (got %q: it must start with https://)", ErrBadTrackerURL, raw)
	case u.User != nil:
		// A password in the URL would be saved in config.json in clear.
		return "", fmt.Errorf("%w (got a user name or password in it: remove it)", ErrBadTrackerURL)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%w (got %q: remove everything after ? or #)", ErrBadTrackerURL, raw)
	case u.Scheme == "http" && !allowHTTP && !loopback(u.Hostname()):
		return "", fmt.Errorf("%w (got %q: plain http would send the invite code and the token unencrypted; use https://, or --allow-http if IT says so)", ErrBadTrackerURL, raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// deviceName is how IT sees this computer in the tracker; the server takes
// at most 100 printable characters (tracker.Exchange.Validate).
func deviceName(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil {
		return ""
	}
	h = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, h)
	if r := []rune(strings.TrimSpace(h)); len(r) > 100 {
		h = string(r[:100])
	}
	return strings.TrimSpace(h)
}

// explain turns an exchange failure into what to do next. Nothing in
// it carries the invite code: the client's errors name the URL only.
func explain(base string, err error) error {
	var ae *client.APIError
	switch {
	case errors.As(err, &ae):
		switch {
		case ae.Status == http.StatusUnauthorized, ae.Status == http.StatusBadRequest && ae.Body.Field == "invite_code":
			return fmt.Errorf("%w (%s answered %d)", ErrInviteRejected, base, ae.Status)
		case ae.Status == http.StatusTooManyRequests:
			return ErrTooManyAttempts
		case ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed:
			return fmt.Errorf("%w (%s has no tracker API: it answered %d to POST /v1/auth/exchange)", ErrBadTrackerURL, base, ae.Status)
		case ae.Status >= 500:
			return fmt.Errorf("the tracker at %s failed (HTTP %d); try again in a few minutes, and ask IT for a new invite code if it then says the code was used: %w", base, ae.Status, err)
		}
		return fmt.Errorf("joining %s: %w", base, err)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return fmt.Errorf("%w (%s: %w)", ErrTrackerUnreachable, base, err)
	}
	// Anything else (say a proxy's login page instead of JSON) means the
	// address does not lead to the tracker.
	return fmt.Errorf("%w (%s did not answer like a tracker: %w)", ErrBadTrackerURL, base, err)
}

// role says what the new member can see, from their team view: IT sees
// everyone, a manager their reports. Failing to read it is no reason to
// fail the join, so it then says nothing.
func role(ctx context.Context, cl *client.Client, me tracker.Person) string {
	v, err := cl.Team(ctx, "")
	switch {
	case err != nil:
		return ""
	case me.Admin:
		return fmt.Sprintf(" (IT administrator: sees all %d people)", v.Summary.People)
	case v.Summary.People > 0:
		return fmt.Sprintf(" (manager of %d)", v.Summary.People)
	}
	return ""
}

// readSettings reads the keywizard settings as loose JSON, so that fields
// this command does not know (added by later versions) survive a join.
func readSettings(path string) (map[string]any, error) {
	m := map[string]any{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("reading keywizard settings: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("keywizard settings %s are not valid JSON; fix or delete the file, then run join again: %w", path, err)
	}
	if m == nil { // the file said null
		m = map[string]any{}
	}
	return m, nil
}

// writeSettings replaces the settings file atomically (a temporary file in
// the same directory, synced, then renamed over it), so a crash leaves the
// old settings or the new ones, never half a file.
func writeSettings(path string, m map[string]any) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return fmt.Errorf("saving keywizard settings: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("saving keywizard settings: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("saving keywizard settings: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving keywizard settings: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("saving keywizard settings: %w", err)
	}
	return nil
}
