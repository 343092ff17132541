package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/ui/uitest"
)

func newTestUI(t *testing.T) *UI {
	t.Helper()
	a := uitest.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	return New(a, w, Options{NoWatch: true})
}

type pinResult struct {
	pin string
	err error
}

// ask runs u.PIN on its own goroutine (as the wizard does) and waits until
// the dialog is on screen.
func ask(t *testing.T, u *UI, ctx context.Context, r steps.PINRequest) <-chan pinResult {
	t.Helper()
	res := make(chan pinResult, 1)
	go func() {
		pin, err := u.PIN(ctx, r)
		res <- pinResult{pin, err}
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		var open bool
		fyne.DoAndWait(func() { open = u.dlg != nil })
		if open {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatal("PIN dialog did not open")
		}
	}
}

func wait(t *testing.T, res <-chan pinResult) pinResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("PIN did not return")
	}
	return pinResult{}
}

var unlock = steps.PINRequest{Key: steps.KeyRef{Serial: 12345678, Model: "YubiKey 5C Nano", Label: "YubiKey 5C Nano in your laptop · serial 12345678"},
	Which: device.FIDO2PIN, Purpose: steps.PurposeUnlockFIDO, RetriesLeft: 2, Text: "Enter the PIN."}

func TestPINDialogEnterSubmitsAndForgets(t *testing.T) {
	u := newTestUI(t)
	res := ask(t, u, context.Background(), unlock)
	if _, text, _ := u.Dialog(); text != unlock.Text {
		t.Fatalf("dialog text %q", text)
	}
	entry := u.dlg.pin
	test.Type(entry, "4821")
	entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if r := wait(t, res); r.err != nil || r.pin != "4821" {
		t.Fatalf("PIN = %q, %v", r.pin, r.err)
	}
	if entry.Text != "" || u.dlg != nil {
		t.Fatalf("after answering: entry %q, dialog open %v", entry.Text, u.dlg != nil)
	}
}

func TestPINDialogEscapeCancels(t *testing.T) {
	u := newTestUI(t)
	res := ask(t, u, context.Background(), unlock)
	u.dlg.pin.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if r := wait(t, res); !errors.Is(r.err, steps.ErrCancelled) {
		t.Fatalf("Escape: %q, %v; want ErrCancelled", r.pin, r.err)
	}
	// Escape with nothing focused goes through the window.
	res = ask(t, u, context.Background(), unlock)
	u.win.Canvas().Unfocus()
	u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if r := wait(t, res); !errors.Is(r.err, steps.ErrCancelled) {
		t.Fatalf("window Escape: %v", r.err)
	}
}

func TestPINDialogNewPINChecksRules(t *testing.T) {
	u := newTestUI(t)
	r := steps.PINRequest{Key: unlock.Key, Which: device.PIVPIN, Purpose: steps.PurposeNewPIVPIN, RetriesLeft: -1, MinLen: 6, MaxLen: 8, DigitsOnly: true}
	res := ask(t, u, context.Background(), r)
	test.Type(u.dlg.pin, "12ab56")
	test.Type(u.dlg.repeat, "12ab56")
	test.Tap(u.dlg.ok)
	if u.dlg == nil || u.dlg.errLabel.Hidden || u.dlg.errLabel.Text != "Use digits only." {
		t.Fatal("a PIN against the rules was accepted or not explained")
	}
	u.dlg.pin.SetText("483920")
	u.dlg.repeat.SetText("483920")
	test.Tap(u.dlg.ok)
	if got := wait(t, res); got.pin != "483920" {
		t.Fatalf("PIN = %q, %v", got.pin, got.err)
	}
}

func TestPINDialogContextEnds(t *testing.T) {
	u := newTestUI(t)
	ctx, cancel := context.WithCancel(context.Background())
	res := ask(t, u, ctx, unlock)
	cancel()
	if r := wait(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v", r.err)
	}
	if u.dlg != nil {
		t.Fatal("dialog still open after the context ended")
	}
}

// TestDestructiveConfirm: the key is named by model and serial, the focus
// is on Cancel, and Enter alone never confirms.
func TestDestructiveConfirm(t *testing.T) {
	u := newTestUI(t)
	r := steps.ConfirmRequest{Kind: steps.ConfirmProvisionPIV, Key: unlock.Key, Destructive: true, Title: "Set up?", Text: "Replaces the PIV PIN."}
	res := make(chan bool, 1)
	go func() {
		ok, _ := u.Confirm(context.Background(), r)
		res <- ok
	}()
	for u.dlgOpen() == false {
		time.Sleep(time.Millisecond)
	}
	if f := u.win.Canvas().Focused(); f != u.dlg.no {
		t.Fatalf("focus on %v, want Cancel", f)
	}
	u.win.Canvas().Unfocus()
	u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	select {
	case <-res:
		t.Fatal("Enter answered a destructive confirmation")
	case <-time.After(50 * time.Millisecond):
	}
	test.Tap(u.dlg.ok)
	if ok := <-res; !ok {
		t.Fatal("the red button did not confirm")
	}
}

func (u *UI) dlgOpen() bool {
	var open bool
	fyne.DoAndWait(func() { open = u.dlg != nil })
	return open
}

func TestTouchNotice(t *testing.T) {
	u := newTestUI(t)
	k := unlock.Key
	u.TouchKey(k, true)
	if !u.Touching() {
		t.Fatal("no touch notice while waiting")
	}
	u.TouchKey(k, false)
	if u.Touching() {
		t.Fatal("touch notice still shown after the wait")
	}
}

// TestTouchWords: the notice names the gold contact, which every model
// has, never a disc (a 5C Nano has none), and says where it is on a Nano.
func TestTouchWords(t *testing.T) {
	for _, tc := range []struct{ model, want string }{
		{"YubiKey 5C Nano", "gold edge that sticks out"},
		{"YubiKey 5C NFC", "gold touch contact"},
		{"", "gold touch contact"},
	} {
		u := newTestUI(t)
		u.TouchKey(steps.KeyRef{Serial: 1, Model: tc.model, Label: tc.model}, true)
		var text []string
		fyne.DoAndWait(func() {
			for _, o := range test.LaidOutObjects(u.touch) {
				if l, ok := o.(*widget.Label); ok {
					text = append(text, l.Text)
				}
			}
		})
		all := strings.Join(text, "\n")
		if !strings.Contains(all, "Touch the gold contact on your key") || !strings.Contains(all, tc.want) || strings.Contains(all, "disc") {
			t.Errorf("%q: notice says %q", tc.model, all)
		}
	}
}
