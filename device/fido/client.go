package fido

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keywizard/keywizard/device"
)

// CTAP's PIN limits (CTAP 2.1 §6.5.5.5 setPIN/changePIN): at least
// minPINLength Unicode code points (4 unless getInfo says otherwise), and
// at most 63 bytes of UTF-8 because the PIN is padded to 64 bytes with at
// least one zero.
const (
	DefaultMinPINLength = 4
	MaxPINBytes         = 63
)

// DefaultTouchDelay is how long an operation that needs a touch runs before
// [Options.OnTouch] is told. A refusal (reset too late) arrives at once and
// shows no prompt; a key waiting for a touch gets its prompt well inside the
// 30 s a YubiKey waits.
const DefaultTouchDelay = 300 * time.Millisecond

// Options configures a [Client].
type Options struct {
	// Serial and Model name the physical key this authenticator belongs to,
	// as the scanner correlated it (the FIDO HID interface does not report
	// the serial). Reset refuses to run without them.
	Serial uint32
	Model  string
	// Firmware is the key's firmware from its management interface, zero
	// when unknown; Reset uses it to cross-check the AAGUID.
	Firmware device.Version
	// Match is how the FIDO device was tied to the key; Reset runs only
	// on device.MatchExact or device.MatchUnique.
	Match device.Match
	// OnTouch, if set, is called with true once an operation that needs a
	// touch has run for TouchDelay, and with false when that operation
	// returns (only after a true). It is the "touch your key" hook for a UI,
	// like yubikey-agent's 5 s notification timer and age's
	// plugin.ClientUI.WaitTimer. The true call comes from a timer
	// goroutine, the false one from the operation's; neither may block.
	OnTouch func(waiting bool)
	// TouchDelay is the wait before OnTouch(true); 0 = DefaultTouchDelay.
	TouchDelay time.Duration
}

// OptionsFor fills the key identity in Options from a scanned key: its
// serial, model, firmware and how its FIDO device was matched to it.
func OptionsFor(k *device.Key) Options {
	return Options{Serial: k.Serial, Model: k.Model, Firmware: k.Info.Version, Match: k.FIDOMatch}
}

// Client is keywizard's FIDO2 logic for one authenticator: every rule and
// error interpretation lives here, so that it is the same for a key on USB
// HID (package fido/libfido2) and the simulator (package sim/simfido).
// A Client is safe for concurrent use if its Authenticator is.
type Client struct {
	a    Authenticator
	opts Options
}

// NewClient returns a Client over a.
func NewClient(a Authenticator, opts Options) *Client {
	if opts.TouchDelay <= 0 {
		opts.TouchDelay = DefaultTouchDelay
	}
	return &Client{a: a, opts: opts}
}

// Close closes the authenticator.
func (c *Client) Close() error { return c.a.Close() }

// fail interprets err from operation op: CTAP statuses become keywizard's
// errors, with the PIN retry count read again where the error must carry
// it, and the result is wrapped with op as context.
func (c *Client) fail(ctx context.Context, op string, err error) error {
	retries := -1
	if code, ok := ctapCode(err); ok && needsRetries(code) {
		if n, rerr := c.a.PINRetries(ctx); rerr == nil {
			retries = n
		}
	}
	return fmt.Errorf("%s: %w", op, interpret(err, retries))
}

// info reads authenticatorGetInfo.
func (c *Client) info(ctx context.Context) (*RawInfo, error) {
	info, err := c.a.Info(ctx)
	if err != nil {
		return nil, c.fail(ctx, "reading FIDO2 info", err)
	}
	return info, nil
}

// minPINLength is getInfo's minPINLength, or CTAP's default 4 when the key
// does not report it (CTAP 2.1 §6.4 key 0x0D).
func (info *RawInfo) minPINLength() int {
	if info.MinPINLength > 0 {
		return info.MinPINLength
	}
	return DefaultMinPINLength
}

