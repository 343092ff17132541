package sim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

var (
	fw543 = device.Version{Major: 5, Minor: 4, Patch: 3}
	fw571 = device.Version{Major: 5, Minor: 7, Patch: 1}
)

// pivCard is a fresh key with PIV selected.
func pivCard(t *testing.T, fw device.Version) (*Key, device.Card) {
	t.Helper()
	k := newKey(t, Config{Serial: 0x00BC614E, Model: "5c-nano", Firmware: fw})
	c := k.Card()
	expect(t, c, selPIV, "61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 9000")
	return k, c
}

func tx(t *testing.T, c device.Card, cmd apdu.Command) ([]byte, error) {
	t.Helper()
	return apdu.Transmit(context.Background(), c, cmd)
}

// mgmtAuth does the mutual authentication of §4.5 as a client would.
func mgmtAuth(t *testing.T, c device.Card, alg byte, key []byte) error {
	t.Helper()
	var block cipher.Block
	var err error
	if alg == alg3DES {
		block, err = des.NewTripleDESCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	bs := block.BlockSize()
	resp, err := tx(t, c, apdu.Command{INS: 0x87, P1: alg, P2: 0x9B, Data: []byte{0x7C, 0x02, 0x80, 0x00}})
	if err != nil {
		return err
	}
	if len(resp) != 4+bs || !bytes.Equal(resp[:4], []byte{0x7C, byte(bs + 2), 0x80, byte(bs)}) {
		t.Fatalf("witness response %x", resp)
	}
	w := make([]byte, bs)
	block.Decrypt(w, resp[4:])
	chal := make([]byte, bs)
	rand.Read(chal)
	data := append([]byte{0x7C, byte(2*bs + 4), 0x80, byte(bs)}, w...)
	data = append(append(data, 0x81, byte(bs)), chal...)
	resp, err = tx(t, c, apdu.Command{INS: 0x87, P1: alg, P2: 0x9B, Data: data})
	if err != nil {
		return err
	}
	want := make([]byte, bs)
	block.Encrypt(want, chal)
	if !bytes.Equal(resp, append([]byte{0x7C, byte(bs + 2), 0x82, byte(bs)}, want...)) {
		t.Fatalf("card's challenge response %x, want %x", resp, want)
	}
	return nil
}

// ykman 4.0.9 `piv info` on a fresh key (§7.5), exact bytes, extended
// encoding after GET VERSION.
func TestPIVInfoTranscript(t *testing.T) {
	_, c := pivCard(t, fw543)
	expect(t, c, "00 FD 00 00 00", "05 04 03 9000")
	expect(t, c, "00 CB 3F FF 00 00 05 5C 03 5F FF 00", "6A82")
	expect(t, c, "00 F7 00 80 00 00 00", "01 01 FF 05 01 01 06 02 03 03 9000")
	expect(t, c, "00 F7 00 81 00 00 00", "01 01 FF 05 01 01 06 02 03 03 9000")
	// Management key: the real layout of .NET metadata.md (touch "never"
	// is 01; the lab probe of §7.5 answered 00 00, which ykman also takes),
	// here with "is default" 01.
	expect(t, c, "00 F7 00 9B 00 00 00", "01 01 03 02 02 00 01 05 01 01 9000")
	expect(t, c, "00 CB 3F FF 00 00 05 5C 03 5F C1 02", "6A82")
	expect(t, c, "00 CB 3F FF 00 00 05 5C 03 5F C1 05", "6A82")
	expect(t, c, "00 F7 00 9A 00 00 00", "6A88")
	// yubico-piv-tool status (§4.2): short encodings.
	expect(t, c, "00 20 00 80 00", "63C3")
	expect(t, c, "00 F8 00 00 00", "00 BC 61 4E 9000")
	expect(t, c, "00 CB 3F FF 03 5C 01 7E", "7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00 9000")
}

func TestPIVDefaultMgmtKeyAlgorithm(t *testing.T) {
	for _, tt := range []struct {
		fw  device.Version
		alg byte
	}{{fw543, alg3DES}, {fw571, algAES192}} {
		_, c := pivCard(t, tt.fw)
		md, err := tx(t, c, apdu.Command{INS: 0xF7, P2: 0x9B})
		if err != nil || md[2] != tt.alg { // piv-go reads byte 2
			t.Fatalf("%s: metadata %x %v, want algorithm %02x", tt.fw, md, err, tt.alg)
		}
		// The other algorithm is refused; the right one authenticates.
		other := byte(algAES192)
		if tt.alg == algAES192 {
			other = alg3DES
		}
		if err := mgmtAuth(t, c, other, defaultMgmtKey); !isSW(err, 0x6A80) {
			t.Fatalf("%s: auth with the wrong algorithm: %v", tt.fw, err)
		}
		if err := mgmtAuth(t, c, tt.alg, defaultMgmtKey); err != nil {
			t.Fatalf("%s: %v", tt.fw, err)
		}
	}
}

func isSW(err error, sw uint16) bool {
	var se *apdu.StatusError
	return errors.As(err, &se) && se.SW == sw
}

func TestPIVMgmtAuthFailures(t *testing.T) {
	_, c := pivCard(t, fw543)
	// A wrong key decrypts the witness wrongly: 69 82.
	wrong := bytes.Repeat([]byte{0x11}, 24)
	if err := mgmtAuth(t, c, alg3DES, wrong); !errors.Is(err, device.ErrAuthentication) {
		t.Fatalf("wrong key: %v, want ErrAuthentication", err)
	}
	// Step 2 without step 1.
	expect(t, c, "00 87 03 9B 16 7C 14 80 08 0102030405060708 81 08 0102030405060708", "6982")
	// Not a 7C template.
	expect(t, c, "00 87 03 9B 04 7D 02 80 00", "6A80")
	// Generating without authentication.
	expect(t, c, "00 47 00 9A 05 AC 03 80 01 11", "6982")
	// Single-direction authentication (.NET auth-mgmt.md).
	resp := unhex(t, send(t, c, "00 87 03 9B 04 7C 02 81 00"))
	if len(resp) != 14 || !bytes.Equal(resp[:4], []byte{0x7C, 0x0A, 0x81, 0x08}) || resp[12] != 0x90 {
		t.Fatalf("challenge: %x", resp)
	}
	block, _ := des.NewTripleDESCipher(defaultMgmtKey)
	enc := make([]byte, 8)
	block.Encrypt(enc, resp[4:12])
	expect(t, c, "00 87 03 9B 0C 7C 0A 82 08"+hexs(enc), "9000")
	if got := send(t, c, "00 47 00 9A 05 AC 03 80 01 11"); !strings.HasPrefix(got, "7F494386410") {
		t.Fatalf("generate after single-direction auth: %s", got)
	}
}

func TestPIVPINAndPUK(t *testing.T) {
	k, c := pivCard(t, fw571)
	pin := "31 32 33 34 35 36 FF FF"
	bad := "30 30 30 30 30 30 FF FF"
	puk := "31 32 33 34 35 36 37 38"
	expect(t, c, "00 20 00 80 08 "+bad, "63C2")
	expect(t, c, "00 20 00 80 08 "+pin, "9000") // resets the counter
	expect(t, c, "00 20 00 80 00", "9000")      // verified
	expect(t, c, "00 20 FF 80 00", "9000")      // reset verification (ISO)
	expect(t, c, "00 20 00 80 00", "63C3")
	expect(t, c, "00 20 00 80 04 31323334", "6A80")
	// Change the PIN: a too-short new PIN is refused, a wrong old one costs a try.
	expect(t, c, "00 24 00 80 10 "+pin+" 31 32 33 FF FF FF FF FF", "6A80")
	expect(t, c, "00 24 00 80 10 "+bad+" 36 35 34 33 32 31 FF FF", "63C2")
	expect(t, c, "00 24 00 80 10 "+pin+" 36 35 34 33 32 31 FF FF", "9000")
	expect(t, c, "00 F7 00 80 00", "01 01 FF 05 01 00 06 02 03 03 9000")
	// Block the PIN: 63 C2, C1, C0, then 69 83 (ykman reads both as 0).
	for _, want := range []string{"63C2", "63C1", "63C0", "6983"} {
		expect(t, c, "00 20 00 80 08 "+pin, want)
	}
	expect(t, c, "00 20 00 80 00", "6983")
	// RESET is refused while the PUK still works.
	expect(t, c, "00 FB 00 00 00", "6985")
	// Unblock with the PUK.
	expect(t, c, "00 2C 00 80 10 "+puk+" "+pin, "9000")
	expect(t, c, "00 20 00 80 08 "+pin, "9000")
	if p, u := k.PIVRetries(); p != 3 || u != 3 {
		t.Fatalf("retries %d/%d after unblock", p, u)
	}
}

// Both PUK-blocking routes (§4.9) lead to a permitted RESET, which
// restores factory PIV state but keeps the attestation key.
func TestPIVResetRoutes(t *testing.T) {
	for _, route := range []string{"2C", "24"} {
		t.Run(route, func(t *testing.T) {
			k, c := pivCard(t, fw571)
			if err := mgmtAuth(t, c, algAES192, defaultMgmtKey); err != nil {
				t.Fatal(err)
			}
			generate(t, c, 0x9A, algECCP256)
			expect(t, c, "00 20 00 80 08 3131313131313131", "63C2")
			expect(t, c, "00 20 00 80 08 3131313131313131", "63C1")
			expect(t, c, "00 20 00 80 08 3131313131313131", "63C0")
			for _, want := range []string{"63C2", "63C1", "63C0", "6983"} {
				if route == "2C" {
					expect(t, c, "00 2C 00 80 10 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF", want)
				} else {
					expect(t, c, "00 24 00 81 10 3030303030303030 3030303030303030", want)
				}
			}
			expect(t, c, "00 FB 00 00 00 00 00", "9000")
			if k.PIVPublicKey(0x9A) != nil {
				t.Fatal("key survived RESET")
			}
			expect(t, c, "00 F7 00 80 00", "01 01 FF 05 01 01 06 02 03 03 9000")
			expect(t, c, "00 F7 00 9B 00", "01 01 0A 02 02 00 01 05 01 01 9000")
			if _, ok := k.PIVObject(objAttestation); !ok {
				t.Fatal("attestation certificate lost by RESET")
			}
		})
	}
}

func TestBlockPIV(t *testing.T) {
	k, c := pivCard(t, fw571)
	k.BlockPIV()
	expect(t, c, "00 20 00 80 00", "6983")
	expect(t, c, "00 2C 00 80 10 3132333435363738 313233343536FFFF", "6983")
	expect(t, c, "00 F7 00 81 00", "01 01 FF 05 01 01 06 02 03 00 9000")
	expect(t, c, "00 FB 00 00 00", "9000")
	if p, u := k.PIVRetries(); p != 3 || u != 3 {
		t.Fatalf("retries after reset %d/%d", p, u)
	}
}

// generate runs GENERATE for slot with default policies and returns the
// public key.
func generate(t *testing.T, c device.Card, slot, alg byte) crypto.PublicKey {
	t.Helper()
	resp, err := tx(t, c, apdu.Command{INS: 0x47, P2: slot, Data: []byte{0xAC, 0x03, 0x80, 0x01, alg}, Extended: true})
	if err != nil {
		t.Fatalf("generate %02x in %02x: %v", alg, slot, err)
	}
	inner, ok, err := tlv.Find(resp, 0x7F49)
	if err != nil || !ok {
		t.Fatalf("generate response %x: %v", resp, err)
	}
	m, _ := tlv.Map(inner)
	switch alg {
	case algECCP256, algECCP384:
		curve := elliptic.P256()
		if alg == algECCP384 {
			curve = elliptic.P384()
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, m[0x86])
		if err != nil {
			t.Fatalf("EC point %x: %v", m[0x86], err)
		}
		return pub
	default:
		return &rsa.PublicKey{N: new(big.Int).SetBytes(m[0x81]), E: int(new(big.Int).SetBytes(m[0x82]).Int64())}
	}
}

// ECDSA signing as ykman does it (§4.7): exact request layout, and the
// signature verifies against the generated public key.
func TestPIVGenerateSignECDSA(t *testing.T) {
	for _, alg := range []byte{algECCP256, algECCP384} {
		k, c := pivCard(t, fw543)
		if err := mgmtAuth(t, c, alg3DES, defaultMgmtKey); err != nil {
			t.Fatal(err)
		}
		pub := generate(t, c, 0x9A, alg).(*ecdsa.PublicKey)
		digest := sha256.Sum256([]byte("keywizard"))
		req := append([]byte{0x7C, 0x24, 0x82, 0x00, 0x81, 0x20}, digest[:]...)
		// PIN policy "once" (the 9A default): needs the PIN first.
		if _, err := tx(t, c, apdu.Command{INS: 0x87, P1: alg, P2: 0x9A, Data: req, Extended: true}); !isSW(err, 0x6982) {
			t.Fatalf("sign without PIN: %v", err)
		}
		expect(t, c, "00 20 00 80 08 313233343536FFFF", "9000")
		resp, err := tx(t, c, apdu.Command{INS: 0x87, P1: alg, P2: 0x9A, Data: req, Extended: true})
		if err != nil {
			t.Fatal(err)
		}
		inner, _, _ := tlv.Find(resp, 0x7C)
		sig, _, _ := tlv.Find(inner, 0x82)
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatalf("signature %x does not verify", sig)
		}
		// The wrong algorithm for the slot is refused.
		if _, err := tx(t, c, apdu.Command{INS: 0x87, P1: algRSA2048, P2: 0x9A, Data: req}); !isSW(err, 0x6A80) {
			t.Fatalf("sign with the wrong algorithm: %v", err)
		}
		md, err := tx(t, c, apdu.Command{INS: 0xF7, P2: 0x9A})
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte{0x01, 0x01, alg, 0x02, 0x02, pinPolicyOnce, touchPolicyNever, 0x03, 0x01, originGenerated}, encodePublicTLV(pub)...)
		if !bytes.Equal(md, want) {
			t.Fatalf("metadata %x, want %x", md, want)
		}
		if k.PIVPublicKey(0x9A) == nil {
			t.Fatal("no key recorded")
		}
	}
}

