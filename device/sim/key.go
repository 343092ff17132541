package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/sim/simfido"
)

// Config describes the key to simulate.
type Config struct {
	// Serial is the key's serial number; it must not be zero.
	Serial uint32
	// Model is a [Presets] name: "5c-nano", "5c-nfc", "5ci", "5-nfc",
	// "5-nano", "5c" (or "4" for a YubiKey 4).
	Model string
	// Firmware defaults to the preset's. Minor and patch must be single
	// digits: ykman parses the management SELECT string with a one-digit
	// pattern (docs/yubikey-protocol.md §1.1).
	Firmware device.Version
	// LockCode, if set, is the 16-byte configuration lock code the key
	// starts with.
	LockCode []byte

	// USBEnabled and NFCEnabled override the factory enabled masks (zero =
	// everything supported, as shipped).
	USBEnabled device.Capability
	NFCEnabled device.Capability
	// DeviceFlags (tag 08), AutoEjectTimeout (tag 06, seconds) and
	// ChalRespTimeout (tag 07, seconds; zero = the factory 15) start values.
	DeviceFlags      uint8
	AutoEjectTimeout uint16
	ChalRespTimeout  uint8

	// FIDONow and FIDOTouch are the FIDO side's clock and simulated
	// user touch (simfido.Config.Now, .Touch); nil = time.Now, touched at
	// once.
	FIDONow   func() time.Time
	FIDOTouch func(ctx context.Context) error
	// FIDOOverCCID makes the FIDO2 application selectable over USB CCID
	// too (CTAP 2.1 §11.3's ISO 7816 transport), as it is over NFC and
	// as YubiKeys from firmware 5.8 offer it (§3.2): ykman and
	// python-fido2 then reach the key's FIDO2 side through
	// "Virtual PCD 00 00". Off, the simulator is faithful to firmware
	// before 5.8. `keywizard sim` turns it on ([Run]).
	FIDOOverCCID bool

	// Rand is the randomness for witnesses, challenges, serial numbers of
	// attestation certificates and RSA key generation; nil = crypto/rand.
	// (Go's ECDSA key generation ignores it.)
	Rand io.Reader
}

// Key is one simulated YubiKey. All methods are safe for concurrent use: a
// key may be driven by vpcd and inspected by a test at the same time.
type Key struct {
	mu     sync.Mutex
	preset Preset
	serial uint32
	fw     device.Version
	rand   io.Reader

	mgmt mgmtState
	piv  *pivState
	att  *attestationKey
	fido *simfido.Authenticator
	apps appsState
	// fidoCCID: the FIDO2 application answers over USB CCID too
	// (Config.FIDOOverCCID).
	fidoCCID bool

	// Session (volatile) state, cleared on power off, reset and reboot.
	sess session

	// gen counts "insertions": it changes whenever the key is unplugged,
	// rebooted or re-inserted, which makes every open Card stale, as a PC/SC
	// handle becomes invalid when the card goes away.
	gen     uint64
	present bool
	// changed is closed (and replaced) whenever present or gen changes, so
	// attachments can wait for it.
	changed chan struct{}

	// Fault injection.
	removeAfter int // commands still answered before removal; <0 = off
	removeINS   int // INS of the command during which the key is pulled out; <0 = off
	mangle      func([]byte) []byte
	mangleINS   int // INS the mangle waits for; -1 = the next response

	// rebootPending is set by a WRITE CONFIG with REBOOT; the transport
	// answers, then re-enumerates.
	rebootPending bool
	commands      uint64

	// onChange is told after every command, which may have changed the
	// persistent state (SetOnChange).
	onChange func()
}

// session is state a card loses when it loses power.
type session struct {
	applet     applet
	pivPIN     bool // PIN verified
	pivMgmt    bool // management key authenticated
	witness    []byte
	challenge  []byte
	pending    []byte // response bytes still to be fetched with GET RESPONSE
	chain      []byte // data of chained commands (CLA bit 0x10) so far
	chainINS   byte
	chainValid bool

	pgpVerified [3]bool // OpenPGP PW1 (81), PW1 (82), PW3 verified
	pgpCert     int     // OpenPGP SELECT DATA occurrence of 7F21
}

