package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keywizard/keywizard/steps"
)

// Config is the person's keywizard settings, keywizard/config.json in the
// user config dir. It holds no secrets: the tracker token lives in the OS
// keychain (client.KeyringStore).
type Config struct {
	// TrackerURL is the onboarding tracker; empty keeps the record locally.
	TrackerURL string `json:"tracker_url,omitempty"`
}

// LoadConfig reads dir/keywizard/config.json; a missing file is the zero
// Config. KEYWIZARD_TRACKER overrides the tracker URL.
func LoadConfig(dir string) (Config, error) {
	var c Config
	b, err := os.ReadFile(filepath.Join(dir, "keywizard", "config.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return c, fmt.Errorf("reading keywizard settings: %w", err)
	default:
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("keywizard settings %s are not valid JSON: %w", filepath.Join(dir, "keywizard", "config.json"), err)
		}
	}
	if u := os.Getenv("KEYWIZARD_TRACKER"); u != "" {
		c.TrackerURL = u
	}
	return c, nil
}

// Reporter chooses where the wizard's report goes: the configured tracker
// (queued on disk, token in the OS keychain), or, with none configured, a
// local record that says so. run, when not nil, keeps sending queued reports
// until its context ends; start it in the background.
func Reporter(configDir, version string) (r steps.Reporter, run func(context.Context) error, err error) {
	cl, err := TrackerClient(configDir, version)
	if errors.Is(err, ErrNoTracker) {
		return &steps.LocalReporter{Path: filepath.Join(configDir, "keywizard", "record.jsonl")}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &TrackerReporter{Client: cl}, cl.Run, nil
}
