// Package stepstest provides in-memory fakes of everything package steps
// asks of the outside (keys, browser, clock, prompter, tracker, macOS
// sc_auth), and RunFullFlow, a whole-wizard test that can be re-run against
// any steps.Keys (the fake here, or one over the YubiKey simulator).
//
// The fakes behave like the real things where the wizard depends on it
// (checked by running RunFullFlow and the error cases over device/fido,
// device/piv and device/mgmt on the simulator): FakeKeys counts FIDO2 PIN
// retries down, refuses PINs after three wrong ones in a row until the key
// is replugged (*fido.PowerCycleError), blocks at zero, answers for keys
// that are not plugged in with *device.KeyNotFoundError, re-enumerates a key
// after an OTP change, and keeps passkeys per RP ID and user name.
package stepstest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/steps"
)

// Op names a FakeKeys method, for hooks.
type Op string

// Operations.
const (
	OpList          Op = "List"
	OpFIDOState     Op = "FIDOState"
	OpSetFIDOPIN    Op = "SetFIDOPIN"
	OpChangeFIDOPIN Op = "ChangeFIDOPIN"
	OpHasCredential Op = "HasCredential"
	OpProvisionPIV  Op = "ProvisionPIV"
	OpPIVState      Op = "PIVState"
	OpDisableOTP    Op = "DisableOTP"
	OpAttestation   Op = "Attestation"
)

// FakeKey is one simulated key's state.
type FakeKey struct {
	Key device.Key
	// FIDO2
	FIDOPIN        string // "" = not set
	FIDORetries    int
	MinPINLength   int
	ForcePINChange bool
	Passkeys       []fido.Credential
	// PIV
	PIVPIN, PIVPUK string
	PIVRetries     int
	PIVDefaultPIN  bool
	PIVDefaultPUK  bool
	MgmtProtected  bool
	Identities     []string
	// Management
	LockCode bool

	// wrongInARow counts wrong FIDO2 PINs since the key was plugged in.
	wrongInARow int
}

// NewKey returns a factory-fresh key: a 5C Nano (nano) or a 5C NFC.
func NewKey(serial uint32, nano bool) *FakeKey {
	info := device.Info{Serial: serial, Version: device.Version{Major: 5, Minor: 7, Patch: 1},
		USBSupported: device.CapOTP | device.CapU2F | device.CapFIDO2 | device.CapOATH | device.CapPIV | device.CapOpenPGP | device.CapHSMAuth}
	info.USBEnabled = info.USBSupported
	if nano {
		info.FormFactor = device.FormUSBCNano
	} else {
		info.FormFactor = device.FormUSBCKeychain
		info.HasNFC = true
		info.NFCSupported = info.USBSupported
		info.NFCEnabled = info.USBSupported
	}
	return &FakeKey{
		Key:         device.Key{Serial: serial, Model: info.Model(), Info: info, Reader: fmt.Sprintf("Fake %d", serial)},
		FIDORetries: 8, MinPINLength: 4,
		PIVPIN: "123456", PIVPUK: "12345678", PIVRetries: 3, PIVDefaultPIN: true, PIVDefaultPUK: true,
	}
}

// FakeKeys implements steps.Keys over in-memory keys.
type FakeKeys struct {
	mu       sync.Mutex
	keys     map[uint32]*FakeKey
	plugged  map[uint32]bool
	watchers []chan steps.KeyEvent
	// Hook, if set, runs at the start of every operation (outside the
	// lock); a non-nil error is returned as the operation's result. Tests
	// use it to pull a key out mid-step.
	Hook func(op Op, serial uint32) error
	// Calls records operations in order ("Op serial").
	Calls []string
	// OnReboot, if set, runs while a key is away rebooting after
	// DisableOTP (between its leaving and its coming back), outside the
	// lock: tests look at what the person sees then.
	OnReboot func(serial uint32)
}

var _ steps.Keys = (*FakeKeys)(nil)

