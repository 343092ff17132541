package steps

import (
	"context"
	"time"

	"github.com/keywizard/keywizard/device"
)

// Keys is everything the wizard asks of the YubiKeys. cmd/keywizard-gui builds it
// from device/scan, device/mgmt, device/piv and device/fido; tests use
// stepstest.FakeKeys or the simulator.
//
// An implementation whose key waits for a touch during a call says so with
// [NotifyTouch](ctx, true/false), so the person sees "touch your key".
//
// Error contract: a method addressing a serial that is not connected returns
// an error matching [device.ErrNotFound] (ideally *[device.KeyNotFoundError]);
// a key pulled out during the call returns one matching [device.ErrRemoved];
// wrong PINs are *[device.PINError] (FIDO2PIN, PIVPIN or PIVPUK) with the
// retries left; a blocked PIN matches [device.ErrBlocked]; a configuration
// lock code matches [device.ErrLocked]; a new PIN the key refuses matches
// [device.ErrPINPolicy]; a FIDO2 PIN not set yet matches
// [device.ErrPINNotSet].
type Keys interface {
	// List returns the keys connected now.
	List(ctx context.Context) ([]device.Key, error)
	// Watch reports keys arriving and leaving until ctx ends, when the
	// channel is closed.
	Watch(ctx context.Context) (<-chan KeyEvent, error)
	// FIDOState reads the key's FIDO2 state (PIN set, retries, rules).
	FIDOState(ctx context.Context, serial uint32) (*device.FIDOState, error)
	// SetFIDOPIN sets the first FIDO2 PIN; ChangeFIDOPIN changes it.
	SetFIDOPIN(ctx context.Context, serial uint32, pin string) error
	ChangeFIDOPIN(ctx context.Context, serial uint32, oldPIN, newPIN string) error
	// HasCredential reports whether a discoverable credential for rpID is
	// on the key (CTAP 2.1 credential management, read with the PIN). RP IDs
	// are domain names and compare ignoring case; userName also matches the
	// credential's user name ignoring case (GitHub logins and e-mail
	// addresses are case-insensitive, and people type them either way), and
	// "" matches any user (device/fido's Client.HasCredential applies this
	// rule, fido.SameUserName). A key with no discoverable
	// credentials at all (CTAP2_ERR_NO_CREDENTIALS) is false, nil, not an
	// error. FIDO operations on a key whose FIDO interface could belong to
	// another plugged-in key return an error matching device.ErrAmbiguous.
	HasCredential(ctx context.Context, serial uint32, pin, rpID, userName string) (bool, error)
	// ProvisionPIV sets the key up for smart-card login (docs/yubikey-protocol.md
	// §4.11 and docs/services.md §2): new PIN and PUK, a random PIN-protected
	// management key, keys and self-signed certificates in 9a and 9d.
	ProvisionPIV(ctx context.Context, serial uint32, p PIVParams) (PIVResult, error)
	// PIVState reads the PIV application's state.
	PIVState(ctx context.Context, serial uint32) (*device.PIVState, error)
	// DisableOTP turns the OTP application off over USB (and NFC when
	// nfcToo), as `ykman config usb --disable OTP` does (docs/yubikey-protocol.md
	// §1.8), then reads the configuration back.
	DisableOTP(ctx context.Context, serial uint32, nfcToo bool) (OTPResult, error)
	// Attestation returns a PIV attestation proving the key genuine, for
	// the tracker's check, without changing the key's set-up: of a key
	// already generated on it, else of one generated for the purpose in a
	// free retired slot (82-95), never 9A-9E, never changing the PIN, PUK
	// or management key (docs/genuine-key.md). A key that cannot (its
	// management key is its owner's, no free slot, firmware before 5.3)
	// returns an error saying so.
	Attestation(ctx context.Context, serial uint32) (Attestation, error)
}

// KeyEventKind says whether a key arrived or left.
type KeyEventKind int

// Key events.
const (
	KeyAdded KeyEventKind = iota + 1
	KeyRemoved
)

// KeyEvent is one hot-plug event. For KeyRemoved only Key.Serial is
// meaningful.
type KeyEvent struct {
	Kind KeyEventKind
	Key  device.Key
}

// PIVParams is what ProvisionPIV needs. It holds secrets: never log it (its
// String method hides them).
type PIVParams struct {
	// CurrentPIN and CurrentPUK are the values on the key now; empty means
	// the factory defaults (123456 / 12345678).
	CurrentPIN, CurrentPUK string
	// NewPIN and NewPUK replace them; empty keeps the current value.
	NewPIN, NewPUK string
	// Subject is the person's name, for implementations that name the
	// self-signed certificates after the person (device/piv names them
	// after the key's serial and ignores it).
	Subject string
}

// String hides the secrets so a stray %v cannot log them.
func (p PIVParams) String() string { return "PIVParams{Subject: " + p.Subject + ", secrets hidden}" }

// GoString hides the secrets from %#v too.
func (p PIVParams) GoString() string { return p.String() }

// PIVResult is what provisioning did, read back from the key.
type PIVResult struct {
	// Identities are the hashes macOS shows for the new 9a and 9d
	// certificates (`sc_auth identities`), in slot order.
	Identities []string
	// ManagementKeyProtected: the random management key is stored
	// PIN-protected (ADMIN DATA flag 02, docs/yubikey-protocol.md §4.11).
	ManagementKeyProtected bool
}

// OTPResult is the key's configuration read back after DisableOTP.
type OTPResult struct {
	USBEnabled device.Capability
	HasNFC     bool
	NFCEnabled device.Capability
}

