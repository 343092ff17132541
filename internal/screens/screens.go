// Package screens builds every screen of keywizard's UI in a known state: a
// real steps.Wizard over the stepstest fakes, advanced as a person would,
// with the ui attached. The ui's golden tests and the screenshot tool
// (./cmd/screens, run by scripts/screenshots.sh under Xvfb) share these
// scenarios, so the PNGs show exactly what the goldens check.
package screens

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/steps/stepstest"
	"github.com/keywizard/keywizard/ui"
)

// Serials of the two keys every scenario starts with, and of a stranger's.
const (
	Everyday uint32 = stepstest.HarnessEveryday
	Backup   uint32 = stepstest.HarnessBackup
	Stranger uint32 = 34567890
	// Replacement is the new key that takes a lost key's role.
	Replacement uint32 = 45678901
)

// InviteCode is the invite code Env's tracker accepts, once.
const InviteCode = "K7QX-2M9P-WWRT"

// ErrDamagedProgressSample is the error the window starts with over a damaged
// progress file, as steps.FileStore reports it (with a fixed path, for the
// golden).
var ErrDamagedProgressSample = fmt.Errorf("starting the wizard: loading your progress: %w: unexpected end of JSON input; "+
	"move /home/alice/.config/keywizard/progress.json away to start over", steps.ErrDamagedProgress)

// Large is the "large screen" size goldens and screenshots also use.
var Large = fyne.NewSize(1920, 1200)

// Env is a wizard over fakes with the UI attached.
type Env struct {
	UI       *ui.UI
	Wizard   *steps.Wizard
	Keys     *stepstest.FakeKeys
	Browser  *stepstest.Browser
	Reporter *stepstest.Reporter
	// Lost receives the wizard's lost-key reports.
	Lost      *stepstest.LossReporter
	SmartCard *stepstest.SmartCard
	Clock     *stepstest.Clock
	Store     *steps.FileStore
	// Tracker is IT's onboarding tracker as the report step joins it;
	// InviteCode is the code it accepts (once).
	Tracker *stepstest.Tracker

	// DuringTouch, if set, runs while a key waits for a touch (turning off
	// OTP), between the wizard's "touch" and "done" notifications.
	DuringTouch func(serial uint32)

	prompter *switchPrompter
	goos     string
	cat      *catalogue.Catalogue
	// The wizard's reporters and tracker when not the fakes above.
	reporter     steps.Reporter
	lossReporter steps.LossReporter
	tracker      steps.Tracker
}

// switchPrompter answers the wizard's prompts from the scripted fake while
// a scenario is set up, then from the UI (its dialogs).
type switchPrompter struct {
	mu sync.Mutex
	p  steps.Prompter
}

func (s *switchPrompter) get() steps.Prompter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p
}

func (s *switchPrompter) set(p steps.Prompter) {
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()
}

func (s *switchPrompter) PIN(ctx context.Context, r steps.PINRequest) (string, error) {
	return s.get().PIN(ctx, r)
}

func (s *switchPrompter) Confirm(ctx context.Context, r steps.ConfirmRequest) (bool, error) {
	return s.get().Confirm(ctx, r)
}

func (s *switchPrompter) TouchKey(k steps.KeyRef, waiting bool) { s.get().TouchKey(k, waiting) }

// insertingKeys makes provisioned identities visible to the fake sc_auth,
// as inserting a key makes them visible to macOS.
type insertingKeys struct {
	*stepstest.FakeKeys
	sc  *stepstest.SmartCard
	env *Env
}

// DisableOTP waits for a touch as a key whose OTP slot is touch-protected
// would, so the UI's "touch your key" notice shows (steps.NotifyTouch).
func (k insertingKeys) DisableOTP(ctx context.Context, serial uint32, nfcToo bool) (steps.OTPResult, error) {
	steps.NotifyTouch(ctx, true)
	if k.env.DuringTouch != nil {
		k.env.DuringTouch(serial)
	}
	steps.NotifyTouch(ctx, false)
	return k.FakeKeys.DisableOTP(ctx, serial, nfcToo)
}

func (k insertingKeys) ProvisionPIV(ctx context.Context, serial uint32, p steps.PIVParams) (steps.PIVResult, error) {
	res, err := k.FakeKeys.ProvisionPIV(ctx, serial, p)
	if err == nil {
		k.sc.Insert(res.Identities...)
	}
	return res, err
}

