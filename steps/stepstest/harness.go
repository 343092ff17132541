package stepstest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keywizard/keywizard/steps"
)

// Serials of the Harness's keys.
const (
	HarnessEveryday uint32 = 12345678 // a YubiKey 5C Nano
	HarnessBackup   uint32 = 23456789 // a YubiKey 5C NFC
)

// Harness is a real steps.Wizard over fakes, for frontends' tests (the ui
// renders its snapshots) in the way tailscale's FakeBackend serves its
// frontends, except that the state machine is the real one.
type Harness struct {
	W        *steps.Wizard
	Options  steps.Options
	Keys     *FakeKeys
	Browser  *Browser
	Prompter *Prompter
	Reporter *Reporter
	// Lost receives the wizard's lost-key reports.
	Lost      *LossReporter
	SmartCard *SmartCard
	Clock     *Clock
	Store     *steps.FileStore
}

// NewHarness returns a wizard for goos ("darwin" includes macOS login) with
// two factory-fresh keys plugged in, the clock at FlowNow, progress in a
// temporary directory and a prompter answering FlowPrompter's PINs.
func NewHarness(tb testing.TB, goos string) *Harness {
	tb.Helper()
	h := &Harness{
		Keys:    NewFakeKeys(NewKey(HarnessEveryday, true), NewKey(HarnessBackup, false)),
		Browser: &Browser{}, Prompter: FlowPrompter(), Reporter: &Reporter{}, Lost: &LossReporter{}, SmartCard: &SmartCard{},
		Clock: &Clock{T: FlowNow},
		Store: &steps.FileStore{Path: filepath.Join(tb.TempDir(), "keywizard", "progress.json")},
	}
	h.Options = steps.Options{Keys: insertingKeys{h.Keys, h.SmartCard}, Browser: h.Browser, Prompter: h.Prompter, Reporter: h.Reporter, LossReporter: h.Lost,
		Store: h.Store, Clock: h.Clock, SmartCard: h.SmartCard, GOOS: goos, Catalogue: Catalogue(), OSUser: "alice", AppVersion: "test"}
	w, err := steps.New(context.Background(), h.Options)
	if err != nil {
		tb.Fatal(err)
	}
	h.W = w
	return h
}

// FlowPerson is the person of the harness and the full flow.
func FlowPerson() steps.Person {
	return steps.Person{Name: "Alice Example", Email: "alice@example.com", StartDate: FlowStart, Accounts: map[string]string{"github": "alice-gh"}}
}

// AdvanceTo completes every step before id on both keys (as the person
// would, with the best evidence available: stepstest.Complete) and makes id
// current.
func (h *Harness) AdvanceTo(tb testing.TB, id steps.StepID) {
	tb.Helper()
	if err := AdvanceTo(context.Background(), WithPasskeys(h.W, h.Keys.RegisterPasskey), h.W.GoTo, id, HarnessEveryday, HarnessBackup); err != nil {
		tb.Fatal(err)
	}
}
