package steps

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device"
)

// Sentinel errors of the wizard. Messages are for people and say what to do.
var (
	// ErrNotStarted: the person has not said who they are yet.
	ErrNotStarted = errors.New("start with the welcome step: tell keywizard who you are")
	// ErrNoKeys: no key has a role yet.
	ErrNoKeys = errors.New("no key is set up yet; plug in a key and give it a role in the Keys step")
	// ErrUnknownStep: a step ID the wizard does not have.
	ErrUnknownStep = errors.New("no such step")
	// ErrNotYourKey: the serial is not one of the person's keys.
	ErrNotYourKey = errors.New("this key is not one of your keys; assign it a role in the Keys step first")
	// ErrWrongKey matches every *WrongKeyError.
	ErrWrongKey = errors.New("a different key is plugged in")
	// ErrNotApplicable matches every *NotApplicableError.
	ErrNotApplicable = errors.New("this step does not apply here")
	// ErrNotVerified matches every *NotVerifiedError.
	ErrNotVerified = errors.New("not found on the key yet")
	// ErrCannotVerify: the service can only be self-attested.
	ErrCannotVerify = errors.New("keywizard cannot check this service; confirm it yourself once you have done it")
	// ErrBrowser matches every *BrowserError.
	ErrBrowser = errors.New("could not open the browser")
	// ErrCancelled: the person cancelled a prompt.
	ErrCancelled = errors.New("cancelled")
	// ErrReportQueued: the report could not be sent now; it is kept and
	// sent when the network is back.
	ErrReportQueued = errors.New("the report is saved and will be sent when the network is back; you can carry on")
	// ErrReportRejected matches every *ReportRejectedError.
	ErrReportRejected = errors.New("IT's tracker refused the report; check the details you entered or ask IT")
	// ErrNoProgress: nothing was saved yet.
	ErrNoProgress = errors.New("no saved progress")
	// ErrDamagedProgress: the progress file cannot be read.
	ErrDamagedProgress = errors.New("the saved progress file is damaged")
	// ErrNeedAccount matches every *NeedAccountError.
	ErrNeedAccount = errors.New("keywizard needs your account name for this service")
	// ErrPrerequisite: another step must be done first.
	ErrPrerequisite = errors.New("another step must be done first")
	// ErrIncompleteSmartCard matches every *IncompleteSmartCardError.
	ErrIncompleteSmartCard = errors.New("the smart-card setup is incomplete")
	// ErrKeptLocally matches every *KeptLocallyError: the Reporter kept the
	// report on this computer and nothing reached IT.
	ErrKeptLocally = errors.New("not sent: IT has not received this")
	// ErrNotOpened: confirming a service by hand needs its page opened
	// first (Wizard.OpenService), where the key is registered.
	ErrNotOpened = errors.New("open the service's page and register the key there first")
	// ErrNoLoss: no key was reported lost.
	ErrNoLoss = errors.New("no key was reported lost")
	// ErrStillPaired matches every *StillPairedError.
	ErrStillPaired = errors.New("the lost key is still paired with this Mac")
	// ErrLossOpen matches every *LossOpenError.
	ErrLossOpen = errors.New("the lost key's checklist is not finished")
	// ErrReplugNeeded matches every *ReplugNeededError.
	ErrReplugNeeded = errors.New("unplug the key and plug it back in")
)

// KeptLocallyError is what a Reporter returns that kept the report on this
// computer instead of sending it (LocalReporter): written, but IT has not
// received it, so the wizard never shows it as sent.
type KeptLocallyError struct {
	Path string
}

func (e *KeptLocallyError) Error() string {
	return "not sent: IT has not received this; it is kept on this computer in " + e.Path
}

// Is makes KeptLocallyError match ErrKeptLocally.
func (e *KeptLocallyError) Is(target error) bool { return target == ErrKeptLocally }

// ReplugNeededError says the key refuses every FIDO2 PIN until it is
// unplugged and plugged back in: after three wrong PINs in a row a YubiKey
// answers CTAP2_ERR_PIN_AUTH_BLOCKED to any PIN, right or wrong, until
// power-cycled (getPINRetries reports it as powerCycleState,
// docs/yubikey-protocol.md §3.2; device/fido's PowerCycleError). The wizard asks for no PIN meanwhile, since a right PIN
// would be refused too. It also matches device.ErrBlocked.
type ReplugNeededError struct {
	Key string // key label
}

func (e *ReplugNeededError) Error() string {
	return "after three wrong PINs in a row, " + e.Key + " refuses every PIN until it is unplugged; unplug it, plug it back in, then try again (nothing is lost)"
}

// Is makes ReplugNeededError match ErrReplugNeeded and device.ErrBlocked.
func (e *ReplugNeededError) Is(target error) bool {
	return target == ErrReplugNeeded || target == device.ErrBlocked
}

// KeyUnpluggedError says the key a step needs is not plugged in while
// the person's other key is: the advice names the missing key and says the
// other one may stay (the browser and keywizard tell keys apart by serial).
// It matches device.ErrNotFound.
type KeyUnpluggedError struct {
	Serial uint32
	Label  string // the missing key
	Others string // the person's keys that are plugged in, "" for none
}

func (e *KeyUnpluggedError) Error() string {
	msg := e.Label + " is unplugged; plug it in and try again"
	if e.Others != "" {
		msg += ". " + e.Others + " can stay plugged in"
	}
	return msg
}

// Is makes KeyUnpluggedError match device.ErrNotFound.
func (e *KeyUnpluggedError) Is(target error) bool { return target == device.ErrNotFound }

