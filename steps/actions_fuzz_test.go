package steps_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
	"github.com/keywizard/keywizard/steps/stepstest"
)

// memStore keeps the saved form in memory, so the action fuzzer is fast.
type memStore struct {
	mu   sync.Mutex
	data []byte
}

func (m *memStore) Load(context.Context) (*steps.Progress, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil, steps.ErrNoProgress
	}
	var p steps.Progress
	if err := json.Unmarshal(m.data, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (m *memStore) Save(_ context.Context, p *steps.Progress) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.data = data
	m.mu.Unlock()
	return nil
}

// provisioned makes identities visible to the fake sc_auth, as inserting
// the key does.
type provisioned struct {
	*stepstest.FakeKeys
	sc *stepstest.SmartCard
}

func (k provisioned) ProvisionPIV(ctx context.Context, serial uint32, p steps.PIVParams) (steps.PIVResult, error) {
	res, err := k.FakeKeys.ProvisionPIV(ctx, serial, p)
	if err == nil {
		k.sc.Insert(res.Identities...)
	}
	return res, err
}

// known is every error the wizard's contract lets a caller branch on.
var known = []error{
	device.ErrNotFound, device.ErrBlocked, device.ErrRemoved, device.ErrLocked, device.ErrAmbiguous, device.ErrPINPolicy,
	device.ErrPINNotSet, device.ErrWrongPIN, device.ErrInvalidArgument, device.ErrInvalidResponse,
	steps.ErrNotStarted, steps.ErrNoKeys, steps.ErrUnknownStep, steps.ErrNotYourKey, steps.ErrWrongKey, steps.ErrNotApplicable,
	steps.ErrNotVerified, steps.ErrCannotVerify, steps.ErrBrowser, steps.ErrCancelled, steps.ErrReportQueued, steps.ErrNeedAccount,
	steps.ErrPrerequisite, steps.ErrNotOpened, steps.ErrKeptLocally, steps.ErrReplugNeeded,
}

// FuzzWizardActions runs arbitrary sequences of the person's actions and
// of keys coming and going, and checks after each that the wizard never
// claims more than is true of the (fake) keys, that every error is one a
// caller can branch on, and that the saved progress reloads to the same
// evidence.
func FuzzWizardActions(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 0, 4, 0, 4, 1, 15, 0, 6, 0, 7, 1, 8, 0, 9, 0, 10, 0})
	f.Add([]byte{0, 0, 1, 0, 3, 0, 16, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0, 6, 0})
	f.Add([]byte{0, 0, 1, 0, 2, 0, 13, 1, 5, 1, 6, 1, 14, 1, 17, 0, 5, 0, 18, 0, 10, 0, 11, 3, 12, 4, 19, 0})
	f.Add([]byte{0, 0, 14, 2, 1, 0, 2, 0, 22, 2, 20, 0, 21, 0, 4, 2, 9, 2, 8, 1})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 200 {
			prog = prog[:200]
		}
		ctx := context.Background()
		const stranger = uint32(99999999)
		keys := stepstest.NewFakeKeys(stepstest.NewKey(nano, true), stepstest.NewKey(nfc, false))
		keys.Add(stepstest.NewKey(stranger, false))
		keys.Unplug(stranger)
		sc := &stepstest.SmartCard{}
		browser := &stepstest.Browser{}
		reporter := &stepstest.Reporter{}
		prompter := stepstest.FlowPrompter()
		right := prompter.PINFunc
		wrong := func(steps.PINRequest) (string, error) { return "999999", nil }
		store := &memStore{}
		opts := steps.Options{Keys: provisioned{keys, sc}, Browser: browser, Prompter: prompter, Reporter: reporter, Store: store,
			Clock: &stepstest.Clock{T: stepstest.FlowNow}, SmartCard: sc, GOOS: "darwin", OSUser: "alice", Catalogue: stepstest.Catalogue()}
		w, err := steps.New(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		cat := opts.Catalogue
		serials := []uint32{nano, nfc, stranger}
		stepIDs := []steps.StepID{}
		for _, st := range w.Snapshot().Steps {
			stepIDs = append(stepIDs, st.ID)
		}
		for i := 0; i+1 < len(prog); i += 2 {
			op, arg := prog[i]%23, int(prog[i+1])
			serial := serials[arg%len(serials)]
			svc := cat.Services[arg%len(cat.Services)]
			var err error
			switch op {
			case 0:
				err = w.Start(ctx, stepstest.FlowPerson())
			case 1:
				err = w.DetectKeys(ctx)
			case 2:
				err = w.AssignRoles(ctx, nano, nfc)
			case 3:
				err = w.AssignRoles(ctx, serial, 0)
			case 4:
				err = w.SetPIN(ctx, serial)
			case 5:
				err = w.OpenService(ctx, svc.ID, serial)
			case 6:
				err = w.Verify(ctx, svc.ID, serial)
			case 7:
				err = w.Attest(ctx, svc.ID, serial)
			case 8:
				err = w.ProvisionMac(ctx, "macos", serial)
			case 9:
				err = w.DisableOTP(ctx, serial)
			case 10:
				err = w.Report(ctx)
			case 11:
				err = w.Redo(ctx, stepIDs[arg%len(stepIDs)])
			case 12:
				err = w.GoTo(ctx, stepIDs[arg%len(stepIDs)])
			case 13:
				keys.Unplug(serial)
			case 14:
				keys.Plug(serial)
			case 15:
				if svc.Verification.Kind == catalogue.KindFIDOCredential {
					user := stepstest.FlowPerson().Email
					if svc.Verification.User == catalogue.UserAccount {
						user = stepstest.FlowPerson().Accounts[svc.ID]
					}
					_ = keys.RegisterPasskey(serial, svc.Verification.RPID, user)
				}
			case 16:
				if arg%2 == 0 {
					prompter.PINFunc = wrong
				} else {
					prompter.PINFunc = right
				}
			case 17:
				if arg%2 == 0 {
					browser.Err = errors.New("no browser")
				} else {
					browser.Err = nil
				}
			case 18:
				if arg%2 == 0 {
					reporter.Err = errors.New("offline")
				} else {
					reporter.Err = nil
				}
			case 19:
				err = w.Next(ctx)
			case 20:
				err = w.ChangePIN(ctx, serial)
			case 21:
				err = w.SetAccount(ctx, "github", "alice-gh")
			case 22:
				err = w.IgnoreKey(ctx, serial)
			}
			if err != nil && !anyMatch(known, func(k error) bool { return errors.Is(err, k) }) {
				t.Fatalf("op %d: error no caller can branch on: %v", op, err)
			}
			if err != nil && (strings.Contains(err.Error(), stepstest.FlowFIDOPIN) || strings.Contains(err.Error(), stepstest.FlowPIVPIN)) {
				t.Fatalf("op %d: secret in error: %v", op, err)
			}
			checkInvariants(t, w, keys, sc, cat, stepIDs)
		}
		// What was saved reloads to the same evidence.
		if store.data != nil {
			for _, secret := range []string{stepstest.FlowFIDOPIN, stepstest.FlowPIVPIN, stepstest.FlowPIVPUK} {
				if strings.Contains(string(store.data), secret) {
					t.Fatalf("secret %q saved", secret)
				}
			}
			w2, err := steps.New(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			a, b := evidence(w.Snapshot()), evidence(w2.Snapshot())
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("reloaded evidence differs:\n%v\n%v", a, b)
			}
		}
	})
}

