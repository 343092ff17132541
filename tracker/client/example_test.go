package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
)

// How cmd/keywizard-gui wires the recorder: a tracker client when a tracker URL
// is configured, otherwise the local record.
func Example() {
	ctx := context.Background()
	trackerURL := os.Getenv("KEYWIZARD_TRACKER") // e.g. from settings
	dataDir, _ := os.UserConfigDir()
	dataDir = filepath.Join(dataDir, "keywizard")

	var rec client.Recorder
	if trackerURL == "" {
		local, err := client.NewLocalRecorder(dataDir)
		if err != nil {
			panic(err)
		}
		rec = local
	} else {
		c, err := client.New(client.Config{
			BaseURL:    trackerURL,
			Dir:        filepath.Join(dataDir, "tracker"),
			Tokens:     client.KeyringStore{Service: "keywizard-tracker", User: trackerURL},
			AppVersion: "1.0.0",
		})
		if err != nil {
			panic(err)
		}
		// First run: exchange the invite code from IT for a token.
		if _, err := c.Me(ctx); errors.Is(err, client.ErrNoToken) {
			if _, err := c.Exchange(ctx, "kwi_...", "ann-macbook"); err != nil {
				fmt.Println(err)
			}
		}
		go c.Run(ctx) // delivers queued reports, with backoff, until ctx ends
		// A manager's team view, the same data as the dashboard:
		if team, err := c.Team(ctx, ""); err == nil {
			fmt.Println(team.Summary.Complete, "of", team.Summary.People, "done")
		}
		rec = c
	}
	fmt.Println(rec.Destination())
	err := rec.Record(ctx, tracker.Report{ /* from steps.Report.TrackerReports */ })
	switch {
	case errors.Is(err, client.ErrQueued):
		// saved; it will be sent later
	case err != nil:
		fmt.Println(err)
	}
}