type applet int

const (
	appletNone applet = iota
	appletMgmt
	appletPIV
	appletFIDO // NFC, and USB CCID with Config.FIDOOverCCID (firmware 5.8, §3.2)
	appletOATH
	appletOpenPGP
	appletHSMAuth
	appletOTP
)

// AIDs (docs/yubikey-protocol.md §1.1, §4.1), the simulator's own copy:
// see the AIDs in apps.go for why it does not read device/aid.
var (
	aidMgmt = []byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}
	aidPIV  = []byte{0xA0, 0x00, 0x00, 0x03, 0x08}
)

// New creates a key in factory state.
func New(cfg Config) (*Key, error) {
	p, err := lookupPreset(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("creating simulated key: %w", err)
	}
	if cfg.Serial == 0 {
		return nil, fmt.Errorf("creating simulated key: serial must not be zero: %w", device.ErrInvalidArgument)
	}
	fw := cfg.Firmware
	if fw == (device.Version{}) {
		fw = p.Firmware
	}
	if fw.Minor > 9 || fw.Patch > 9 {
		return nil, fmt.Errorf("creating simulated key: firmware %s: minor and patch must be single digits for ykman to parse them (docs/yubikey-protocol.md §1.1): %w", fw, device.ErrInvalidArgument)
	}
	if fw.Major < 4 || fw.Major > 5 {
		return nil, fmt.Errorf("creating simulated key: firmware %s: only YubiKey 4 and 5 firmware is simulated: %w", fw, device.ErrInvalidArgument)
	}
	if (p.Firmware.Major == 4) != (fw.Major == 4) {
		return nil, fmt.Errorf("creating simulated key: model %s cannot run firmware %s: %w", p.Name, fw, device.ErrInvalidArgument)
	}
	if cfg.LockCode != nil && len(cfg.LockCode) != lockCodeLen {
		return nil, fmt.Errorf("creating simulated key: lock code must be %d bytes: %w", lockCodeLen, device.ErrInvalidArgument)
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	k := &Key{
		preset:      p,
		serial:      cfg.Serial,
		fw:          fw,
		rand:        r,
		present:     true,
		changed:     make(chan struct{}),
		removeAfter: -1,
		removeINS:   -1,
		fidoCCID:    cfg.FIDOOverCCID,
	}
	k.mgmt = newMgmtState(p, fw, cfg)
	k.piv = newPIVState(fw)
	att, err := newAttestationKey(k)
	if err != nil {
		return nil, fmt.Errorf("creating simulated key: %w", err)
	}
	k.att = att
	k.piv.objects[objAttestation] = att.object()
	k.fido = newFIDO(k, cfg)
	k.apps = newAppsState(k.randFill)
	return k, nil
}

// Serial is the key's serial number.
func (k *Key) Serial() uint32 { return k.serial }

// Firmware is the key's firmware version.
func (k *Key) Firmware() device.Version { return k.fw }

// Preset is the model the key simulates.
func (k *Key) Preset() Preset { return k.preset }

// Info is what the key's management application currently reports, decoded
// (the same values READ CONFIG encodes).
func (k *Key) Info() device.Info {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.infoLocked()
}

// String names the key for logs: "YubiKey 5C Nano (serial 12345678, firmware 5.7.1)".
func (k *Key) String() string {
	return fmt.Sprintf("%s (serial %d, firmware %s)", k.preset.Product, k.serial, k.fw)
}

// Card returns an in-process connection to the key's smart-card interface.
// It becomes stale (Transmit returns device.ErrRemoved) when the key is
// unplugged or reboots, like a PC/SC handle; open a new one afterwards.
func (k *Key) Card() device.Card {
	k.mu.Lock()
	defer k.mu.Unlock()
	// Opening a connection powers the card, as SCardConnect does.
	if k.present {
		k.sess = session{}
	}
	return &card{k: k, gen: k.gen}
}

// CardNFC returns an in-process connection to the key as an NFC reader sees
// it when the key is tapped: the NFC enabled mask decides which
// applications answer, and the FIDO2 application is reachable over ISO 7816
// (CTAP 2.1 §11.3). It fails with device.ErrUnsupported for models without
// NFC, and its Transmit fails with device.ErrRemoved while NFC is disabled
// entirely.
func (k *Key) CardNFC() (device.Card, error) {
	if !k.preset.NFC {
		return nil, fmt.Errorf("%s has no NFC interface: %w", k, device.ErrUnsupported)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.present {
		k.sess = session{}
	}
	return &card{k: k, gen: k.gen, nfc: true}, nil
}

type card struct {
	k      *Key
	gen    uint64
	nfc    bool
	closed bool
}

var _ device.Card = (*card)(nil)

// Transmit implements device.Card.
func (c *card) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := c.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("transmitting to a closed card: %w", device.ErrInvalidArgument)
	}
	if !k.present || k.gen != c.gen || (c.nfc && !k.nfcOnLocked()) {
		return nil, fmt.Errorf("simulated key %d: %w", k.serial, device.ErrRemoved)
	}
	resp, ok := k.transmitLocked(command, c.nfc)
	if !ok {
		return nil, fmt.Errorf("simulated key %d: %w", k.serial, device.ErrRemoved)
	}
	if k.rebootPending {
		// The response went out; now the key re-enumerates. In process
		// there is no delay: the next Card() sees the rebooted key.
		k.rebootPending = false
		k.rebootLocked()
	}
	return resp, nil
}