// IncompleteSmartCardError says smart-card provisioning reported fewer
// login identities than macOS needs: 9a signs the login, 9d wraps the
// keychain password (docs/yubikey-protocol.md §5); without 9d macOS asks for
// the keychain password again and again. It also matches
// device.ErrInvalidResponse: the key (or adapter) answered incompletely.
type IncompleteSmartCardError struct {
	Key        string   // key label
	Identities []string // what provisioning reported
}

func (e *IncompleteSmartCardError) Error() string {
	return fmt.Sprintf("setting up %s reported %d of the 2 login identities macOS needs (slots 9a and 9d); redo this step, and if it happens again, ask IT",
		e.Key, len(e.Identities))
}

// Is makes IncompleteSmartCardError match ErrIncompleteSmartCard and
// device.ErrInvalidResponse.
func (e *IncompleteSmartCardError) Is(target error) bool {
	return target == ErrIncompleteSmartCard || target == device.ErrInvalidResponse
}

// WrongKeyError says the step needs one key and another is plugged in.
type WrongKeyError struct {
	Want, Got           uint32
	WantLabel, GotLabel string
}

func (e *WrongKeyError) Error() string {
	want := e.WantLabel
	if want == "" {
		want = fmt.Sprintf("the key with serial %d", e.Want)
	}
	got := e.GotLabel
	if got == "" {
		got = fmt.Sprintf("serial %d", e.Got)
	}
	return fmt.Sprintf("this step needs %s, but the key plugged in is %s; plug in the right key and try again", want, got)
}

// Is makes WrongKeyError match ErrWrongKey.
func (e *WrongKeyError) Is(target error) bool { return target == ErrWrongKey }

// NotApplicableError says why a step does not apply.
type NotApplicableError struct {
	Step   StepID
	Reason string
}

func (e *NotApplicableError) Error() string {
	return string(e.Step) + " does not apply: " + e.Reason
}

// Is makes NotApplicableError match ErrNotApplicable.
func (e *NotApplicableError) Is(target error) bool { return target == ErrNotApplicable }

// NotVerifiedError says the check ran and found nothing yet. Hint tells the
// person how to make the registration checkable.
type NotVerifiedError struct {
	Service string // service name
	Key     string // key label
	What    string // what was looked for
	Hint    string
}

func (e *NotVerifiedError) Error() string {
	msg := fmt.Sprintf("%s: %s was not found on %s yet", e.Service, e.What, e.Key)
	if e.Hint != "" {
		msg += ". " + e.Hint
	}
	return msg
}

// Is makes NotVerifiedError match ErrNotVerified.
func (e *NotVerifiedError) Is(target error) bool { return target == ErrNotVerified }

// BrowserError says the page could not be opened; the person can open URL by
// hand.
type BrowserError struct {
	URL string
	Err error
}

func (e *BrowserError) Error() string {
	return "could not open your browser (" + e.Err.Error() + "); open this address by hand: " + e.URL
}

// Unwrap returns the browser's error.
func (e *BrowserError) Unwrap() error { return e.Err }

// Is makes BrowserError match ErrBrowser.
func (e *BrowserError) Is(target error) bool { return target == ErrBrowser }

// NeedAccountError says a service matches passkeys by an account name the
// person has not given yet (Wizard.SetAccount).
type NeedAccountError struct {
	Service string // service ID
	Label   string // e.g. "GitHub username"
}

func (e *NeedAccountError) Error() string {
	return "enter your " + e.Label + " first, so keywizard can find the passkey made for it"
}

// Is makes NeedAccountError match ErrNeedAccount.
func (e *NeedAccountError) Is(target error) bool { return target == ErrNeedAccount }

// ReportRejectedError says the tracker refused the report for good: sending
// it again as it is cannot help, so unlike ErrReportQueued nothing will go
// later by itself. Field is the report field the tracker objected to
// (e.g. "person_email" when the e-mail address typed in the welcome step is
// not the one IT registered), if it named one; Reason is its words.
type ReportRejectedError struct {
	Field  string
	Reason string
	Err    error
}

func (e *ReportRejectedError) Error() string {
	what := "IT's tracker refused your report"
	if e.Reason != "" {
		what += " (" + e.Reason + ")"
	}
	if e.Field == "person_email" {
		return what + "; check that the e-mail address you entered is the one IT registered for you, then send it again, or ask IT"
	}
	return what + "; ask IT and mention this message"
}

// Unwrap returns the cause.
func (e *ReportRejectedError) Unwrap() error { return e.Err }

// Is makes ReportRejectedError match ErrReportRejected.
func (e *ReportRejectedError) Is(target error) bool { return target == ErrReportRejected }

// PersonError lists every problem with what the person entered on Welcome,
// at once, so they can fix them all in one go. It matches
// device.ErrInvalidArgument.
type PersonError struct {
	// Problems are plain instructions, one per field, in the form's order
	// ("enter your name").
	Problems []string
}

func (e *PersonError) Error() string {
	return strings.Join(e.Problems, "; ")
}

// Sentence is the problems as one sentence for the window: "Enter your
// name; and your work e-mail address (like name@company.com)."
func (e *PersonError) Sentence() string {
	var b strings.Builder
	for i, p := range e.Problems {
		switch {
		case i == 0:
			p = strings.ToUpper(p[:1]) + p[1:]
		case i == len(e.Problems)-1:
			b.WriteString("; and ")
			p = strings.TrimPrefix(p, "enter ")
		default:
			b.WriteString("; ")
			p = strings.TrimPrefix(p, "enter ")
		}
		b.WriteString(p)
	}
	b.WriteString(".")
	return b.String()
}

// Is makes PersonError match device.ErrInvalidArgument.
func (e *PersonError) Is(target error) bool { return target == device.ErrInvalidArgument }