// State reads what the FIDO2 application reports: AAGUID, versions, whether
// a PIN is set (option clientPin) and its retries, the minimum PIN length,
// forcePINChange, whether credentials can be listed (credMgmt or the
// CTAP 2.1-pre credentialMgmtPreview) and the firmware (getInfo 0x0E).
func (c *Client) State(ctx context.Context) (*device.FIDOState, error) {
	info, err := c.info(ctx)
	if err != nil {
		return nil, err
	}
	st := &device.FIDOState{
		Path:           c.a.Path(),
		AAGUID:         FormatAAGUID(info.AAGUID),
		Versions:       append([]string(nil), info.Versions...),
		PINSet:         info.Options["clientPin"],
		PINRetries:     -1,
		MinPINLength:   info.minPINLength(),
		ForcePINChange: info.ForcePINChange,
		CredMgmt:       info.Options["credMgmt"] || info.Options["credentialMgmtPreview"],
		Firmware:       firmwareString(info.FirmwareVersion),
	}
	if _, ok := info.Options["clientPin"]; ok {
		n, err := c.a.PINRetries(ctx)
		if err != nil {
			return nil, c.fail(ctx, "reading FIDO2 PIN retries", err)
		}
		st.PINRetries = n
	}
	return st, nil
}

// firmwareString decodes getInfo firmwareVersion, 0x00MMmmpp as the
// YubiKey encodes it (docs/yubikey-protocol.md §3.2: 5.4.3 is 0x00050403).
func firmwareString(v int) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", v>>16&0xff, v>>8&0xff, v&0xff)
}

// PINRetries is the FIDO2 PIN retry counter.
func (c *Client) PINRetries(ctx context.Context) (int, error) {
	n, err := c.a.PINRetries(ctx)
	if err != nil {
		return 0, c.fail(ctx, "reading FIDO2 PIN retries", err)
	}
	return n, nil
}

// CheckPIN applies CTAP's rules for a new PIN: at least minLength Unicode
// code points (DefaultMinPINLength when minLength <= 0), at most 63 bytes of
// UTF-8, valid UTF-8, and no NUL (libfido2 passes PINs as C strings, which
// would cut it short). The error is a *PINPolicyError naming the rule; it
// matches device.ErrPINPolicy. A UI can call it as the user types.
func CheckPIN(pin string, minLength int) error {
	if minLength <= 0 {
		minLength = DefaultMinPINLength
	}
	switch {
	case !utf8.ValidString(pin):
		return &PINPolicyError{Rule: "only valid text characters"}
	case strings.IndexByte(pin, 0) >= 0:
		return &PINPolicyError{Rule: "no NUL characters"}
	case utf8.RuneCountInString(pin) < minLength:
		return &PINPolicyError{Rule: fmt.Sprintf("at least %d characters", minLength)}
	case len(pin) > MaxPINBytes:
		return &PINPolicyError{Rule: fmt.Sprintf("at most %d bytes (%d plain ASCII characters; accented and other letters take more)", MaxPINBytes, MaxPINBytes)}
	}
	return nil
}

// checkEntered refuses an entered PIN that cannot be right, before it costs
// a retry: every FIDO2 PIN has 4 to 63 bytes. (The key's own minimum may
// have been raised after the PIN was set, so only CTAP's floor applies.)
func checkEntered(pin string) error {
	if pin == "" {
		return fmt.Errorf("enter the key's FIDO2 PIN: %w", device.ErrInvalidArgument)
	}
	if CheckPIN(pin, DefaultMinPINLength) != nil {
		return fmt.Errorf("that cannot be the FIDO2 PIN (a FIDO2 PIN has %d to %d characters); nothing was sent to the key: %w",
			DefaultMinPINLength, MaxPINBytes, device.ErrInvalidArgument)
	}
	return nil
}

