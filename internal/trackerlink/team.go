package trackerlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/keywizard/keywizard/internal/settings"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
)

// ErrNoTracker says no onboarding tracker is configured on this computer.
var ErrNoTracker = errors.New("no onboarding tracker configured; run \"keywizard tracker join --url <tracker>\" with the invite code from IT")

// NewClient returns a client for the tracker in the keywizard settings
// (config.json under configDir, or KEYWIZARD_TRACKER), with the token in
// the OS keychain where `keywizard tracker join` put it (service
// "keywizard", account the tracker URL) and the on-disk report queue under
// configDir. It returns ErrNoTracker when none is configured. Reporter and
// the team view both build their client here; only Reporter's runs the
// loop that sends queued reports.
func NewClient(configDir, version string) (*client.Client, error) {
	c, err := settings.Load(configDir)
	if err != nil {
		return nil, err
	}
	if c.TrackerURL == "" {
		return nil, ErrNoTracker
	}
	cl, err := client.New(client.Config{
		BaseURL:    c.TrackerURL,
		Dir:        filepath.Join(configDir, "keywizard", "queue"),
		Tokens:     client.KeyringStore{Service: "keywizard", User: c.TrackerURL},
		AppVersion: version,
	})
	if err != nil {
		return nil, fmt.Errorf("setting up the tracker client: %w", err)
	}
	return cl, nil
}

// TeamSource is the app's team view's Source (ui/team.Source) over the
// tracker client: GET /v1/team, the view-model the dashboard renders.
type TeamSource struct {
	Client *client.Client
	// ManagerID is whose reporting tree to show; empty asks for the
	// caller's default, which for IT administrators is everyone
	// (tracker/server teamView).
	ManagerID string
}

// Team fetches the team view.
func (s *TeamSource) Team(ctx context.Context) (tracker.TeamView, error) {
	v, err := s.Client.Team(ctx, s.ManagerID)
	if err != nil {
		return v, fmt.Errorf("reading the team from the tracker: %w", err)
	}
	return v, nil
}

// NewTeamSource asks the tracker who this computer's person is and
// whether they have a team to see. It returns a source when they are IT
// (who see everyone) or manage anyone, directly or not; nil, with the
// person, when they manage nobody, so the app shows no team view to a new
// hire. Errors are the client's: client.ErrNoToken (not joined yet),
// client.ErrUnauthorized, *client.APIError, or a network error.
func NewTeamSource(ctx context.Context, cl *client.Client) (*TeamSource, tracker.Person, error) {
	me, err := cl.Me(ctx)
	if err != nil {
		return nil, me, fmt.Errorf("asking the tracker who you are: %w", err)
	}
	if me.Admin {
		return &TeamSource{Client: cl}, me, nil
	}
	// The person record says nothing about reports; their team view does.
	src := &TeamSource{Client: cl, ManagerID: me.ID}
	v, err := src.Team(ctx)
	if err != nil {
		return nil, me, err
	}
	if len(v.Rows) == 0 {
		return nil, me, nil
	}
	return src, me, nil
}

// Team is NewClient then NewTeamSource: the team view's source
// for the person this computer joined the tracker as, or nil when they
// have no team to see. It makes two requests; call it off Fyne's
// goroutine.
func Team(ctx context.Context, configDir, version string) (*TeamSource, tracker.Person, error) {
	cl, err := NewClient(configDir, version)
	if err != nil {
		return nil, tracker.Person{}, err
	}
	return NewTeamSource(ctx, cl)
}

// FindTeam is Team for the window's start: while the tracker
// cannot be reached (offline, the tracker restarting, a 5xx, 408 or 429) it
// tries again after 30 s, then 1, 2, 4 and at most every 10 minutes, so a
// manager who opens keywizard before the network is up still gets their
// team view that session. It returns what Team returns once that is
// an answer: a source, nil for someone who manages nobody, or an error
// that waiting does not change (no tracker configured, not joined, token
// refused); or ctx's error. after is time.After; tests pass their own.
func FindTeam(ctx context.Context, configDir, version string, after func(time.Duration) <-chan time.Time) (*TeamSource, error) {
	delay := 30 * time.Second
	for {
		src, _, err := Team(ctx, configDir, version)
		if err == nil || !temporary(err) {
			return src, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-after(delay):
		}
		delay = min(2*delay, 10*time.Minute)
	}
}

// temporary reports whether err is the tracker being unreachable for now
// rather than an answer: a network error, or an answer the tracker client
// would retry a report after (client.APIError.Permanent: 5xx, 429, 408).
func temporary(err error) bool {
	var api *client.APIError
	if errors.As(err, &api) {
		return !api.Permanent()
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
