package stepstest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// FlowEnv is what RunFullFlow needs from the keys under test.
type FlowEnv struct {
	// Keys is the implementation under test, with two factory-fresh keys
	// plugged in: Everyday (a Nano) and Backup (an NFC or 5Ci key).
	Keys             steps.Keys
	Everyday, Backup uint32
	// RegisterPasskey puts a discoverable credential on a key, as the
	// person's browser does when they create a passkey on the service's
	// page.
	RegisterPasskey func(serial uint32, rpID, userName string) error
	// Catalogue is the service catalogue to run through; nil means the
	// frozen test catalogue (Catalogue). Services matching passkeys by account name get FlowPerson's
	// account, or "alice-<service>" when it has none.
	Catalogue *catalogue.Catalogue
}

// Secrets the flow types; the test checks none of them reaches the
// progress file, the report or the summary.
const (
	FlowFIDOPIN = "4821-fido"
	FlowPIVPIN  = "483920"
	FlowPIVPUK  = "73920184"
)

// Fixed dates of the flow: start on a Monday, work three days later.
var (
	FlowStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	FlowNow   = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
)

// FlowPrompter answers every prompt of the full flow by purpose.
func FlowPrompter() *Prompter {
	return &Prompter{PINFunc: func(r steps.PINRequest) (string, error) {
		switch r.Purpose {
		case steps.PurposeNewFIDOPIN, steps.PurposeUnlockFIDO, steps.PurposeCurrentFIDOPIN:
			return FlowFIDOPIN, nil
		case steps.PurposeNewPIVPIN, steps.PurposeCurrentPIVPIN:
			return FlowPIVPIN, nil
		case steps.PurposeNewPIVPUK:
			return FlowPIVPUK, nil
		}
		return "", steps.ErrCancelled
	}}
}

// insertingKeys makes provisioned identities visible to the fake sc_auth,
// as inserting the key makes them visible to macOS.
type insertingKeys struct {
	steps.Keys
	sc *SmartCard
}

func (k insertingKeys) ProvisionPIV(ctx context.Context, serial uint32, p steps.PIVParams) (steps.PIVResult, error) {
	res, err := k.Keys.ProvisionPIV(ctx, serial, p)
	if err == nil {
		k.sc.Insert(res.Identities...)
	}
	return res, err
}