func encodePublicTLV(pub crypto.PublicKey) []byte { return tlv.Encode(0x04, encodePublic(pub)) }

// RSA "sign" is raw: the client pads (PKCS#1 v1.5 here), the card
// exponentiates; 9C's default policy "always" needs a VERIFY before each use.
func TestPIVGenerateSignRSA(t *testing.T) {
	_, c := pivCard(t, fw571)
	if err := mgmtAuth(t, c, algAES192, defaultMgmtKey); err != nil {
		t.Fatal(err)
	}
	pub := generate(t, c, 0x9C, algRSA2048).(*rsa.PublicKey)
	if pub.N.BitLen() != 2048 || pub.E != 65537 {
		t.Fatalf("RSA key %d bits e=%d", pub.N.BitLen(), pub.E)
	}
	digest := sha256.Sum256([]byte("keywizard"))
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	em := make([]byte, 256)
	em[1] = 0x01
	tail := append(prefix, digest[:]...)
	for i := 2; i < 256-len(tail)-1; i++ {
		em[i] = 0xFF
	}
	copy(em[256-len(tail):], tail)
	req := tlv.Encode(0x7C, append([]byte{0x82, 0x00}, tlv.Encode(0x81, em)...))
	sign := func() ([]byte, error) {
		return tx(t, c, apdu.Command{INS: 0x87, P1: algRSA2048, P2: 0x9C, Data: req})
	}
	expect(t, c, "00 20 00 80 08 313233343536FFFF", "9000")
	resp, err := sign() // chained command (>255 bytes), chunked answer
	if err != nil {
		t.Fatal(err)
	}
	inner, _, _ := tlv.Find(resp, 0x7C)
	sig, _, _ := tlv.Find(inner, 0x82)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("RSA signature: %v", err)
	}
	if _, err := sign(); !errors.Is(err, device.ErrAuthentication) {
		t.Fatalf("second use under PIN policy always: %v, want 69 82", err)
	}
}

