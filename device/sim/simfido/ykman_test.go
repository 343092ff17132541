package simfido_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/sim/simfido"
	"github.com/keywizard/keywizard/internal/testenv"
)

// These tests put a simulated key in vpcd slot 0 and drive its FIDO2
// application with ykman 4.0.9 (python-fido2 0.9.1), an independent CTAP2
// client: the reader "Virtual PCD 00 00" is not named like a YubiKey, so
// ykman treats it as an NFC reader and speaks CTAP over ISO 7816
// (docs/yubikey-protocol.md §2.3, python-fido2 pcsc.py). The management
// application comes from device/sim's simulated key; this file's small
// card routes the FIDO AID to simfido.

// nfcATR is a YubiKey 5 NFC's ATR over NFC (docs/yubikey-protocol.md §2.4).
var nfcATR = []byte{0x3B, 0x8D, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0xF9}

// fidoCard is the card side of the vpcd protocol (§6.2) for one key: FIDO
// commands go to the simfido Authenticator, the rest to device/sim's card.
type fidoCard struct {
	auth  *simfido.Authenticator
	other device.Card

	selected bool
	chain    []byte
	pending  []byte
}

func (c *fidoCard) transmit(ctx context.Context, raw []byte) []byte {
	cmd, err := apdu.Parse(raw)
	if err != nil {
		return []byte{0x67, 0x00}
	}
	if cmd.INS == apdu.InsSelect && cmd.P1 == 0x04 {
		c.selected = bytes.Equal(cmd.Data, simfido.AID)
		c.chain, c.pending = nil, nil
		if c.selected {
			return append(simfido.SelectResponse(), 0x90, 0x00)
		}
	}
	if !c.selected {
		resp, err := c.other.Transmit(ctx, raw)
		if err != nil {
			return []byte{0x6F, 0x00}
		}
		return resp
	}
	if cmd.CLA == 0x00 && cmd.INS == apdu.InsGetResponse {
		return c.respond(c.pending)
	}
	if cmd.CLA&0x10 != 0 { // chaining: collect, answer 90 00
		c.chain = append(c.chain, cmd.Data...)
		return []byte{0x90, 0x00}
	}
	cmd.Data = append(c.chain, cmd.Data...)
	c.chain = nil
	data, sw, err := c.auth.HandleAPDU(ctx, cmd)
	if err != nil {
		return []byte{0x6F, 0x00}
	}
	if sw != apdu.SWSuccess {
		return []byte{byte(sw >> 8), byte(sw)}
	}
	return c.respond(data)
}

// respond sends up to 256 bytes and 61 xx while more remain.
func (c *fidoCard) respond(data []byte) []byte {
	if len(data) <= 256 {
		c.pending = nil
		return append(bytes.Clone(data), 0x90, 0x00)
	}
	c.pending = data[256:]
	n := min(len(c.pending), 256) & 0xFF
	return append(bytes.Clone(data[:256]), 0x61, byte(n))
}

// attach connects the card to vpcd slot 0 and serves it until the test
// ends. The caller holds the vpcd lock (TestYkman).
func attach(t *testing.T, c *fidoCard) {
	t.Helper()
	conn, err := net.Dial("tcp", "127.0.0.1:35963")
	if err != nil {
		t.Fatalf("connecting to vpcd slot 0: %v (start pcscd with scripts/pcscd.sh)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var lenBuf [2]byte
		for {
			if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
				return
			}
			msg := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
			if _, err := io.ReadFull(conn, msg); err != nil {
				return
			}
			var resp []byte
			if len(msg) == 1 {
				switch msg[0] {
				case 0x00, 0x02: // power off, reset: the selection is lost
					c.selected, c.chain, c.pending = false, nil, nil
					continue
				case 0x01:
					continue
				case 0x04:
					resp = nfcATR
				default:
					continue
				}
			} else {
				resp = c.transmit(ctx, msg)
			}
			out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
			if _, err := conn.Write(append(out, resp...)); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		conn.Close()
		wg.Wait()
		// Let pcscd notice the removal before the next test inserts a card.
		time.Sleep(500 * time.Millisecond)
	})
}