// NewFakeKeys returns FakeKeys holding keys, all plugged in.
func NewFakeKeys(keys ...*FakeKey) *FakeKeys {
	f := &FakeKeys{keys: map[uint32]*FakeKey{}, plugged: map[uint32]bool{}}
	for _, k := range keys {
		f.keys[k.Key.Serial] = k
		f.plugged[k.Key.Serial] = true
	}
	return f
}

// Add adds a key and plugs it in.
func (f *FakeKeys) Add(k *FakeKey) {
	f.mu.Lock()
	f.keys[k.Key.Serial] = k
	f.mu.Unlock()
	f.Plug(k.Key.Serial)
}

// Plug plugs a known key in (powering it up afresh).
func (f *FakeKeys) Plug(serial uint32) {
	f.mu.Lock()
	f.plugged[serial] = true
	f.keys[serial].wrongInARow = 0
	k := f.keys[serial].Key
	f.mu.Unlock()
	f.emit(steps.KeyEvent{Kind: steps.KeyAdded, Key: k})
}

// Unplug pulls a key out.
func (f *FakeKeys) Unplug(serial uint32) {
	f.mu.Lock()
	delete(f.plugged, serial)
	f.mu.Unlock()
	f.emit(steps.KeyEvent{Kind: steps.KeyRemoved, Key: device.Key{Serial: serial}})
}

// Key returns a key's state (for assertions).
func (f *FakeKeys) Key(serial uint32) *FakeKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[serial]
}

// RegisterPasskey stores a discoverable credential, as a browser
// registration with the key would.
func (f *FakeKeys) RegisterPasskey(serial uint32, rpID, userName string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[serial]
	if !ok || !f.plugged[serial] {
		return &device.KeyNotFoundError{Serial: serial}
	}
	if k.FIDOPIN == "" {
		return device.ErrPINNotSet
	}
	k.Passkeys = append(k.Passkeys, fido.Credential{RPID: rpID, UserName: userName})
	return nil
}

func (f *FakeKeys) emit(ev steps.KeyEvent) {
	// Sent under the lock: Watch closes a channel only after taking it
	// out of watchers under the same lock, so no send reaches a closed
	// channel. The sends never block.
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.watchers {
		select {
		case w <- ev:
		default: // a slow watcher loses events rather than blocking the test
		}
	}
}

// begin runs the hook, then locks and finds a plugged-in key.
func (f *FakeKeys) begin(op Op, serial uint32) (*FakeKey, func(), error) {
	f.mu.Lock()
	f.Calls = append(f.Calls, fmt.Sprintf("%s %d", op, serial))
	hook := f.Hook
	f.mu.Unlock()
	if hook != nil {
		if err := hook(op, serial); err != nil {
			return nil, nil, err
		}
	}
	f.mu.Lock()
	k, ok := f.keys[serial]
	if !ok || !f.plugged[serial] {
		present := []uint32{}
		for s := range f.plugged {
			present = append(present, s)
		}
		slices.Sort(present)
		f.mu.Unlock()
		return nil, nil, &device.KeyNotFoundError{Serial: serial, Present: present}
	}
	return k, f.mu.Unlock, nil
}

