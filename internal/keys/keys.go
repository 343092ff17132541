// Package keys adapts the hardware layer (device/hub) to the interfaces its
// consumers declare: internal/cli's Devices (listing, OTP, and key wipe's
// read, erase and replug) and steps' Keys (the wizard's key operations).
// It also builds the hub over the machine's PC/SC service and FIDO HID
// devices. Kept apart from cmd/keywizard so the adapters are tested,
// through the simulator, like any other code; cmd only chooses which
// adapters to build.
package keys

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/hub"
	"github.com/keywizard/keywizard/device/piv"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/internal/cli"
	"github.com/keywizard/keywizard/steps"
)

// Devices implements cli.Devices over a Hub.
type Devices struct {
	Hub    *hub.Hub
	Closer func() error
}

var _ cli.Devices = (*Devices)(nil)

// Keys lists the connected keys.
func (d *Devices) Keys(ctx context.Context, withPIV bool) ([]device.Key, error) {
	return d.Hub.Keys(ctx, withPIV)
}

// DisableOTP disables OTP on one key and reports the key as read back.
func (d *Devices) DisableOTP(ctx context.Context, req cli.OTPRequest) (cli.OTPResult, error) {
	res, err := d.Hub.DisableOTP(ctx, req.Serial, req.NFC, req.LockCode)
	if err != nil {
		return cli.OTPResult{}, err
	}
	after := res.After
	k := device.Key{Serial: res.Serial, Model: res.Model, Info: after}
	if k.Model == "" {
		k.Model = after.Model()
	}
	out := cli.OTPResult{Key: k, Changed: res.Changed}
	if res.ReplugRequired {
		out.Changed = append(out.Changed, "Remove and re-insert the key for this to take effect.")
	}
	return out, nil
}

// Close releases what the devices hold.
func (d *Devices) Close() error {
	if d.Closer != nil {
		return d.Closer()
	}
	return nil
}

// Keys implements steps.Keys over a Hub.
type Keys struct {
	Hub *hub.Hub
}

var _ steps.Keys = (*Keys)(nil)

// List returns the keys connected now, with PIV state.
func (k *Keys) List(ctx context.Context) ([]device.Key, error) {
	return k.Hub.Keys(ctx, true)
}

// Watch turns scan events into the wizard's key events.
func (k *Keys) Watch(ctx context.Context) (<-chan steps.KeyEvent, error) {
	in, err := k.Hub.Watch(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan steps.KeyEvent)
	go func() {
		defer close(out)
		for ev := range in {
			if ev.Err != nil {
				continue // a reader that could not be probed: the next event retries
			}
			var se steps.KeyEvent
			switch ev.Kind {
			case scan.Arrived:
				se = steps.KeyEvent{Kind: steps.KeyAdded, Key: ev.Key}
			case scan.Left:
				se = steps.KeyEvent{Kind: steps.KeyRemoved, Key: ev.Key}
			default:
				continue
			}
			select {
			case out <- se:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// FIDOState reads the key's FIDO2 state.
func (k *Keys) FIDOState(ctx context.Context, serial uint32) (*device.FIDOState, error) {
	c, _, err := k.Hub.FIDO(ctx, serial, touch(ctx))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.State(ctx)
}

// SetFIDOPIN sets the first FIDO2 PIN.
func (k *Keys) SetFIDOPIN(ctx context.Context, serial uint32, pin string) error {
	c, _, err := k.Hub.FIDO(ctx, serial, touch(ctx))
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SetPIN(ctx, pin)
}

// ChangeFIDOPIN changes the FIDO2 PIN.
func (k *Keys) ChangeFIDOPIN(ctx context.Context, serial uint32, oldPIN, newPIN string) error {
	c, _, err := k.Hub.FIDO(ctx, serial, touch(ctx))
	if err != nil {
		return err
	}
	defer c.Close()
	return c.ChangePIN(ctx, oldPIN, newPIN)
}

// HasCredential looks for a discoverable credential for rpID on the key,
// matching user names by device/fido's one rule (fido.SameUserName).
func (k *Keys) HasCredential(ctx context.Context, serial uint32, pin, rpID, userName string) (bool, error) {
	c, _, err := k.Hub.FIDO(ctx, serial, touch(ctx))
	if err != nil {
		return false, err
	}
	defer c.Close()
	return c.HasCredential(ctx, pin, rpID, userName)
}

// touch forwards a FIDO2 operation's touch wait to the wizard operation that
// ctx belongs to.
func touch(ctx context.Context) func(bool) {
	return func(waiting bool) { steps.NotifyTouch(ctx, waiting) }
}

// ProvisionPIV sets the key's PIV application up for macOS smart-card login.
func (k *Keys) ProvisionPIV(ctx context.Context, serial uint32, p steps.PIVParams) (steps.PIVResult, error) {
	prov, _, err := k.Hub.Provisioner(ctx, serial)
	if err != nil {
		return steps.PIVResult{}, err
	}
	res, err := prov.Provision(ctx, piv.Params{CurrentPIN: p.CurrentPIN, NewPIN: p.NewPIN, CurrentPUK: p.CurrentPUK, NewPUK: p.NewPUK})
	if err != nil {
		return steps.PIVResult{}, err
	}
	out := steps.PIVResult{ManagementKeyProtected: res.State != nil && res.State.MgmtKeyProtected}
	for _, cert := range certs(res) {
		h, err := hub.PublicKeyHash(cert)
		if err != nil {
			return steps.PIVResult{}, fmt.Errorf("hashing the certificate for macOS pairing: %w", err)
		}
		out.Identities = append(out.Identities, h)
	}
	return out, nil
}

func certs(res *piv.Result) (out []*x509.Certificate) {
	for _, c := range []*x509.Certificate{res.Slot9A, res.Slot9D} {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// PIVState reads the key's PIV state.
func (k *Keys) PIVState(ctx context.Context, serial uint32) (*device.PIVState, error) {
	return k.Hub.PIVState(ctx, serial)
}

// DisableOTP turns OTP off and reads the configuration back.
func (k *Keys) DisableOTP(ctx context.Context, serial uint32, nfcToo bool) (steps.OTPResult, error) {
	res, err := k.Hub.DisableOTP(ctx, serial, nfcToo, nil)
	if err != nil {
		return steps.OTPResult{}, err
	}
	if res.ReplugRequired {
		return steps.OTPResult{}, fmt.Errorf("key %d (%s) applies the change only after it is removed and re-inserted; do that, then check again: %w",
			res.Serial, res.Model, device.ErrUnsupported)
	}
	return steps.OTPResult{USBEnabled: res.After.USBEnabled, HasNFC: res.After.HasNFC, NFCEnabled: res.After.NFCEnabled}, nil
}

// Attestation proves the key genuine with a PIV attestation: of a key
// already generated on it (the macOS login key in 9A, say), else of an ECC
// key generated for the purpose in a free retired slot (95 down to 82)
// with the factory management key. Slots 9A-9E, the PIN, the PUK and the
// management key are left as they are (docs/genuine-key.md).
func (k *Keys) Attestation(ctx context.Context, serial uint32) (steps.Attestation, error) {
	p, err := k.Hub.GenuineAttestation(ctx, serial, true)
	if err != nil {
		return steps.Attestation{}, err
	}
	return steps.Attestation{
		DevicePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Attestation.Raw})),
		SlotPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.SlotCert.Raw})),
		Slot:      p.Slot,
	}, nil
}
