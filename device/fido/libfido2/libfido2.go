//go:build cgo

package libfido2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	libfido2 "github.com/keys-pub/go-libfido2"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// Provider lists and opens FIDO HID devices through libfido2.
type Provider struct {
	// manifest lists devices; nil = libfido2.DeviceLocations. Tests
	// replace it to exercise Open without hardware.
	manifest func() ([]*libfido2.DeviceLocation, error)
	// extra are HID paths listed beside the manifest (see NewProvider).
	extra []string
}

var _ fido.Provider = (*Provider)(nil)

// NewProvider returns a Provider over libfido2's device manifest, plus
// the device nodes at extra (absolute paths), each listed while it
// exists. libfido2 lists HID devices through udev (libfido2
// src/hid_linux.c fido_hid_manifest), which never sees a simulated key's
// node (package device/sim/simhid); extra names such nodes, usually from
// [EnvPaths]. They are opened by the same go-libfido2 and libfido2 calls
// as a USB key. An extra entry carries no USB vendor and product (udev
// is where libfido2 reads those).
func NewProvider(extra ...string) *Provider { return &Provider{extra: extra} }

func (p *Provider) devices() ([]*libfido2.DeviceLocation, error) {
	var locs []*libfido2.DeviceLocation
	var err error
	if p.manifest != nil {
		locs, err = p.manifest()
	} else {
		locs, err = libfido2.DeviceLocations()
	}
	if err != nil {
		return nil, err
	}
	for _, path := range p.extra {
		// Stat follows the node's link: a node whose simulator has gone
		// (its link removed, or left dangling by a killed process) is
		// not listed, as an unplugged key is not.
		if _, err := os.Stat(path); err == nil {
			locs = append(locs, &libfido2.DeviceLocation{Path: path})
		}
	}
	return locs, nil
}

// Locations lists FIDO HID devices (fido_dev_info_manifest). No device is
// an empty list, not an error.
func (p *Provider) Locations(ctx context.Context) ([]fido.Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	locs, err := p.devices()
	if err != nil {
		return nil, fmt.Errorf("listing FIDO devices: %w", toFIDOError(err))
	}
	out := make([]fido.Location, 0, len(locs))
	for _, l := range locs {
		if l != nil {
			out = append(out, location(l))
		}
	}
	return out, nil
}

// Open returns the device at path, which must be in the manifest now:
// go-libfido2 opens the device afresh for every call, so a path that is not
// listed would only fail later.
func (p *Provider) Open(ctx context.Context, path string) (fido.Authenticator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	present, err := p.present(path)
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, fmt.Errorf("opening FIDO device %s: it is not plugged in: %w", path, device.ErrNotFound)
	}
	d, err := libfido2.NewDevice(path)
	if err != nil {
		return nil, fmt.Errorf("opening FIDO device %s: %w", path, toFIDOError(err))
	}
	return &Authenticator{p: p, path: path, dev: d}, nil
}

func (p *Provider) present(path string) (bool, error) {
	locs, err := p.devices()
	if err != nil {
		return false, fmt.Errorf("listing FIDO devices: %w", toFIDOError(err))
	}
	for _, l := range locs {
		if l != nil && l.Path == path {
			return true, nil
		}
	}
	return false, nil
}

// Authenticator is one FIDO HID device. Calls are serialised: go-libfido2's
// Device keeps one open handle at a time.
type Authenticator struct {
	p    *Provider
	path string
	mu   sync.Mutex
	dev  *libfido2.Device
}

var _ fido.Authenticator = (*Authenticator)(nil)

// Path is the HID path.
func (a *Authenticator) Path() string { return a.path }

// call runs one go-libfido2 call. go-libfido2 takes no context: when ctx
// ends first, ctx's error is returned once the call has unwound. Only
// Reset waits for the user, and only it is cancelled (callCancel): the
// other calls end by themselves within the key's response time.
func (a *Authenticator) call(ctx context.Context, fn func() error) error {
	return a.callCancel(ctx, fn, nil)
}

