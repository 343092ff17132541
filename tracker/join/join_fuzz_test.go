package join

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzJoinInput feeds arbitrary bytes to what Join decodes: the settings
// file and the tracker's address (tracker/cli fuzzes the invite code read
// from standard input with the same corpus).
func FuzzJoinInput(f *testing.F) {
	f.Add([]byte("kwi_0123456789abcdef_secret\n"))
	f.Add([]byte(`{"tracker_url":"https://t.example.com","future":[1,2]}`))
	f.Add([]byte("https://Tracker.Example.com:8443/kw/"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		// The settings: whatever reads, writes back and reads the same.
		path := filepath.Join(dir, "config.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if m, err := readSettings(path); err == nil {
			if err := writeSettings(path, m); err != nil {
				t.Fatalf("writing back %q: %v", b, err)
			}
			again, err := readSettings(path)
			if err != nil || !reflect.DeepEqual(m, again) {
				t.Errorf("settings %q: read %v, after a write %v (%v)", b, m, again, err)
			}
		}

		// --url: an accepted URL is canonical (accepting it again gives
		// the same string), carries no credentials, query or trailing
		// slash, and is https unless it is this computer.
		if u, err := trackerURL(string(b), false); err == nil {
			if again, err := trackerURL(u, false); err != nil || again != u {
				t.Errorf("trackerURL(%q) = %q, then %q, %v", b, u, again, err)
			}
			p, err := url.Parse(u)
			if err != nil || p.User != nil || p.RawQuery != "" || p.Fragment != "" || strings.HasSuffix(u, "/") || p.Host == "" {
				t.Errorf("trackerURL(%q) = %q", b, u)
			}
			if p.Scheme != "https" && !(p.Scheme == "http" && loopback(p.Hostname())) {
				t.Errorf("trackerURL(%q) = %q: not https", b, u)
			}
		}
	})
}

func TestTrackerURL(t *testing.T) {
	for _, tc := range []struct {
		in, want  string
		allowHTTP bool
	}{
		{"https://tracker.example.com", "https://tracker.example.com", false},
		{" HTTPS://Tracker.Example.COM/ ", "https://tracker.example.com", false},
		{"https://example.com/kw/tracker//", "https://example.com/kw/tracker", false},
		{"http://127.0.0.1:8740/", "http://127.0.0.1:8740", false},
		{"http://localhost:8740", "http://localhost:8740", false},
		{"http://[::1]:8740", "http://[::1]:8740", false},
		{"http://tracker.lan:8740", "http://tracker.lan:8740", true},
		{"http://tracker.lan:8740", "", false},
		{"https://tracker.example.com#x", "", false},
		{"mailto:it@example.com", "", false},
	} {
		got, err := trackerURL(tc.in, tc.allowHTTP)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("trackerURL(%q, %v) = %q, %v; want %q", tc.in, tc.allowHTTP, got, err, tc.want)
		}
	}
}