// newYkmanKey makes a simulated 5C NFC (management from device/sim, FIDO
// from simfido) and puts it in vpcd slot 0.
func newYkmanKey(t *testing.T, fw device.Version) *simfido.Authenticator {
	t.Helper()
	// A stopped clock: ykman on a loaded machine can take longer than
	// the real 5-second reset window just to start.
	stopped := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	k, err := sim.New(sim.Config{Serial: 31000001, Model: "5c-nfc", Firmware: fw, FIDONow: func() time.Time { return stopped }})
	if err != nil {
		t.Fatal(err)
	}
	a := k.FIDO() // the key's own FIDO side, as device/sim wires it
	attach(t, &fidoCard{auth: a, other: k.Card()})
	return a
}

// ykman runs ykman against the vpcd slot-0 reader, retrying while pcscd
// has not yet seen the card.
func ykman(t *testing.T, args ...string) (string, error) {
	t.Helper()
	full := append([]string{"--reader", "Virtual PCD 00 00"}, args...)
	var out []byte
	var err error
	start := time.Now()
	defer func() { t.Logf("ykman %s: %.1fs", strings.Join(args, " "), time.Since(start).Seconds()) }()
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err = exec.CommandContext(ctx, "ykman", full...).CombinedOutput()
		cancel()
		if err == nil || !notSeenYet(string(out)) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	return string(out), err
}