// NewEnv creates the fakes (two factory-fresh keys plugged in, the clock at
// stepstest.FlowNow, progress under dir), the wizard for goos and the UI in
// w. The UI is attached but the wizard's prompts are answered by the script
// until UseUI.
func NewEnv(a fyne.App, w fyne.Window, goos, dir string, opts ui.Options) (*Env, error) {
	return NewEnvWith(a, w, EnvConfig{GOOS: goos, Dir: dir, UI: opts})
}

// EnvConfig is what NewEnvWith builds an Env with.
type EnvConfig struct {
	GOOS string
	Dir  string // progress goes under it
	UI   ui.Options
	// Catalogue is the organisation's catalogue (nil: the frozen test
	// catalogue, stepstest.Catalogue, so adding a service to the default
	// changes no screen).
	Catalogue *catalogue.Catalogue
	// Reporter, LossReporter and Tracker, when set, replace the fakes the
	// wizard reports to (a test's real tracker through internal/trackerlink).
	Reporter     steps.Reporter
	LossReporter steps.LossReporter
	Tracker      steps.Tracker
}

// NewEnvWith is NewEnv with an organisation's catalogue.
func NewEnvWith(a fyne.App, w fyne.Window, c EnvConfig) (*Env, error) {
	e := &Env{
		Keys:    stepstest.NewFakeKeys(stepstest.NewKey(Everyday, true), stepstest.NewKey(Backup, false)),
		Browser: &stepstest.Browser{}, Reporter: &stepstest.Reporter{}, Lost: &stepstest.LossReporter{}, SmartCard: &stepstest.SmartCard{},
		Clock:    &stepstest.Clock{T: stepstest.FlowNow},
		Store:    &steps.FileStore{Path: filepath.Join(c.Dir, "keywizard", "progress.json")},
		Tracker:  &stepstest.Tracker{Codes: map[string]steps.JoinResult{InviteCode: {Name: "Alice Example", Email: "alice@example.com"}}},
		goos:     c.GOOS,
		cat:      cmp.Or(c.Catalogue, stepstest.Catalogue()),
		prompter: &switchPrompter{p: stepstest.FlowPrompter()},
	}
	e.reporter, e.lossReporter, e.tracker = c.Reporter, c.LossReporter, c.Tracker
	if err := e.attach(a, w, c.UI); err != nil {
		return nil, err
	}
	return e, nil
}

// attach builds the wizard over e's fakes and store, and the UI in w.
func (e *Env) attach(a fyne.App, w fyne.Window, opts ui.Options) error {
	o := steps.Options{
		Catalogue: e.cat,
		Keys:      insertingKeys{e.Keys, e.SmartCard, e}, Browser: e.Browser, Prompter: e.prompter, Reporter: e.Reporter, LossReporter: e.Lost,
		Store: e.Store, Clock: e.Clock, SmartCard: e.SmartCard, GOOS: e.goos, OSUser: "alice", AppVersion: "screens",
		Tracker: e.Tracker,
	}
	if e.reporter != nil {
		o.Reporter = e.reporter
	}
	if e.lossReporter != nil {
		o.LossReporter = e.lossReporter
	}
	if e.tracker != nil {
		o.Tracker = e.tracker
	}
	wiz, err := steps.New(context.Background(), o)
	if err != nil {
		return err
	}
	e.Wizard = wiz
	opts.NoWatch = true // scenarios plug keys in and out through the fakes
	e.UI = ui.New(a, w, opts)
	e.UI.Attach(context.Background(), wiz)
	return nil
}

// Reopen is quitting keywizard and starting it again: the UI's actions are
// cancelled, and a new wizard and UI are built in w on the same progress
// file (read afresh) with the same keys plugged in. The new Env's prompts
// are answered by the script until UseUI.
func (e *Env) Reopen(a fyne.App, w fyne.Window, opts ui.Options) (*Env, error) {
	e.UI.Close()
	n := &Env{
		Keys: e.Keys, Browser: e.Browser, Reporter: e.Reporter, Lost: e.Lost, SmartCard: e.SmartCard, Clock: e.Clock,
		Store: &steps.FileStore{Path: e.Store.Path}, Tracker: e.Tracker, goos: e.goos, cat: e.cat,
		reporter: e.reporter, lossReporter: e.lossReporter, tracker: e.tracker,
		prompter: &switchPrompter{p: stepstest.FlowPrompter()},
	}
	if err := n.attach(a, w, opts); err != nil {
		return nil, err
	}
	return n, nil
}