func TestPIVECDH(t *testing.T) {
	_, c := pivCard(t, fw571)
	if err := mgmtAuth(t, c, algAES192, defaultMgmtKey); err != nil {
		t.Fatal(err)
	}
	pub := generate(t, c, 0x9D, algECCP256).(*ecdsa.PublicKey)
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	req := tlv.Encode(0x7C, append([]byte{0x82, 0x00}, tlv.Encode(0x85, peer.PublicKey().Bytes())...))
	expect(t, c, "00 20 00 80 08 313233343536FFFF", "9000")
	resp, err := tx(t, c, apdu.Command{INS: 0x87, P1: algECCP256, P2: 0x9D, Data: req})
	if err != nil {
		t.Fatal(err)
	}
	inner, _, _ := tlv.Find(resp, 0x7C)
	got, _, _ := tlv.Find(inner, 0x82)
	cardPub, _ := pub.ECDH()
	want, _ := peer.ECDH(cardPub)
	if !bytes.Equal(got, want) {
		t.Fatalf("shared secret %x, want %x", got, want)
	}
}

// ykman's PIN-protected management key (§4.11), exact bytes of steps 5-9,
// then what a later ykman run reads back.
func TestPIVProtectedMgmtKeyTranscript(t *testing.T) {
	k, c := pivCard(t, fw543)
	if err := mgmtAuth(t, c, alg3DES, defaultMgmtKey); err != nil {
		t.Fatal(err)
	}
	newKey := "0F0E0D0C0B0A09080706050403020100F0E0D0C0B0A09080"
	expect(t, c, "00 20 00 80 00 00 08 31 32 33 34 35 36 FF FF", "9000")
	expect(t, c, "00 CB 3F FF 00 00 05 5C 03 5F FF 00", "6A82")
	expect(t, c, "00 CB 3F FF 00 00 05 5C 03 5F C1 09", "6A82")
	expect(t, c, "00 FF FF FF 00 00 1B 03 9B 18 "+newKey, "9000")
	expect(t, c, "00 DB 3F FF 00 00 0C 5C 03 5F FF 00 53 05 80 03 81 01 02", "9000")
	expect(t, c, "00 DB 3F FF 00 00 23 5C 03 5F C1 09 53 1C 88 1A 89 18 "+newKey, "9000")
	expect(t, c, "00 F7 00 9B 00 00 00", "01 01 03 02 02 00 01 05 01 00 9000")

	// A new session: ADMIN DATA is public, PRINTED needs the PIN.
	c = k.Card()
	send(t, c, selPIV)
	expect(t, c, "00 CB 3F FF 05 5C 03 5F FF 00", "53 05 80 03 81 01 02 9000")
	expect(t, c, "00 CB 3F FF 05 5C 03 5F C1 09", "6982")
	expect(t, c, "00 20 00 80 08 31 32 33 34 35 36 FF FF", "9000")
	expect(t, c, "00 CB 3F FF 05 5C 03 5F C1 09", "53 1C 88 1A 89 18 "+newKey+" 9000")
	if err := mgmtAuth(t, c, alg3DES, defaultMgmtKey); !errors.Is(err, device.ErrAuthentication) {
		t.Fatalf("old key still works: %v", err)
	}
	if err := mgmtAuth(t, c, alg3DES, unhex(t, newKey)); err != nil {
		t.Fatal(err)
	}
	// Deleting an object: empty 53.
	expect(t, c, "00 DB 3F FF 07 5C 03 5F FF 00 53 00", "9000")
	expect(t, c, "00 CB 3F FF 05 5C 03 5F FF 00", "6A82")
}

