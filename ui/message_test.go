package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
)

func TestExplain(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("reading passkeys from the key: %w", err) }
	tests := []struct {
		name  string
		err   error
		ok    bool
		sev   Severity
		title string
		url   string
	}{
		{"nil", nil, false, 0, "", ""},
		{"cancelled", fmt.Errorf("nothing was changed: %w", steps.ErrCancelled), false, 0, "", ""},
		{"context cancelled", context.Canceled, false, 0, "", ""},
		{"wrong PIN with retries", wrap(&device.PINError{Which: device.FIDO2PIN, Retries: 3}), true, Error, "Wrong PIN. 3 tries left.", ""},
		{"wrong PIN one left", wrap(&device.PINError{Which: device.PIVPIN, Retries: 1}), true, Error, "Wrong PIN. 1 try left.", ""},
		{"wrong PIN unknown retries", wrap(&device.PINError{Which: device.FIDO2PIN, Retries: -1}), true, Error, "Wrong PIN.", ""},
		{"blocked PINError", wrap(&device.PINError{Which: device.FIDO2PIN, Retries: 0}), true, Error, "PIN blocked", ""},
		{"blocked until replugged", wrap(device.ErrBlocked), true, Warning, "Unplug and replug your key", ""},
		{"removed", wrap(device.ErrRemoved), true, Error, "The key was removed", ""},
		{"wrong key", &steps.WrongKeyError{Want: 1, Got: 2, WantLabel: "Nano · serial 1", GotLabel: "NFC · serial 2"}, true, Error, "A different key is plugged in", ""},
		{"not plugged in", wrap(&device.KeyNotFoundError{Serial: 5}), true, Error, "Key not plugged in", ""},
		{"no network", fmt.Errorf("sending the report: %w", steps.ErrReportQueued), true, Warning, "Report saved, not sent yet", ""},
		{"report refused", fmt.Errorf("sending the report: %w", &steps.ReportRejectedError{Field: "person_email", Reason: "person_email: reports can only be made about yourself"}), true, Error, "IT's tracker refused your report", ""},
		{"report refused sentinel", fmt.Errorf("sending the report: %w", steps.ErrReportRejected), true, Error, "IT's tracker refused your report", ""},
		{"browser", &steps.BrowserError{URL: "https://example.com/x", Err: errors.New("no browser")}, true, Error, "Your browser did not open", "https://example.com/x"},
		{"not verified", &steps.NotVerifiedError{Service: "GitHub", Key: "k", What: "a passkey"}, true, Warning, "Not found on the key yet", ""},
		{"need account", &steps.NeedAccountError{Service: "github", Label: "GitHub username"}, true, Warning, "Your GitHub username is needed", ""},
		{"not applicable", &steps.NotApplicableError{Step: "macos", Reason: "macOS only"}, true, Info, "Does not apply here", ""},
		{"incomplete smart card", &steps.IncompleteSmartCardError{Key: "k", Identities: []string{"AB"}}, true, Error, "Smart-card setup incomplete", ""},
		{"PIN policy", wrap(device.ErrPINPolicy), true, Error, "Choose another PIN", ""},
		{"in use by another program", fmt.Errorf("reader %q: %w", "Yubico YubiKey OTP+FIDO+CCID", device.ErrInUse), true, Warning, "Another program is using your key", ""},
		{"locked", wrap(device.ErrLocked), true, Error, "The key's settings are locked", ""},
		{"touch", wrap(device.ErrTouchRequired), true, Error, "The key was not touched", ""},
		{"invalid input", fmt.Errorf("enter your name: %w", device.ErrInvalidArgument), true, Warning, "Please check what you entered", ""},
		{"not started", steps.ErrNotStarted, true, Warning, "Another step comes first", ""},
		{"timeout", wrap(context.DeadlineExceeded), true, Error, "The key did not answer in time", ""},
		{"unknown", errors.New("pcsc: reader busy"), true, Error, "That did not work", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := Explain(tt.err)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if m.Severity != tt.sev || m.Title != tt.title || m.URL != tt.url {
				t.Errorf("got %v %q url %q, want %v %q url %q", m.Severity, m.Title, m.URL, tt.sev, tt.title, tt.url)
			}
			if m.Text == "" || m.Text[len(m.Text)-1] != '.' || m.Text[0] < 'A' || m.Text[0] > 'Z' {
				t.Errorf("text %q is not a sentence", m.Text)
			}
		})
	}
}

