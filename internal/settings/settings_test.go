package settings_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/internal/settings"
)

func write(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "keywizard"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keywizard", "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoad: no file is no tracker; the file's tracker_url is read, unknown
// settings from a later version are ignored; KEYWIZARD_TRACKER overrides
// it; a damaged file is an error that names the file.
func TestLoad(t *testing.T) {
	t.Setenv("KEYWIZARD_TRACKER", "")
	dir := t.TempDir()
	if c, err := settings.Load(dir); err != nil || c.TrackerURL != "" {
		t.Errorf("no settings file: %+v, %v; want the zero Config", c, err)
	}
	write(t, dir, `{"tracker_url":"https://t.example.com","future":{"x":1}}`)
	if c, err := settings.Load(dir); err != nil || c.TrackerURL != "https://t.example.com" {
		t.Errorf("settings file: %+v, %v", c, err)
	}
	t.Setenv("KEYWIZARD_TRACKER", "https://other.example.com")
	if c, err := settings.Load(dir); err != nil || c.TrackerURL != "https://other.example.com" {
		t.Errorf("with KEYWIZARD_TRACKER: %+v, %v", c, err)
	}
	write(t, dir, `{not json`)
	if _, err := settings.Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "keywizard", "config.json")) {
		t.Errorf("damaged file: %v; want an error naming it", err)
	}
}
