package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
)

// Severity says how a message is drawn.
type Severity int

// Severities: Info is neutral, Warning is calm amber (nothing is lost, do
// something later), Error is red (the action failed; do what it says).
const (
	Info Severity = iota
	Warning
	Error
)

// Message is an error turned into words for the person: a short headline,
// one next action in plain words, and the technical chain behind a
// "Details" expander (with a Copy button, for IT). URL is set when the
// person should open a page by hand (the browser did not open).
type Message struct {
	Severity Severity
	Title    string
	Text     string
	URL      string
	// Details is the error as the program wrapped it, for IT; empty for
	// messages that are not errors.
	Details string
}

// pinRetrier is an error that knows the PIN tries left once the person has
// done what it says: device/fido's PowerCycleError (three wrong PINs in a
// row; the key wants to be replugged). An interface, because ui may not
// import device/fido (internal/layout).
type pinRetrier interface {
	error
	PINRetries() int
}

// Explain turns an error from a wizard action into a Message, deciding
// with errors.Is and errors.As on the typed errors of packages device and
// steps, never on the error's text. The headline says what happened and the
// text one thing to do, both in plain words from the error's type and
// fields; the wrapped chain, with its protocol details, goes to Details. It
// returns ok false for a cancelled prompt, which needs no message.
func Explain(err error) (m Message, ok bool) {
	if err == nil || errors.Is(err, steps.ErrCancelled) || errors.Is(err, context.Canceled) {
		return Message{}, false
	}
	m = Message{Severity: Error, Details: err.Error()}
	var (
		pinErr   *device.PINError
		replug   pinRetrier
		wrongKey *steps.WrongKeyError
		notFound *device.KeyNotFoundError
		unplug   *steps.KeyUnpluggedError
		browser  *steps.BrowserError
		notVer   *steps.NotVerifiedError
		needAcct *steps.NeedAccountError
		na       *steps.NotApplicableError
		refused  *steps.ReportRejectedError
		weakPIN  *device.PINRefusedError
		keyNotOK *device.UnsupportedKeyError
		person   *steps.PersonError
		paired   *steps.StillPairedError
	)
	switch {
	case errors.As(err, &pinErr) && pinErr.Retries == 0:
		// Blocked for good: only a reset (or IT) helps.
		m.Title = "PIN blocked"
		m.Text = "The key blocked this PIN after too many wrong tries. Only a reset can clear it, so ask IT what to do next."
	case errors.Is(err, device.ErrBlocked):
		// Blocked without a PINError of 0 retries is the key refusing PINs
		// after three wrong ones in a row until it is replugged (device/fido's
		// PowerCycleError, which says the tries left): the headline is what
		// to do, not an alarm about a PIN that still works.
		m.Severity = Warning
		m.Title = "Unplug and replug your key"
		m.Text = "After three wrong PINs in a row the key accepts no PIN until it is unplugged. Unplug it, plug it back in, then try again. Nothing is lost."
		if errors.As(err, &replug) && replug.PINRetries() > 0 {
			m.Text = fmt.Sprintf("After three wrong PINs in a row the key accepts no PIN until it is unplugged. Unplug it, plug it back in, then try again: %s left. Nothing is lost.", tries(replug.PINRetries()))
		}
	case errors.As(err, &pinErr):
		m.Title = wrongPIN(pinErr.Retries)
		m.Text = "Type the PIN again and try again. Caps Lock and the keyboard layout change what you type."
	case errors.Is(err, device.ErrRemoved):
		m.Title = "The key was removed"
		m.Text = "Nothing is lost: plug it back in and try again. What you finished is saved."
	case errors.As(err, &wrongKey):
		m.Title = "A different key is plugged in"
		m.Text = fmt.Sprintf("This step needs %s, but %s is plugged in. Swap the keys and try again.",
			nonEmpty(wrongKey.WantLabel, fmt.Sprintf("the key with serial %d", wrongKey.Want)),
			nonEmpty(wrongKey.GotLabel, fmt.Sprintf("the key with serial %d", wrongKey.Got)))
	case errors.As(err, &unplug):
		// Names the missing key, and the person's other key that may stay.
		m.Title = "Key not plugged in"
		m.Text = fmt.Sprintf("%s is unplugged: plug it in and try again.", upperFirst(unplug.Label))
		if unplug.Others != "" {
			m.Text += fmt.Sprintf(" %s can stay plugged in.", upperFirst(unplug.Others))
		}
	case errors.As(err, &notFound):
		m.Title = "Key not plugged in"
		m.Text = fmt.Sprintf("Plug in the key with serial %d, then try again.", notFound.Serial)
	case errors.Is(err, device.ErrNotFound):
		m.Title = "Key not plugged in"
		m.Text = "Plug in the key, then try again."
	case errors.As(err, &refused):
		// Before ErrReportQueued: nothing is queued, the person must act.
		m.Title = "IT's tracker refused your report"
		m.Text = "Ask IT and show them the details below. Your progress is kept."
		if refused.Field == "person_email" {
			m.Text = "Check that your work e-mail on Welcome is the one IT registered for you, then send it again."
		}
	case errors.Is(err, steps.ErrReportRejected):
		m.Title = "IT's tracker refused your report"
		m.Text = "Ask IT and show them the details below. Your progress is kept."
	case errors.Is(err, steps.ErrReportQueued):
		m.Severity = Warning
		m.Title = "Report saved, not sent yet"
		m.Text = "The network is not reachable, so your report is kept on this computer and sent when the network is back. You can carry on."
	case errors.As(err, &browser):
		m.Title = "Your browser did not open"
		m.Text = "Open this address in your browser yourself, then carry on here. Your progress is kept."
		m.URL = browser.URL
	case errors.As(err, &paired):
		m.Severity = Warning
		m.Title = "The lost key is still paired with this Mac"
		m.Text = fmt.Sprintf("Ask IT to unpair it (sudo sc_auth unpair -u %s -h HASH, for each hash under Details), then choose Unpair again.", paired.User)
	case errors.Is(err, steps.ErrLossOpen):
		m.Severity = Warning
		m.Title = "Finish the lost key's checklist first"
		m.Text = "Remove the key you reported lost from every service in Lost key, then report the other one."
	case errors.As(err, &notVer):
		m.Severity = Warning
		m.Title = "Not found on the key yet"
		m.Text = sentence(notVer.Hint)
		if notVer.Hint == "" {
			m.Text = "Register the key on the page as a passkey, then choose Verify again."
		}
	case errors.As(err, &needAcct):
		m.Severity = Warning
		m.Title = "Your " + needAcct.Label + " is needed"
		m.Text = "Enter your " + needAcct.Label + " in the field above and choose Save, then try again."
	case errors.As(err, &person):
		m.Severity = Warning
		m.Title = "Please check what you entered"
		m.Text = person.Sentence()
		m.Details = "" // the text says all of it
	case errors.As(err, &na):
		m.Severity = Info
		m.Title = "Does not apply here"
		m.Text = sentence(na.Reason)
	case errors.Is(err, steps.ErrCannotVerify):
		m.Severity = Info
		m.Title = "keywizard cannot check this"
		m.Text = sentence(steps.ErrCannotVerify.Error())
	case errors.Is(err, steps.ErrIncompleteSmartCard):
		m.Title = "Smart-card setup incomplete"
		m.Text = "Choose Redo on this key to set it up again. If it happens again, ask IT."
	case errors.As(err, &weakPIN):
		// The key's own PIN complexity list refused it (PIV 6985, CTAP
		// PIN_POLICY_VIOLATION): say why, not the status word.
		m.Severity = Warning
		m.Title = "Choose a PIN that is harder to guess"
		m.Text, _ = device.PINPolicyWords(err)
	case errors.As(err, &keyNotOK):
		m.Title = "This key can't be set up"
		m.Text = sentence(keyNotOK.Error())
	case errors.Is(err, device.ErrPINPolicy):
		m.Title = "Choose another PIN"
		m.Text = "The key refused this PIN. Choose a longer one that is not a simple pattern such as 123456, and try again."
	case errors.Is(err, device.ErrPINNotSet):
		m.Title = "Set the FIDO2 PIN first"
		m.Text = "Set a PIN on this key in the FIDO2 PIN step, then come back here."
	case errors.Is(err, device.ErrInUse):
		// Another program holds the key's smart-card interface for itself
		// (an ssh or GPG agent, docs/pcsc-platforms.md §2.1).
		m.Severity = Warning
		m.Title = "Another program is using your key"
		m.Text = "Close programs that use the key (an SSH or GPG agent, a smart-card tool), wait a few seconds and try again. Nothing is lost."
	case errors.Is(err, device.ErrLocked):
		m.Title = "The key's settings are locked"
		m.Text = "The key has a lock code that keywizard does not know. Ask IT to unlock it."
	case errors.Is(err, device.ErrTouchRequired):
		m.Title = "The key was not touched"
		m.Text = "Try again and touch the gold contact on your key when it blinks."
	case errors.Is(err, steps.ErrWrongKey):
		m.Title = "A different key is plugged in"
		m.Text = "Plug in the key this step is for, then try again."
	case errors.Is(err, steps.ErrNotStarted):
		m.Severity = Warning
		m.Title = "Another step comes first"
		m.Text = "Fill in Welcome first: your name, work e-mail and start date."
	case errors.Is(err, steps.ErrNoKeys):
		m.Severity = Warning
		m.Title = "Another step comes first"
		m.Text = "Plug in your keys and give each a role in Your keys first."
	case errors.Is(err, steps.ErrPrerequisite):
		m.Severity = Warning
		m.Title = "Another step comes first"
		m.Text = lead(err, steps.ErrPrerequisite, "Finish the steps before this one first.")
	case errors.Is(err, device.ErrInvalidArgument):
		m.Severity = Warning
		m.Title = "Please check what you entered"
		m.Text = lead(err, device.ErrInvalidArgument, "Check what you entered, then try again.")
	case joinProblem(err) != nil:
		// The cause (tracker/join's wording, for the command line) stays
		// out: the steps error says what to do here.
		m.Title = "Not connected to IT's tracker"
		m.Text = sentence(joinProblem(err).Error()) + " Your report is kept on this computer meanwhile."
		if errors.Is(err, steps.ErrNoInviteCode) || errors.Is(err, steps.ErrBadTrackerURL) {
			m.Severity = Warning
		}
	case errors.Is(err, context.DeadlineExceeded):
		m.Title = "The key did not answer in time"
		m.Text = "Unplug it, plug it back in and try again."
	default:
		m.Title = "That did not work"
		m.Text = "Try again. If it keeps failing, ask IT and show them the details below."
	}
	return m, true
}

