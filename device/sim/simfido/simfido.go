// Package simfido is a simulated YubiKey 5 FIDO2 authenticator: it
// implements [fido.Authenticator] with the state machine of CTAP 2.1 as a
// YubiKey 5 runs it (PIN retries and blocking, the PIN policy, the
// discoverable-credential store, credential management, and reset's
// power-up window and touch), so that package fido's Client, the scanner and
// the wizard run against it exactly as they run against a key on USB HID.
//
// It is pure Go. Time and the user's touch are injected ([Config.Now],
// [Config.Touch]); removal is injected with [Authenticator.Remove] and
// [Authenticator.RemoveAfter]. An [Authenticator] is safe for concurrent use.
//
// Where YubiKey behaviour differs from the CTAP text, the simulator follows
// the YubiKey and says so next to the code.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package simfido

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// Defaults of a YubiKey 5 (CTAP 2.1 §6.5.2.1: pinRetries starts at 8;
// §6.4 minPINLength defaults to 4).
const (
	MaxPINRetries = 8
	// maxConsecutive wrong PINs before PIN_AUTH_BLOCKED until power cycle
	// (CTAP 2.1 §6.5.5.5 "3 consecutive mismatches").
	maxConsecutive = 3
	minPINLength   = 4
	// maxPINBytes: the PIN is padded to 64 bytes with at least one 0x00
	// (CTAP 2.1 §6.5.5.5 setPIN), so 63 bytes of UTF-8 at most.
	maxPINBytes = 63
)

// Config describes the simulated key.
type Config struct {
	Serial   uint32
	Model    string // as device.Info.Model spells it, e.g. "YubiKey 5C Nano"
	Firmware device.Version
	// AAGUID in UUID form; empty = the one Yubico lists for Model and
	// Firmware (fido.AAGUIDFor), or all zeros when the list has none.
	AAGUID string
	// Now is the clock (reset's power-up window); nil = time.Now.
	Now func() time.Time
	// Touch waits for the user's touch; nil = touched at once. Return an
	// error for "nobody touched it" (see [NoTouch]).
	Touch func(ctx context.Context) error
	// ResetWindow is how long after power-up reset is allowed; 0 =
	// [fido.ResetWindow].
	ResetWindow time.Duration
	// PINComplexity: the key enforces firmware 5.7's PIN complexity
	// (device info tag 0x16 = 01, read through the management application;
	// yubikey-manager yubikit/management.py DeviceInfo.pin_complexity), so
	// setPIN and changePIN refuse a PIN on its list of easy guesses
	// ([EasyPIN]) with PIN_POLICY_VIOLATION.
	PINComplexity bool
}

// NoTouch is a Config.Touch for a user who never touches the key: the
// operation fails as a YubiKey's does when its touch times out.
func NoTouch(ctx context.Context) error { return errNoTouch }

var errNoTouch = errors.New("simfido: no touch")

// credential is a discoverable credential (CTAP 2.1 §6.1.2 step 17: the
// key stores it with the user entity; credential management lists it).
type credential struct {
	rpID, rpName          string
	userName, userDisplay string
	userID                []byte
	// id is the credential ID: the private key wrapped under the key's
	// credential-wrapping key (webauthn.go), as for a non-resident one.
	id      []byte
	priv    *ecdsa.PrivateKey
	protect int // credProtect level (CTAP 2.1 §12.1), 1 when not asked
}