// RunFullFlow drives the whole wizard from welcome to summary with two keys
// on a Mac (so every kind of step runs) and checks each step's evidence
// level on each key, the report, the summary, and that no secret reached
// the progress file.
func RunFullFlow(t *testing.T, env FlowEnv) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store := &steps.FileStore{Path: filepath.Join(dir, "keywizard", "progress.json")}
	sc := &SmartCard{}
	browser := &Browser{}
	reporter := &Reporter{}
	prompter := FlowPrompter()
	clock := &Clock{T: FlowNow}
	cat := env.Catalogue
	if cat == nil {
		cat = Catalogue()
	}
	person := FlowPerson()
	for _, svc := range cat.Services {
		if svc.Verification.User == catalogue.UserAccount {
			person.Accounts[svc.ID] = FlowAccount(svc.ID)
		}
	}
	w, err := steps.New(ctx, steps.Options{
		Keys: insertingKeys{env.Keys, sc}, Browser: browser, Prompter: prompter, Reporter: reporter, Store: store,
		Clock: clock, SmartCard: sc, GOOS: "darwin", OSUser: "alice", AppVersion: "test", Catalogue: cat,
	})
	if err != nil {
		t.Fatal(err)
	}
	var last steps.Snapshot
	unsub := w.OnChange(func(s steps.Snapshot) { last = s })
	defer unsub()
	if last.Started || last.Current != steps.StepWelcome {
		t.Fatalf("fresh wizard: started %v current %q", last.Started, last.Current)
	}

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("Start", w.Start(ctx, person))
	if last.Current != steps.StepKeys {
		t.Fatalf("after Start current = %q", last.Current)
	}
	if want := FlowStart.Add(30 * 24 * time.Hour); !last.Deadline.Equal(want) || last.DaysLeft != 27 || last.Overdue {
		t.Fatalf("deadline %v days left %d overdue %v; want %v, 27, false", last.Deadline, last.DaysLeft, last.Overdue, want)
	}

	must("DetectKeys", w.DetectKeys(ctx))
	sugg := map[steps.Role]uint32{}
	for _, d := range last.Detected {
		sugg[d.SuggestedRole] = d.Serial
	}
	if sugg[steps.RoleEveryday] != env.Everyday || sugg[steps.RoleBackup] != env.Backup {
		t.Fatalf("suggested roles %v, want everyday %d backup %d", sugg, env.Everyday, env.Backup)
	}
	must("AssignRoles", w.AssignRoles(ctx, env.Everyday, env.Backup))
	if len(last.Keys) != 2 || !strings.Contains(last.Keys[0].Label, "in your laptop") || !strings.Contains(last.Keys[1].Label, "backup") {
		t.Fatalf("keys = %+v", last.Keys)
	}
	if last.Current != steps.StepFIDOPIN {
		t.Fatalf("after AssignRoles current = %q", last.Current)
	}
	serials := []uint32{env.Everyday, env.Backup}
	a := WithPasskeys(w, env.RegisterPasskey)
	must("SetPIN", CompleteOnKeys(ctx, a, steps.StepFIDOPIN, serials...))

	for _, svc := range cat.Services {
		must(svc.ID, CompleteOnKeys(ctx, a, steps.StepID(svc.ID), serials...))
		if svc.URL != "" {
			if got := browser.Opened(); got[len(got)-1] != svc.URL {
				t.Fatalf("opened %q, want %q", got[len(got)-1], svc.URL)
			}
		}
	}
	must("DisableOTP", CompleteOnKeys(ctx, a, steps.StepOTP, serials...))
	if last.Current != steps.StepReport {
		t.Fatalf("before report current = %q", last.Current)
	}
	must("Report", CompleteOnKeys(ctx, a, steps.StepReport))

	// The strongest evidence each kind of step can have, and what the flow
	// must therefore have reached on every key.
	want := map[steps.StepID]steps.Level{steps.StepFIDOPIN: steps.VerifiedOnKey, steps.StepOTP: steps.VerifiedBySystem}
	for _, svc := range cat.Services {
		want[steps.StepID(svc.ID)] = map[catalogue.Kind]steps.Level{
			catalogue.KindFIDOCredential: steps.VerifiedOnKey,
			catalogue.KindSelfAttest:     steps.SelfAttested,
			catalogue.KindSCAuth:         steps.VerifiedBySystem,
		}[svc.Verification.Kind]
	}
	if !last.Complete || last.Current != steps.StepSummary || len(last.Remaining) != 0 {
		t.Fatalf("complete %v current %q remaining %v", last.Complete, last.Current, last.Remaining)
	}
	for _, st := range last.Steps {
		if st.ID == steps.StepSummary {
			continue
		}
		if st.Status != steps.StatusDone {
			t.Errorf("step %s status %s (%s)", st.ID, st.Status, st.Reason)
		}
		lvl, perKey := want[st.ID]
		if !perKey {
			continue
		}
		if len(st.Keys) != 2 {
			t.Errorf("step %s has %d keys", st.ID, len(st.Keys))
		}
		for _, k := range st.Keys {
			if k.Evidence == nil || k.Evidence.Level != lvl || !k.Evidence.At.Equal(FlowNow) {
				t.Errorf("step %s key %d evidence %+v, want %s", st.ID, k.Serial, k.Evidence, lvl)
			}
		}
	}

	sent := reporter.Sent()
	if len(sent) != 1 || !sent[0].Complete || len(sent[0].Keys) != 2 {
		t.Fatalf("reports = %+v", sent)
	}
	for _, k := range sent[0].Keys {
		if !k.OTPDisabled || k.Attestation == nil || len(k.Items) != len(cat.Services)+1 {
			t.Errorf("report key %d: otp %v attestation %v items %d", k.Serial, k.OTPDisabled, k.Attestation != nil, len(k.Items))
		}
		for _, it := range k.Items {
			if want[steps.StepID(it.Service)] != it.Level {
				t.Errorf("report key %d %s level %s", k.Serial, it.Service, it.Level)
			}
		}
	}

	sum := w.Summary()
	for _, s := range []string{"Alice Example", "verified on the key", "verified by the system", "Nothing: you are done"} {
		if !strings.Contains(sum, s) {
			t.Errorf("summary lacks %q:\n%s", s, sum)
		}
	}
	data, err := os.ReadFile(store.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{FlowFIDOPIN, FlowPIVPIN, FlowPIVPUK} {
		if strings.Contains(string(data), secret) || strings.Contains(sum, secret) {
			t.Errorf("secret %q leaked into the progress file or summary", secret)
		}
	}

	// A new wizard on the same store resumes exactly where this one is.
	w2, err := steps.New(ctx, steps.Options{Keys: env.Keys, Browser: browser, Prompter: prompter, Reporter: reporter, Store: store,
		Clock: clock, SmartCard: sc, GOOS: "darwin", OSUser: "alice", Catalogue: cat})
	if err != nil {
		t.Fatal(err)
	}
	if s := w2.Snapshot(); !s.Complete || s.Current != steps.StepSummary {
		t.Fatalf("resumed: complete %v current %q remaining %v", s.Complete, s.Current, s.Remaining)
	}
}
