package ui_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
)

// TestJoinTrackerThroughTheWindow: on Tell IT a new hire types the
// tracker's address and IT's invite code; a wrong code says what to do and
// keeps what was typed; the right one (Enter in the code field) connects,
// clears the code from the window, and the report then goes to IT.
func TestJoinTrackerThroughTheWindow(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo(steps.StepReport); err != nil {
		t.Fatal(err)
	}
	d.settle()
	url, code, connect := d.e.UI.JoinWidgets()
	if url == nil {
		t.Fatal("the report step shows no tracker form while not connected")
	}
	if p := d.e.UI.PrimaryButton(); p.Text != "Keep the report on this computer" {
		t.Errorf("primary button %q before connecting", p.Text)
	}

	test.Type(url, "https://tracker.example.com")
	test.Type(code, "USED-CODE-1234")
	test.Tap(connect)
	d.settle()
	m, ok := d.e.UI.Message()
	if !ok || m.Title != "Not connected to IT's tracker" || !strings.Contains(m.Text, "ask IT for a new one") || strings.Contains(m.Text, "--url") {
		t.Fatalf("wrong code: message %+v (shown %v)", m, ok)
	}
	if d.e.UI.Snapshot().Tracker.Connected {
		t.Fatal("connected with a wrong code")
	}
	if url.Text != "https://tracker.example.com" {
		t.Errorf("the address was lost: %q", url.Text)
	}

	code.SetText("")
	test.Type(code, screens.InviteCode)
	code.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	d.settle()
	if s := d.e.UI.Snapshot(); !s.Tracker.Connected || s.Tracker.URL != "https://tracker.example.com" {
		t.Fatalf("after the right code: %+v", s.Tracker)
	}
	if code.Text != "" {
		t.Error("the spent invite code stays in the window")
	}
	if m, shown := d.e.UI.Message(); shown {
		t.Errorf("the wrong code's message is still shown after connecting: %+v", m)
	}
	d.press("Send to IT")
	if n := len(d.e.Reporter.Sent()); n != 1 {
		t.Errorf("reports sent: %d, want 1", n)
	}
}

// joinTracker connects to the scenario tracker through the report step's
// form, as a new hire with IT's invite code does.
func (d *driver) joinTracker() {
	d.t.Helper()
	url, code, connect := d.e.UI.JoinWidgets()
	if url == nil {
		d.t.Fatal("no tracker form on the report step")
	}
	test.Type(url, "https://tracker.example.com")
	test.Type(code, screens.InviteCode)
	if d.count != nil {
		// Click into the address, Tab to the code, click Connect.
		d.count.clicks += 2
		d.count.keys += len("https://tracker.example.com") + 1 + len(screens.InviteCode)
	}
	test.Tap(connect)
	d.settle()
	d.noError()
	if !d.e.UI.Snapshot().Tracker.Connected {
		d.t.Fatal("not connected after entering IT's invite code")
	}
}