// Authenticator is one simulated FIDO2 authenticator.
type Authenticator struct {
	mu     sync.Mutex
	cfg    Config
	aaguid [16]byte
	path   string

	// USB identity as the HID manifest shows it.
	productID uint16
	product   string

	present     bool
	removeAfter int // operations left before removal; -1 = never
	poweredAt   time.Time

	pinHash        []byte // LEFT(SHA-256(pin), 16) as CTAP stores it; nil = no PIN
	retries        int
	consecutive    int
	authBlocked    bool
	forcePINChange bool

	creds []credential // in registration order, as enumeration returns them

	// wrapKey is the AES-256 key that wraps credentials' private keys into
	// their IDs (webauthn.go), so that a non-resident credential needs no
	// storage, as on a YubiKey. A reset makes a new one: every credential
	// made before stops working.
	wrapKey []byte
	// signCount is the signature counter of authenticator data (one for
	// the whole key, as CTAP 2.1 §6.1 "signCount" allows).
	signCount uint32

	// onChange is told when persistent state changed (SetOnChange).
	onChange func()

	// sess is CTAP protocol state a power cycle clears (ctap.go).
	sess session
}

var _ fido.Authenticator = (*Authenticator)(nil)

// New returns a factory-fresh authenticator, plugged in and powered up now.
// It panics on an AAGUID that is not a UUID (a bug in the caller).
func New(cfg Config) *Authenticator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ResetWindow == 0 {
		cfg.ResetWindow = fido.ResetWindow
	}
	a := &Authenticator{
		cfg:         cfg,
		path:        "sim:" + strconv.FormatUint(uint64(cfg.Serial), 10),
		present:     true,
		removeAfter: -1,
		retries:     MaxPINRetries,
		productID:   0x0407, // YK4_OTP_FIDO_CCID: factory default YubiKey 5 (docs/yubikey-protocol.md §2.1)
		product:     "YubiKey OTP+FIDO+CCID",
	}
	a.poweredAt = cfg.Now()
	a.wrapKey = newWrapKey()
	s := cfg.AAGUID
	if s == "" {
		s, _ = fido.AAGUIDFor(cfg.Model, cfg.Firmware)
	}
	if s != "" {
		b, err := fido.ParseAAGUID(s)
		if err != nil {
			panic(fmt.Sprintf("simfido.New: %v", err))
		}
		a.aaguid = b
	}
	return a
}

// Path is "sim:<serial>".
func (a *Authenticator) Path() string { return a.path }

// Serial is the configured serial number. The FIDO interface does not
// report it; the simulator keeps it so its Provider can name paths.
func (a *Authenticator) Serial() uint32 { return a.cfg.Serial }

// SetUSBInterfaces changes the USB product ID and product string the HID
// manifest shows, as a YubiKey 5 does after its interfaces are changed
// (docs/yubikey-protocol.md §2.1, §2.2: 0x0406 "YubiKey FIDO+CCID" once OTP is
// disabled). It is for the simulated key's management side to call.
func (a *Authenticator) SetUSBInterfaces(i device.USBInterface) {
	pid := uint16(0x0400)
	name := ""
	if i&device.IfaceOTP != 0 {
		pid |= 0x01
		name += "+OTP"
	}
	if i&device.IfaceFIDO != 0 {
		pid |= 0x02
		name += "+FIDO"
	}
	if i&device.IfaceCCID != 0 {
		pid |= 0x04
		name += "+CCID"
	}
	// 0x0401 OTP, 0x0402 FIDO, 0x0403 OTP+FIDO, 0x0404 CCID, ... 0x0407.
	a.mu.Lock()
	defer a.mu.Unlock()
	a.productID = pid
	if name != "" {
		name = name[1:]
	}
	a.product = "YubiKey " + name
}

// SetTouch replaces Config.Touch: how the simulated user answers the next
// operations that wait for a touch (nil = touched at once). A simulated UI
// can install a function that waits for its "touch" button.
func (a *Authenticator) SetTouch(touch func(ctx context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg.Touch = touch
}

// Location is the manifest entry for this key, as libfido2 would list it.
func (a *Authenticator) Location() fido.Location {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fido.Location{
		Path:         a.path,
		VendorID:     0x1050, // Yubico (docs/yubikey-protocol.md §2.1)
		ProductID:    a.productID,
		Manufacturer: "Yubico",
		Product:      a.product,
	}
}

// Present reports whether the key is plugged in.
func (a *Authenticator) Present() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.present
}

