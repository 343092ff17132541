//go:build cgo

package libfido2

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	libfido2 "github.com/keys-pub/go-libfido2"
	pkgerrors "github.com/pkg/errors"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

var ctx = context.Background()

// TestLocationsNoDevice goes through the real libfido2. On a machine with
// no HID devices at all (CI, containers: no /dev/hidraw*) the manifest must
// be an empty list without an error (checked on Linux, where HID devices
// are /dev/hidraw*); where HID devices exist (a developer's
// laptop with a key in), every entry must at least carry its path.
func TestLocationsNoDevice(t *testing.T) {
	locs, err := NewProvider().Locations(ctx)
	if err != nil {
		t.Fatalf("Locations: %v", err)
	}
	if locs == nil {
		t.Fatal("Locations = nil, want a non-nil list")
	}
	hid, _ := filepath.Glob("/dev/hidraw*")
	if runtime.GOOS == "linux" && len(hid) == 0 && len(locs) != 0 {
		t.Fatalf("Locations = %#v with no HID device on this machine", locs)
	}
	for _, l := range locs {
		if l.Path == "" {
			t.Errorf("location without a path: %+v", l)
		}
	}
}

// TestOpenNotPresent, also through the real libfido2 manifest.
func TestOpenNotPresent(t *testing.T) {
	_, err := NewProvider().Open(ctx, "/dev/hidraw-keywizard-none")
	if !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("Open of an absent path = %v, want ErrNotFound", err)
	}
}

