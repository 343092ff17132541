package sim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/internal/testenv"
)

// Tapped on an NFC reader, the key answers with its NFC enabled mask and
// offers FIDO2 over ISO 7816; over USB CCID the FIDO AID is not there
// (firmware before 5.8, §3.2).
func TestCardNFC(t *testing.T) {
	k := newKey(t, Config{Serial: 777, Model: "5c-nfc"})
	usb := k.Card()
	expect(t, usb, "00 A4 04 00 08 A0 00 00 06 47 2F 00 01", "6A82")
	expect(t, usb, "80 10 00 00 01 04", "6E00")

	c, err := k.CardNFC()
	if err != nil {
		t.Fatal(err)
	}
	expect(t, c, "00 A4 04 00 08 A0 00 00 06 47 2F 00 01", asciiHex("U2F_V2")+"9000")
	// authenticatorGetInfo over NFCCTAP_MSG: CTAP status 00, then a CBOR map.
	got := send(t, c, "80 10 00 00 01 04")
	if !strings.HasPrefix(got, "00A") || !strings.HasSuffix(got, "9000") {
		t.Fatalf("getInfo over NFC: %s", got)
	}
	expect(t, c, selPIV, hexs(pivSelectResponse)+"9000")

	// Disable PIV and FIDO over NFC: those applications stop answering
	// there, and stay on USB.
	send(t, usb, selMgmt)
	expect(t, usb, "00 1C 00 00 05 04 0E 02 01 29", "9000")
	expect(t, c, selPIV, "6A82")
	expect(t, c, "00 A4 04 00 08 A0 00 00 06 47 2F 00 01", "6A82")
	expect(t, usb, selPIV, hexs(pivSelectResponse)+"9000")
	// Nothing enabled over NFC: the key does not answer a reader at all.
	send(t, usb, selMgmt)
	expect(t, usb, "00 1C 00 00 05 04 0E 02 00 00", "9000")
	if _, err := c.Transmit(context.Background(), unhex(t, selMgmt)); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("NFC with everything disabled: %v", err)
	}

	if _, err := newKey(t, Config{Serial: 778, Model: "5c-nano"}).CardNFC(); !errors.Is(err, device.ErrUnsupported) {
		t.Fatalf("CardNFC on a nano: %v", err)
	}
}

// ykman reaches the FIDO side of a sim.Key tapped on the vpcd reader: one
// key, two interfaces, the same state.
func TestYkmanNFC(t *testing.T) {
	testenv.LockVPCD(t)
	k := newKey(t, Config{Serial: 13572468, Model: "5c-nfc"})
	ctx, cancel := context.WithCancel(context.Background())
	a, err := AttachWith(ctx, k, AttachConfig{NFC: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		<-a.Done()
	}()
	waitReady(t, a, 1)
	lines(t, mustYkman(t, 0, "info"), "Device type: YubiKey 5C NFC", "Serial number: 13572468", "NFC transport is enabled.")
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is not set.")
	if err := k.FIDO().SetPIN(ctx, "4321abcd"); err != nil {
		t.Fatal(err)
	}
	lines(t, mustYkman(t, 0, "fido", "info"), "PIN is set, with 8 attempt(s) remaining.")

	if _, err := AttachWith(ctx, newKey(t, Config{Serial: 1, Model: "5ci"}), AttachConfig{NFC: true, Addr: "127.0.0.1:1"}); !errors.Is(err, device.ErrUnsupported) {
		t.Fatalf("NFC attach of a 5Ci: %v", err)
	}
}
