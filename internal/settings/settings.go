// Package settings reads the person's keywizard settings,
// keywizard/config.json in the user config directory, which `keywizard
// tracker join` writes (tracker/join). The settings hold no secrets: the
// tracker token lives in the OS keychain.
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Config is the person's keywizard settings, keywizard/config.json in the
// user config dir. It holds no secrets: the tracker token lives in the OS
// keychain (client.KeyringStore).
type Config struct {
	// TrackerURL is the onboarding tracker; empty keeps the record locally.
	TrackerURL string `json:"tracker_url,omitempty"`
}

// Load reads dir/keywizard/config.json; a missing file is the zero
// Config. KEYWIZARD_TRACKER overrides the tracker URL.
func Load(dir string) (Config, error) {
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