// Close implements device.Card; it powers the card off as SCardDisconnect
// with SCARD_UNPOWER_CARD would.
func (c *card) Close() error {
	k := c.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if !c.closed && k.gen == c.gen {
		k.sess = session{}
	}
	c.closed = true
	return nil
}

// transmitLocked runs one command APDU. ok is false when the key has just
// been removed by fault injection (no response is given).
func (k *Key) transmitLocked(raw []byte, nfc bool) (resp []byte, ok bool) {
	if k.removeAfter == 0 {
		k.removeAfter = -1
		k.unplugLocked()
		return nil, false
	}
	if k.removeAfter > 0 {
		k.removeAfter--
	}
	if k.removeINS >= 0 && len(raw) >= 2 && int(raw[1]) == k.removeINS {
		k.removeINS = -1
		k.unplugLocked()
		return nil, false
	}
	k.commands++
	resp = k.process(raw, nfc)
	if k.onChange != nil {
		k.onChange()
	}
	if k.mangle != nil && (k.mangleINS < 0 || (len(raw) >= 2 && int(raw[1]) == k.mangleINS)) {
		resp = k.mangle(bytes.Clone(resp))
		k.mangle = nil
	}
	return resp, true
}

// process is the card's command dispatcher: transport rules (GET RESPONSE,
// chaining, SELECT), then the selected applet.
func (k *Key) process(raw []byte, nfc bool) []byte {
	cmd, err := apdu.Parse(raw)
	if err != nil {
		k.sess.pending = nil
		return sw(apdu.SWWrongLength)
	}
	if cla := cmd.CLA &^ 0x10; cla != 0 && !(cla == 0x80 && k.sess.applet == appletFIDO) {
		// YubiKeys answer only the interindustry class 00 (and its chained
		// form 10) on these applications; CTAP over ISO 7816 uses 80
		// (CTAP 2.1 §11.3.4).
		return sw(apdu.SWClaNotSupported)
	}
	// OATH continues long answers with its own SEND REMAINING (A5;
	// yubikit/oath.py INS_SEND_REMAINING).
	if cmd.INS == apdu.InsGetResponse || (cmd.INS == 0xA5 && k.sess.applet == appletOATH) {
		if k.sess.pending == nil {
			return sw(apdu.SWConditionsNotMet)
		}
		return k.respond(k.sess.pending)
	}
	k.sess.pending = nil

	// Command chaining (ISO 7816-4 §5.1.1.1): collect data while CLA has
	// bit 0x10, answer 90 00 to each part, run the command on the last.
	if k.sess.chainValid && k.sess.chainINS != cmd.INS {
		k.sess.chain, k.sess.chainValid = nil, false
	}
	if cmd.CLA&0x10 != 0 {
		if len(k.sess.chain)+len(cmd.Data) > maxChainedData {
			k.sess.chain, k.sess.chainValid = nil, false
			return sw(apdu.SWWrongLength)
		}
		k.sess.chain = append(k.sess.chain, cmd.Data...)
		k.sess.chainINS, k.sess.chainValid = cmd.INS, true
		return sw(apdu.SWSuccess)
	}
	if k.sess.chainValid {
		cmd.Data = append(k.sess.chain, cmd.Data...)
		k.sess.chain, k.sess.chainValid = nil, false
	}

	if cmd.INS == apdu.InsSelect && cmd.P1 == 0x04 {
		return k.selectApplet(cmd, nfc)
	}
	var data []byte
	var status uint16
	switch k.sess.applet {
	case appletMgmt:
		data, status = k.mgmtCommand(cmd)
	case appletPIV:
		data, status = k.pivCommand(cmd)
	case appletFIDO:
		// The FIDO side keeps its own CTAP state; a touch it waits for
		// is the NFC tap itself (simfido's Touch hook must not call back
		// into this Key, whose lock is held).
		var err error
		data, status, err = k.fido.HandleAPDU(context.Background(), cmd)
		if err != nil {
			status = apdu.SWNoPreciseDiagnosis
		}
	case appletOATH:
		data, status = k.oathCommand(cmd)
	case appletOpenPGP:
		data, status = k.pgpCommand(cmd)
	case appletHSMAuth:
		data, status = k.hsmauthCommand(cmd)
	case appletOTP:
		data, status = k.otpCommand(cmd)
	default:
		status = apdu.SWInsNotSupported
	}
	if status != apdu.SWSuccess {
		return sw(status)
	}
	return k.respond(data)
}