// List returns the plugged-in keys by serial.
func (f *FakeKeys) List(ctx context.Context) ([]device.Key, error) {
	f.mu.Lock()
	f.Calls = append(f.Calls, string(OpList))
	hook := f.Hook
	f.mu.Unlock()
	if hook != nil {
		if err := hook(OpList, 0); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []device.Key
	for _, s := range sortedKeys(f.plugged) {
		k := f.keys[s]
		key := k.Key
		key.FIDO = k.fidoState()
		out = append(out, key)
	}
	return out, nil
}

func sortedKeys(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Watch reports Plug and Unplug (and OTP re-enumeration) until ctx ends.
func (f *FakeKeys) Watch(ctx context.Context) (<-chan steps.KeyEvent, error) {
	ch := make(chan steps.KeyEvent, 64)
	f.mu.Lock()
	f.watchers = append(f.watchers, ch)
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		f.watchers = slices.DeleteFunc(f.watchers, func(c chan steps.KeyEvent) bool { return c == ch })
		f.mu.Unlock()
		close(ch)
	}()
	return ch, nil
}

func (k *FakeKey) fidoState() *device.FIDOState {
	return &device.FIDOState{Path: fmt.Sprintf("fake:%d", k.Key.Serial), PINSet: k.FIDOPIN != "", PINRetries: k.FIDORetries,
		MinPINLength: k.MinPINLength, ForcePINChange: k.ForcePINChange, CredMgmt: true, Versions: []string{"FIDO_2_0", "FIDO_2_1"}}
}

// FIDOState reads the FIDO2 state.
func (f *FakeKeys) FIDOState(ctx context.Context, serial uint32) (*device.FIDOState, error) {
	k, unlock, err := f.begin(OpFIDOState, serial)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return k.fidoState(), nil
}

// checkFIDOPIN is the authenticator's clientPIN check (CTAP 2.1 §6.5.5.7):
// a wrong PIN costs a retry, at zero the PIN is blocked for good; the
// third wrong PIN in a row answers PIN_AUTH_BLOCKED and every PIN is
// refused until the key is replugged (as simfido and a YubiKey 5 do).
func (k *FakeKey) checkFIDOPIN(pin string) error {
	if k.FIDOPIN == "" {
		return device.ErrPINNotSet
	}
	if k.FIDORetries == 0 {
		return &device.PINError{Which: device.FIDO2PIN, Retries: 0}
	}
	if k.wrongInARow >= 3 {
		return &fido.PowerCycleError{Retries: k.FIDORetries}
	}
	if pin != k.FIDOPIN {
		k.FIDORetries--
		k.wrongInARow++
		if k.FIDORetries > 0 && k.wrongInARow == 3 {
			return &fido.PowerCycleError{Retries: k.FIDORetries}
		}
		return &device.PINError{Which: device.FIDO2PIN, Retries: k.FIDORetries}
	}
	k.FIDORetries, k.wrongInARow = 8, 0
	return nil
}

// pinPolicy is the authenticator's own check of a new PIN: the one FIDO2
// PIN rule with the key's minimum.
func (k *FakeKey) pinPolicy(pin string) error {
	return device.FIDO2PINRule(k.Key.Info, k.MinPINLength, 0).Check(pin)
}

// SetFIDOPIN sets the first PIN.
func (f *FakeKeys) SetFIDOPIN(ctx context.Context, serial uint32, pin string) error {
	k, unlock, err := f.begin(OpSetFIDOPIN, serial)
	if err != nil {
		return err
	}
	defer unlock()
	if k.FIDOPIN != "" {
		return &fido.CTAPError{Code: fido.CTAPNotAllowed}
	}
	if err := k.pinPolicy(pin); err != nil {
		return err
	}
	k.FIDOPIN = pin
	return nil
}

// ChangeFIDOPIN changes the PIN.
func (f *FakeKeys) ChangeFIDOPIN(ctx context.Context, serial uint32, oldPIN, newPIN string) error {
	k, unlock, err := f.begin(OpChangeFIDOPIN, serial)
	if err != nil {
		return err
	}
	defer unlock()
	if err := k.checkFIDOPIN(oldPIN); err != nil {
		return err
	}
	if err := k.pinPolicy(newPIN); err != nil {
		return err
	}
	k.FIDOPIN, k.ForcePINChange = newPIN, false
	return nil
}

// HasCredential looks for a passkey (RP ID and user name compared ignoring
// case, user "" for any), as steps.Keys documents.
func (f *FakeKeys) HasCredential(ctx context.Context, serial uint32, pin, rpID, userName string) (bool, error) {
	k, unlock, err := f.begin(OpHasCredential, serial)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := k.checkFIDOPIN(pin); err != nil {
		return false, err
	}
	for _, c := range k.Passkeys {
		if strings.EqualFold(c.RPID, rpID) && (userName == "" || strings.EqualFold(c.UserName, userName)) {
			return true, nil
		}
	}
	return false, nil
}

// ProvisionPIV replaces PIN, PUK and management key and "generates" 9a/9d.
func (f *FakeKeys) ProvisionPIV(ctx context.Context, serial uint32, p steps.PIVParams) (steps.PIVResult, error) {
	k, unlock, err := f.begin(OpProvisionPIV, serial)
	if err != nil {
		return steps.PIVResult{}, err
	}
	defer unlock()
	cur := p.CurrentPIN
	if cur == "" {
		cur = "123456"
	}
	if k.PIVRetries == 0 {
		return steps.PIVResult{}, &device.PINError{Which: device.PIVPIN, Retries: 0}
	}
	if cur != k.PIVPIN {
		k.PIVRetries--
		return steps.PIVResult{}, &device.PINError{Which: device.PIVPIN, Retries: k.PIVRetries}
	}
	k.PIVRetries = 3
	if p.NewPIN != "" {
		k.PIVPIN, k.PIVDefaultPIN = p.NewPIN, false
	}
	if p.NewPUK != "" {
		k.PIVPUK, k.PIVDefaultPUK = p.NewPUK, false
	}
	k.MgmtProtected = true
	gen := len(k.Identities)
	k.Identities = nil
	for _, slot := range []string{"9a", "9d"} {
		h := sha1.Sum(fmt.Appendf(nil, "%d/%s/%d", serial, slot, gen))
		k.Identities = append(k.Identities, strings.ToUpper(hex.EncodeToString(h[:])))
	}
	return steps.PIVResult{Identities: slices.Clone(k.Identities), ManagementKeyProtected: true}, nil
}

// PIVState reads the PIV state.
func (f *FakeKeys) PIVState(ctx context.Context, serial uint32) (*device.PIVState, error) {
	k, unlock, err := f.begin(OpPIVState, serial)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dp, dk, dm := k.PIVDefaultPIN, k.PIVDefaultPUK, !k.MgmtProtected
	return &device.PIVState{PINRetries: k.PIVRetries, PUKRetries: 3, DefaultPIN: &dp, DefaultPUK: &dk, DefaultMgmtKey: &dm, MgmtKeyProtected: k.MgmtProtected}, nil
}

// DisableOTP clears OTP and re-enumerates the key (it disappears and comes
// back, as a real key does after a configuration write with reboot,
// docs/yubikey-protocol.md §1.9).
func (f *FakeKeys) DisableOTP(ctx context.Context, serial uint32, nfcToo bool) (steps.OTPResult, error) {
	k, unlock, err := f.begin(OpDisableOTP, serial)
	if err != nil {
		return steps.OTPResult{}, err
	}
	if k.LockCode {
		unlock()
		return steps.OTPResult{}, device.ErrLocked
	}
	k.Key.Info.USBEnabled &^= device.CapOTP
	if nfcToo {
		k.Key.Info.NFCEnabled &^= device.CapOTP
	}
	res := steps.OTPResult{USBEnabled: k.Key.Info.USBEnabled, HasNFC: k.Key.Info.HasNFC, NFCEnabled: k.Key.Info.NFCEnabled}
	key := k.Key
	onReboot := f.OnReboot
	unlock()
	f.emit(steps.KeyEvent{Kind: steps.KeyRemoved, Key: device.Key{Serial: serial}})
	if onReboot != nil {
		onReboot(serial)
	}
	f.emit(steps.KeyEvent{Kind: steps.KeyAdded, Key: key})
	return res, nil
}

// Attestation returns PEM blocks of placeholder bytes naming the key.
func (f *FakeKeys) Attestation(ctx context.Context, serial uint32) (steps.Attestation, error) {
	_, unlock, err := f.begin(OpAttestation, serial)
	if err != nil {
		return steps.Attestation{}, err
	}
	defer unlock()
	// Well-formed PEM around placeholder bytes: enough for the wizard and
	// report plumbing; tracker/attest's own tests cover real chains.
	block := func(what string) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fmt.Appendf(nil, "fake %s certificate of %d", what, serial)}))
	}
	return steps.Attestation{DevicePEM: block("device"), SlotPEM: block("slot 95"), Slot: 0x95}, nil
}