// Remove unplugs the key: every operation fails with device.ErrRemoved
// until [Authenticator.Insert].
func (a *Authenticator) Remove() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.present = false
}

// Insert plugs the key back in. That powers it up: the reset window starts
// again and a PIN_AUTH_BLOCKED state clears (CTAP 2.1 §6.5.5.5).
func (a *Authenticator) Insert() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.present = true
	a.removeAfter = -1
	a.powerUp()
}

// PowerCycle is Remove then Insert.
func (a *Authenticator) PowerCycle() {
	a.Remove()
	a.Insert()
}

// RemoveAfter lets n more operations succeed, then removes the key: the
// (n+1)th operation and every later one fail with device.ErrRemoved, as when
// the key is pulled out in the middle of a flow.
func (a *Authenticator) RemoveAfter(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removeAfter = n
}

func (a *Authenticator) powerUp() {
	a.sess = session{}
	a.poweredAt = a.cfg.Now()
	a.authBlocked = false
	a.consecutive = 0
}

// begin starts an operation: the caller holds a.mu.
func (a *Authenticator) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.removeAfter == 0 {
		a.present = false
		a.removeAfter = -1
	}
	if !a.present {
		return fmt.Errorf("%s: %w", a.path, device.ErrRemoved)
	}
	if a.removeAfter > 0 {
		a.removeAfter--
	}
	return nil
}

func ctapErr(code byte) error { return &fido.CTAPError{Code: code} }

// fw is a shorthand for firmware gates.
func (a *Authenticator) fw(major, minor uint8) bool { return a.cfg.Firmware.AtLeast(major, minor, 0) }

// capacity is the discoverable-credential store size: 25 before 5.7, 100
// from 5.7 (Yubico YubiKey 5 Series technical manual, "FIDO2 resident
// keys").
func (a *Authenticator) capacity() int {
	if a.fw(5, 7) {
		return 100
	}
	return 25
}

// credMgmt: authenticatorCredentialManagement exists from 5.2 (as the
// CTAP 2.1-pre "credentialMgmtPreview"), final "credMgmt" from 5.7.
func (a *Authenticator) credMgmt() bool { return a.fw(5, 2) }

// Info is authenticatorGetInfo (CTAP 2.1 §6.4) shaped by firmware:
// FIDO_2_1_PRE from 5.2, FIDO_2_1 from 5.7 (a 5.7 key lists U2F_V2,
// FIDO_2_0, FIDO_2_1_PRE and FIDO_2_1); minPINLength (0x0D) and
// firmwareVersion (0x0E) from 5.4, remainingDiscoverableCredentials (0x14)
// from 5.7. The exact firmware where 0x0D/0x0E appear is unconfirmed
// (docs/yubikey-protocol.md §9); keys before 5.4 exercise the "absent" paths.
func (a *Authenticator) Info(ctx context.Context) (*fido.RawInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return nil, err
	}
	info := &fido.RawInfo{
		Versions:   []string{"U2F_V2", "FIDO_2_0"},
		Extensions: []string{"hmac-secret"},
		AAGUID:     a.aaguid,
		Options: map[string]bool{
			"rk":        true,
			"up":        true,
			"plat":      false,
			"clientPin": a.pinHash != nil,
		},
		ForcePINChange:                   a.forcePINChange,
		RemainingDiscoverableCredentials: -1,
	}
	if a.fw(5, 2) {
		info.Versions = append(info.Versions, "FIDO_2_1_PRE")
		info.Extensions = append([]string{"credProtect"}, info.Extensions...)
		info.Options["credentialMgmtPreview"] = true
	}
	if a.fw(5, 4) {
		info.MinPINLength = minPINLength
		v := a.cfg.Firmware
		info.FirmwareVersion = int(v.Major)<<16 | int(v.Minor)<<8 | int(v.Patch)
	}
	if a.fw(5, 7) {
		info.Versions = append(info.Versions, "FIDO_2_1")
		info.Extensions = append(info.Extensions, "largeBlobKey", "credBlob", "minPinLength")
		info.Options["credMgmt"] = true
		info.Options["pinUvAuthToken"] = true
		info.Options["setMinPINLength"] = true
		info.RemainingDiscoverableCredentials = a.capacity() - len(a.creds)
	}
	return info, nil
}