func TestPIVSetMgmtKey(t *testing.T) {
	tests := []struct {
		fw  device.Version
		cmd string
		sw  string
	}{
		{fw543, "00 FF FF FF 13 08 9B 10 " + strings.Repeat("01", 16), "9000"},
		{fw543, "00 FF FF FF 23 0C 9B 20 " + strings.Repeat("01", 32), "9000"},
		{fw543, "00 FF FF FE 1B 0A 9B 18 " + strings.Repeat("01", 24), "9000"},
		{fw543, "00 FF FF FF 13 03 9B 10 " + strings.Repeat("01", 16), "6A80"}, // 3DES is 24 bytes
		{fw543, "00 FF FF FF 1B 09 9B 18 " + strings.Repeat("01", 24), "6A80"}, // unknown algorithm
		{fw543, "00 FF FF FF 1B 03 9A 18 " + strings.Repeat("01", 24), "6A80"}, // not 9B
		{fw543, "00 FF FF 00 1B 03 9B 18 " + strings.Repeat("01", 24), "6B00"},
		{device.Version{Major: 5, Minor: 2, Patch: 7}, "00 FF FF FF 13 08 9B 10 " + strings.Repeat("01", 16), "6A80"}, // AES from 5.4
	}
	for _, tt := range tests {
		k := newKey(t, Config{Serial: 1, Model: "5c", Firmware: tt.fw})
		c := k.Card()
		send(t, c, selPIV)
		expect(t, c, tt.cmd, "6982") // not authenticated
		if err := mgmtAuth(t, c, alg3DES, defaultMgmtKey); err != nil {
			t.Fatal(err)
		}
		expect(t, c, tt.cmd, tt.sw)
		if tt.sw == "9000" {
			d := unhex(t, tt.cmd)[5:]
			if err := mgmtAuth(t, c, d[0], d[3:]); err != nil {
				t.Fatalf("%s: authenticating with the new key: %v", tt.cmd, err)
			}
			md, _ := tx(t, c, apdu.Command{INS: 0xF7, P2: 0x9B})
			touch := byte(touchPolicyNever)
			if unhex(t, tt.cmd)[3] == 0xFE {
				touch = touchPolicyAlways
			}
			if want := []byte{1, 1, d[0], 2, 2, 0, touch, 5, 1, 0}; !bytes.Equal(md, want) {
				t.Fatalf("metadata %x, want %x", md, want)
			}
		}
	}
}

