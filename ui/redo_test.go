package ui_test

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/internal/screens"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// completeOne does a service on one key with the scripted prompter, then
// hands the prompts back to the window.
func (d *driver) completeOne(id string, serial uint32) {
	d.t.Helper()
	d.e.Script(stepstest.FlowPrompter())
	if err := d.e.Complete(context.Background(), steps.StepID(id), serial); err != nil {
		d.t.Fatal(err)
	}
	d.e.UseUI()
	d.settle()
}

// tapRow taps the button labelled label on a key's row of the current step.
func (d *driver) tapRow(serial uint32, label string) {
	d.t.Helper()
	b := d.e.UI.RowButton(serial, label)
	if b == nil || b.Hidden || b.Disabled() {
		d.t.Fatalf("no usable %q on the row of %d (%+v)", label, serial, b)
	}
	test.Tap(b)
	d.settle()
	d.noError()
}

// screenText is the text of every label in the window, one per line.
func screenText(d *driver) string {
	var b strings.Builder
	for _, o := range test.LaidOutObjects(d.w.Content()) {
		if l, ok := o.(*widget.Label); ok && l.Visible() {
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

// TestMacRedo: the macOS screen shows how pairing goes before set-up, and
// a key set up and paired can be done again from its row (a forgotten
// smart-card PIN), asking for the key's current smart-card PIN.
func TestMacRedo(t *testing.T) {
	d := newDriver(t, "darwin")
	if err := d.e.AdvanceTo("macos"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	shown := screenText(d)
	for _, want := range []string{"Click Pair", "Mac password", "smart-card PIN", "sc_auth pairing_ui"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the macOS screen does not say %q before set-up", want)
		}
	}
	if d.e.UI.RowButton(screens.Everyday, "Redo") != nil {
		t.Error("Redo offered on a key with nothing to redo")
	}

	d.completeOne("macos", screens.Everyday)
	if k, _ := d.e.UI.Snapshot().CurrentStep().Key(screens.Everyday); k.Evidence == nil {
		t.Fatalf("everyday key not paired: %+v", k)
	}
	if d.e.UI.RowButton(screens.Everyday, "Set up for Mac login") != nil {
		t.Error("a paired key still offers Set up instead of Redo")
	}
	d.tapRow(screens.Everyday, "Redo")
	st := d.e.UI.Snapshot().CurrentStep()
	if k, _ := st.Key(screens.Everyday); k.Evidence != nil || k.CanRedo {
		t.Fatalf("after Redo: %+v", k)
	}
	// Set up again through the window: the key's smart-card PIN is no
	// longer the factory one, so it is asked for first.
	d.press("Set up your everyday key for Mac login")
	if !d.e.UI.AnswerConfirm(true) {
		t.Fatal("no confirmation before replacing the smart-card setup")
	}
	d.settle()
	d.pin("Enter your smart-card PIN", stepstest.FlowPIVPIN)
	d.pin("Choose a smart-card PIN", stepstest.FlowPIVPIN)
	if k, _ := d.e.UI.Snapshot().CurrentStep().Key(screens.Everyday); k.Evidence == nil || k.Evidence.Level != steps.VerifiedBySystem {
		t.Fatalf("after setting up again: %+v", k)
	}
}

// TestServiceRedo: a service's result on one key can be cleared from its
// row, and only that key's.
func TestServiceRedo(t *testing.T) {
	d := newDriver(t, "linux")
	if err := d.e.AdvanceTo("aws"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.completeOne("aws", screens.Everyday)
	d.completeOne("aws", screens.Backup)
	if err := d.e.Wizard.GoTo(context.Background(), "aws"); err != nil {
		t.Fatal(err)
	}
	d.settle()
	d.tapRow(screens.Backup, "Redo")
	st := d.e.UI.Snapshot().CurrentStep()
	if k, _ := st.Key(screens.Backup); k.Evidence != nil {
		t.Errorf("backup key after Redo: %+v", k)
	}
	if k, _ := st.Key(screens.Everyday); k.Evidence == nil {
		t.Errorf("Redo on the backup key cleared the everyday key: %+v", k)
	}
	d.press("Open AWS console for your backup key")
	d.press("I have added my backup key")
	if st, _ := d.e.UI.Snapshot().Step("aws"); st.Status != steps.StatusDone {
		t.Errorf("aws %s after doing it again", st.Status)
	}
}