// PINRetries is getPINRetries: it needs no PIN and works while PIN
// authentication is blocked.
func (a *Authenticator) PINRetries(ctx context.Context) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return 0, err
	}
	return a.retries, nil
}

// checkPolicy is the authenticator-side PIN policy (CTAP 2.1 §6.5.5.5
// setPIN/changePIN: fewer than minPINLength code points, or a padded PIN
// that does not fit 64 bytes, is PIN_POLICY_VIOLATION), and with PIN
// complexity on, a PIN on the easy-guess list ([EasyPIN]; CTAP 2.3 §8.2
// names PIN complexity as a cause of PIN_POLICY_VIOLATION). A NUL would end
// the PIN early on the wire (libfido2 passes C strings), so it is refused.
func (a *Authenticator) checkPolicy(pin string) error {
	if !utf8.ValidString(pin) || utf8.RuneCountInString(pin) < minPINLength || len(pin) > maxPINBytes {
		return ctapErr(fido.CTAPPINPolicyViolation)
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] == 0 {
			return ctapErr(fido.CTAPPINPolicyViolation)
		}
	}
	if a.cfg.PINComplexity && EasyPIN([]byte(pin)) {
		return ctapErr(fido.CTAPPINPolicyViolation)
	}
	return nil
}

func hashPIN(pin string) []byte {
	h := sha256.Sum256([]byte(pin))
	return h[:16]
}

// verifyPIN runs the PIN check of getPinToken/changePIN (CTAP 2.1
// §6.5.5.5/§6.5.5.7): blocked at 0 retries, auth-blocked after three
// consecutive mismatches until power cycle, each mismatch costs a retry, a
// match restores all eight.
//
// When the eighth wrong PIN is also a third consecutive one, PIN_BLOCKED
// wins: the block is permanent and that is what the user must learn.
func (a *Authenticator) verifyPIN(pin string) error {
	return a.verifyPINHash(hashPIN(pin))
}

// verifyPINHash is verifyPIN on LEFT(SHA-256(PIN), 16), as CTAP's
// pinHashEnc carries it. A mismatch also regenerates the key-agreement key
// (CTAP 2.1 §6.5.5.7 step "regenerate").
func (a *Authenticator) verifyPINHash(h []byte) error {
	if a.pinHash == nil {
		return ctapErr(fido.CTAPPINNotSet)
	}
	if a.retries == 0 {
		return ctapErr(fido.CTAPPINBlocked)
	}
	if a.authBlocked {
		return ctapErr(fido.CTAPPINAuthBlocked)
	}
	defer a.changedLocked() // the retries counter moves either way
	if subtle.ConstantTimeCompare(h, a.pinHash) == 1 {
		a.retries = MaxPINRetries
		a.consecutive = 0
		return nil
	}
	a.sess.keyAgreement = nil
	a.retries--
	a.consecutive++
	switch {
	case a.retries == 0:
		return ctapErr(fido.CTAPPINBlocked)
	case a.consecutive >= maxConsecutive:
		a.authBlocked = true
		return ctapErr(fido.CTAPPINAuthBlocked)
	}
	return ctapErr(fido.CTAPPINInvalid)
}

// SetPIN is setPIN (0x03). With a PIN already set a YubiKey answers
// PIN_AUTH_INVALID (CTAP 2.1 §6.5.5.5: "If a PIN has already been set,
// authenticator returns CTAP2_ERR_PIN_AUTH_INVALID").
func (a *Authenticator) SetPIN(ctx context.Context, pin string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return err
	}
	return a.setPINLocked(pin)
}

