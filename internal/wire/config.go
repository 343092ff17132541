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
	"github.com/keywizard/keywizard/tracker/client"
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
	c, err := LoadConfig(configDir)
	if err != nil {
		return nil, nil, err
	}
	base := filepath.Join(configDir, "keywizard")
	if c.TrackerURL == "" {
		return &steps.LocalReporter{Path: filepath.Join(base, "record.jsonl")}, nil, nil
	}
	tokens := client.KeyringStore{Service: "keywizard", User: c.TrackerURL}
	cl, err := client.New(client.Config{BaseURL: c.TrackerURL, Dir: filepath.Join(base, "queue"), Tokens: tokens, AppVersion: version})
	if err != nil {
		return nil, nil, fmt.Errorf("setting up the tracker client: %w", err)
	}
	return &TrackerReporter{Client: cl}, cl.Run, nil
}