// Browser records opened URLs; Err makes Open fail; OnOpen runs after a
// successful open (the flow test registers passkeys there).
type Browser struct {
	mu     sync.Mutex
	Err    error
	OnOpen func(url string)
	URLs   []string
}

// Open records url or fails with Err.
func (b *Browser) Open(url string) error {
	b.mu.Lock()
	if b.Err != nil {
		err := b.Err
		b.mu.Unlock()
		return err
	}
	b.URLs = append(b.URLs, url)
	on := b.OnOpen
	b.mu.Unlock()
	if on != nil {
		on(url)
	}
	return nil
}

// Opened returns the URLs opened so far.
func (b *Browser) Opened() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.URLs)
}

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	T  time.Time
}

// Now returns the set time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.T
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.T = c.T.Add(d)
	c.mu.Unlock()
}

// Prompter answers prompts from queues. PINs is consumed in order; an
// empty queue answers ErrCancelled. Confirms likewise (empty: yes).
type Prompter struct {
	mu       sync.Mutex
	PINs     []string
	Confirms []bool
	// PINFunc, if set, answers instead of the queue.
	PINFunc func(r steps.PINRequest) (string, error)
	// Requests and ConfirmRequests record what was asked (never the
	// answers).
	Requests        []steps.PINRequest
	ConfirmRequests []steps.ConfirmRequest
	Touches         []bool
}

