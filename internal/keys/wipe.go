package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apps"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/mgmt"
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
	t.Apps = d.readApps(ctx, k)
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

// readApps reads OATH, OpenPGP, YubiHSM Auth and OTP where the key has
// them enabled over USB. One that cannot be read says so; the wipe erases
// it all the same.
func (d *Devices) readApps(ctx context.Context, k device.Key) []cli.AppContents {
	var out []cli.AppContents
	for _, app := range apps.All {
		if k.Info.USBEnabled&app.Capability() == 0 {
			continue
		}
		c, err := d.Hub.AppContents(ctx, k.Serial, app)
		if err != nil {
			out = append(out, cli.AppContents{App: string(app), Summary: "could not be read"})
			continue
		}
		out = append(out, appContents(c))
	}
	return out
}

func appContents(c apps.Contents) cli.AppContents {
	return cli.AppContents{App: string(c.App), Factory: c.Factory, Summary: c.Summary}
}

// EnableForWipe enables caps over USB on the key c names, after checking
// it is that key, and checks the result read back after its restart.
func (d *Devices) EnableForWipe(ctx context.Context, c cli.WipeConfirmation, caps device.Capability) error {
	k, err := d.Hub.Find(ctx, c.Serial)
	if err != nil {
		return err
	}
	if k.Model != c.Model {
		return fmt.Errorf("the key with serial %d is a %s, not the %s confirmed; nothing was changed: %w", c.Serial, k.Model, c.Model, device.ErrInvalidArgument)
	}
	res, err := d.Hub.ChangeApplications(ctx, c.Serial, mgmt.Request{USBEnable: caps})
	if err != nil {
		return err
	}
	if res.ReplugRequired {
		return fmt.Errorf("the key applies the change only once it is unplugged and plugged back in; do that and run the wipe again: %w", device.ErrUnsupported)
	}
	if missing := caps &^ res.After.USBEnabled; missing != 0 {
		return fmt.Errorf("%s still disabled over USB after the change: %w", missing, device.ErrInvalidResponse)
	}
	return nil
}

// ResetApp erases one of OATH, OpenPGP, YubiHSM Auth and OTP on the key c
// names. An OTP slot with an access code fails with apps.ErrAccessCode,
// which matches device.ErrLocked.
func (d *Devices) ResetApp(ctx context.Context, c cli.WipeConfirmation, app string) (cli.AppContents, error) {
	for _, a := range apps.All {
		if string(a) == app {
			got, err := d.Hub.ResetApp(ctx, c.Serial, c.Model, a)
			return appContents(got), err
		}
	}
	return cli.AppContents{App: app}, fmt.Errorf("unknown application %q: %w", app, device.ErrInvalidArgument)
}

// ReadBack reads the key afresh after a wipe: PIV state and certificates,
// FIDO2 PIN state, and the other applications.
func (d *Devices) ReadBack(ctx context.Context, serial uint32) (cli.WipeReadBack, error) {
	k, err := d.Hub.Find(ctx, serial)
	if err != nil {
		return cli.WipeReadBack{}, err
	}
	rb := cli.WipeReadBack{At: time.Now(), FIDO: k.FIDO}
	for _, app := range apps.All {
		if k.Info.USBEnabled&app.Capability() == 0 {
			continue
		}
		c, err := d.Hub.AppContents(ctx, serial, app)
		if err != nil {
			return rb, fmt.Errorf("reading %s: %w", app, err)
		}
		rb.Apps = append(rb.Apps, appContents(c))
	}
	if k.Info.USBEnabled&device.CapPIV == 0 {
		return rb, nil
	}
	if rb.PIV, err = d.Hub.PIVState(ctx, serial); err != nil {
		return rb, fmt.Errorf("reading the PIV state: %w", err)
	}
	if rb.PIVCertificates, err = d.Hub.PIVCertificateSlots(ctx, serial); err != nil {
		return rb, fmt.Errorf("reading the PIV certificates: %w", err)
	}
	return rb, nil
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