// SetPIN sets the first FIDO2 PIN. It checks the key's rules before sending
// anything: no PIN may be set yet (change it instead), and the PIN must meet
// [CheckPIN] with the key's minimum length.
func (c *Client) SetPIN(ctx context.Context, pin string) error {
	const op = "setting the FIDO2 PIN"
	info, err := c.info(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	set, supported := info.Options["clientPin"]
	if !supported {
		return fmt.Errorf("%s: this key has no FIDO2 PIN: %w", op, device.ErrUnsupported)
	}
	if set {
		return fmt.Errorf("%s: a FIDO2 PIN is already set on this key; change it with the current PIN instead: %w", op, device.ErrInvalidArgument)
	}
	if err := CheckPIN(pin, info.minPINLength()); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := c.a.SetPIN(ctx, pin); err != nil {
		if code, ok := ctapCode(err); ok && code == CTAPPINAuthInvalid {
			// CTAP 2.1 §6.5.5.5 setPIN: "If a PIN has already been set,
			// authenticator returns CTAP2_ERR_PIN_AUTH_INVALID" (set
			// meanwhile by another program).
			return fmt.Errorf("%s: a FIDO2 PIN is already set on this key; change it with the current PIN instead: %w", op,
				&statusError{meaning: device.ErrInvalidArgument, status: &CTAPError{Code: code}})
		}
		return c.fail(ctx, op, err)
	}
	return nil
}

// ChangePIN changes the FIDO2 PIN. It refuses when no PIN is set yet
// (device.ErrPINNotSet: set one instead), and checks the new PIN with
// [CheckPIN] before sending anything. A wrong old PIN is a *device.PINError
// with the retries left.
func (c *Client) ChangePIN(ctx context.Context, oldPIN, newPIN string) error {
	const op = "changing the FIDO2 PIN"
	info, err := c.info(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	set, supported := info.Options["clientPin"]
	if !supported {
		return fmt.Errorf("%s: this key has no FIDO2 PIN: %w", op, device.ErrUnsupported)
	}
	if !set {
		return fmt.Errorf("%s: set a PIN first: %w", op, device.ErrPINNotSet)
	}
	if err := checkEntered(oldPIN); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := CheckPIN(newPIN, info.minPINLength()); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := c.a.ChangePIN(ctx, oldPIN, newPIN); err != nil {
		return c.fail(ctx, op, err)
	}
	return nil
}

// RPCredentials is one relying party and its discoverable credentials.
type RPCredentials struct {
	RP          RelyingParty
	Credentials []Credential
}

// requireCredMgmt checks, before the PIN is sent, that credentials can be
// listed: a PIN is set and the key has credential management.
func (c *Client) requireCredMgmt(ctx context.Context, pin string) error {
	info, err := c.info(ctx)
	if err != nil {
		return err
	}
	if !info.Options["clientPin"] {
		return fmt.Errorf("listing credentials needs a FIDO2 PIN; set one first: %w", device.ErrPINNotSet)
	}
	if info.ForcePINChange {
		// CTAP 2.1 §6.5.5.7: with forcePINChange the key refuses PIN
		// tokens (PIN_POLICY_VIOLATION) until the PIN is changed; ykman
		// says the same ("Change the PIN first").
		return fmt.Errorf("the key requires its FIDO2 PIN to be changed before it can be used; change the PIN first: %w", device.ErrPINPolicy)
	}
	if !info.Options["credMgmt"] && !info.Options["credentialMgmtPreview"] {
		// Before firmware 5.2 a YubiKey cannot list its credentials.
		return fmt.Errorf("this key's firmware cannot list its FIDO2 credentials: %w", device.ErrUnsupported)
	}
	return checkEntered(pin)
}

// relyingParties lists the RPs with discoverable credentials; a key with
// none yields an empty list. Like ykman (cli/fido.py _gen_creds) it asks
// for the metadata first, so an empty key is not asked to enumerate.
func (c *Client) relyingParties(ctx context.Context, pin string) ([]RelyingParty, error) {
	existing, _, err := c.a.CredentialsMetadata(ctx, pin)
	if code, ok := ctapCode(err); ok && code == CTAPNoCredentials {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail(ctx, "reading FIDO2 credential metadata", err)
	}
	if existing == 0 {
		return nil, nil
	}
	rps, err := c.a.RelyingParties(ctx, pin)
	if code, ok := ctapCode(err); ok && code == CTAPNoCredentials {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail(ctx, "listing FIDO2 relying parties", err)
	}
	return rps, nil
}

// rpCredentials lists one RP's credentials; none is an empty list.
func (c *Client) rpCredentials(ctx context.Context, pin, rpID string) ([]Credential, error) {
	creds, err := c.a.Credentials(ctx, pin, rpID)
	if code, ok := ctapCode(err); ok && code == CTAPNoCredentials {
		return []Credential{}, nil
	}
	if err != nil {
		return nil, c.fail(ctx, "listing FIDO2 credentials for "+rpID, err)
	}
	return creds, nil
}

// Credentials lists every relying party with discoverable credentials on
// the key, and their credentials, sorted by RP ID. It needs the PIN; a
// wrong one is a *device.PINError with the retries left. An empty key gives
// an empty list, not an error.
func (c *Client) Credentials(ctx context.Context, pin string) ([]RPCredentials, error) {
	const op = "listing FIDO2 credentials"
	if err := c.requireCredMgmt(ctx, pin); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	rps, err := c.relyingParties(ctx, pin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out := []RPCredentials{}
	for _, rp := range rps {
		creds, err := c.rpCredentials(ctx, pin, rp.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, RPCredentials{RP: rp, Credentials: creds})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RP.ID < out[j].RP.ID })
	return out, nil
}

// HasCredential reports whether the key holds a discoverable credential for
// rpID (compared without letter case: RP IDs are domain names) and, unless
// userName is "", for that user name as SameUserName compares them. It is
// the wizard's "verified-on-key" evidence that a site registration reached
// this key.
func (c *Client) HasCredential(ctx context.Context, pin, rpID, userName string) (bool, error) {
	const op = "looking for a FIDO2 credential"
	if rpID == "" {
		return false, fmt.Errorf("%s: no relying party ID given: %w", op, device.ErrInvalidArgument)
	}
	if err := c.requireCredMgmt(ctx, pin); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	rps, err := c.relyingParties(ctx, pin)
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	for _, rp := range rps {
		if !strings.EqualFold(rp.ID, rpID) {
			continue
		}
		creds, err := c.rpCredentials(ctx, pin, rp.ID)
		if err != nil {
			return false, fmt.Errorf("%s: %w", op, err)
		}
		for _, cr := range creds {
			if userName == "" || SameUserName(cr.UserName, userName) {
				return true, nil
			}
		}
	}
	return false, nil
}

// Confirmation is the caller's statement that the user agreed to erase the
// FIDO2 application of one key, named as the user saw it. Build it from
// what the user confirmed, never from the Client's own Options.
type Confirmation struct {
	Serial uint32
	Model  string
}

// ResetInstructions is what a UI tells the user before [Client.Reset].
const ResetInstructions = "Resetting FIDO erases every passkey and security-key login on this key and removes its FIDO2 PIN. " +
	"Unplug the key and plug it back in, start the reset within 5 seconds, then touch the key when it blinks."

// Reset erases the FIDO2 application: every credential and the PIN.
//
// It is destructive, so it runs only when confirm names this Client's key
// (serial and model) and the key is identified unambiguously; it also
// checks the authenticator's AAGUID against the model and firmware before
// sending anything. A YubiKey accepts reset only within [ResetWindow] of
// being plugged in, and then only with a touch: the caller must have told
// the user ([ResetInstructions]) and the user must have just re-inserted
// the key. Too late is [ErrResetNotAllowed]; no touch matches
// device.ErrTouchRequired. [Options.OnTouch] is told while the key waits.
func (c *Client) Reset(ctx context.Context, confirm Confirmation) error {
	name := fmt.Sprintf("%s %d", c.opts.Model, c.opts.Serial)
	op := "resetting FIDO on " + name
	switch {
	case c.opts.Serial == 0 || c.opts.Model == "":
		return fmt.Errorf("resetting FIDO: it is not known which key this FIDO device belongs to; plug in only the key to reset and scan again: %w", device.ErrAmbiguous)
	case c.opts.Match != device.MatchExact && c.opts.Match != device.MatchUnique:
		return fmt.Errorf("%s: it is not certain that this FIDO device is that key (match %q); unplug the other keys and scan again: %w", op, c.opts.Match, device.ErrAmbiguous)
	case confirm.Serial != c.opts.Serial || confirm.Model != c.opts.Model:
		return fmt.Errorf("%s: the confirmation names %s %d, not this key; nothing was erased: %w",
			op, confirm.Model, confirm.Serial, device.ErrInvalidArgument)
	}
	info, err := c.info(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := c.checkIdentity(info); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	err = c.withTouch(func() error { return c.a.Reset(ctx) })
	if code, ok := ctapCode(err); ok && (code == CTAPNotAllowed || code == CTAPPINAuthBlocked) {
		// ykman 4.0.9 (cli/fido.py reset) reads PIN_AUTH_BLOCKED from a
		// reset like NOT_ALLOWED: both mean "not just plugged in".
		return fmt.Errorf("%s: %w", op, &statusError{meaning: ErrResetNotAllowed, status: &CTAPError{Code: code}})
	}
	if err != nil {
		return c.fail(ctx, op, err)
	}
	return nil
}

// checkIdentity refuses a FIDO device whose own report contradicts the key
// it is said to belong to: a different firmware version, or a Yubico AAGUID
// that this model and firmware never report (fido.YubicoAAGUIDs).
func (c *Client) checkIdentity(info *RawInfo) error {
	fw := c.opts.Firmware
	if fw == (device.Version{}) {
		return nil
	}
	if s := firmwareString(info.FirmwareVersion); s != "" && s != fw.String() {
		return fmt.Errorf("the FIDO device reports firmware %s but %s %d has %s; it is another key: %w",
			s, c.opts.Model, c.opts.Serial, fw, device.ErrAmbiguous)
	}
	aaguid := FormatAAGUID(info.AAGUID)
	if len(LookupAAGUID(aaguid)) > 0 && !MatchesAAGUID(aaguid, c.opts.Model, fw) {
		return fmt.Errorf("the FIDO device's AAGUID %s is not that of a %s with firmware %s; it is another key: %w",
			aaguid, c.opts.Model, fw, device.ErrAmbiguous)
	}
	return nil
}

// withTouch runs op, telling OnTouch when it has been waiting TouchDelay
// (then, when it returns, that it no longer waits).
func (c *Client) withTouch(op func() error) error {
	if c.opts.OnTouch == nil {
		return op()
	}
	var (
		mu    sync.Mutex
		done  bool
		shown bool
	)
	t := time.AfterFunc(c.opts.TouchDelay, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			shown = true
			c.opts.OnTouch(true)
		}
	})
	err := op()
	t.Stop()
	mu.Lock()
	defer mu.Unlock()
	done = true
	if shown {
		c.opts.OnTouch(false)
	}
	return err
}

// SameUserName is keywizard's one rule for whether a credential's user name
// (user.name, as the site stored it at registration) is the account the
// person is known by at that service: equal ignoring letter case. The
// services' user names are e-mail addresses and logins such as GitHub's,
// which the services treat without regard to case, and people type them
// either way; a site may also store the name in the case it normalised to.
func SameUserName(stored, account string) bool { return strings.EqualFold(stored, account) }