// Attestation is a key's PIV attestation, PEM encoded: the device
// certificate (slot f9) and the certificate it issued for a slot's key.
type Attestation struct {
	DevicePEM string
	SlotPEM   string
	// Slot is the PIV slot whose key was attested.
	Slot byte `json:",omitempty"`
}

// Browser opens pages in the person's browser (pkg/browser in cmd).
type Browser interface {
	Open(url string) error
}

// Clock tells the time; tests use a fixed one.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SmartCardLogin is macOS's smart-card pairing (sc_auth, docs/services.md §2).
type SmartCardLogin interface {
	// Supported says whether smart-card login can be set up here, and why
	// not.
	Supported() (ok bool, reason string)
	// Paired lists the identity hashes paired with user (`sc_auth list -u`).
	Paired(ctx context.Context, user string) ([]string, error)
	// Identities lists the identities on inserted tokens (`sc_auth
	// identities`).
	Identities(ctx context.Context) ([]Identity, error)
	// Pair pairs hash with user (`sc_auth pair -u USER -h HASH`).
	Pair(ctx context.Context, user, hash string) error
	// Unpair removes hash's pairing with user (`sc_auth unpair -u USER -h
	// HASH`, docs/services.md §9.1), for a lost key whose identity hashes
	// were remembered when it was paired; the wizard reads Paired back
	// after it.
	Unpair(ctx context.Context, user, hash string) error
}

// Identity is one smart-card identity macOS sees.
type Identity struct {
	Hash   string
	Label  string
	Paired bool
}

// Reporter sends the wizard's report to the onboarding tracker. An
// implementation that keeps the report to send later returns an error
// matching [ErrReportQueued].
type Reporter interface {
	Report(ctx context.Context, r Report) error
}

// LossReporter tells the onboarding tracker at once that the person lost a
// key. Its error contract is Reporter's: nil only once the tracker has
// answered; an error matching [ErrReportQueued] when the loss report waits
// in the queue (offline), [ErrKeptLocally] when no tracker is configured,
// [ErrReportRejected] when the tracker refused it for good (not the
// person's key).
type LossReporter interface {
	ReportLost(ctx context.Context, r LossReport) error
}

// LossReport is what the tracker is told about a lost key. It holds no
// secrets.
type LossReport struct {
	PersonEmail string
	Serial      uint32
	Model       string
	Role        Role
	Reason      string
	At          time.Time
}

// Destination is optionally implemented by a Reporter to say where reports
// go ("no tracker configured, kept locally in ...").
type Destination interface {
	Destination() string
}

// Store loads and saves progress. Load returns an error matching
// [ErrNoProgress] when nothing was saved yet.
type Store interface {
	Load(ctx context.Context) (*Progress, error)
	Save(ctx context.Context, p *Progress) error
}

// Prompter asks the person. The ui implements it with dialogs. Methods
// return [ErrCancelled] (or ctx's error) when the person cancels.
type Prompter interface {
	// PIN asks for a PIN or PUK; it is used once and dropped.
	PIN(ctx context.Context, r PINRequest) (string, error)
	// Confirm asks a yes/no question.
	Confirm(ctx context.Context, r ConfirmRequest) (bool, error)
	// TouchKey tells the person to touch the key (waiting) or that the
	// wait is over (!waiting), as the Keys implementation reports it
	// through NotifyTouch. It must not block.
	TouchKey(key KeyRef, waiting bool)
}

// KeyRef names a key to the person.
type KeyRef struct {
	Serial uint32
	Model  string
	Role   Role
	Label  string
}

// PINPurpose says why a PIN is asked for.
type PINPurpose string

// PIN purposes.
const (
	PurposeNewFIDOPIN     PINPurpose = "new-fido-pin"     // choose the first FIDO2 PIN
	PurposeCurrentFIDOPIN PINPurpose = "current-fido-pin" // to change it
	PurposeUnlockFIDO     PINPurpose = "unlock-fido"      // to read passkeys from the key
	PurposeNewPIVPIN      PINPurpose = "new-piv-pin"      // choose the PIV (smart-card) PIN
	PurposeNewPIVPUK      PINPurpose = "new-piv-puk"      // choose the PIV PUK
	PurposeCurrentPIVPIN  PINPurpose = "current-piv-pin"  // PIV already customised
)

// PINRequest describes a PIN prompt.
type PINRequest struct {
	Key     KeyRef
	Which   device.Credential
	Purpose PINPurpose
	// RetriesLeft is -1 when unknown or irrelevant (a new PIN).
	RetriesLeft int
	// MinLen and MaxLen are the key's rules; DigitsOnly for the PIV PIN,
	// which macOS accepts only as 6-8 digits (docs/services.md §2).
	MinLen, MaxLen int
	DigitsOnly     bool
	// Text says in plain words what the PIN is for.
	Text string
}

// ConfirmKind says what a confirmation is about.
type ConfirmKind string

// Confirmation kinds.
const (
	// ConfirmProvisionPIV: replacing the key's PIV PIN, PUK, management
	// key and 9a/9d keys (destructive for anything already there).
	ConfirmProvisionPIV ConfirmKind = "provision-piv"
	// ConfirmSelfAttest: recording a service keywizard could check on
	// the key as "confirmed by you, not verified" instead.
	ConfirmSelfAttest ConfirmKind = "self-attest"
	// ConfirmLostKey: reporting one of the person's keys lost (IT is told,
	// the key loses its role, its registrations are to be removed).
	ConfirmLostKey ConfirmKind = "lost-key"
)

// ConfirmRequest describes a yes/no question. Destructive ones name the
// key by serial and model.
type ConfirmRequest struct {
	Kind        ConfirmKind
	Key         KeyRef
	Title, Text string
	Destructive bool
}