// maxChainedData bounds what a chain may collect: more than any object the
// PIV application stores (3 KB certificates; docs/yubikey-protocol.md §4.2).
const maxChainedData = 1 << 16

// respond sends data with 90 00, or its first 256 bytes with 61 xx when it
// is longer, keeping the rest for GET RESPONSE: real keys answer short
// APDUs in 256-byte chunks (.NET attest.md), and every client handles it
// for extended APDUs too (docs/yubikey-protocol.md §4.2).
func (k *Key) respond(data []byte) []byte {
	if len(data) <= 256 {
		k.sess.pending = nil
		return append(bytes.Clone(data), 0x90, 0x00)
	}
	rest := data[256:]
	k.sess.pending = rest
	n := len(rest)
	if n > 255 {
		n = 0 // 61 00: 256 or more bytes remain
	}
	out := append(bytes.Clone(data[:256]), 0x61, byte(n))
	return out
}

func sw(s uint16) []byte { return []byte{byte(s >> 8), byte(s)} }

func (k *Key) selectApplet(cmd apdu.Command, nfc bool) []byte {
	enabled := k.mgmt.usbEnabled
	if nfc {
		enabled = k.mgmt.nfcEnabled
	}
	switch {
	case bytes.HasPrefix(cmd.Data, aidMgmt):
		k.sess.applet = appletMgmt
		return k.respond(k.mgmtSelectResponse())
	case bytes.HasPrefix(cmd.Data, aidPIV):
		// An application disabled over USB is not selectable.
		if enabled&device.CapPIV == 0 {
			return sw(apdu.SWFileNotFound)
		}
		// Selecting PIV starts a fresh PIV session: security status is
		// per selection.
		k.sess.pivPIN, k.sess.pivMgmt = false, false
		k.sess.witness, k.sess.challenge = nil, nil
		k.sess.applet = appletPIV
		return k.respond(pivSelectResponse)
	case (nfc || k.fidoCCID) && k.fido != nil && bytes.Equal(cmd.Data, simfido.AID):
		if enabled&(device.CapFIDO2|device.CapU2F) == 0 {
			return sw(apdu.SWFileNotFound)
		}
		k.sess.applet = appletFIDO
		return k.respond(simfido.SelectResponse())
	}
	// OATH, OpenPGP, YubiHSM Auth and OTP answer over NFC too, gated by
	// the NFC enabled mask.
	if resp, ok := k.selectOtherApplet(cmd.Data, enabled); ok {
		return resp
	}
	return sw(apdu.SWFileNotFound)
}

