package stepstest

import (
	"context"
	"fmt"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// Actor is who finishes steps: a *steps.Wizard itself (wrapped by
// WithPasskeys when passkeys have to be made on fake keys), or a frontend
// test's driver whose methods press the buttons that call the same
// Wizard methods. Complete knows which to call for each step; the actor
// knows how.
type Actor interface {
	Snapshot() steps.Snapshot
	Start(ctx context.Context, p steps.Person) error
	DetectKeys(ctx context.Context) error
	AssignRoles(ctx context.Context, everyday, backup uint32) error
	SetAccount(ctx context.Context, serviceID, account string) error
	SetPIN(ctx context.Context, serial uint32) error
	OpenService(ctx context.Context, serviceID string, serial uint32) error
	Verify(ctx context.Context, serviceID string, serial uint32) error
	Attest(ctx context.Context, serviceID string, serial uint32) error
	ProvisionMac(ctx context.Context, serviceID string, serial uint32) error
	DisableOTP(ctx context.Context, serial uint32) error
	Report(ctx context.Context) error
	OpenRemoval(ctx context.Context, serviceID string) error
	ConfirmRemoved(ctx context.Context, serviceID string) error
	UnpairLost(ctx context.Context, serviceID string) error
}

// PasskeyMaker is the browser's part of a passkey service: after the page
// is opened, the person makes a passkey on the key. An Actor that also
// implements it is asked to; one that does not relies on its browser to do
// it (internal/wire's simulated browser).
type PasskeyMaker interface {
	RegisterPasskey(serial uint32, rpID, userName string) error
}

// WithPasskeys is w as an Actor whose passkeys are made by register (a
// FakeKeys' RegisterPasskey, or a simulator's).
func WithPasskeys(w *steps.Wizard, register func(serial uint32, rpID, userName string) error) Actor {
	return wizardActor{w, register}
}

type wizardActor struct {
	*steps.Wizard
	register func(serial uint32, rpID, userName string) error
}

func (a wizardActor) RegisterPasskey(serial uint32, rpID, userName string) error {
	return a.register(serial, rpID, userName)
}

// FlowAccount is the account name the flow gives a service that matches
// passkeys by account: FlowPerson's, else "alice-<service>".
func FlowAccount(serviceID string) string {
	if a := FlowPerson().Accounts[serviceID]; a != "" {
		return a
	}
	return "alice-" + serviceID
}

// Complete finishes step st as the person would, with the best evidence
// the step allows: on the key with the given serial for per-key steps (the
// serial is ignored by the others). It does what st.Action says, the
// wizard's own word for what finishes the step, so it is the one place
// tests spell out how each step is done. A step that does not apply here
// is left as it is. The welcome step starts as FlowPerson; the keys step
// accepts the suggested roles of the keys plugged in.
func Complete(ctx context.Context, w Actor, st steps.Step, serial uint32) error {
	if st.Status == steps.StatusNotApplicable {
		return nil
	}
	switch st.Action {
	case steps.ActionNone:
		return nil
	case steps.ActionStart:
		return w.Start(ctx, FlowPerson())
	case steps.ActionAssignRoles:
		if err := w.DetectKeys(ctx); err != nil {
			return err
		}
		var everyday, backup uint32
		for _, k := range w.Snapshot().Detected {
			switch k.SuggestedRole {
			case steps.RoleEveryday:
				everyday = k.Serial
			case steps.RoleBackup:
				backup = k.Serial
			}
		}
		return w.AssignRoles(ctx, everyday, backup)
	case steps.ActionSetPIN:
		return w.SetPIN(ctx, serial)
	case steps.ActionDisableOTP:
		return w.DisableOTP(ctx, serial)
	case steps.ActionReport:
		return w.Report(ctx)
	case steps.ActionRemoveLost:
		// Each item of the lost key's checklist: keywizard unpairs macOS
		// login itself; the rest the person removes on the page and
		// confirms.
		if st.Loss == nil {
			return fmt.Errorf("step %s: no lost key", st.ID)
		}
		for _, it := range st.Loss.Items {
			var err error
			switch {
			case it.Status == steps.StatusDone || it.Status == steps.StatusNotApplicable:
			case it.ByKeywizard:
				err = w.UnpairLost(ctx, it.Service)
			default:
				if err = w.OpenRemoval(ctx, it.Service); err == nil {
					err = w.ConfirmRemoved(ctx, it.Service)
				}
			}
			if err != nil {
				return fmt.Errorf("removing the lost key from %s: %w", it.Name, err)
			}
		}
		return nil
	}
	if st.Service == nil {
		return fmt.Errorf("step %s: action %q needs a service", st.ID, st.Action)
	}
	svc := *st.Service
	switch st.Action {
	case steps.ActionVerifyPasskey:
		person := w.Snapshot().Person
		user := person.Email
		if svc.Verification.User == catalogue.UserAccount {
			if user = person.Accounts[svc.ID]; user == "" {
				user = FlowAccount(svc.ID)
				if err := w.SetAccount(ctx, svc.ID, user); err != nil {
					return err
				}
			}
		}
		if err := w.OpenService(ctx, svc.ID, serial); err != nil {
			return err
		}
		if m, ok := w.(PasskeyMaker); ok {
			if err := m.RegisterPasskey(serial, svc.Verification.RPID, user); err != nil {
				return err
			}
		}
		return w.Verify(ctx, svc.ID, serial)
	case steps.ActionAttest:
		if err := w.OpenService(ctx, svc.ID, serial); err != nil {
			return err
		}
		return w.Attest(ctx, svc.ID, serial)
	case steps.ActionProvisionMac:
		return w.ProvisionMac(ctx, svc.ID, serial)
	}
	return fmt.Errorf("step %s: stepstest.Complete does not know action %q", st.ID, st.Action)
}

// CompleteOnKeys finishes the step with the given ID on each of serials
// (once, for a step that is not per key), reading the step afresh.
func CompleteOnKeys(ctx context.Context, w Actor, id steps.StepID, serials ...uint32) error {
	st, ok := w.Snapshot().Step(id)
	if !ok {
		return fmt.Errorf("no step %s", id)
	}
	if len(st.Keys) == 0 {
		// Not per key, or not applicable here.
		return Complete(ctx, w, st, 0)
	}
	for _, s := range serials {
		if err := Complete(ctx, w, st, s); err != nil {
			return fmt.Errorf("%s on key %d: %w", id, s, err)
		}
	}
	return nil
}

// AdvanceTo finishes every step before id (on each of serials) and makes
// id current.
func AdvanceTo(ctx context.Context, w Actor, goTo func(context.Context, steps.StepID) error, id steps.StepID, serials ...uint32) error {
	for _, st := range w.Snapshot().Steps {
		if st.ID == id {
			break
		}
		if err := CompleteOnKeys(ctx, w, st.ID, serials...); err != nil {
			return fmt.Errorf("advancing to %s: %w", id, err)
		}
	}
	return goTo(ctx, id)
}