func TestExplainWrongKeyNamesBoth(t *testing.T) {
	m, _ := Explain(&steps.WrongKeyError{Want: 12345678, Got: 34567890})
	for _, s := range []string{"12345678", "34567890", "Swap"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("%q lacks %q", m.Text, s)
		}
	}
}

func TestDeadlineText(t *testing.T) {
	due := time.Date(2026, 12, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		s       steps.Snapshot
		text    string
		overdue bool
	}{
		{"not started", steps.Snapshot{}, "", false},
		{"days left", steps.Snapshot{Started: true, Deadline: due, DaysLeft: 27}, "Due 23 December · 27 days left", false},
		{"one day", steps.Snapshot{Started: true, Deadline: due, DaysLeft: 1}, "Due 23 December · 1 day left", false},
		{"today", steps.Snapshot{Started: true, Deadline: due, DaysLeft: 0}, "Due today, 23 December", false},
		{"overdue", steps.Snapshot{Started: true, Deadline: due, DaysLeft: -3, Overdue: true}, "Was due 23 December · 3 days overdue", true},
		{"complete", steps.Snapshot{Started: true, Deadline: due, DaysLeft: -3, Complete: true}, "All done · due 23 December", false},
		{"next year", steps.Snapshot{Started: true, Deadline: time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), DaysLeft: 40}, "Due 5 January 2027 · 40 days left", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, overdue := DeadlineText(tt.s)
			if text != tt.text || overdue != tt.overdue {
				t.Errorf("got %q %v, want %q %v", text, overdue, tt.text, tt.overdue)
			}
		})
	}
}

func TestCheckNewPIN(t *testing.T) {
	fido := steps.PINRequest{Purpose: steps.PurposeNewFIDOPIN, MinLen: 4, MaxLen: 63}
	piv := steps.PINRequest{Purpose: steps.PurposeNewPIVPIN, MinLen: 6, MaxLen: 8, DigitsOnly: true}
	tests := []struct {
		name        string
		r           steps.PINRequest
		pin, repeat string
		ok          bool
	}{
		{"fido ok", fido, "4821-fido", "4821-fido", true},
		{"fido too short", fido, "123", "123", false},
		{"fido counts characters not bytes", fido, "äöüß", "äöüß", true},
		{"mismatch", fido, "4821-fido", "4821-fidO", false},
		{"empty", fido, "", "", false},
		{"piv ok", piv, "483920", "483920", true},
		{"piv letters", piv, "48392a", "48392a", false},
		{"piv too long", piv, "123456789", "123456789", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := checkNewPIN(tt.r, tt.pin, tt.repeat)
			if (msg == "") != tt.ok {
				t.Errorf("checkNewPIN = %q, want ok %v", msg, tt.ok)
			}
			if msg != "" && strings.Contains(msg, tt.pin) && tt.pin != "" {
				t.Errorf("message %q repeats the PIN", msg)
			}
		})
	}
	if got := pinRules(piv); got != "6 to 8 digits." {
		t.Errorf("pinRules(piv) = %q", got)
	}
	if got := pinRules(fido); got != "At least 4 characters." {
		t.Errorf("pinRules(fido) = %q", got)
	}
}

// TestExplainPINRulesAndUnsupportedKeys: the key's complexity refusal (PIV
// 6985, CTAP PIN_POLICY_VIOLATION) and a key keywizard cannot set up are
// told apart by type, never by the status word or the text.
func TestExplainPINRulesAndUnsupportedKeys(t *testing.T) {
	refused := fmt.Errorf("setting up the Nano: setting the PIV PIN: %w", &device.PINRefusedError{Which: device.PIVPIN, Cause: errors.New("smart card status 6985")})
	m, ok := Explain(refused)
	if !ok || m.Title != "Choose a PIN that is harder to guess" || m.Severity != Warning || strings.Contains(m.Text, "6985") || !strings.Contains(m.Text, "too easy to guess") {
		t.Errorf("refused PIN: %+v", m)
	}
	yk4 := fmt.Errorf("turning off OTP: %w", &device.UnsupportedKeyError{Serial: 7, Model: "YubiKey 4", Reason: "it has no FIDO2, which passkeys need. Use a YubiKey 5 instead"})
	m, ok = Explain(yk4)
	if !ok || m.Title != "This key can't be set up" || !strings.HasPrefix(m.Text, "YubiKey 4 (serial 7) can't be set up by keywizard") {
		t.Errorf("YubiKey 4: %+v", m)
	}
}