func anyMatch(errs []error, f func(error) bool) bool {
	for _, e := range errs {
		if f(e) {
			return true
		}
	}
	return false
}

// checkInvariants: no evidence claims more than the keys and system show.
func checkInvariants(t *testing.T, w *steps.Wizard, keys *stepstest.FakeKeys, sc *stepstest.SmartCard, cat *catalogue.Catalogue, ids []steps.StepID) {
	t.Helper()
	s := w.Snapshot()
	valid := false
	for _, id := range ids {
		valid = valid || id == s.Current
	}
	if !valid {
		t.Fatalf("current step %q is not a step", s.Current)
	}
	paired, _ := sc.Paired(context.Background(), "alice")
	for _, st := range s.Steps {
		for _, k := range st.Keys {
			ev := k.Evidence
			if ev == nil {
				continue
			}
			fk := keys.Key(k.Serial)
			switch {
			case st.ID == steps.StepFIDOPIN:
				if ev.Level != steps.VerifiedOnKey || fk.FIDOPIN == "" {
					t.Fatalf("PIN evidence %+v but key PIN set %v", ev, fk.FIDOPIN != "")
				}
			case st.ID == steps.StepOTP:
				if ev.Level != steps.VerifiedBySystem || fk.Key.Info.USBEnabled&device.CapOTP != 0 {
					t.Fatalf("OTP evidence %+v but USB %v", ev, fk.Key.Info.USBEnabled)
				}
			case st.Service != nil:
				svc, _ := cat.Service(string(st.ID))
				switch ev.Level {
				case steps.VerifiedOnKey:
					found := false
					for _, c := range fk.Passkeys {
						found = found || c.RPID == svc.Verification.RPID
					}
					if svc.Verification.Kind != catalogue.KindFIDOCredential || !found {
						t.Fatalf("%s on %d verified-on-key without a passkey", st.ID, k.Serial)
					}
				case steps.VerifiedBySystem:
					ok := false
					for _, h := range fk.Identities {
						for _, p := range paired {
							ok = ok || h == p
						}
					}
					if svc.Verification.Kind != catalogue.KindSCAuth || !ok {
						t.Fatalf("%s on %d verified-by-system without a pairing", st.ID, k.Serial)
					}
				case steps.SelfAttested:
					if svc.Verification.Kind == catalogue.KindSCAuth {
						t.Fatalf("%s self-attested", st.ID)
					}
				default:
					t.Fatalf("unknown level %q", ev.Level)
				}
			}
		}
	}
	if s.Complete {
		for _, st := range s.Steps {
			if st.ID != steps.StepSummary && st.Status != steps.StatusDone && st.Status != steps.StatusNotApplicable {
				t.Fatalf("complete with step %s %s", st.ID, st.Status)
			}
		}
	}
}