func (a *Authenticator) setPINLocked(pin string) error {
	if a.pinHash != nil {
		return ctapErr(fido.CTAPPINAuthInvalid)
	}
	if err := a.checkPolicy(pin); err != nil {
		return err
	}
	a.pinHash = hashPIN(pin)
	a.retries = MaxPINRetries
	a.consecutive = 0
	a.changedLocked()
	return nil
}

// ChangePIN is changePIN (0x04): the current PIN is checked first (and a
// wrong one costs a retry), then the new one against the policy.
func (a *Authenticator) ChangePIN(ctx context.Context, oldPIN, newPIN string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(ctx); err != nil {
		return err
	}
	return a.changePINLocked(hashPIN(oldPIN), newPIN)
}

func (a *Authenticator) changePINLocked(oldHash []byte, newPIN string) error {
	if err := a.verifyPINHash(oldHash); err != nil {
		return err
	}
	if err := a.checkPolicy(newPIN); err != nil {
		return err
	}
	a.pinHash = hashPIN(newPIN)
	a.forcePINChange = false
	a.changedLocked()
	// A new PIN invalidates every PIN token (CTAP 2.1 §6.5.5.6).
	a.sess.token = nil
	return nil
}

// pinToken is the getPinToken step credential management starts with.
func (a *Authenticator) pinToken(ctx context.Context, pin string) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	if !a.credMgmt() {
		// Before 5.2 there is no authenticatorCredentialManagement (0x0A,
		// or 0x41 preview): the key does not know the command.
		return ctapErr(fido.CTAPInvalidCommand)
	}
	if a.forcePINChange {
		return ctapErr(fido.CTAPPINPolicyViolation)
	}
	return a.verifyPIN(pin)
}

// CredentialsMetadata is getCredsMetadata (0x01).
func (a *Authenticator) CredentialsMetadata(ctx context.Context, pin string) (existing, remaining int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.pinToken(ctx, pin); err != nil {
		return 0, 0, err
	}
	return len(a.creds), a.capacity() - len(a.creds), nil
}

// RelyingParties is enumerateRPsBegin/GetNextRP, in registration order.
// With no credentials the key answers NO_CREDENTIALS (CTAP 2.1 §6.8.3).
func (a *Authenticator) RelyingParties(ctx context.Context, pin string) ([]fido.RelyingParty, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.pinToken(ctx, pin); err != nil {
		return nil, err
	}
	var rps []fido.RelyingParty
	seen := map[string]bool{}
	for _, c := range a.creds {
		if !seen[c.rpID] {
			seen[c.rpID] = true
			rps = append(rps, fido.RelyingParty{ID: c.rpID, Name: c.rpName})
		}
	}
	if len(rps) == 0 {
		return nil, ctapErr(fido.CTAPNoCredentials)
	}
	return rps, nil
}

// Credentials is enumerateCredentialsBegin/GetNextCredential for one RP;
// NO_CREDENTIALS when it has none (CTAP 2.1 §6.8.4).
func (a *Authenticator) Credentials(ctx context.Context, pin, rpID string) ([]fido.Credential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.pinToken(ctx, pin); err != nil {
		return nil, err
	}
	var out []fido.Credential
	for _, c := range a.creds {
		if c.rpID == rpID {
			out = append(out, fido.Credential{RPID: c.rpID, UserName: c.userName, UserDisplayName: c.userDisplay})
		}
	}
	if len(out) == 0 {
		return nil, ctapErr(fido.CTAPNoCredentials)
	}
	return out, nil
}