// UseUI makes the UI answer the wizard's prompts from now on.
func (e *Env) UseUI() { e.prompter.set(e.UI) }

// Script returns a scripted prompter and makes it answer from now on.
func (e *Env) Script(p *stepstest.Prompter) { e.prompter.set(p) }

// AdvanceTo completes every step before id on both keys, as a person would
// with the best evidence available (stepstest.Complete), and makes id
// current. The prompts on the way are answered by stepstest.FlowPrompter,
// whoever answers them before and after.
func (e *Env) AdvanceTo(id steps.StepID) error {
	prev := e.prompter.get()
	e.prompter.set(stepstest.FlowPrompter())
	defer e.prompter.set(prev)
	return stepstest.AdvanceTo(context.Background(), e.actor(), e.Wizard.GoTo, id, Everyday, Backup)
}

// Complete finishes step id on the key with the given serial
// (stepstest.Complete): a passkey made and verified, a self-attestation,
// macOS provisioning and pairing, and so on.
func (e *Env) Complete(ctx context.Context, id steps.StepID, serial uint32) error {
	st, ok := e.Wizard.Snapshot().Step(id)
	if !ok {
		return fmt.Errorf("no step %s", id)
	}
	return stepstest.Complete(ctx, e.actor(), st, serial)
}

func (e *Env) actor() stepstest.Actor {
	return stepstest.WithPasskeys(e.Wizard, e.Keys.RegisterPasskey)
}

// Open creates the scenario's environment in w (theme, wizard, UI) and
// drives it to the state; it returns once the screen is settled.
func (sc Scenario) Open(a fyne.App, w fyne.Window, dir string) (*Env, error) {
	return sc.OpenWith(a, w, dir, ui.Options{})
}

// OpenWith is Open with UI options (the theme is the scenario's).
func (sc Scenario) OpenWith(a fyne.App, w fyne.Window, dir string, opts ui.Options) (*Env, error) {
	opts.Simulated = opts.Simulated || sc.Simulated
	if sc.Dark {
		opts.Theme = ui.NewFixedTheme(theme.VariantDark)
	} else {
		opts.Theme = ui.NewFixedTheme(theme.VariantLight)
	}
	var e *Env
	var err error
	fyne.DoAndWait(func() {
		e, err = NewEnvWith(a, w, EnvConfig{GOOS: sc.GOOS, Dir: dir, UI: opts, Catalogue: sc.Catalogue})
	})
	if err != nil {
		return nil, err
	}
	fyne.DoAndWait(func() { w.Resize(sc.Size) })
	if err := sc.Setup(e); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	if !e.UI.Settle(10 * time.Second) {
		return nil, fmt.Errorf("scenario %s: the UI did not settle", sc.Name)
	}
	return e, nil
}

// Scenario is one screen state.
type Scenario struct {
	Name string
	// GOOS decides which services apply ("darwin" shows macOS login).
	GOOS string
	Size fyne.Size
	// Dark draws the scenario with the dark variant of the theme.
	Dark bool
	// Simulated draws the header of a --simulate window.
	Simulated bool
	// Catalogue is an organisation's catalogue (nil: stepstest.Catalogue).
	Catalogue *catalogue.Catalogue
	// Setup drives the wizard (and the UI) to the state. It runs on a
	// goroutine other than Fyne's; it may leave a dialog open.
	Setup func(e *Env) error
}

// OrgCatalogue is an organisation's catalogue merged into the frozen test
// catalogue, as the README shows one: AWS dropped, Okta added and checked
// by its passkey.
func OrgCatalogue() (*catalogue.Catalogue, error) {
	return catalogue.Merge(stepstest.Catalogue(), "org.json", []byte(`{"schema": 1, "services": [
  {"id": "aws", "disabled": true},
  {"id": "okta", "name": "Okta", "url": "https://acme.okta.com/enduser/settings",
   "instructions": ["Next to \"Security Key or Biometric Authenticator\", click Set up.", "Touch the key when it blinks.", "Come back here and click Verify."],
   "verification": {"kind": "fido-credential", "rp_id": "acme.okta.com", "user": "email"}}
]}`))
}

