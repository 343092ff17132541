package trace

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func apdu(cla, ins, p1, p2 byte, data []byte) []byte {
	b := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		b = append(b, byte(len(data)))
		b = append(b, data...)
	}
	return b
}

func pad8(s string) []byte {
	b := bytes.Repeat([]byte{0xFF}, 8)
	copy(b, s)
	return b
}

func sel(aid []byte) []byte { return apdu(0, 0xA4, 0x04, 0x00, aid) }

var ok = []byte{0x90, 0x00}

// Distinctive secrets; none may appear in a trace, as text or hex.
var (
	pin      = "739164"
	newPIN   = "5820417"
	puk      = "88442211"
	mgmtKey  = bytes.Repeat([]byte{0x5A, 0xA5, 0x3C}, 8)
	lockCode = bytes.Repeat([]byte{0xC3, 0x7E}, 8)
	privKey  = bytes.Repeat([]byte{0x9D, 0x42, 0x17, 0xE8}, 80) // 320 bytes: chained
	witness  = []byte{0x7C, 0x0A, 0x80, 0x08, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8}
	pinHash  = bytes.Repeat([]byte{0xEE, 0x11}, 8)
	pinAuth  = bytes.Repeat([]byte{0xAB, 0xCD}, 8)
	pinToken = bytes.Repeat([]byte{0x6F, 0x9E}, 16)
)

// cbor helpers: small maps with integer keys and byte-string values.
func cborBytes(b []byte) []byte {
	switch {
	case len(b) < 24:
		return append([]byte{0x40 | byte(len(b))}, b...)
	default:
		return append([]byte{0x58, byte(len(b))}, b...)
	}
}

type exchange struct {
	name      string
	cmd, resp []byte
	want      []string // redaction labels or values that must appear
}