// AddCredential stores a discoverable credential as a website's
// registration (authenticatorMakeCredential with rk=true) would, with a
// fresh key pair, without PIN or touch. It is for tests of what reads the
// store, and for the simulated browser where no FIDO HID node lets it go
// through libfido2 (internal/simulation: not on Linux); elsewhere
// registrations are made over CTAP (makeCredential, webauthn.go). The user
// handle is derived from the RP ID and user name, so registering the same
// user name again for an RP replaces the credential, as on a real key for
// the same user handle; a full store answers KEY_STORE_FULL (CTAP 2.1
// §6.1.2 step 17).
func (a *Authenticator) AddCredential(rpID, rpName, userName, displayName string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.begin(context.Background()); err != nil {
		return err
	}
	if rpID == "" {
		return fmt.Errorf("simfido: empty RP ID: %w", device.ErrInvalidArgument)
	}
	c, err := a.newCredential(rpID, 1)
	if err != nil {
		return err
	}
	c.rpName, c.userName, c.userDisplay, c.userID = rpName, userName, displayName, derivedUserID(rpID, userName)
	return a.storeLocked(c)
}

// derivedUserID is the user handle of a credential AddCredential made
// (or an older simulator's state kept without one): stable for an RP and
// user name.
func derivedUserID(rpID, userName string) []byte {
	h := sha256.Sum256([]byte("user\x00" + rpID + "\x00" + userName))
	return h[:16]
}

// storeLocked keeps c as a discoverable credential: it replaces one of the
// same RP and user handle (CTAP 2.1 §6.1.2 step 17), or is added if the
// store has room (else KEY_STORE_FULL).
func (a *Authenticator) storeLocked(c credential) error {
	for i := range a.creds {
		if a.creds[i].rpID == c.rpID && bytes.Equal(a.creds[i].userID, c.userID) {
			a.creds[i] = c
			a.changedLocked()
			return nil
		}
	}
	if len(a.creds) >= a.capacity() {
		return ctapErr(CTAPKeyStoreFull)
	}
	a.creds = append(a.creds, c)
	a.changedLocked()
	return nil
}

// CTAPKeyStoreFull is CTAP2_ERR_KEY_STORE_FULL (CTAP 2.1 §8.2).
const CTAPKeyStoreFull byte = 0x28

// SetForcePINChange sets getInfo's forcePINChange, as an administrator's
// setMinPINLength with forceChangePin would (CTAP 2.1 §6.11.4). Until the
// PIN is changed, PIN-token operations fail with PIN_POLICY_VIOLATION.
func (a *Authenticator) SetForcePINChange(force bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forcePINChange = force
	a.changedLocked()
}

// Reset is authenticatorReset (0x07). A YubiKey allows it only within 5
// seconds of power-up, answering NOT_ALLOWED later (ykman 4.0.9
// cli/fido.py "Reset must be triggered within 5 seconds after the YubiKey
// is inserted"; go-libfido2's Reset doc says the same), though CTAP 2.1
// §6.6 allows 10 seconds. It then waits for a touch; without one a YubiKey
// answers ACTION_TIMEOUT (0x3A; ykman and go-libfido2 both expect that
// code, where CTAP 2.1 names USER_ACTION_TIMEOUT). The touch is awaited
// without holding the lock, so other calls (and Remove) proceed meanwhile.
func (a *Authenticator) Reset(ctx context.Context) error {
	a.mu.Lock()
	if err := a.begin(ctx); err != nil {
		a.mu.Unlock()
		return err
	}
	if a.cfg.Now().Sub(a.poweredAt) > a.cfg.ResetWindow {
		a.mu.Unlock()
		return ctapErr(fido.CTAPNotAllowed)
	}
	touch := a.cfg.Touch
	a.mu.Unlock()

	if touch != nil {
		if err := touch(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return ctapErr(fido.CTAPActionTimeout)
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.present {
		return fmt.Errorf("%s: %w", a.path, device.ErrRemoved)
	}
	a.pinHash = nil
	a.retries = MaxPINRetries
	a.consecutive = 0
	a.authBlocked = false
	a.forcePINChange = false
	a.creds = nil
	a.wrapKey = newWrapKey()
	a.sess = session{}
	a.changedLocked()
	return nil
}

// Close does nothing: the simulated device stays available to other
// handles, as a HID device does after one process closes it.
func (a *Authenticator) Close() error { return nil }