// expectErr runs f, which must fail; the UI then shows the error as it
// does after a failed action.
func expectErr(e *Env, f func(ctx context.Context) error) error {
	err := f(context.Background())
	if err == nil {
		return fmt.Errorf("the scenario's action did not fail")
	}
	fyne.DoAndWait(func() { e.UI.ShowError(err) })
	return nil
}

// openPrompt starts a wizard action whose prompt stays open for the
// picture: the UI answers prompts, and nobody answers this one.
func openPrompt(e *Env, f func(ctx context.Context) error) {
	e.UI.Go(func(ctx context.Context) error { return f(ctx) })
}

// All returns every scenario: each screen, each error state, the dialogs,
// and a few at the large size and in dark.
func All() []Scenario {
	d := ui.DefaultSize
	ctx := context.Background()
	to := func(id steps.StepID) func(e *Env) error { return func(e *Env) error { return e.AdvanceTo(id) } }
	org, err := OrgCatalogue()
	if err != nil {
		panic("screens: the organisation catalogue does not merge: " + err.Error())
	}
	return []Scenario{
		{Name: "welcome", GOOS: "linux", Size: d, Setup: func(e *Env) error { return nil }},
		{Name: "welcome-large", GOOS: "linux", Size: Large, Setup: func(e *Env) error { return nil }},
		{Name: "keys", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepKeys); err != nil {
				return err
			}
			return e.Wizard.DetectKeys(ctx)
		}},
		{Name: "one-key-only", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepKeys); err != nil {
				return err
			}
			e.Keys.Unplug(Backup)
			if err := e.Wizard.DetectKeys(ctx); err != nil {
				return err
			}
			if err := e.Wizard.AssignRoles(ctx, Everyday, 0); err != nil {
				return err
			}
			return e.Wizard.GoTo(ctx, steps.StepFIDOPIN)
		}},
		{Name: "fido-pin", GOOS: "linux", Size: d, Setup: to(steps.StepFIDOPIN)},
		{Name: "pin-dialog", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepFIDOPIN); err != nil {
				return err
			}
			e.UseUI()
			openPrompt(e, func(ctx context.Context) error { return e.Wizard.SetPIN(ctx, Everyday) })
			return nil
		}},
		{Name: "pin-wrong", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("google"); err != nil {
				return err
			}
			if err := e.Wizard.OpenService(ctx, "google", Everyday); err != nil {
				return err
			}
			e.Script(&stepstest.Prompter{PINs: []string{"not-my-pin"}})
			return expectErr(e, func(ctx context.Context) error { return e.Wizard.Verify(ctx, "google", Everyday) })
		}},
		{Name: "pin-retry-dialog", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("google"); err != nil {
				return err
			}
			if err := e.Wizard.OpenService(ctx, "google", Everyday); err != nil {
				return err
			}
			e.Script(&stepstest.Prompter{PINs: []string{"not-my-pin"}})
			if err := e.Wizard.Verify(ctx, "google", Everyday); err == nil {
				return fmt.Errorf("a wrong PIN was accepted")
			}
			// The next try shows the retries left in the PIN dialog.
			e.UseUI()
			openPrompt(e, func(ctx context.Context) error { return e.Wizard.Verify(ctx, "google", Everyday) })
			return nil
		}},
		{Name: "pin-blocked", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("google"); err != nil {
				return err
			}
			e.Keys.Key(Everyday).FIDORetries = 0
			return expectErr(e, func(ctx context.Context) error { return e.Wizard.Verify(ctx, "google", Everyday) })
		}},
		{Name: "service-verified", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("google"); err != nil {
				return err
			}
			if err := e.Complete(ctx, "google", Everyday); err != nil {
				return err
			}
			return e.Wizard.OpenService(ctx, "google", Backup)
		}},
		{Name: "service-verified-large", GOOS: "linux", Size: Large, Setup: func(e *Env) error {
			if err := e.AdvanceTo("google"); err != nil {
				return err
			}
			return e.Complete(ctx, "google", Everyday)
		}},
		{Name: "service-self-attested", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("aws"); err != nil {
				return err
			}
			return e.Complete(ctx, "aws", Everyday)
		}},
		{Name: "browser-failed", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("github"); err != nil {
				return err
			}
			e.Browser.Err = fmt.Errorf("xdg-open: no method available for opening the URL")
			return expectErr(e, func(ctx context.Context) error { return e.Wizard.OpenService(ctx, "github", Everyday) })
		}},
		{Name: "wrong-key", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("github"); err != nil {
				return err
			}
			e.Keys.Unplug(Everyday)
			e.Keys.Unplug(Backup)
			e.Keys.Add(stepstest.NewKey(Stranger, false))
			return expectErr(e, func(ctx context.Context) error { return e.Wizard.OpenService(ctx, "github", Everyday) })
		}},
		{Name: "key-removed", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepOTP); err != nil {
				return err
			}
			e.Keys.Hook = func(op stepstest.Op, serial uint32) error {
				if op == stepstest.OpDisableOTP {
					e.Keys.Unplug(serial)
					return fmt.Errorf("writing the configuration: %w", device.ErrRemoved)
				}
				return nil
			}
			return expectErr(e, func(ctx context.Context) error { return e.Wizard.DisableOTP(ctx, Everyday) })
		}},
		{Name: "otp-restarting", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepOTP); err != nil {
				return err
			}
			// Turning OTP off reboots the key (docs/yubikey-protocol.md
			// §1.9); the picture is taken before it is back: its row says
			// Restarting, never "Not plugged in".
			e.Keys.OnReboot = func(serial uint32) { e.Keys.Unplug(serial) }
			if err := e.Wizard.DisableOTP(ctx, Everyday); err != nil {
				return err
			}
			return e.Wizard.DetectKeys(ctx)
		}},
		{Name: "touch", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepOTP); err != nil {
				return err
			}
			e.UI.TouchKey(steps.KeyRef{Serial: Everyday, Model: "YubiKey 5C Nano", Role: steps.RoleEveryday,
				Label: steps.Label(steps.RoleEveryday, "YubiKey 5C Nano", Everyday)}, true)
			return nil
		}},
		{Name: "macos", GOOS: "darwin", Size: d, Setup: to("macos")},
		{Name: "macos-confirm", GOOS: "darwin", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("macos"); err != nil {
				return err
			}
			e.UseUI()
			openPrompt(e, func(ctx context.Context) error { return e.Wizard.ProvisionMac(ctx, "macos", Everyday) })
			return nil
		}},
		{Name: "macos-not-applicable", GOOS: "linux", Size: d, Setup: to("macos")},
		{Name: "otp", GOOS: "linux", Size: d, Setup: to(steps.StepOTP)},
		{Name: "report", GOOS: "linux", Size: d, Setup: to(steps.StepReport)},
		{Name: "report-connected", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepReport); err != nil {
				return err
			}
			return e.Wizard.Join(ctx, "https://tracker.example.com", InviteCode)
		}},
		{Name: "report-invite-rejected", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepReport); err != nil {
				return err
			}
			return expectErr(e, func(ctx context.Context) error {
				return e.Wizard.Join(ctx, "https://tracker.example.com", "USED-CODE-1234")
			})
		}},
		{Name: "no-network", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepReport); err != nil {
				return err
			}
			// Connected to the tracker, which the network does not reach.
			if err := e.Wizard.Join(ctx, "https://tracker.example.com", InviteCode); err != nil {
				return err
			}
			e.Reporter.Err = fmt.Errorf("posting the report: dial tcp: lookup tracker.example.com: no such host")
			return expectErr(e, func(ctx context.Context) error { return e.Wizard.Report(ctx) })
		}},
		{Name: "report-not-sent", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepReport); err != nil {
				return err
			}
			// No tracker connected: kept on this computer, not sent.
			return e.Wizard.Report(ctx)
		}},
		{Name: "key-unplugged", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("google"); err != nil {
				return err
			}
			if err := e.Complete(ctx, "google", Backup); err != nil {
				return err
			}
			e.Keys.Unplug(Everyday)
			return e.Wizard.DetectKeys(ctx)
		}},
		{Name: "recheck-lost", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("aws"); err != nil {
				return err
			}
			// The Google passkey was deleted from the everyday key since
			// it was verified; reading the key again takes it back.
			e.Keys.Key(Everyday).Passkeys = nil
			e.Clock.Advance(26 * time.Hour)
			if err := e.Wizard.Recheck(ctx, Everyday); err != nil {
				return err
			}
			return e.Wizard.GoTo(ctx, "google")
		}},
		{Name: "summary", GOOS: "linux", Size: d, Setup: to(steps.StepSummary)},
		{Name: "startup-damaged-progress", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			fyne.DoAndWait(func() { e.UI.ShowStartupProblem(ErrDamagedProgressSample, func() error { return nil }) })
			return nil
		}},
		{Name: "summary-dark", GOOS: "darwin", Size: d, Dark: true, Setup: to(steps.StepSummary)},
		{Name: "service-org", GOOS: "linux", Size: d, Catalogue: org, Setup: to("okta")},
		{Name: "pin-wrong-in-dialog", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo("google"); err != nil {
				return err
			}
			if err := e.Wizard.OpenService(ctx, "google", Everyday); err != nil {
				return err
			}
			// A wrong PIN typed into the dialog: the dialog stays and says so.
			e.UseUI()
			openPrompt(e, func(ctx context.Context) error { return e.Wizard.Verify(ctx, "google", Everyday) })
			if !e.UI.Settle(10 * time.Second) {
				return fmt.Errorf("no PIN dialog")
			}
			var answered bool
			fyne.DoAndWait(func() { answered = e.UI.AnswerPIN("not-my-pin") })
			if !answered {
				return fmt.Errorf("no PIN dialog to answer")
			}
			return nil
		}},
		{Name: "welcome-problems", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			// Every field's problem at once, as Start shows them.
			err := steps.CheckPerson(steps.Person{Email: "alice@"}, "enter your start date as year-month-day, like 2026-11-23")
			fyne.DoAndWait(func() { e.UI.ShowError(err) })
			return nil
		}},
		{Name: "simulated-large", GOOS: "linux", Size: Large, Simulated: true, Setup: func(e *Env) error {
			if err := e.AdvanceTo("github"); err != nil {
				return err
			}
			return expectErr(e, func(ctx context.Context) error {
				return fmt.Errorf("reading passkeys from the everyday key: listing FIDO2 credentials: %w", &device.PINError{Which: device.FIDO2PIN, Retries: -1})
			})
		}},
		{Name: "lost-confirm", GOOS: "darwin", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepSummary); err != nil {
				return err
			}
			e.UseUI()
			openPrompt(e, func(ctx context.Context) error { return e.Wizard.ReportLost(ctx, Backup, "") })
			return nil
		}},
		{Name: "lost-checklist", GOOS: "darwin", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepSummary); err != nil {
				return err
			}
			e.Keys.Unplug(Backup)
			if err := e.Wizard.DetectKeys(ctx); err != nil {
				return err
			}
			return e.Wizard.ReportLost(ctx, Backup, "")
		}},
		{Name: "lost-waiting", GOOS: "linux", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepSummary); err != nil {
				return err
			}
			e.Lost.Err = fmt.Errorf("%w: dial tcp: lookup tracker.example.com: no such host", steps.ErrReportQueued)
			if err := e.Wizard.ReportLost(ctx, Everyday, ""); !errors.Is(err, steps.ErrReportQueued) {
				return fmt.Errorf("offline loss report: %v", err)
			}
			return e.Wizard.ConfirmRemoved(ctx, "google")
		}},
		{Name: "lost-unpair-failed", GOOS: "darwin", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepSummary); err != nil {
				return err
			}
			if err := e.Wizard.ReportLost(ctx, Backup, ""); err != nil {
				return err
			}
			e.SmartCard.KeepPaired = true
			return expectErr(e, func(ctx context.Context) error { return e.Wizard.UnpairLost(ctx, "macos") })
		}},
		{Name: "lost-done", GOOS: "darwin", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepSummary); err != nil {
				return err
			}
			if err := e.Wizard.ReportLost(ctx, Backup, ""); err != nil {
				return err
			}
			return e.Complete(ctx, steps.StepLost, 0)
		}},
		{Name: "lost-replacement", GOOS: "darwin", Size: d, Setup: func(e *Env) error {
			if err := e.AdvanceTo(steps.StepSummary); err != nil {
				return err
			}
			if err := e.Wizard.ReportLost(ctx, Backup, ""); err != nil {
				return err
			}
			if err := e.Complete(ctx, steps.StepLost, 0); err != nil {
				return err
			}
			e.Keys.Unplug(Backup)
			e.Keys.Add(stepstest.NewKey(Replacement, false))
			if err := e.Wizard.GoTo(ctx, steps.StepKeys); err != nil {
				return err
			}
			return e.Wizard.DetectKeys(ctx)
		}},
		{Name: "service-dark", GOOS: "linux", Size: d, Dark: true, Setup: func(e *Env) error {
			if err := e.AdvanceTo("github"); err != nil {
				return err
			}
			return e.Complete(ctx, "github", Everyday)
		}},
	}
}