// notSeenYet matches ykman's complaints while pcscd has not yet picked up
// a card just put in the vpcd slot.
func notSeenYet(out string) bool {
	for _, s := range []string{"No YubiKey", "Failed connecting", "No smart card inserted", "Failed to connect"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

func mustYkman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ykman(t, args...)
	if err != nil {
		t.Fatalf("ykman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func testYkmanFlow(t *testing.T, fw device.Version) {
	a := newYkmanKey(t, fw)
	if out := mustYkman(t, "fido", "info"); !strings.Contains(out, "PIN is not set") {
		t.Fatalf("fido info on a fresh key:\n%s", out)
	}
	// Set the PIN through ykman's CTAP client (key agreement, encrypted
	// padded PIN, pinUvAuthParam) and check it through the Go side.
	mustYkman(t, "fido", "access", "change-pin", "--new-pin", "123456")
	c := fido.NewClient(a, fido.Options{})
	st, err := c.State(context.Background())
	if err != nil || !st.PINSet {
		t.Fatalf("after ykman set the PIN: %+v, %v", st, err)
	}
	// device/sim names the model as the AAGUID table does.
	if want, _ := fido.AAGUIDFor("YubiKey 5C NFC", fw); st.AAGUID != want {
		t.Errorf("AAGUID = %s, want %s", st.AAGUID, want)
	}
	if out := mustYkman(t, "fido", "info"); !strings.Contains(out, "PIN is set, with 8 attempt(s) remaining") {
		t.Fatalf("fido info with a PIN:\n%s", out)
	}
	// A PIN shorter than the key allows is refused by the key.
	if out, err := ykman(t, "fido", "access", "change-pin", "--pin", "123456", "--new-pin", "12"); err == nil {
		t.Errorf("ykman set a 2-digit PIN:\n%s", out)
	}
	mustYkman(t, "fido", "access", "change-pin", "--pin", "123456", "--new-pin", "654321")
	if _, err := c.Credentials(context.Background(), "654321"); err != nil {
		t.Fatalf("PIN changed by ykman does not work from Go: %v", err)
	}

	// Credentials registered by the "browser" are listed by ykman.
	if out := mustYkman(t, "fido", "credentials", "list", "--pin", "654321"); strings.TrimSpace(out) != "" {
		t.Errorf("credentials on an empty key:\n%s", out)
	}
	for _, r := range [][4]string{
		{"google.com", "Google", "ana@example.com", "Ana Lima"},
		{"github.com", "GitHub", "ana-lima", "Ana Lima"},
		{"google.com", "Google", "ana.admin@example.com", "Ana (admin)"},
	} {
		if err := a.AddCredential(r[0], r[1], r[2], r[3]); err != nil {
			t.Fatal(err)
		}
	}
	out := mustYkman(t, "fido", "credentials", "list", "--pin", "654321")
	for _, want := range []string{"google.com", "ana@example.com", "ana.admin@example.com", "github.com", "ana-lima"} {
		if !strings.Contains(out, want) {
			t.Errorf("credentials list lacks %q:\n%s", want, out)
		}
	}
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 3 {
		t.Errorf("credentials list has %d lines, want 3:\n%s", n, out)
	}

	// Wrong PINs: ykman sees the retries the Go side sees.
	if out, err := ykman(t, "fido", "credentials", "list", "--pin", "000000"); err == nil || !strings.Contains(out, "Wrong PIN") {
		t.Errorf("wrong PIN through ykman: %v\n%s", err, out)
	}
	if out := mustYkman(t, "fido", "info"); !strings.Contains(out, "7 attempt(s) remaining") {
		t.Errorf("fido info after a wrong PIN:\n%s", out)
	}
	if n, err := c.PINRetries(context.Background()); err != nil || n != 7 {
		t.Errorf("Go side retries = %d, %v", n, err)
	}
	ykman(t, "fido", "credentials", "list", "--pin", "000000")
	out, _ = ykman(t, "fido", "credentials", "list", "--pin", "000000")
	if !strings.Contains(out, "PIN authentication is currently blocked") {
		t.Errorf("third wrong PIN through ykman:\n%s", out)
	}
	if fw.AtLeast(5, 7, 0) {
		// powerCycleState (CTAP 2.1) tells ykman the block is temporary.
		if out := mustYkman(t, "fido", "info"); !strings.Contains(out, "5 attempt(s) remaining") || !strings.Contains(out, "temporarily blocked") {
			t.Errorf("fido info while auth-blocked:\n%s", out)
		}
		// Five more wrong PINs (replugging after every third) block it.
		a.PowerCycle()
		for i := 1; i <= 5; i++ {
			ykman(t, "fido", "credentials", "list", "--pin", "000000")
			if i == 3 {
				a.PowerCycle()
			}
		}
		if out := mustYkman(t, "fido", "info"); !strings.Contains(out, "PIN is set, but has been blocked") {
			t.Errorf("fido info after 8 wrong PINs:\n%s", out)
		}
		var pe *device.PINError
		if _, err := c.Credentials(context.Background(), "654321"); !errors.As(err, &pe) || pe.Retries != 0 {
			t.Errorf("Go side after ykman blocked the PIN: %v", err)
		}
	}
	a.PowerCycle()

	// Reset within the window (the key was just "re-inserted").
	mustYkman(t, "fido", "reset", "--force")
	if out := mustYkman(t, "fido", "info"); !strings.Contains(out, "PIN is not set") {
		t.Errorf("fido info after reset:\n%s", out)
	}
	if st, err := c.State(context.Background()); err != nil || st.PINSet {
		t.Errorf("after ykman reset: %+v, %v", st, err)
	}
}

// TestYkman takes the vpcd lock once for all its subtests: other test
// processes queue for the slot, and one wait is enough.
//
//   - firmware 5.4.3 uses PIN protocol 1 and the credentialMgmtPreview
//     command (0x41), as python-fido2 does with a 5.4 key;
//   - firmware 5.7.1 uses PIN protocol 2, getPinUvAuthTokenUsingPin-
//     WithPermissions and credentialManagement (0x0A);
//   - reset refusals: ykman reads the simulator's as it reads a YubiKey's
//     (too late after insertion, no touch).
func TestYkman(t *testing.T) {
	start := time.Now()
	testenv.LockVPCD(t)
	t.Logf("waited %.1fs for the vpcd lock", time.Since(start).Seconds())
	t.Run("firmware 5.4.3", func(t *testing.T) { testYkmanFlow(t, device.Version{Major: 5, Minor: 4, Patch: 3}) })
	t.Run("firmware 5.7.1", func(t *testing.T) { testYkmanFlow(t, device.Version{Major: 5, Minor: 7, Patch: 1}) })
	t.Run("reset refusals", testYkmanResetRefusals)
}

func testYkmanResetRefusals(t *testing.T) {
	clk := time.Now()
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk }
	k, err := sim.New(sim.Config{Serial: 31000002, Model: "5c-nfc", FIDONow: now})
	if err != nil {
		t.Fatal(err)
	}
	a := k.FIDO()
	attach(t, &fidoCard{auth: a, other: k.Card()})
	mu.Lock()
	clk = clk.Add(time.Minute)
	mu.Unlock()
	out, err := ykman(t, "fido", "reset", "--force")
	if err == nil || !strings.Contains(out, "within 5 seconds") {
		t.Errorf("late reset through ykman: %v\n%s", err, out)
	}
	a.PowerCycle()
	a.SetTouch(simfido.NoTouch)
	out, err = ykman(t, "fido", "reset", "--force")
	if err == nil || !strings.Contains(out, "You need to touch your YubiKey to confirm the reset") {
		t.Errorf("untouched reset through ykman: %v\n%s", err, out)
	}
}
