package ui_test

import (
	"strings"
	"testing"

	"github.com/keywizard/keywizard/internal/screens"
)

// TestTouchOnlyThisKey: registering one key while the other is plugged in
// (the Nano stays in the laptop), the service screen says to touch only
// the key named, since both blink; with the other key out it does not.
func TestTouchOnlyThisKey(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo("google"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.completeOne("google", screens.Everyday)
	shown := screenText(d)
	if !strings.Contains(shown, "Touch only your backup key") || !strings.Contains(shown, "serial 23456789") ||
		!strings.Contains(shown, "unplug the everyday key") {
		t.Fatalf("no touch-only note for the backup key with the Nano plugged in:\n%s", shown)
	}
	// With the everyday key unplugged (noticed when the page is opened),
	// only one key blinks and the note goes.
	d.e.Keys.Unplug(screens.Everyday)
	d.press("Open Google Workspace for your backup key")
	if shown := screenText(d); strings.Contains(shown, "Touch only") {
		t.Errorf("touch-only note with one key plugged in:\n%s", shown)
	}
}
