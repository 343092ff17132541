package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/ui/uitest"
)

// chainSep is a Go error chain's separator: ": " then a lower-case word.
var chainSep = regexp.MustCompile(`: [a-z]`)

// statusCode is an ISO 7816 status word (63C7, 6982, 9000) or "status".
var statusCode = regexp.MustCompile(`(?i)\bstatus\b|\b(6[0-9A-F]{3}|9000)\b`)

// plainHeadline says what is wrong with an error headline shown to a
// person, or "" when it is plain words: no status code, "CTAP", "0x",
// "invalid argument", nor a Go error chain (": " before a lower-case word
// more than once).
func plainHeadline(h string) string {
	switch {
	case strings.Contains(h, "CTAP"):
		return "names CTAP"
	case strings.Contains(h, "0x"):
		return "has a hexadecimal code"
	case strings.Contains(strings.ToLower(h), "invalid argument"):
		return `says "invalid argument"`
	case statusCode.MatchString(h):
		return "has a status code"
	case len(chainSep.FindAllString(h, -1)) > 1:
		return "reads like an error chain"
	}
	return ""
}

// technical wraps err the way the device layer does, with a status code
// and CTAP's name in the chain, so a headline copied from the chain shows.
func technical(err error) error {
	return fmt.Errorf("listing FIDO2 credentials: reading FIDO2 credential metadata (CTAP status 0x31): %w", err)
}

// knownErrors has one error for every error message.go decides on, by the
// name message.go uses for it (TestHeadlinesArePlain checks none is missing).
var knownErrors = map[string]error{
	"steps.StillPairedError":       &steps.StillPairedError{Key: "YubiKey 5C NFC · serial 23456789", User: "alice", Hashes: []string{"C70F68C063AC8E69DC5EAAD16CAB633AF24AFA9C"}},
	"steps.ErrLossOpen":            &steps.LossOpenError{Serial: 23456789, Label: "YubiKey 5C NFC · serial 23456789"},
	"device.PINError":              &device.PINError{Which: device.FIDO2PIN, Retries: 7},
	"device.ErrBlocked":            &fido.PowerCycleError{Retries: 5},
	"device.ErrRemoved":            device.ErrRemoved,
	"steps.WrongKeyError":          &steps.WrongKeyError{Want: 1, Got: 2},
	"device.KeyNotFoundError":      &device.KeyNotFoundError{Serial: 5},
	"steps.KeyUnpluggedError":      &steps.KeyUnpluggedError{Serial: 5, Label: "your everyday key (serial 5)", Others: "your backup key"},
	"device.ErrNotFound":           device.ErrNotFound,
	"steps.ReportRejectedError":    &steps.ReportRejectedError{Field: "person_email", Reason: "person_email: reports can only be made about yourself"},
	"steps.ErrReportRejected":      steps.ErrReportRejected,
	"steps.ErrReportQueued":        steps.ErrReportQueued,
	"steps.BrowserError":           &steps.BrowserError{URL: "https://example.com", Err: errors.New("exec: xdg-open: not found")},
	"steps.NotVerifiedError":       &steps.NotVerifiedError{Service: "GitHub", Key: "k", What: "a passkey"},
	"steps.NeedAccountError":       &steps.NeedAccountError{Service: "github", Label: "GitHub username"},
	"steps.PersonError":            &steps.PersonError{Problems: []string{"enter your name", "enter your start date"}},
	"steps.NotApplicableError":     &steps.NotApplicableError{Step: "macos", Reason: "macOS only"},
	"steps.ErrCannotVerify":        steps.ErrCannotVerify,
	"steps.ErrIncompleteSmartCard": &steps.IncompleteSmartCardError{Key: "k"},
	"device.ErrPINPolicy":          &device.PINPolicyError{Broken: "at least 4 characters"},
	"device.ErrPINNotSet":          device.ErrPINNotSet,
	"device.ErrLocked":             device.ErrLocked,
	"device.ErrInUse":              device.ErrInUse,
	"device.PINRefusedError":       &device.PINRefusedError{Which: device.PIVPIN, Cause: errors.New("status 6985")},
	"device.UnsupportedKeyError":   &device.UnsupportedKeyError{Serial: 1, Model: "YubiKey 4", Reason: "it has no FIDO2"},
	"device.ErrTouchRequired":      device.ErrTouchRequired,
	"steps.ErrWrongKey":            steps.ErrWrongKey,
	"steps.ErrNotStarted":          steps.ErrNotStarted,
	"steps.ErrNoKeys":              steps.ErrNoKeys,
	"steps.ErrPrerequisite":        fmt.Errorf("set the key up for macOS login first: %w", steps.ErrPrerequisite),
	"device.ErrInvalidArgument":    fmt.Errorf("enter your start date as year-month-day, like 2026-11-23: %w", device.ErrInvalidArgument),
	"steps.ErrInviteRejected":      steps.ErrInviteRejected,
	"steps.ErrTrackerUnreachable":  steps.ErrTrackerUnreachable,
	"steps.ErrBadTrackerURL":       steps.ErrBadTrackerURL,
	"steps.ErrTryLater":            steps.ErrTryLater,
	"steps.ErrNoInviteCode":        steps.ErrNoInviteCode,
	"context.DeadlineExceeded":     context.DeadlineExceeded,
	"unknown":                      errors.New("pcsc: SCardTransmit: 0x80100016"),
}

