package simulation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/sim"
)

// Replace pulls the key in vpcd slot out and plugs a new simulated key,
// made from spec, into the same slot: a person who lost a key and was
// handed another. The new key's FIDO2 side is reachable as the keys of
// Start are (a FIDO HID node at the slot's path, or the simulator's
// registry), and Replace returns once pcscd shows the new card. The old
// key is unplugged for good and forgotten (Keys, FIDO, Provider). Only
// for keys plugged in by Start: StartProcesses' keys are processes of
// their own (device.ErrUnsupported).
func (s *Simulation) Replace(ctx context.Context, slot int, spec KeySpec) (*sim.Key, error) {
	if len(s.procs) > 0 {
		return nil, fmt.Errorf("replacing simulated key in slot %d: keys run as processes cannot be swapped: %w", slot, device.ErrUnsupported)
	}
	if slot < 0 || slot >= len(s.attachments) {
		return nil, fmt.Errorf("replacing simulated key: slot %d has no key (%d plugged in): %w", slot, len(s.attachments), device.ErrInvalidArgument)
	}
	for i, k := range s.Keys {
		if i != slot && k.Serial() == spec.Serial {
			return nil, fmt.Errorf("replacing simulated key in slot %d: serial %d is already in slot %d: %w", slot, spec.Serial, i, device.ErrInvalidArgument)
		}
	}
	nk, err := sim.New(sim.Config{Serial: spec.Serial, Model: spec.Model, Firmware: spec.Firmware})
	if err != nil {
		return nil, fmt.Errorf("simulated key %d: %w", spec.Serial, err)
	}

	old := s.attachments[slot]
	ok := old.Key()
	old.Detach()
	if h := s.hid[slot]; h != nil {
		h.Close()
		s.hid[slot] = nil
	}
	s.Provider.Remove(ok.Serial())
	delete(s.FIDO, ok.Serial())
	// pcscd learns of a removal only from its own presence poll; a card
	// that connects before pcscd has seen the slot empty is taken for the
	// old one and never powered up (device/sim/vpcd.go minAbsence). So the
	// new card goes in once pcscd says the reader is empty.
	if err := waitEmpty(ctx, sim.ReaderName(slot)); err != nil {
		return nil, fmt.Errorf("unplugging simulated key %d from slot %d: %w", ok.Serial(), slot, err)
	}

	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a, err := sim.Attach(actx, nk, slot)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("attaching simulated key %d to vpcd slot %d (is pcscd with vsmartcard-vpcd running? scripts/pcscd.sh): %w", spec.Serial, slot, err)
	}
	s.replaced = append(s.replaced, cancel)
	s.attachments[slot] = a
	s.Keys[slot] = nk
	if f := nk.FIDO(); f != nil {
		s.FIDO[spec.Serial] = f
	}
	s.Provider.Add(nk)
	if s.hidDir != "" && nk.FIDO() != nil {
		h, err := nk.ServeHID(s.hidPath(slot))
		if err != nil {
			return nil, fmt.Errorf("simulated key %d: %w", spec.Serial, err)
		}
		s.hid[slot] = h
	}
	if err := a.Ready(ctx); err != nil {
		return nil, fmt.Errorf("waiting for pcscd to see simulated key %d: %w", spec.Serial, err)
	}
	return nk, nil
}

// waitEmpty waits until pcscd reports reader without a card.
func waitEmpty(ctx context.Context, reader string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pc, err := pcsc.Establish()
	if err != nil {
		return fmt.Errorf("asking pcscd about %s: %w", reader, err)
	}
	defer pc.Release()
	st := []pcsc.ReaderState{{Reader: reader, CurrentState: pcsc.StateUnaware}}
	for {
		if err := pc.GetStatusChange(ctx, st); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for pcscd to see %s empty: %w", reader, errors.Join(err, ctx.Err()))
			}
			return fmt.Errorf("waiting for pcscd to see %s empty: %w", reader, err)
		}
		if !st[0].EventState.Present() {
			return nil
		}
		st[0].CurrentState = st[0].EventState
	}
}
