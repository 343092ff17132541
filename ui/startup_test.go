package ui_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/ui"
	"github.com/keywizard/keywizard/ui/uitest"
)

// buttonsIn maps the text of every button under o to it.
func buttonsIn(t *testing.T, o fyne.CanvasObject) map[string]*widget.Button {
	found := map[string]*widget.Button{}
	uitest.Walk(o, func(o fyne.CanvasObject) {
		if b, ok := o.(*ui.Button); ok {
			found[b.Text] = &b.Button
		}
	})
	return found
}

// labelsIn concatenates the text of every label under o.
func labelsIn(t *testing.T, o fyne.CanvasObject) string {
	var text string
	uitest.Walk(o, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok {
			text += l.Text + "\n"
		}
	})
	return text
}

// TestStartupProblem: what stops the window from starting is shown in it,
// with the advice its type calls for; over a damaged progress file "Start
// over" (also Enter) brings the wizard back, and a failed start over says
// why in the same place.
func TestStartupProblem(t *testing.T) {
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	e, err := screens.Scenario{Name: "welcome", GOOS: "linux", Size: ui.DefaultSize, Setup: func(*screens.Env) error { return nil }}.Open(a, w, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.UI.Close()
	wizard := w.Content()

	calls := 0
	fail := errors.New("the disk is read-only")
	startOver := func() error {
		calls++
		if calls == 1 {
			return fail
		}
		return nil
	}
	fyne.DoAndWait(func() { e.UI.ShowStartupProblem(screens.ErrDamagedProgressSample, startOver) })
	if w.Content() == wizard {
		t.Fatal("the wizard is still shown")
	}
	text := labelsIn(t, w.Content())
	for _, want := range []string{"Your saved progress could not be read", "Start over keeps that file", "move /home/alice/.config/keywizard/progress.json away"} {
		if !contains(text, want) {
			t.Errorf("screen text %q lacks %q", text, want)
		}
	}
	b := buttonsIn(t, w.Content())
	if b["Start over"] == nil || b["Quit"] == nil {
		t.Fatalf("buttons %v, want Start over and Quit", b)
	}

	test.Tap(b["Start over"])
	if calls != 1 || w.Content() == wizard {
		t.Fatalf("after a failed start over: %d calls, wizard shown %v", calls, w.Content() == wizard)
	}
	if text := labelsIn(t, w.Content()); !contains(text, "The disk is read-only") {
		t.Errorf("the failed start over's error is not shown: %q", text)
	}

	// Enter is the primary action, as on every wizard screen.
	w.Canvas().(test.WindowlessCanvas).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if calls != 2 || w.Content() != wizard {
		t.Fatalf("after Enter: %d calls, wizard shown %v", calls, w.Content() == wizard)
	}
}

// TestStartupProblemKinds: the headline and the offered actions follow the
// error's type, never its text.
func TestStartupProblemKinds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		startOver bool
		title     string
	}{
		{"catalogue", fmt.Errorf("loading the organisation's service catalogue: %w: services.id", catalogue.ErrInvalid), false, "Your company's list of services has a mistake"},
		{"progress without start over", fmt.Errorf("%w: schema 2", steps.ErrDamagedProgress), false, "Your saved progress could not be read"},
		{"anything else", errors.New("reading keywizard settings: permission denied"), false, "keywizard could not start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := uitest.NewTempApp(t)
			w := test.NewTempWindow(t, nil)
			u := ui.New(a, w, ui.Options{})
			u.ShowStartupProblem(tc.err, nil)
			if text := labelsIn(t, w.Content()); !contains(text, tc.title) {
				t.Errorf("screen text %q lacks the title %q", text, tc.title)
			}
			b := buttonsIn(t, w.Content())
			if b["Quit"] == nil || (b["Start over"] != nil) != tc.startOver {
				t.Errorf("buttons %v", b)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
