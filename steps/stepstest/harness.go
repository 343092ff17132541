package stepstest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
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
	W         *steps.Wizard
	Options   steps.Options
	Keys      *FakeKeys
	Browser   *Browser
	Prompter  *Prompter
	Reporter  *Reporter
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
		Browser: &Browser{}, Prompter: FlowPrompter(), Reporter: &Reporter{}, SmartCard: &SmartCard{},
		Clock: &Clock{T: FlowNow},
		Store: &steps.FileStore{Path: filepath.Join(tb.TempDir(), "keywizard", "progress.json")},
	}
	h.Options = steps.Options{Keys: insertingKeys{h.Keys, h.SmartCard}, Browser: h.Browser, Prompter: h.Prompter, Reporter: h.Reporter,
		Store: h.Store, Clock: h.Clock, SmartCard: h.SmartCard, GOOS: goos, OSUser: "alice", AppVersion: "test"}
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
// would, with the best evidence available) and makes id current.
func (h *Harness) AdvanceTo(tb testing.TB, id steps.StepID) {
	tb.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("advancing to %s: %s: %v", id, what, err)
		}
	}
	serials := []uint32{HarnessEveryday, HarnessBackup}
	for _, st := range h.W.Snapshot().Steps {
		if st.ID == id {
			break
		}
		switch {
		case st.Status == steps.StatusNotApplicable:
		case st.ID == steps.StepWelcome:
			must("Start", h.W.Start(ctx, FlowPerson()))
		case st.ID == steps.StepKeys:
			must("DetectKeys", h.W.DetectKeys(ctx))
			must("AssignRoles", h.W.AssignRoles(ctx, HarnessEveryday, HarnessBackup))
		case st.ID == steps.StepFIDOPIN:
			for _, s := range serials {
				must("SetPIN", h.W.SetPIN(ctx, s))
			}
		case st.ID == steps.StepOTP:
			for _, s := range serials {
				must("DisableOTP", h.W.DisableOTP(ctx, s))
			}
		case st.ID == steps.StepReport:
			must("Report", h.W.Report(ctx))
		case st.Service != nil:
			svc := *st.Service
			for _, s := range serials {
				switch svc.Verification.Kind {
				case catalogue.KindFIDOCredential:
					user := FlowPerson().Email
					if svc.Verification.User == catalogue.UserAccount {
						user = FlowPerson().Accounts[svc.ID]
					}
					must("RegisterPasskey", h.Keys.RegisterPasskey(s, svc.Verification.RPID, user))
					must("Verify "+svc.ID, h.W.Verify(ctx, svc.ID, s))
				case catalogue.KindSelfAttest:
					must("Attest "+svc.ID, h.W.Attest(ctx, svc.ID, s))
				case catalogue.KindSCAuth:
					must("ProvisionMac", h.W.ProvisionMac(ctx, svc.ID, s))
				}
			}
		}
	}
	must("GoTo", h.W.GoTo(ctx, id))
}