func TestPIVSetPINRetries(t *testing.T) {
	k, c := pivCard(t, fw571)
	expect(t, c, "00 FA 05 07 00", "6982")
	if err := mgmtAuth(t, c, algAES192, defaultMgmtKey); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "00 FA 05 07 00", "6982") // PIN too
	expect(t, c, "00 24 00 80 10 313233343536FFFF 363534333231FFFF", "9000")
	expect(t, c, "00 20 00 80 08 363534333231FFFF", "9000")
	expect(t, c, "00 FA 00 07 00", "6B00")
	expect(t, c, "00 FA 05 07 00", "9000")
	// PIN and PUK are back to the defaults with the new counts.
	expect(t, c, "00 F7 00 80 00", "01 01 FF 05 01 01 06 02 05 05 9000")
	expect(t, c, "00 F7 00 81 00", "01 01 FF 05 01 01 06 02 07 07 9000")
	if p, u := k.PIVRetries(); p != 5 || u != 7 {
		t.Fatalf("retries %d/%d", p, u)
	}
}

// A certificate larger than one short APDU goes in with chaining and comes
// back in 61 xx chunks; apdu.Transmit reassembles both ways.
func TestPIVCertificateRoundTrip(t *testing.T) {
	k, c := pivCard(t, fw571)
	if err := mgmtAuth(t, c, algAES192, defaultMgmtKey); err != nil {
		t.Fatal(err)
	}
	der := bytes.Repeat([]byte{0xA5}, 900)
	obj := certObject(der)
	body := append(tlv.Encode(0x5C, []byte{0x5F, 0xC1, 0x05}), tlv.Encode(0x53, obj)...)
	if _, err := tx(t, c, apdu.Command{INS: 0xDB, P1: 0x3F, P2: 0xFF, Data: body}); err != nil {
		t.Fatal(err)
	}
	stored, ok := k.PIVObject(0x5FC105)
	if !ok || !bytes.Equal(stored, obj) {
		t.Fatal("object not stored verbatim")
	}
	// Raw: the first answer is 256 bytes and 61 xx.
	raw := send(t, c, "00 CB 3F FF 05 5C 03 5F C1 05")
	if len(raw) != 2*258 || raw[512:514] != "61" {
		t.Fatalf("first chunk: %d hex chars, SW %s", len(raw), raw[len(raw)-4:])
	}
	got, err := tx(t, c, apdu.Command{INS: 0xCB, P1: 0x3F, P2: 0xFF, Data: []byte{0x5C, 0x03, 0x5F, 0xC1, 0x05}, Extended: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, tlv.Encode(0x53, obj)) {
		t.Fatalf("GET DATA returned %d bytes, want %d", len(got), len(obj)+4)
	}
	// Any other command abandons the pending response.
	send(t, c, "00 CB 3F FF 05 5C 03 5F C1 05")
	expect(t, c, "00 FD 00 00 00", "05 07 01 9000")
	expect(t, c, "00 C0 00 00 00", "6985")
}

// Attestation (§4.10): the certificate chains to AttestationRoot through the
// key's F9 certificate and carries Yubico's extensions.
func TestPIVAttest(t *testing.T) {
	k, c := pivCard(t, fw571)
	if err := mgmtAuth(t, c, algAES192, defaultMgmtKey); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "00 F9 9A 00 00", "6A88") // empty slot
	pub := generate(t, c, 0x9A, algECCP256)
	der, err := tx(t, c, apdu.Command{INS: 0xF9, P1: 0x9A})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	objDER, err := tx(t, c, apdu.Command{INS: 0xCB, P1: 0x3F, P2: 0xFF, Data: []byte{0x5C, 0x03, 0x5F, 0xFF, 0x01}})
	if err != nil {
		t.Fatal(err)
	}
	inner, _, _ := tlv.Find(objDER, 0x53)
	f9der, _, _ := tlv.Find(inner, 0x70)
	f9, err := x509.ParseCertificate(f9der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(AttestationRoot())
	inter := x509.NewCertPool()
	inter.AddCert(f9)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatalf("attestation does not chain to the simulated root: %v", err)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
		t.Fatal("attested public key differs from the generated one")
	}
	if cert.Subject.CommonName != "YubiKey PIV Attestation 9a" {
		t.Errorf("subject %q", cert.Subject.CommonName)
	}
	exts := map[string][]byte{}
	for _, e := range cert.Extensions {
		exts[e.Id.String()] = e.Value
	}
	var serial int64
	if _, err := asn1.Unmarshal(exts["1.3.6.1.4.1.41482.3.7"], &serial); err != nil || serial != int64(k.Serial()) {
		t.Errorf("serial extension %x (%v)", exts["1.3.6.1.4.1.41482.3.7"], err)
	}
	for oid, want := range map[string][]byte{
		"1.3.6.1.4.1.41482.3.3": {5, 7, 1},
		"1.3.6.1.4.1.41482.3.8": {pinPolicyOnce, touchPolicyNever},
		"1.3.6.1.4.1.41482.3.9": {byte(device.FormUSBCNano)},
	} {
		if !bytes.Equal(exts[oid], want) {
			t.Errorf("extension %s = %x, want %x", oid, exts[oid], want)
		}
	}
	// Imported keys cannot be attested (6A 80).
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx(t, c, apdu.Command{INS: 0xFE, P1: algECCP256, P2: 0x9E, Data: tlv.Encode(0x06, d)}); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "00 F9 9E 00 00", "6A80")
	if !k.PIVPublicKey(0x9E).(*ecdsa.PublicKey).Equal(&priv.PublicKey) {
		t.Fatal("imported key differs")
	}
}