// PIN answers from the queue.
func (p *Prompter) PIN(ctx context.Context, r steps.PINRequest) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Requests = append(p.Requests, r)
	if p.PINFunc != nil {
		return p.PINFunc(r)
	}
	if len(p.PINs) == 0 {
		return "", steps.ErrCancelled
	}
	pin := p.PINs[0]
	p.PINs = p.PINs[1:]
	return pin, nil
}

// Confirm answers from the queue (yes when empty).
func (p *Prompter) Confirm(ctx context.Context, r steps.ConfirmRequest) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ConfirmRequests = append(p.ConfirmRequests, r)
	if len(p.Confirms) == 0 {
		return true, nil
	}
	ok := p.Confirms[0]
	p.Confirms = p.Confirms[1:]
	return ok, nil
}

// TouchKey records touch notifications.
func (p *Prompter) TouchKey(key steps.KeyRef, waiting bool) {
	p.mu.Lock()
	p.Touches = append(p.Touches, waiting)
	p.mu.Unlock()
}

// LastRequest returns the last PIN request.
func (p *Prompter) LastRequest() steps.PINRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.Requests) == 0 {
		return steps.PINRequest{}
	}
	return p.Requests[len(p.Requests)-1]
}

// SmartCard fakes macOS sc_auth: Insert makes identities visible (as an
// inserted token's are), Pair pairs them.
type SmartCard struct {
	mu          sync.Mutex
	Unsupported string // non-empty: Supported() is false with this reason
	PairErr     error
	ListErr     error
	UnpairErr   error
	// KeepPaired makes Unpair succeed without unpairing (a pairing that
	// comes back, or an sc_auth that needed an administrator).
	KeepPaired bool
	// Unpaired lists the hashes Unpair was asked for.
	Unpaired []string
	ids      []steps.Identity
	paired   map[string][]string // user -> hashes
}

// Supported reports Unsupported.
func (s *SmartCard) Supported() (bool, string) { return s.Unsupported == "", s.Unsupported }

