package ui_test

import (
	"testing"

	"fyne.io/fyne/v2"
)

// TestTabOrder: Tab walks the side list, then the welcome form in reading
// order, then the primary button, so the whole wizard works without a
// mouse.
func TestTabOrder(t *testing.T) {
	d := newDriver(t, "linux")
	u := d.e.UI
	name, email, start := u.WelcomeEntries()
	want := []fyne.Focusable{name, email, start, u.PrimaryButton()}
	c := d.w.Canvas()
	next := 0
	for i := 0; i < 40 && next < len(want); i++ {
		c.FocusNext()
		if c.Focused() == want[next] {
			next++
		}
	}
	if next != len(want) {
		t.Fatalf("Tab reached %d of the welcome screen's %d controls in order", next, len(want))
	}
	// Space or Enter on the focused primary button acts.
	u.PrimaryButton().TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnter})
	d.settle()
	if m, ok := u.Message(); !ok || m.Title != "Please check what you entered" {
		t.Fatalf("Enter on the empty form: %+v %v", m, ok)
	}
}