// callCancel is call with cancel run when ctx ends first. A failure of
// the transport is checked against the manifest: a device that is no
// longer listed was removed.
func (a *Authenticator) callCancel(ctx context.Context, fn func() error, cancel func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		if cancel != nil {
			cancel()
		}
		<-done
		return ctx.Err()
	}
	if err == nil {
		return nil
	}
	ferr := toFIDOError(err)
	if !isCTAP(ferr) && !errors.Is(ferr, device.ErrRemoved) {
		if present, perr := a.p.present(a.path); perr == nil && !present {
			return fmt.Errorf("FIDO device %s: %w (libfido2: %v)", a.path, device.ErrRemoved, err)
		}
	}
	return ferr
}

func isCTAP(err error) bool {
	var ce *fido.CTAPError
	return errors.As(err, &ce)
}

// Info is authenticatorGetInfo: go-libfido2's DeviceInfo, completed
// with the fields it drops, read through libfido2's fido_cbor_info_*
// accessors (cborinfo.go).
func (a *Authenticator) Info(ctx context.Context) (*fido.RawInfo, error) {
	var di *libfido2.DeviceInfo
	var ci cborInfo
	if err := a.call(ctx, func() (err error) {
		if di, err = a.dev.Info(); err != nil {
			return err
		}
		ci, err = readCBORInfo(a.path)
		return err
	}); err != nil {
		return nil, err
	}
	info, err := rawInfo(di)
	if err != nil {
		return nil, err
	}
	withCBORInfo(info, ci)
	return info, nil
}

// PINRetries is getPINRetries (fido_dev_get_retry_count).
func (a *Authenticator) PINRetries(ctx context.Context) (int, error) {
	var n int
	err := a.call(ctx, func() (err error) { n, err = a.dev.RetryCount(); return err })
	return n, err
}

// SetPIN is setPIN (fido_dev_set_pin with no old PIN).
func (a *Authenticator) SetPIN(ctx context.Context, pin string) error {
	return a.call(ctx, func() error { return a.dev.SetPIN(pin, "") })
}

// ChangePIN is changePIN (fido_dev_set_pin with the old PIN).
func (a *Authenticator) ChangePIN(ctx context.Context, oldPIN, newPIN string) error {
	return a.call(ctx, func() error { return a.dev.SetPIN(newPIN, oldPIN) })
}

// CredentialsMetadata is getCredsMetadata (fido_credman_get_dev_metadata).
func (a *Authenticator) CredentialsMetadata(ctx context.Context, pin string) (existing, remaining int, err error) {
	var ci *libfido2.CredentialsInfo
	if err := a.call(ctx, func() (err error) { ci, err = a.dev.CredentialsInfo(pin); return err }); err != nil {
		return 0, 0, err
	}
	return int(ci.RKExisting), int(ci.RKRemaining), nil
}

// RelyingParties enumerates RPs (fido_credman_get_dev_rp).
func (a *Authenticator) RelyingParties(ctx context.Context, pin string) ([]fido.RelyingParty, error) {
	var rps []*libfido2.RelyingParty
	if err := a.call(ctx, func() (err error) { rps, err = a.dev.RelyingParties(pin); return err }); err != nil {
		return nil, err
	}
	return relyingParties(rps), nil
}

// Credentials enumerates one RP's credentials (fido_credman_get_dev_rk).
func (a *Authenticator) Credentials(ctx context.Context, pin, rpID string) ([]fido.Credential, error) {
	var creds []*libfido2.Credential
	if err := a.call(ctx, func() (err error) { creds, err = a.dev.Credentials(rpID, pin); return err }); err != nil {
		return nil, err
	}
	return credentials(rpID, creds), nil
}

// Close releases nothing: go-libfido2 opens and closes the device around
// every call.
func (a *Authenticator) Close() error { return nil }

// Available reports whether this build reaches FIDO devices through
// libfido2 (it needs cgo).
func Available() bool { return true }
