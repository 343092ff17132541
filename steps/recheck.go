package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps/catalogue"
)

// Recheck reads again what key serial and this computer can show about the
// results recorded for it: the FIDO2 PIN is set, each passkey is still on
// the key (asking for the PIN once), OTP is still off, the key is still
// paired for macOS login. A result that no longer holds is taken back and
// says why (StepKey.Lost, the summary, the report's what-is-left); one that
// holds gets a new CheckedAt. A key that is not plugged in is left as it
// is: nothing could be read.
func (w *Wizard) Recheck(ctx context.Context, serial uint32) error {
	return w.recheckAction(ctx, serial, true)
}

// RecheckAll is Recheck on each of the person's keys that is plugged in:
// what a frontend runs when keywizard starts on saved progress.
func (w *Wizard) RecheckAll(ctx context.Context) error {
	w.mu.Lock()
	var serials []uint32
	for _, k := range w.p.Keys {
		serials = append(serials, k.Serial)
	}
	w.mu.Unlock()
	var errs []error
	for _, s := range serials {
		errs = append(errs, w.recheckAction(ctx, s, true))
	}
	return errors.Join(errs...)
}

func (w *Wizard) recheckAction(ctx context.Context, serial uint32, passkeys bool) error {
	w.mu.Lock()
	ref, _, err := w.keyRefLocked(serial)
	w.mu.Unlock()
	if err != nil {
		return err
	}
	defer w.begin("Checking " + ref.Label + " again")()
	if err := ctx.Err(); err != nil {
		return err // the watch that asked has ended
	}
	return w.recheck(ctx, ref, passkeys)
}

// recheck is Recheck inside a running action. With passkeys false it
// reads only what needs no PIN (a passkey result is still taken back when
// the key has no PIN any more: a reset key has no passkeys).
func (w *Wizard) recheck(ctx context.Context, ref KeyRef, passkeys bool) error {
	keys, err := w.o.Keys.List(ctx)
	if err != nil {
		return nil // nothing read, nothing changed
	}
	w.setConnected(keys)
	var key device.Key
	if i := slices.IndexFunc(keys, func(k device.Key) bool { return k.Serial == ref.Serial }); i >= 0 {
		key = keys[i]
	} else {
		return nil
	}
	now := w.o.Clock.Now()
	at := now.Format("15:04")
	lost := map[StepID]string{}
	var held []StepID
	has := func(id StepID) *Evidence {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.p.evidence(id, ref.Serial)
	}
	onKey := fmt.Sprintf("key %d", ref.Serial)

	st, fidoErr := w.fidoState(ctx, ref.Serial)
	if fidoErr == nil && has(StepFIDOPIN) != nil {
		if st.PINSet {
			held = append(held, StepFIDOPIN)
		} else {
			lost[StepFIDOPIN] = fmt.Sprintf("No FIDO2 PIN on %s at %s (was the key reset?): set it again", onKey, at)
		}
	}
	if has(StepOTP) != nil {
		if key.Info.USBEnabled&device.CapOTP != 0 {
			lost[StepOTP] = fmt.Sprintf("OTP is on again on %s at %s: turn it off again", onKey, at)
		} else {
			held = append(held, StepOTP)
		}
	}
	var toRead []catalogue.Service
	for _, e := range w.steps() {
		if e.svc == nil || w.notApplicable(*e.svc) != "" {
			continue
		}
		s, id := *e.svc, e.id
		ev := has(id)
		if ev == nil || ev.Level == SelfAttested {
			continue
		}
		switch s.Verification.Kind {
		case catalogue.KindSCAuth:
			w.mu.Lock()
			rec := w.p.PIV[ref.Serial]
			w.mu.Unlock()
			paired, err := w.o.SmartCard.Paired(ctx, w.o.OSUser)
			switch {
			case err != nil:
				// Not read: the result stands as last checked.
			case rec != nil && slices.ContainsFunc(paired, func(h string) bool { return slices.Contains(rec.Identities, h) }):
				held = append(held, id)
			default:
				lost[id] = fmt.Sprintf("macOS no longer lists %s as paired for login at %s: set it up again", onKey, at)
			}
		case catalogue.KindFIDOCredential:
			switch {
			case fidoErr != nil:
			case !st.PINSet:
				lost[id] = fmt.Sprintf("%s passkey not found on %s at %s (the key has no FIDO2 PIN now; was it reset?): set it up again", s.Name, onKey, at)
			default:
				toRead = append(toRead, s)
			}
		}
	}
	var readErr error
	if len(toRead) > 0 && passkeys && st.PINRetries != 0 && w.checkReplug(ref) == nil {
		var names []string
		for _, s := range toRead {
			names = append(names, s.Name)
		}
		pin, err := w.o.Prompter.PIN(ctx, PINRequest{Key: ref, Which: device.FIDO2PIN, Purpose: PurposeUnlockFIDO, RetriesLeft: st.PINRetries,
			Text: "Enter the FIDO2 PIN of " + ref.Label + " so keywizard can check your passkeys are still on it (" + strings.Join(names, ", ") + ")."})
		if err == nil {
			for _, s := range toRead {
				found, err := w.o.Keys.HasCredential(ctx, ref.Serial, pin, s.Verification.RPID, w.accountFor(s))
				if err != nil {
					// A wrong PIN, a key pulled out: the results stand as
					// last checked, and the person sees why.
					readErr = w.fail(ctx, StepID(s.ID), ref, pinErr(ref, fmt.Errorf("reading passkeys from %s: %w", ref.Label, err)))
					break
				}
				if found {
					held = append(held, StepID(s.ID))
				} else {
					lost[StepID(s.ID)] = fmt.Sprintf("%s passkey not found on %s at %s: set it up again", s.Name, onKey, at)
				}
			}
			if readErr == nil {
				w.mu.Lock()
				w.passkeysRead[ref.Serial] = true
				w.mu.Unlock()
			}
		}
	}
	if len(lost) == 0 && len(held) == 0 {
		return readErr
	}
	// The new check times are saved with the next save when nothing was
	// taken back by a background check (a key arriving): it writes the
	// progress file only for what matters.
	save := passkeys || len(lost) > 0
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, why := range lost {
		it := w.p.item(id, ref.Serial)
		it.Evidence, it.Lost = nil, why
	}
	for _, id := range held {
		if e := w.p.evidence(id, ref.Serial); e != nil {
			e.CheckedAt = now
		}
	}
	if !save {
		return readErr
	}
	return errors.Join(readErr, w.saveLocked(ctx))
}

// accountFor is the user name a service's passkey is matched by.
func (w *Wizard) accountFor(s catalogue.Service) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.p.Person == nil {
		return ""
	}
	switch s.Verification.User {
	case catalogue.UserEmail:
		return w.p.Person.Email
	case catalogue.UserAccount:
		return w.p.Person.Accounts[s.ID]
	}
	return ""
}
