package trackerlink

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/keywizard/keywizard/internal/settings"
	"github.com/keywizard/keywizard/steps"
)

// AppReporter is the wizard's Reporter: it sends to the tracker in the
// settings when there is one (queued on disk, token in the OS keychain)
// and otherwise keeps a local record that says so. It reads the settings at
// every report, so joining the tracker while the app runs
// (Link.Join) takes effect at once. The first tracker client it
// makes starts the loop that keeps sending queued reports until Background
// ends.
type AppReporter struct {
	ConfigDir string
	Version   string
	// Background is the app's lifetime; nil sends queued reports only when
	// a report is made.
	Background context.Context

	mu      sync.Mutex
	url     string
	tracker *Reporter
	stop    context.CancelFunc // ends the current client's send loop
}

var (
	_ steps.Reporter     = (*AppReporter)(nil)
	_ steps.LossReporter = (*AppReporter)(nil)
	_ steps.Destination  = (*AppReporter)(nil)
)

// NewAppReporter returns the app's reporter and, when a tracker is already
// configured, starts sending what was queued last time.
func NewAppReporter(background context.Context, configDir, version string) (*AppReporter, error) {
	r := &AppReporter{ConfigDir: configDir, Version: version, Background: background}
	if _, err := r.current(); err != nil {
		return nil, err
	}
	return r, nil
}

// current is the reporter the settings ask for now.
func (r *AppReporter) current() (steps.Reporter, error) {
	c, err := settings.Load(r.ConfigDir)
	if err != nil {
		return nil, err
	}
	if c.TrackerURL == "" {
		return &steps.LocalReporter{Path: filepath.Join(r.ConfigDir, "keywizard", "record.jsonl")}, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tracker != nil && r.url == c.TrackerURL {
		return r.tracker, nil
	}
	cl, err := NewClient(r.ConfigDir, r.Version)
	if err != nil {
		return nil, err
	}
	r.url, r.tracker = c.TrackerURL, &Reporter{Client: cl}
	if r.Background != nil {
		// One send loop, for the tracker now in the settings: the queue
		// directory is shared, so a loop for a former tracker would send
		// new reports there.
		if r.stop != nil {
			r.stop()
		}
		var loop context.Context
		loop, r.stop = context.WithCancel(r.Background)
		go cl.Run(loop)
	}
	return r.tracker, nil
}

// Report sends or keeps r as the settings say now.
func (r *AppReporter) Report(ctx context.Context, rep steps.Report) error {
	cur, err := r.current()
	if err != nil {
		return err
	}
	return cur.Report(ctx, rep)
}

// ReportLost tells the tracker in the settings now that a key is lost, or,
// with none configured, keeps it in the local record and says IT has not
// been told (steps.ErrKeptLocally).
func (r *AppReporter) ReportLost(ctx context.Context, l steps.LossReport) error {
	cur, err := r.current()
	if err != nil {
		return err
	}
	// Both the local record and the tracker's Reporter take loss reports.
	return cur.(steps.LossReporter).ReportLost(ctx, l)
}

// Destination says where the next report goes.
func (r *AppReporter) Destination() string {
	cur, err := r.current()
	if err != nil {
		return "the keywizard settings cannot be read: " + err.Error()
	}
	if d, ok := cur.(steps.Destination); ok {
		return d.Destination()
	}
	return "sent to the onboarding tracker"
}