// upperFirst capitalises an ASCII first letter: words shared with package
// steps ("verified on the key") are lower case, to sit inside a sentence.
func upperFirst(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// wrongPIN is the headline for a wrong PIN with n tries left (-1: unknown).
func wrongPIN(n int) string {
	if n > 0 {
		return fmt.Sprintf("Wrong PIN. %s left.", tries(n))
	}
	return "Wrong PIN."
}

// lead is the instruction steps put before sentinel in err's chain ("enter
// your start date: invalid argument" gives "Enter your start date."), or
// fallback when the chain has more than that one instruction in front.
func lead(err, sentinel error, fallback string) string {
	text, ok := strings.CutSuffix(err.Error(), ": "+sentinel.Error())
	if !ok || text == "" || strings.Contains(text, ": ") {
		return fallback
	}
	return sentence(text)
}

// sentence capitalises the first letter and ends with a full stop: wrapped
// Go errors are lower-case fragments by convention.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = upperFirst(s)
	switch s[len(s)-1] {
	case '.', '!', '?':
		return s
	}
	return s + "."
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func tries(n int) string {
	if n == 1 {
		return "1 try"
	}
	return fmt.Sprintf("%d tries", n)
}

// DeadlineText is the deadline line shown on every screen: "Due 23
// December · 27 days left", "Due today", or "Was due 23 December · 3 days
// overdue" (overdue is a warning, in the theme's calm amber).
func DeadlineText(s steps.Snapshot) (text string, overdue bool) {
	if !s.Started || s.Deadline.IsZero() {
		return "", false
	}
	date := s.Deadline.Format("2 January")
	if s.Deadline.Year() != s.Deadline.AddDate(0, 0, -s.DaysLeft).Year() {
		date = s.Deadline.Format("2 January 2006")
	}
	switch {
	case s.Complete:
		return "All done · due " + date, false
	case s.Overdue || s.DaysLeft < 0:
		late := -s.DaysLeft
		if late <= 0 {
			return "Was due " + date, true
		}
		return fmt.Sprintf("Was due %s · %s overdue", date, days(late)), true
	case s.DaysLeft == 0:
		return "Due today, " + date, false
	}
	return fmt.Sprintf("Due %s · %s left", date, days(s.DaysLeft)), false
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// timeText formats an evidence time for the key rows.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2 Jan 15:04")
}

// joinProblem is the steps join error err matches, or nil.
func joinProblem(err error) error {
	for _, e := range []error{steps.ErrInviteRejected, steps.ErrTrackerUnreachable, steps.ErrBadTrackerURL, steps.ErrTryLater, steps.ErrNoInviteCode} {
		if errors.Is(err, e) {
			return e
		}
	}
	return nil
}