func exchanges() []exchange {
	var chained []exchange
	for i := 0; i < len(privKey); i += 255 {
		end := min(i+255, len(privKey))
		cla := byte(0x10)
		if end == len(privKey) {
			cla = 0
		}
		chained = append(chained, exchange{"PIV IMPORT KEY part", apdu(cla, 0xFE, 0x11, 0x9A, privKey[i:end]), ok, []string{"IMPORT KEY <private key"}})
	}
	writeCfg := []byte{0x0B, 16}
	writeCfg = append(writeCfg, lockCode...)
	writeCfg = append(writeCfg, 0x03, 2, 0x02, 0x3E, 0x0A, 16)
	writeCfg = append(writeCfg, lockCode...)
	writeCfg = append([]byte{byte(len(writeCfg))}, writeCfg...)

	clientPIN := []byte{0x06, 0xA4, 0x01, 0x02, 0x02, 0x05, 0x03, 0xA1, 0x01, 0x02, 0x06}
	clientPIN = append(clientPIN, cborBytes(pinHash)...)
	tokenResp := append([]byte{0x00, 0xA1, 0x02}, cborBytes(pinToken)...)
	makeCred := []byte{0x01, 0xA2, 0x01}
	makeCred = append(makeCred, cborBytes(bytes.Repeat([]byte{0x01}, 32))...)
	makeCred = append(makeCred, 0x08)
	makeCred = append(makeCred, cborBytes(pinAuth)...)

	// getAssertion {1: rpId, 2: clientDataHash, 6: pinUvAuthParam, 7: 2}
	// and its answer {1: credential, 3: signature, 4: user, 5: 2}.
	getAssert := []byte{0x02, 0xA4, 0x01, 0x6B}
	getAssert = append(getAssert, "example.org"...)
	getAssert = append(append(getAssert, 0x02), cborBytes(bytes.Repeat([]byte{0x02}, 32))...)
	getAssert = append(append(getAssert, 0x06), cborBytes(pinAuth)...)
	getAssert = append(getAssert, 0x07, 0x02)
	assertResp := []byte{0x00, 0xA4, 0x01, 0xA1, 0x62, 'i', 'd'}
	assertResp = append(assertResp, cborBytes(privKey[:32])...)
	assertResp = append(append(assertResp, 0x03), cborBytes(privKey[32:64])...)
	assertResp = append(assertResp, 0x04, 0xA1, 0x64, 'n', 'a', 'm', 'e', 0x63, 'a', 'n', 'a')
	assertResp = append(assertResp, 0x05, 0x02)

	protected := append([]byte{0x53, 0x1C, 0x88, 0x1A, 0x89, 0x18}, mgmtKey...)
	out := []exchange{
		{"select PIV", sel([]byte{0xA0, 0x00, 0x00, 0x03, 0x08}), append([]byte{0x61, 0x11}, ok...), []string{"SELECT a000000308 (PIV)"}},
		{"PIV VERIFY", apdu(0, 0x20, 0, 0x80, pad8(pin)), ok, []string{"<PIN 6 bytes>"}},
		{"PIV CHANGE REFERENCE PIN", apdu(0, 0x24, 0, 0x80, append(pad8(pin), pad8(newPIN)...)), ok, []string{"<current PIN 6 bytes> <new PIN 7 bytes>"}},
		{"PIV CHANGE REFERENCE PUK", apdu(0, 0x24, 0, 0x81, append(pad8(puk), pad8(puk)...)), ok, []string{"<current PUK 8 bytes>"}},
		{"PIV RESET RETRY COUNTER", apdu(0, 0x2C, 0, 0x80, append(pad8(puk), pad8(newPIN)...)), ok, []string{"<PUK 8 bytes> <new PIN 7 bytes>"}},
		{"PIV GENERAL AUTHENTICATE 9B", apdu(0, 0x87, 0x0A, 0x9B, witness), append(bytes.Clone(witness), ok...), []string{"<management key authentication 12 bytes>", "<12 bytes>"}},
		{"PIV SET MANAGEMENT KEY", apdu(0, 0xFF, 0xFF, 0xFF, append([]byte{0x0A, 0x9B, 24}, mgmtKey...)), ok, []string{"<management key 27 bytes>"}},
		{"PIV PUT DATA protected", apdu(0, 0xDB, 0x3F, 0xFF, append([]byte{0x5C, 3, 0x5F, 0xC1, 0x09}, protected...)), ok, []string{"PUT DATA object 5fc109 <"}},
		{"PIV GET DATA protected", apdu(0, 0xCB, 0x3F, 0xFF, []byte{0x5C, 3, 0x5F, 0xC1, 0x09}), append(bytes.Clone(protected), ok...), []string{"GET DATA object 5fc109", "<30 bytes>"}},
		{"PIV GET DATA CHUID (public)", apdu(0, 0xCB, 0x3F, 0xFF, []byte{0x5C, 3, 0x5F, 0xC1, 0x02}), append([]byte{0x53, 0x02, 0x30, 0x19}, ok...), []string{"53023019"}},
		{"PIV wrong PIN", apdu(0, 0x20, 0, 0x80, pad8("000000")), []byte{0x63, 0xC2}, []string{"< 63C2"}},
		{"select MGMT", sel([]byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}), append([]byte("5.7.1"), ok...), []string{"(MGMT)", "352e372e31"}},
		{"MGMT WRITE CONFIG", apdu(0, 0x1C, 0, 0, writeCfg), ok, []string{"0B <current lock code 16 bytes>", "03 023e", "0A <new lock code 16 bytes>"}},
		// A command for another application while the trace still thinks
		// MGMT is selected (another program selected PIV meanwhile): unknown
		// to MGMT, so only its length.
		{"stale application", apdu(0, 0x20, 0, 0x80, pad8(pin)), ok, []string{"<8 bytes>"}},
		// YubiHSM Auth is named; its commands, which carry credential
		// keys and passwords, show only their length.
		{"select HSMAUTH", sel([]byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x21, 0x07, 0x01}), ok, []string{"SELECT a000000527210701 (HSMAUTH)"}},
		{"HSMAUTH command with a key", apdu(0, 0x01, 0, 0, mgmtKey), ok, []string{"HSMAUTH <24 bytes>"}},
		{"select FIDO", sel([]byte{0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01}), ok, []string{"(FIDO)"}},
		{"CTAP clientPIN getPinToken", apdu(0x80, 0x10, 0, 0, clientPIN), append(tokenResp, ok...), []string{"clientPIN {pinUvAuthProtocol=2, subCommand=getPinToken, keyAgreement=<", "pinHashEnc=<17 bytes>", "pinUvAuthToken=<34 bytes>"}},
		{"CTAP makeCredential", apdu(0x80, 0x10, 0, 0, makeCred), append([]byte{0x00}, ok...), []string{"makeCredential {clientDataHash=<34 bytes>, pinUvAuthParam=<17 bytes>}", "status 0x00"}},
		{"CTAP getAssertion", apdu(0x80, 0x10, 0, 0, getAssert), append(assertResp, ok...), []string{"getAssertion {rpId=<12 bytes>, clientDataHash=<34 bytes>, pinUvAuthParam=<17 bytes>, pinUvAuthProtocol=2}", "status 0x00 {credential=<", "signature=<", "user=<", "numberOfCredentials=2}"}},
	}
	out = append(out, exchange{"select PIV again", sel([]byte{0xA0, 0x00, 0x00, 0x03, 0x08}), ok, []string{"(PIV)"}})
	return append(out, chained...)
}