// Status words of PIV commands that do not fit the flows above.
func TestPIVStatusWords(t *testing.T) {
	tests := []struct{ cmd, sw string }{
		{"00 20 00 81 08 3132333435363738", "6A88"}, // VERIFY of the PUK reference
		{"00 20 01 80 00", "6B00"},                  // bad P1
		{"00 24 00 82 10 " + strings.Repeat("31", 16), "6A88"},
		{"00 24 00 80 08 3132333435363738", "6A80"}, // short data
		{"00 2C 00 81 10 " + strings.Repeat("31", 16), "6A88"},
		{"00 F7 00 42 00", "6A88"}, // no such slot
		{"00 CB 3F FE 05 5C 03 5F C1 05", "6B00"},
		{"00 CB 3F FF 05 5D 03 5F C1 05", "6A80"},       // not 5C
		{"00 CB 3F FF 06 5C 04 5F C1 05 01", "6A80"},    // id too long
		{"00 DB 3F FF 07 5C 03 5F FF 00 53 00", "6982"}, // unauthenticated write
		{"00 87 11 9A 06 7C 04 82 00 81 00", "6A88"},    // no key in 9A
		{"00 F9 F9 00 00", "6B00"},
		{"00 47 00 9B 05 AC 03 80 01 11", "6982"},
		{"00 42 00 00 00", "6D00"},
	}
	for _, tt := range tests {
		_, c := pivCard(t, fw571)
		expect(t, c, tt.cmd, tt.sw)
	}
	// After authentication: generation argument errors.
	for _, tt := range []struct{ cmd, sw string }{
		{"00 47 00 9B 05 AC 03 80 01 11", "6B00"},             // not a key slot
		{"00 47 00 9A 05 AC 03 80 01 E0", "6A80"},             // Ed25519 not simulated
		{"00 47 00 9A 05 AC 03 80 01 99", "6A80"},             // unknown algorithm
		{"00 47 00 9A 08 AC 06 80 01 11 AA 01 04", "6A80"},    // Bio PIN policy
		{"00 47 00 9A 08 AC 06 80 01 11 AB 01 04", "6A80"},    // unknown touch policy
		{"00 47 00 9A 05 AD 03 80 01 11", "6A80"},             // not AC
		{"00 DB 3F FF 09 5C 01 7E 53 04 01 02 03 04", "6A80"}, // discovery is fixed
		{"00 DB 3F FF 05 5C 03 5F C1 05", "6A80"},             // no 53
	} {
		_, c := pivCard(t, fw571)
		if err := mgmtAuth(t, c, algAES192, defaultMgmtKey); err != nil {
			t.Fatal(err)
		}
		expect(t, c, tt.cmd, tt.sw)
	}
}

func TestPIVFirmwareGates(t *testing.T) {
	fw52 := device.Version{Major: 5, Minor: 2, Patch: 7}
	_, c := pivCard(t, fw52)
	expect(t, c, "00 F7 00 80 00", "6D00") // GET METADATA from 5.3
	if err := mgmtAuth(t, c, alg3DES, defaultMgmtKey); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "00 47 00 9A 05 AC 03 80 01 16", "6A80") // RSA-4096 from 5.7
}

func TestPIVSessionClearedOnReselectAndClose(t *testing.T) {
	k, c := pivCard(t, fw571)
	expect(t, c, "00 20 00 80 08 313233343536FFFF", "9000")
	send(t, c, selPIV)
	expect(t, c, "00 20 00 80 00", "63C3")
	expect(t, c, "00 20 00 80 08 313233343536FFFF", "9000")
	c.Close()
	c = k.Card()
	send(t, c, selPIV)
	expect(t, c, "00 20 00 80 00", "63C3")
}