func TestLocationsAndOpenWithManifest(t *testing.T) {
	p := &Provider{manifest: func() ([]*libfido2.DeviceLocation, error) {
		return []*libfido2.DeviceLocation{
			{Path: "/dev/hidraw3", VendorID: 0x1050, ProductID: 0x0407, Manufacturer: "Yubico", Product: "YubiKey OTP+FIDO+CCID"},
			nil,
			{Path: "/dev/hidraw7", VendorID: -32768, ProductID: -1, Manufacturer: "Other", Product: "Key"},
		}, nil
	}}
	locs, err := p.Locations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []fido.Location{
		{Path: "/dev/hidraw3", VendorID: 0x1050, ProductID: 0x0407, Manufacturer: "Yubico", Product: "YubiKey OTP+FIDO+CCID"},
		{Path: "/dev/hidraw7", VendorID: 0x8000, ProductID: 0xFFFF, Manufacturer: "Other", Product: "Key"},
	}
	if !slices.Equal(locs, want) {
		t.Errorf("Locations = %+v\nwant %+v", locs, want)
	}
	a, err := p.Open(ctx, "/dev/hidraw3")
	if err != nil || a.Path() != "/dev/hidraw3" {
		t.Fatalf("Open = %v, %v", a, err)
	}
	if _, err := p.Open(ctx, "/dev/hidraw4"); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("Open unlisted = %v", err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Locations(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Locations(canceled) = %v", err)
	}
	if _, err := a.Info(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Info(canceled) = %v", err)
	}
}

// TestToFIDOError is the go-libfido2 → CTAP table. Errors are wrapped the
// way go-libfido2 wraps them (pkg/errors.Wrap with a fixed phrase).
func TestToFIDOError(t *testing.T) {
	wrap := func(err error) error { return pkgerrors.Wrap(err, "failed to get relying party info") }
	ctap := []struct {
		in   error
		code byte
	}{
		{libfido2.ErrPinInvalid, fido.CTAPPINInvalid},
		{libfido2.ErrPinAuthBlocked, fido.CTAPPINAuthBlocked},
		{libfido2.ErrPinRequired, fido.CTAPPUATRequired},
		{libfido2.ErrPinNotSet, fido.CTAPPINNotSet},
		{libfido2.ErrPinPolicyViolation, fido.CTAPPINPolicyViolation},
		{libfido2.ErrNotAllowed, fido.CTAPNotAllowed},
		{libfido2.ErrActionTimeout, fido.CTAPActionTimeout},
		{libfido2.ErrUserPresenceRequired, fido.CTAPUPRequired},
		{libfido2.ErrUPRequired, fido.CTAPUPRequired},
		{libfido2.ErrNoCredentials, fido.CTAPNoCredentials},
		{libfido2.ErrOperationDenied, fido.CTAPOperationDenied},
		{libfido2.ErrInvalidCommand, fido.CTAPInvalidCommand},
		{libfido2.ErrInvalidLength, fido.CTAPInvalidLength},
		{libfido2.ErrUnsupportedOption, fido.CTAPUnsupportedOption},
		{libfido2.ErrKeepaliveCancel, fido.CTAPKeepaliveCancel},
		{libfido2.ErrMissingParameter, 0x14},
		{libfido2.ErrInvalidCredential, 0x22},
		{libfido2.ErrInvalidOption, 0x2C},
		{libfido2.ErrOther, 0x7F},
		// Codes go-libfido2 has no sentinel for arrive as Error{Code}.
		{libfido2.Error{Code: 0x32}, fido.CTAPPINBlocked},
		{libfido2.Error{Code: 0x2F}, fido.CTAPUserActionTimeout},
		{libfido2.Error{Code: 0x28}, 0x28},
	}
	for _, tt := range ctap {
		got := toFIDOError(wrap(tt.in))
		var ce *fido.CTAPError
		if !errors.As(got, &ce) || ce.Code != tt.code {
			t.Errorf("toFIDOError(%v) = %v, want CTAP 0x%02x", tt.in, got, tt.code)
		}
	}
	other := []struct {
		in   error
		want error
	}{
		{libfido2.ErrTX, device.ErrRemoved},
		{libfido2.ErrRX, device.ErrRemoved},
		{libfido2.ErrRXNotCBOR, device.ErrInvalidResponse},
		{libfido2.ErrRXInvalidCBOR, device.ErrInvalidResponse},
		{libfido2.ErrNotFIDO2, device.ErrUnsupported},
		{libfido2.Error{Code: -10}, device.ErrNotFound},
		{libfido2.ErrInternal, libfido2.ErrInternal}, // no meaning: kept, wrapped
	}
	for _, tt := range other {
		got := toFIDOError(wrap(tt.in))
		if !errors.Is(got, tt.want) {
			t.Errorf("toFIDOError(%v) = %v, want %v", tt.in, got, tt.want)
		}
		var ce *fido.CTAPError
		if errors.As(got, &ce) {
			t.Errorf("toFIDOError(%v) = %v is a CTAP status", tt.in, got)
		}
	}
	if toFIDOError(nil) != nil {
		t.Error("toFIDOError(nil) != nil")
	}
}

func TestRawInfo(t *testing.T) {
	aaguid := []byte{0xee, 0x88, 0x28, 0x79, 0x72, 0x1c, 0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc, 0xce, 0x97, 0x07, 0x2a}
	di := &libfido2.DeviceInfo{
		Versions:   []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"},
		Extensions: []string{"credProtect", "hmac-secret"},
		AAGUID:     aaguid,
		Options: []libfido2.Option{
			{Name: "rk", Value: libfido2.True},
			{Name: "up", Value: libfido2.True},
			{Name: "plat", Value: libfido2.False},
			{Name: "clientPin", Value: libfido2.False},
			{Name: "credentialMgmtPreview", Value: libfido2.True},
		},
	}
	info, err := rawInfo(di)
	if err != nil {
		t.Fatal(err)
	}
	if got := fido.FormatAAGUID(info.AAGUID); got != "ee882879-721c-4913-9775-3dfcce97072a" {
		t.Errorf("AAGUID = %s", got)
	}
	if !slices.Equal(info.Versions, di.Versions) || !slices.Equal(info.Extensions, di.Extensions) {
		t.Errorf("versions/extensions = %v %v", info.Versions, info.Extensions)
	}
	want := map[string]bool{"rk": true, "up": true, "plat": false, "clientPin": false, "credentialMgmtPreview": true}
	if len(info.Options) != len(want) {
		t.Errorf("options = %v", info.Options)
	}
	for k, v := range want {
		if got, ok := info.Options[k]; !ok || got != v {
			t.Errorf("option %s = %v,%v; want %v", k, got, ok, v)
		}
	}
	if info.MinPINLength != 0 || info.FirmwareVersion != 0 || info.ForcePINChange || info.RemainingDiscoverableCredentials != -1 {
		t.Errorf("fields go-libfido2 lacks must read as absent: %+v", info)
	}
	for _, bad := range []*libfido2.DeviceInfo{nil, {AAGUID: aaguid[:15]}, {}} {
		if _, err := rawInfo(bad); !errors.Is(err, device.ErrInvalidResponse) {
			t.Errorf("rawInfo(%+v) = %v, want ErrInvalidResponse", bad, err)
		}
	}
}

func TestEnumerationConversion(t *testing.T) {
	rps := relyingParties([]*libfido2.RelyingParty{{ID: "github.com", Name: "GitHub"}, nil})
	if !slices.Equal(rps, []fido.RelyingParty{{ID: "github.com", Name: "GitHub"}}) {
		t.Errorf("relyingParties = %v", rps)
	}
	creds := credentials("github.com", []*libfido2.Credential{{ID: []byte{1, 2}, User: libfido2.User{ID: []byte{3}, Name: "ana", DisplayName: "Ana"}}, nil})
	if !slices.Equal(creds, []fido.Credential{{RPID: "github.com", UserName: "ana", UserDisplayName: "Ana"}}) {
		t.Errorf("credentials = %v", creds)
	}
}

// errAuthenticator answers every call with one go-libfido2 error converted
// as the adapter converts it, so the Client's reading of libfido2's errors
// is checked end to end without hardware.
type errAuthenticator struct {
	err     error // returned by the PIN-taking calls
	retries int
}

func (e *errAuthenticator) Path() string { return "/dev/hidraw0" }
func (e *errAuthenticator) Info(context.Context) (*fido.RawInfo, error) {
	return rawInfo(&libfido2.DeviceInfo{
		AAGUID:  make([]byte, 16),
		Options: []libfido2.Option{{Name: "clientPin", Value: libfido2.True}, {Name: "credentialMgmtPreview", Value: libfido2.True}},
	})
}
func (e *errAuthenticator) PINRetries(context.Context) (int, error) { return e.retries, nil }
func (e *errAuthenticator) SetPIN(context.Context, string) error    { return toFIDOError(e.err) }
func (e *errAuthenticator) ChangePIN(context.Context, string, string) error {
	return toFIDOError(e.err)
}
func (e *errAuthenticator) CredentialsMetadata(context.Context, string) (int, int, error) {
	return 0, 0, toFIDOError(e.err)
}
func (e *errAuthenticator) RelyingParties(context.Context, string) ([]fido.RelyingParty, error) {
	return nil, toFIDOError(e.err)
}
func (e *errAuthenticator) Credentials(context.Context, string, string) ([]fido.Credential, error) {
	return nil, toFIDOError(e.err)
}
func (e *errAuthenticator) Reset(context.Context) error { return toFIDOError(e.err) }
func (e *errAuthenticator) Close() error                { return nil }

func TestClientReadsLibfido2Errors(t *testing.T) {
	wrap := func(err error) error { return pkgerrors.Wrap(err, "failed to get credentials info") }
	run := func(err error, retries int) error {
		c := fido.NewClient(&errAuthenticator{err: wrap(err), retries: retries}, fido.Options{})
		_, got := c.Credentials(ctx, "123456")
		return got
	}
	var pe *device.PINError
	if err := run(libfido2.ErrPinInvalid, 6); !errors.As(err, &pe) || pe.Retries != 6 {
		t.Errorf("ErrPinInvalid → %v, want PINError with 6 retries", err)
	}
	var pc *fido.PowerCycleError
	if err := run(libfido2.ErrPinAuthBlocked, 5); !errors.As(err, &pc) || !errors.Is(err, device.ErrBlocked) {
		t.Errorf("ErrPinAuthBlocked → %v, want PowerCycleError", err)
	}
	if err := run(libfido2.Error{Code: 0x32}, 0); !errors.As(err, &pe) || pe.Retries != 0 || !errors.Is(err, device.ErrBlocked) {
		t.Errorf("PIN_BLOCKED → %v, want blocked PINError", err)
	}
	if err := run(libfido2.ErrRX, 8); !errors.Is(err, device.ErrRemoved) {
		t.Errorf("ErrRX → %v, want ErrRemoved", err)
	}
	if err := run(libfido2.ErrNoCredentials, 8); err != nil {
		t.Errorf("ErrNoCredentials → %v, want an empty list", err)
	}
}

// FuzzRawInfo feeds arbitrary AAGUID bytes and option names: rawInfo must
// never panic, and accepts exactly 16-byte AAGUIDs, unchanged.
func FuzzRawInfo(f *testing.F) {
	f.Add([]byte{0xee, 0x88, 0x28, 0x79, 0x72, 0x1c, 0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc, 0xce, 0x97, 0x07, 0x2a}, "clientPin", true)
	f.Add([]byte{}, "", false)
	f.Add(make([]byte, 17), "rk", true)
	f.Fuzz(func(t *testing.T, aaguid []byte, option string, value bool) {
		v := libfido2.False
		if value {
			v = libfido2.True
		}
		info, err := rawInfo(&libfido2.DeviceInfo{AAGUID: aaguid, Options: []libfido2.Option{{Name: option, Value: v}}})
		if len(aaguid) != 16 {
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("%d-byte AAGUID: %v", len(aaguid), err)
			}
			return
		}
		if err != nil || string(info.AAGUID[:]) != string(aaguid) || info.Options[option] != value {
			t.Fatalf("rawInfo = %+v, %v", info, err)
		}
	})
}