// TestHeadlinesArePlain drives Explain over every error message.go knows,
// bare and inside a technical chain, and fails on a headline that is not
// plain words, on a message without a next action, and on a technical
// chain shown anywhere but Details.
func TestHeadlinesArePlain(t *testing.T) {
	for _, name := range errorNames(t) {
		if _, ok := knownErrors[name]; !ok {
			t.Errorf("message.go decides on %s, which knownErrors lacks: add an example", name)
		}
	}
	for name, err := range knownErrors {
		for _, e := range []error{err, technical(err)} {
			m, ok := Explain(e)
			if !ok {
				t.Errorf("%s: no message", name)
				continue
			}
			if why := plainHeadline(m.Title); why != "" || m.Title == "" {
				t.Errorf("%s: headline %q %s", name, m.Title, why)
			}
			if m.Text == "" || strings.Contains(m.Text, "CTAP") || strings.Contains(m.Text, "0x") || strings.Contains(m.Text, "invalid argument") {
				t.Errorf("%s: text %q is not a plain next action", name, m.Text)
			}
			if m.Details != e.Error() && !(name == "steps.PersonError" && m.Details == "") {
				t.Errorf("%s: details %q, want the whole chain", name, m.Details)
			}
		}
	}
}

// errorNames lists the package-qualified errors message.go's Explain
// decides on: sentinels (pkg.ErrX) and error types (pkg.XError).
func errorNames(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "message.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok || (pkg.Name != "steps" && pkg.Name != "device" && pkg.Name != "context") {
			return true
		}
		name := pkg.Name + "." + sel.Sel.Name
		if (strings.HasPrefix(sel.Sel.Name, "Err") || strings.HasSuffix(sel.Sel.Name, "Error") || name == "context.DeadlineExceeded") &&
			name != "steps.ErrCancelled" && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		return true
	})
	if len(names) < 20 {
		t.Fatalf("found only %d errors in message.go: %v", len(names), names)
	}
	return names
}

// TestKeyRowProblemsArePlain: a problem shown on a key's row is its
// headline and next action in plain words, for every error message.go
// knows, bare and inside a technical chain: never the chain itself.
func TestKeyRowProblemsArePlain(t *testing.T) {
	u := newTestUI(t)
	for name, err := range knownErrors {
		for _, e := range []error{err, technical(err)} {
			m, _ := Explain(e)
			st := steps.Step{ID: "github", Keys: []steps.StepKey{{Serial: 5, Role: steps.RoleEveryday, Label: "Your everyday key",
				Connected: true, Presence: steps.PresencePlugged, Status: steps.StatusNeedsAttention, Attention: e.Error(), Problem: e}}}
			var labels []string
			fyne.DoAndWait(func() {
				uitest.Walk(u.keyRows(st, func(steps.StepKey) []*action { return nil }), func(o fyne.CanvasObject) {
					if l, ok := o.(*widget.Label); ok && l.Text != "" {
						labels = append(labels, l.Text)
					}
				})
			})
			if !slices.Contains(labels, m.Title) || !slices.Contains(labels, m.Text) {
				t.Errorf("%s: row shows %q, want the headline %q and the next action %q", name, labels, m.Title, m.Text)
			}
			for _, l := range labels {
				// technical's wrapping is the program's words: on the row
				// it would be the chain.
				if why := plainHeadline(l); why != "" || strings.Contains(l, "credential metadata") {
					t.Errorf("%s: row line %q %s", name, l, cmp.Or(why, "shows the error chain"))
				}
			}
		}
	}
}

// TestRemovalItemProblemsArePlain: a problem on an item of the lost-key
// checklist (an unpair that failed) is its headline and next action, as on
// a key's row, never the error chain.
func TestRemovalItemProblemsArePlain(t *testing.T) {
	u := newTestUI(t)
	for name, err := range knownErrors {
		for _, e := range []error{err, technical(err)} {
			m, _ := Explain(e)
			it := steps.RemovalItem{Service: "macos", Name: "macOS login", ByKeywizard: true, Identities: []string{"A1B2"},
				Status: steps.StatusNeedsAttention, Attention: e.Error(), Problem: e}
			var labels []string
			fyne.DoAndWait(func() {
				u.lossButtons = map[string][]*Button{} // as lostScreen starts a checklist
				card, _ := u.removalCard(steps.StepLost, it, false)
				uitest.Walk(card, func(o fyne.CanvasObject) {
					if l, ok := o.(*widget.Label); ok && l.Text != "" {
						labels = append(labels, l.Text)
					}
				})
			})
			if !slices.Contains(labels, m.Title) || !slices.Contains(labels, m.Text) {
				t.Errorf("%s: item shows %q, want the headline %q and the next action %q", name, labels, m.Title, m.Text)
			}
			for _, l := range labels {
				if why := plainHeadline(l); why != "" || strings.Contains(l, "credential metadata") {
					t.Errorf("%s: item line %q %s", name, l, cmp.Or(why, "shows the error chain"))
				}
			}
		}
	}
}

func TestPlainHeadlineCatches(t *testing.T) {
	for _, bad := range []string{
		"Reading passkeys: wrong FIDO2 PIN; 7 tries left (CTAP status 0x31)",
		"Wrong PIN (status 63C7)",
		"Enter your start date: invalid argument",
		"Setting up: listing FIDO2 credentials: reading metadata",
		"CTAP2_ERR_PIN_INVALID",
	} {
		if plainHeadline(bad) == "" {
			t.Errorf("plainHeadline(%q) passed", bad)
		}
	}
	for _, good := range []string{"Wrong PIN. 7 tries left.", "Your GitHub username is needed", "Not connected to IT's tracker"} {
		if why := plainHeadline(good); why != "" {
			t.Errorf("plainHeadline(%q): %s", good, why)
		}
	}
}
