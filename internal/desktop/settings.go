package desktop

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"time"

	"github.com/keywizard/keywizard/internal/trackerlink"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/ui/team"
)

// LoadSettings reads the organisation's catalogue and this computer's
// settings for a window of the given version. A simulated run never reports
// to the organisation's tracker (its keys are not real) and cannot join one
// (that would spend a real invite code): its record stays on this computer,
// apart. background is the app's life: the tracker reporter's loop that
// sends queued reports runs until it ends.
func LoadSettings(background context.Context, simulate bool, version string) (Settings, error) {
	var c Settings
	var err error
	if c.ConfigDir, err = os.UserConfigDir(); err != nil {
		return c, fmt.Errorf("finding the user config directory: %w", err)
	}
	if c.Catalogue, _, err = catalogue.LoadFirst(catalogue.OrgPaths(runtime.GOOS, c.ConfigDir, os.Getenv)); err != nil {
		return c, fmt.Errorf("loading the organisation's service catalogue: %w", err)
	}
	if c.StorePath, err = steps.DefaultStorePath(); err != nil {
		return c, err
	}
	if cu, err := user.Current(); err == nil {
		c.OSUser = cu.Username
	}
	if simulate {
		c.Reporter = &steps.LocalReporter{Path: filepath.Join(c.ConfigDir, "keywizard", "record-simulated.jsonl")}
		return c, nil
	}
	ar, err := trackerlink.NewAppReporter(background, c.ConfigDir, version)
	if err != nil {
		return c, err
	}
	c.Reporter, c.Tracker = ar, &trackerlink.Link{ConfigDir: c.ConfigDir}
	return c, nil
}

// TrackerTeam is Deps.FindTeam over the tracker in the settings
// (trackerlink.FindTeam, waiting with after between tries while the
// tracker cannot be reached). A person with no team to see is a nil
// Source, not a Source holding a nil pointer.
func TrackerTeam(version string, after func(time.Duration) <-chan time.Time) func(ctx context.Context, configDir string) (team.Source, error) {
	return func(ctx context.Context, configDir string) (team.Source, error) {
		src, err := trackerlink.FindTeam(ctx, configDir, version, after)
		if err != nil || src == nil {
			return nil, err
		}
		return src, nil
	}
}