// powerOffLocked clears session state (vpcd power off / reset, §6.3).
func (k *Key) powerOffLocked() { k.sess = session{} }

// rebootLocked is the key restarting after WRITE CONFIG with REBOOT: session
// state is lost and every handle is stale.
func (k *Key) rebootLocked() {
	k.sess = session{}
	k.gen++
	k.syncFIDOLocked(true)
	k.notifyLocked()
}

func (k *Key) unplugLocked() {
	if !k.present {
		return
	}
	k.present = false
	k.sess = session{}
	k.gen++
	k.syncFIDOLocked(false)
	k.notifyLocked()
}

func (k *Key) notifyLocked() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// Unplug removes the key: open Cards fail with device.ErrRemoved and an
// attachment disconnects from vpcd (pcscd logs the card's removal).
func (k *Key) Unplug() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.unplugLocked()
}

// Plug re-inserts an unplugged key.
func (k *Key) Plug() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.present {
		return
	}
	k.present = true
	k.sess = session{}
	k.gen++
	if p := k.mgmt.pendingUSB; p != nil {
		k.mgmt.usbEnabled, k.mgmt.pendingUSB = *p, nil
	}
	k.syncFIDOLocked(true)
	k.notifyLocked()
}

// SetOnChange installs f, told whenever the key's persistent state may
// have changed: after every smart-card command, and from the FIDO2 side
// (simfido.Authenticator.SetOnChange). f is called with the key's lock
// held and must not call back into the key (signal a goroutine instead).
func (k *Key) SetOnChange(f func()) {
	k.mu.Lock()
	k.onChange = f
	k.mu.Unlock()
	if k.fido != nil {
		k.fido.SetOnChange(f)
	}
}

// Present reports whether the key is plugged in.
func (k *Key) Present() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.present
}

// Commands is how many command APDUs the key has answered.
func (k *Key) Commands() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.commands
}

// RemoveAfter makes the key answer n more commands and then be pulled out
// while the next one is in flight: it gets no answer (the in-process Card
// returns device.ErrRemoved, vpcd sees the connection close). The key stays
// unplugged until [Key.Plug]. n < 0 cancels.
func (k *Key) RemoveAfter(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.removeAfter = n
}

// RemoveAtINS makes the key be pulled out while the next command with
// instruction byte ins is in flight, as RemoveAfter does: e.g. 0x44 to
// pull it between OpenPGP's TERMINATE and ACTIVATE. ins < 0 cancels.
func (k *Key) RemoveAtINS(ins int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.removeINS = ins
}

// MangleNext makes f rewrite the next raw response (data and status word)
// before it is sent, for clients' malformed-response tests.
func (k *Key) MangleNext(f func(resp []byte) []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.mangle, k.mangleINS = f, -1
}

// MangleNextINS is MangleNext for the next response to a command with
// instruction byte ins, e.g. 0x1D to corrupt the next READ CONFIG whatever
// a client sends before it.
func (k *Key) MangleNextINS(ins byte, f func(resp []byte) []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.mangle, k.mangleINS = f, int(ins)
}

// TruncateNext makes the next response lose the last byte of its data while
// keeping its status word: e.g. a READ CONFIG whose length byte no longer
// matches. A response with no data is left alone.
func (k *Key) TruncateNext() { k.MangleNext(truncate) }

// TruncateNextINS is TruncateNext for the next response to instruction ins
// (0x1D: a READ CONFIG whose length byte is wrong).
func (k *Key) TruncateNextINS(ins byte) { k.MangleNextINS(ins, truncate) }

func truncate(r []byte) []byte {
	if len(r) <= 2 {
		return r
	}
	n := len(r)
	return append(r[:n-3], r[n-2:]...)
}
