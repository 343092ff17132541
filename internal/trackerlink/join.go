package trackerlink

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/internal/settings"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/tracker/join"
)

// Link is steps.Tracker over the keywizard settings and the OS
// keychain: Join does what `keywizard tracker join` does (tracker/join.Join),
// so the token and address land where Reporter and the team view look.
type Link struct {
	// ConfigDir is the user config directory (the settings are in
	// <ConfigDir>/keywizard/config.json).
	ConfigDir string
	// Options are tracker/join.Join's side effects; ConfigDir is filled in
	// from the field above. The zero value uses the OS keychain.
	Options join.Options
}

var _ steps.Tracker = (*Link)(nil)

// Connected returns the configured tracker, if any.
func (t *Link) Connected() (string, bool) {
	c, err := settings.Load(t.ConfigDir)
	if err != nil || c.TrackerURL == "" {
		return "", false
	}
	return c.TrackerURL, true
}

// Join trades code for this computer's token at url. Its errors match the
// steps package's join errors, so the window explains them in its own
// words; the command-line wording (flags, "run join again") stays out.
func (t *Link) Join(ctx context.Context, url, code string) (steps.JoinResult, error) {
	o := t.Options
	dir := t.ConfigDir
	o.ConfigDir = func() (string, error) { return dir, nil }
	res, err := join.Join(ctx, url, code, o)
	if err != nil {
		return steps.JoinResult{}, joinError(err)
	}
	return steps.JoinResult{URL: res.URL, Name: res.Person.Name, Email: res.Person.Email}, nil
}

// joinError maps tracker/join's errors to the steps package's. The
// cause is kept for errors.As and logs; what the person reads is the steps
// error's message (ui.Explain).
func joinError(err error) error {
	for _, m := range []struct{ cli, steps error }{
		{join.ErrInviteRejected, steps.ErrInviteRejected},
		{join.ErrTrackerUnreachable, steps.ErrTrackerUnreachable},
		{join.ErrBadTrackerURL, steps.ErrBadTrackerURL},
		{join.ErrTooManyAttempts, steps.ErrTryLater},
		{join.ErrNoInviteCode, steps.ErrNoInviteCode},
	} {
		if errors.Is(err, m.cli) {
			return fmt.Errorf("%w: %w", m.steps, err)
		}
	}
	return err
}