// listed is a Provider whose manifest holds paths (no hardware).
func listed(paths ...string) *Provider {
	return &Provider{manifest: func() ([]*libfido2.DeviceLocation, error) {
		var out []*libfido2.DeviceLocation
		for _, p := range paths {
			out = append(out, &libfido2.DeviceLocation{Path: p})
		}
		return out, nil
	}}
}

func testAuthenticator(t *testing.T, p *Provider, path string) *Authenticator {
	t.Helper()
	d, err := libfido2.NewDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	return &Authenticator{p: p, path: path, dev: d}
}

// TestCallRemoval: a transport failure on a device that has left the
// manifest is a removal; on one still listed it stays what it was.
func TestCallRemoval(t *testing.T) {
	internal := func() error { return pkgerrors.Wrap(libfido2.ErrInternal, "failed to open") }
	gone := testAuthenticator(t, listed("/dev/hidraw1"), "/dev/hidraw9")
	if err := gone.call(ctx, internal); !errors.Is(err, device.ErrRemoved) {
		t.Errorf("failure on an unlisted device = %v, want ErrRemoved", err)
	}
	still := testAuthenticator(t, listed("/dev/hidraw9"), "/dev/hidraw9")
	err := still.call(ctx, internal)
	if errors.Is(err, device.ErrRemoved) || !errors.Is(err, libfido2.ErrInternal) {
		t.Errorf("failure on a listed device = %v, want the libfido2 error", err)
	}
	// A CTAP status is the key answering: never a removal.
	err = gone.call(ctx, func() error { return libfido2.ErrPinInvalid })
	var ce *fido.CTAPError
	if !errors.As(err, &ce) || errors.Is(err, device.ErrRemoved) {
		t.Errorf("CTAP status = %v", err)
	}
	if err := still.call(ctx, func() error { return nil }); err != nil {
		t.Errorf("success = %v", err)
	}
}

// TestCallCancel: when ctx ends while libfido2 blocks (a reset waiting
// for a touch), callCancel cancels the request and returns ctx's error
// once the call is done.
func TestCallCancel(t *testing.T) {
	a := testAuthenticator(t, listed("/dev/hidraw9"), "/dev/hidraw9")
	c, cancel := context.WithCancel(ctx)
	started := make(chan struct{})
	cancelled := make(chan struct{})
	var returned bool
	go func() { <-started; cancel() }()
	err := a.callCancel(c, func() error {
		close(started)
		<-cancelled // the request ends only when it is cancelled
		returned = true
		return libfido2.ErrKeepaliveCancel
	}, func() { close(cancelled) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("call = %v, want context.Canceled", err)
	}
	if !returned {
		t.Error("call returned before the libfido2 call unwound")
	}
}
