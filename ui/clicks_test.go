package ui_test

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

var clicksOut = flag.String("clicks", "", "write the clicks-and-keystrokes figure of TestClicksToReport to this file, as Markdown (scripts/bench.sh)")

// Budget of TestClicksToReport: what a person needs from Welcome to a sent
// report with two keys on Linux, through the window (BENCHMARKS.md). Lower
// them when a screen is merged or skipped; a change that needs more
// actions fails here.
const (
	maxClicks     = 31
	maxKeystrokes = 168
)

// TestClicksToReport drives the window from Welcome to a report IT's
// tracker accepted, with two keys on Linux, as a person would: the form
// typed, the PINs typed into their dialogs, each page "opened" and its
// passkey made, every button clicked, and counts the clicks and
// keystrokes. The figure goes into BENCHMARKS.md through make bench.
func TestClicksToReport(t *testing.T) {
	count := &effort{}
	d := newDriver(t, "linux")
	d.count = count
	a := d.actor()
	start, _ := time.Parse(time.DateOnly, "2026-11-23")
	if err := a.Start(t.Context(), steps.Person{Name: "Alice Example", Email: "alice@example.com", StartDate: start}); err != nil {
		t.Fatal(err)
	}
	d.current(steps.StepKeys)
	// Starting looked for the keys: no Look for keys click.
	d.press("Use these keys")
	d.complete(steps.StepFIDOPIN)
	for _, svc := range stepstest.Catalogue().Services {
		if !svc.AppliesOn("linux") {
			continue
		}
		d.current(steps.StepID(svc.ID))
		d.complete(steps.StepID(svc.ID))
	}
	d.current(steps.StepOTP)
	d.complete(steps.StepOTP)
	d.current(steps.StepReport)
	d.joinTracker()
	d.complete(steps.StepReport)
	d.current(steps.StepSummary)
	if n := len(d.e.Reporter.Sent()); n != 1 {
		t.Fatalf("the tracker received %d reports, want 1", n)
	}
	t.Logf("Welcome to a sent report, two keys: %d clicks, %d keystrokes", count.clicks, count.keys)
	if count.clicks > maxClicks || count.keys > maxKeystrokes {
		t.Errorf("%d clicks and %d keystrokes, over the budget of %d and %d", count.clicks, count.keys, maxClicks, maxKeystrokes)
	}
	writeClicks(t, *count)
}

func writeClicks(t *testing.T, c effort) {
	t.Helper()
	if *clicksOut == "" {
		return
	}
	text := fmt.Sprintf("| from Welcome to a sent report, two keys, Linux | %d | %d | %d |\n", c.clicks, c.keys, c.clicks+c.keys)
	if err := os.WriteFile(*clicksOut, []byte("| run | clicks | keystrokes | actions |\n|---|---|---|---|\n"+text), 0o644); err != nil {
		t.Fatal(err)
	}
}