func TestTraceRedactsSecrets(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, KindAPDU, KindCTAP)
	l.now = func() time.Time { return time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC) }
	for _, e := range exchanges() {
		before := out.Len()
		l.Command(`"Yubico YubiKey OTP+FIDO+CCID 00 00"`, e.cmd)
		l.Response(`"Yubico YubiKey OTP+FIDO+CCID 00 00"`, e.resp, nil)
		got := out.String()[before:]
		for _, w := range e.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: trace\n%s\nlacks %q", e.name, got, w)
			}
		}
	}
	l.CTAPCall("/dev/hidraw3", "clientPIN changePIN", Secret("current PIN", pin)+" "+Secret("new PIN", newPIN), errors.New("CTAP status 0x31"))
	for _, text := range []string{out.String(), l.Recent()} {
		assertNoSecrets(t, text)
	}
	if !strings.Contains(out.String(), "clientPIN changePIN <current PIN 6 bytes> <new PIN 7 bytes> -> error: CTAP status 0x31") {
		t.Errorf("CTAP call line missing:\n%s", out.String())
	}
}

func assertNoSecrets(t *testing.T, text string) {
	t.Helper()
	low := strings.ToLower(text)
	for name, s := range map[string][]byte{"PIN": []byte(pin), "new PIN": []byte(newPIN), "PUK": []byte(puk), "management key": mgmtKey,
		"lock code": lockCode, "private key": privKey[:8], "witness": witness[4:], "pinHashEnc": pinHash, "pinUvAuthParam": pinAuth, "PIN token": pinToken[:8]} {
		if strings.Contains(text, string(s)) || strings.Contains(low, hex.EncodeToString(s)) || strings.Contains(low, hex.EncodeToString(s[:min(len(s), 6)])) {
			t.Errorf("the %s appears in the trace:\n%s", name, text)
		}
	}
}

func TestRecentKeepsTheLastLines(t *testing.T) {
	l := New(nil)
	if l.Enabled(KindAPDU) {
		t.Fatal("a memory-only log says it writes")
	}
	if !strings.Contains(l.Recent(), "nothing was sent") {
		t.Errorf("empty Recent = %q", l.Recent())
	}
	for i := 0; i < RingSize+10; i++ {
		l.Command("r", apdu(0, 0xFD, 0, 0, nil))
	}
	lines := strings.Split(strings.TrimSpace(l.Recent()), "\n")
	if len(lines) != RingSize+1 { // the heading and RingSize lines
		t.Errorf("Recent has %d lines, want %d", len(lines), RingSize+1)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	var notice bytes.Buffer
	if l := FromEnv("", &notice); l.Enabled(KindAPDU) || notice.Len() != 0 {
		t.Fatalf("empty KEYWIZARD_DEBUG traces: %q", notice.String())
	}
	l := FromEnv("apdu", &notice)
	if !l.Enabled(KindAPDU) || l.Enabled(KindCTAP) || !strings.Contains(notice.String(), "trace.log") {
		t.Fatalf("apdu: %v %v %q", l.Enabled(KindAPDU), l.Enabled(KindCTAP), notice.String())
	}
	if l := FromEnv("APDU, ctap", &notice); !l.Enabled(KindAPDU) || !l.Enabled(KindCTAP) {
		t.Fatal("both kinds not enabled")
	}
}
