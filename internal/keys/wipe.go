package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/piv"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/internal/cli"
)

// WipeTarget reads the key with serial and what a wipe would erase on it.
func (d *Devices) WipeTarget(ctx context.Context, serial uint32) (cli.WipeTarget, error) {
	if serial == 0 {
		return cli.WipeTarget{}, fmt.Errorf("a wipe names its key by serial number: %w", device.ErrInvalidArgument)
	}
	k, err := d.Hub.Find(ctx, serial)
	if err != nil {
		return cli.WipeTarget{}, err
	}
	t := cli.WipeTarget{Key: k}
	if k.Info.USBEnabled&device.CapPIV == 0 {
		return t, nil // nothing to read; the command decides what that means
	}
	if t.Key.PIV, err = d.Hub.PIVState(ctx, serial); err != nil {
		return cli.WipeTarget{}, fmt.Errorf("reading the PIV state: %w", err)
	}
	if t.PIVCertificates, err = d.Hub.PIVCertificateSlots(ctx, serial); err != nil {
		return cli.WipeTarget{}, fmt.Errorf("reading the PIV certificates: %w", err)
	}
	return t, nil
}

// ResetPIV resets PIV on the key c names; piv.Provisioner.Reset checks the
// key in the reader against c before erasing.
func (d *Devices) ResetPIV(ctx context.Context, c cli.WipeConfirmation) error {
	p, _, err := d.Hub.Provisioner(ctx, c.Serial)
	if err != nil {
		return err
	}
	return p.Reset(ctx, piv.ResetConfirmation{Serial: c.Serial, Model: c.Model})
}

// WaitReplug waits, through the hub's event-driven watcher, until the key
// with serial has been plugged in after being seen absent.
//
// The watcher first reports the keys already plugged in as arrivals, and
// cannot tell such a report from a real insertion. So the person is told
// (ready) only once the watcher has seen the key in place; from then on its
// leaving and arriving again is the replug. A key that is not seen within
// replugSighting was pulled out already: it is taken as absent, the person
// is told, and its next arrival counts.
func (d *Devices) WaitReplug(ctx context.Context, serial uint32, ready func()) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := d.Hub.Watch(wctx)
	if err != nil {
		return err
	}
	told := false
	tell := func() {
		if !told {
			told = true
			ready()
		}
	}
	absent := false
	unseen := time.NewTimer(replugSighting)
	defer unseen.Stop()
	for {
		select {
		case ev, ok := <-events:
			switch {
			case !ok:
				return ctx.Err()
			case ev.Kind == scan.Stopped:
				return ev.Err
			case ev.Key.Serial != serial:
			case ev.Kind == scan.Left:
				absent = true
			case ev.Kind == scan.Arrived && absent:
				return nil
			case ev.Kind == scan.Arrived:
				unseen.Stop()
				tell()
			}
		case <-unseen.C:
			absent = true
			tell()
		}
	}
}

// replugSighting is how long WaitReplug waits for the watcher to report the
// key in place before taking it as already pulled out. The watcher's first
// report comes as soon as it has read the keys, well inside this.
const replugSighting = 2 * time.Second

// fidoAppearTries and fidoAppearDelay bound how long ResetFIDO looks for the
// FIDO interface of a key that has just arrived on PC/SC: a USB key's HID
// and CCID interfaces enumerate separately, so the FIDO one can trail the
// smart-card reader by a moment, and all of it must fit in the key's reset
// window (fido.ResetWindow, 5 s).
const (
	fidoAppearTries = 4
	fidoAppearDelay = 250 * time.Millisecond
)

// ResetFIDO resets FIDO2 on the key c names. fido.Client.Reset checks that
// the FIDO device belongs to that key (serial, model, unambiguous match,
// AAGUID and firmware) before erasing. A refusal because the key was not
// just plugged in also matches cli.ErrResetNotAllowed.
func (d *Devices) ResetFIDO(ctx context.Context, c cli.WipeConfirmation, onTouch func(waiting bool)) error {
	var client *fido.Client
	var err error
	for try := 0; ; try++ {
		client, _, err = d.Hub.FIDO(ctx, c.Serial, onTouch)
		if err == nil || !errors.Is(err, device.ErrNotFound) || try == fidoAppearTries-1 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(fidoAppearDelay):
		}
	}
	if err != nil {
		return err
	}
	defer client.Close()
	err = client.Reset(ctx, fido.Confirmation{Serial: c.Serial, Model: c.Model})
	if errors.Is(err, fido.ErrResetNotAllowed) {
		return &resetNotAllowed{err}
	}
	return err
}

// resetNotAllowed is fido.ErrResetNotAllowed as internal/cli knows it
// (cli.ErrResetNotAllowed), with the message and chain of the original.
type resetNotAllowed struct{ err error }

func (e *resetNotAllowed) Error() string        { return e.err.Error() }
func (e *resetNotAllowed) Unwrap() error        { return e.err }
func (e *resetNotAllowed) Is(target error) bool { return target == cli.ErrResetNotAllowed }
