package join

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/keywizard/keywizard/tracker/client"
)

// Signing in with a token IT already has (the first administrator's, from
// `keywizard tracker admin create-admin`, or one issued on the tracker's
// host), for the IT commands that call the tracker's API from any computer
// (`keywizard tracker key ...`): the same keychain item and saved address
// as join, so what login stores the commands and the wizard use.

// ErrTokenRejected says the tracker did not accept the token given to login.
var ErrTokenRejected = errors.New("the tracker did not accept this token: it is unknown, revoked or expired; ask another IT administrator for a new one")

// ErrNoToken says nothing was typed or piped in to login.
var ErrNoToken = errors.New("no token given; paste it when asked, or pipe it in from a file (never put it on the command line)")

// Login checks the token getToken returns against the tracker at rawURL
// (GET /v1/me), then keeps it in the OS keychain and saves the tracker's
// address, as Run does with an invite code's token. Errors carry neither
// the token nor anything derived from it.
func Login(ctx context.Context, rawURL string, allowHTTP bool, o Options, getToken func() (string, error)) (Result, error) {
	o.defaults()
	loc, err := o.local(rawURL, allowHTTP)
	if err != nil {
		return Result{}, err
	}
	base, dir := loc.base, loc.dir
	keep := o.Tokens(base)
	if _, err := keep.Token(); err != nil && !errors.Is(err, client.ErrNoToken) {
		return Result{}, fmt.Errorf("the OS keychain cannot be used, so the token could not be kept (unlock the keychain or log in to the desktop, then run login again): %w", err)
	}
	tok, err := getToken()
	if err != nil {
		return Result{}, err
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return Result{}, ErrNoToken
	}
	try := &client.MemoryStore{Value: tok}
	cl, err := client.New(client.Config{BaseURL: base, Dir: filepath.Join(dir, "keywizard", "queue"), Tokens: try, HTTPClient: o.HTTPClient})
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrBadTrackerURL, err)
	}
	me, err := cl.Me(ctx)
	if errors.Is(err, client.ErrUnauthorized) {
		return Result{}, ErrTokenRejected
	}
	var ae *client.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
		return Result{}, fmt.Errorf("%w (%s has no tracker API: it answered %d to GET /v1/me)", ErrBadTrackerURL, base, ae.Status)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%w (%s): %w", ErrTrackerUnreachable, base, err)
	}
	if err := keep.SetToken(tok); err != nil {
		return Result{}, fmt.Errorf("the token works but the OS keychain refused it; unlock the keychain and run login again: %w", err)
	}
	if err := loc.saveURL(); err != nil {
		return Result{}, fmt.Errorf("signed in, and the token is in the keychain, but the tracker address could not be saved (run login again once fixed): %w", err)
	}
	return loc.result(ctx, o, cl, me), nil
}

// ErrNotJoined says this computer has no tracker saved and none was named.
var ErrNotJoined = errors.New(`no tracker configured on this computer; run "keywizard tracker login --url URL" (IT) or "keywizard tracker join --url URL" (with an invite code), or pass --url`)

// Tracker returns the tracker to talk to: rawURL if given (normalised as
// join does), else KEYWIZARD_TRACKER, else the address join or login
// saved; and the keychain item holding this computer's token for it.
func Tracker(rawURL string, allowHTTP bool, o Options) (string, client.TokenStore, error) {
	o.defaults()
	if rawURL == "" {
		// An address saved by join or login, or set by IT in the
		// environment, was accepted as it is.
		allowHTTP = true
		rawURL = o.Getenv(EnvTracker)
	}
	if rawURL == "" {
		dir, err := o.ConfigDir()
		if err != nil {
			return "", nil, fmt.Errorf("finding the user config directory: %w", err)
		}
		settings, err := readSettings(filepath.Join(dir, "keywizard", "config.json"))
		if err != nil {
			return "", nil, err
		}
		rawURL, _ = settings["tracker_url"].(string)
	}
	if rawURL == "" {
		return "", nil, ErrNotJoined
	}
	base, err := trackerURL(rawURL, allowHTTP)
	if err != nil {
		return "", nil, err
	}
	return base, o.Tokens(base), nil
}

// QueueDir is where the report queue of this computer lives (the wizard's
// and the commands' clients share it).
func QueueDir(o Options) (string, error) {
	o.defaults()
	dir, err := o.ConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config directory: %w", err)
	}
	return filepath.Join(dir, "keywizard", "queue"), nil
}