// Insert shows hashes as unpaired identities.
func (s *SmartCard) Insert(hashes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hashes {
		s.ids = append(s.ids, steps.Identity{Hash: h, Label: "Fake PIV " + h[:8]})
	}
}

// Paired lists the hashes paired with user.
func (s *SmartCard) Paired(ctx context.Context, user string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ListErr != nil {
		return nil, s.ListErr
	}
	return slices.Clone(s.paired[user]), nil
}

// Identities lists inserted identities.
func (s *SmartCard) Identities(ctx context.Context) ([]steps.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.ids)
	for i := range out {
		for _, hs := range s.paired {
			if slices.Contains(hs, out[i].Hash) {
				out[i].Paired = true
			}
		}
	}
	return out, nil
}

// Pair pairs hash with user, or fails with PairErr.
func (s *SmartCard) Pair(ctx context.Context, user, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.PairErr != nil {
		return s.PairErr
	}
	if !slices.ContainsFunc(s.ids, func(i steps.Identity) bool { return i.Hash == hash }) {
		return errors.New("sc_auth: identity not found")
	}
	if s.paired == nil {
		s.paired = map[string][]string{}
	}
	s.paired[user] = append(s.paired[user], hash)
	return nil
}

// Unpair removes hash's pairing with user, as `sc_auth unpair -u USER -h
// HASH` does; UnpairErr makes it fail, and KeepPaired makes it succeed
// without removing anything (to see the read-back catch it).
func (s *SmartCard) Unpair(ctx context.Context, user, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Unpaired = append(s.Unpaired, hash)
	if s.UnpairErr != nil {
		return s.UnpairErr
	}
	if s.KeepPaired || s.paired == nil {
		return nil
	}
	s.paired[user] = slices.DeleteFunc(s.paired[user], func(h string) bool { return h == hash })
	return nil
}

// PairedWith lists what is paired with user now (for tests to read what
// sc_auth would list).
func (s *SmartCard) PairedWith(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paired[user])
}

// LossReporter records loss reports; Err makes ReportLost fail (no
// network: wrap steps.ErrReportQueued, or a tracker that refuses).
type LossReporter struct {
	mu      sync.Mutex
	Err     error
	Reports []steps.LossReport
}

// ReportLost records r or fails with Err.
func (r *LossReporter) ReportLost(ctx context.Context, rep steps.LossReport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	r.Reports = append(r.Reports, rep)
	return nil
}

// Sent returns the loss reports received.
func (r *LossReporter) Sent() []steps.LossReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.Reports)
}

// Reporter records reports; Err makes Report fail (no network).
type Reporter struct {
	mu      sync.Mutex
	Err     error
	Reports []steps.Report
}

// Report records r or fails.
func (r *Reporter) Report(ctx context.Context, rep steps.Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	r.Reports = append(r.Reports, rep)
	return nil
}

// Sent returns the reports received.
func (r *Reporter) Sent() []steps.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.Reports)
}

// Tracker is a fake steps.Tracker: Codes maps each valid invite code to
// the person it is for; a code works once.
type Tracker struct {
	mu    sync.Mutex
	URL   string // the tracker's address once joined ("" before)
	Codes map[string]steps.JoinResult
	// Err, when set, is what Join returns (e.g. steps.ErrTrackerUnreachable).
	Err error
	// Joins counts the calls that reached the tracker.
	Joins int
}

// Connected reports the joined tracker.
func (t *Tracker) Connected() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.URL, t.URL != ""
}

// Join accepts each code in Codes once.
func (t *Tracker) Join(ctx context.Context, url, code string) (steps.JoinResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Joins++
	if t.Err != nil {
		return steps.JoinResult{}, t.Err
	}
	res, ok := t.Codes[code]
	if !ok {
		return steps.JoinResult{}, steps.ErrInviteRejected
	}
	delete(t.Codes, code)
	res.URL = url
	t.URL = url
	return res, nil
}
