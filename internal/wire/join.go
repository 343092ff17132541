package wire

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/steps"
	trackercli "github.com/keywizard/keywizard/tracker/cli"
)

// TrackerLink is steps.Tracker over the keywizard settings and the OS
// keychain: Join does what `keywizard tracker join` does (tracker/cli.Join),
// so the token and address land where Reporter and the team view look.
type TrackerLink struct {
	// ConfigDir is the user config directory (the settings are in
	// <ConfigDir>/keywizard/config.json).
	ConfigDir string
	// Options are tracker/cli.Join's side effects; ConfigDir is filled in
	// from the field above. The zero value uses the OS keychain.
	Options trackercli.JoinOptions
}

var _ steps.Tracker = (*TrackerLink)(nil)

// Connected returns the configured tracker, if any.
func (t *TrackerLink) Connected() (string, bool) {
	c, err := LoadConfig(t.ConfigDir)
	if err != nil || c.TrackerURL == "" {
		return "", false
	}
	return c.TrackerURL, true
}

// Join trades code for this computer's token at url. Its errors match the
// steps package's join errors, so the window explains them in its own
// words; the command-line wording (flags, "run join again") stays out.
func (t *TrackerLink) Join(ctx context.Context, url, code string) (steps.JoinResult, error) {
	o := t.Options
	dir := t.ConfigDir
	o.ConfigDir = func() (string, error) { return dir, nil }
	res, err := trackercli.Join(ctx, url, code, o)
	if err != nil {
		return steps.JoinResult{}, joinError(err)
	}
	return steps.JoinResult{URL: res.URL, Name: res.Person.Name, Email: res.Person.Email}, nil
}

// joinError maps tracker/cli's join errors to the steps package's. The
// cause is kept for errors.As and logs; what the person reads is the steps
// error's message (ui.Explain).
func joinError(err error) error {
	for _, m := range []struct{ cli, steps error }{
		{trackercli.ErrInviteRejected, steps.ErrInviteRejected},
		{trackercli.ErrTrackerUnreachable, steps.ErrTrackerUnreachable},
		{trackercli.ErrBadTrackerURL, steps.ErrBadTrackerURL},
		{trackercli.ErrTooManyAttempts, steps.ErrTryLater},
		{trackercli.ErrNoInviteCode, steps.ErrNoInviteCode},
	} {
		if errors.Is(err, m.cli) {
			return fmt.Errorf("%w: %w", m.steps, err)
		}
	}
	return err
}
