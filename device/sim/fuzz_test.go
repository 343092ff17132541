package sim

import (
	"bytes"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/tlv"
)

// FuzzTransmit feeds arbitrary command APDUs to the card's dispatcher (the
// simulator's parser entry point) in four states chosen by the first byte:
// management selected, PIV selected, PIV with management key and PIN
// verified, FIDO selected over NFC. The card must never panic and must always answer with a status
// word, and never more than 256 data bytes at once.
func FuzzTransmit(f *testing.F) {
	for _, s := range []string{
		"00 00 1D 00 00 00",
		"00 00 1C 00 00 0A 09 0C 00 03 02 02 3E 08 01 00",
		"00 00 16 11 00 04 05 0F 00 00",
		"01 00 F7 00 80 00 00 00",
		"01 00 20 00 80 08 31 32 33 34 35 36 FF FF",
		"01 00 87 03 9B 04 7C 02 80 00",
		"01 00 CB 3F FF 05 5C 03 5F FF 01",
		"02 00 47 00 9A 05 AC 03 80 01 11",
		"02 00 DB 3F FF 0C 5C 03 5F FF 00 53 05 80 03 81 01 02",
		"02 00 FE 11 9A 22 06 20 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08",
		"02 10 DB 3F FF 03 5C 01 7E",
		"02 00 FF FF FF 1B 03 9B 18 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08",
		"02 00 FA 05 05 00",
		"03 80 10 00 00 01 04",
		"03 80 10 00 00 03 06 A1 01 01 02",
		"03 00 03 00 00 00",
	} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 1 {
			return
		}
		k, err := New(Config{Serial: 42, Model: "5c-nfc", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
		if err != nil {
			t.Fatal(err)
		}
		c := k.Card()
		mode, cmd := in[0]%4, in[1:]
		nfc := mode == 3
		switch mode {
		case 0:
			send(t, c, selMgmt)
		case 3: // tapped on NFC, FIDO selected: CTAP over ISO 7816
			if c, err = k.CardNFC(); err != nil {
				t.Fatal(err)
			}
			send(t, c, "00 A4 04 00 08 A0 00 00 06 47 2F 00 01")
		default:
			send(t, c, selPIV)
			if mode == 2 {
				if err := mgmtAuth(t, c, alg3DES, defaultMgmtKey); err != nil {
					t.Fatal(err)
				}
				send(t, c, "00 20 00 80 08 31 32 33 34 35 36 FF FF")
			}
		}
		for i := 0; i < 2; i++ { // twice: state left by the first must be sane
			k.mu.Lock()
			resp := k.process(cmd, nfc)
			k.mu.Unlock()
			if len(resp) < 2 || len(resp) > 258 {
				t.Fatalf("response of %d bytes to %x", len(resp), cmd)
			}
		}
	})
}

// FuzzDecodeWriteConfig checks the WRITE CONFIG body decoder: it never
// panics, it accepts only bodies whose length byte is right, and the TLVs
// it returns fit in the body (re-encoded in the shortest form, which
// clients use; a long-form length takes more).
func FuzzDecodeWriteConfig(f *testing.F) {
	for _, s := range []string{
		"09 0C 00 03 02 02 3E 08 01 00",
		"06 0C 00 03 02 02 3E",
		"09 03 02 03 1E 08 01 80 0C 00",
		"12 0A 10 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42",
		"00",
		"05 04 03 02 00 04",
	} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tags, err := DecodeWriteConfig(in)
		if err != nil {
			return
		}
		n := 0
		for tag, v := range tags {
			n += len(tlv.Encode(uint32(tag), v))
		}
		if n > len(in)-1 || int(in[0]) != len(in)-1 {
			t.Fatalf("accepted %x: decoded %d TLV bytes", in, n)
		}
	})
}

// FuzzDecodePutData checks the PUT DATA body decoder: accepted bodies are
// exactly 5C <id> 53 <value>, and the value aliases the input verbatim.
func FuzzDecodePutData(f *testing.F) {
	for _, s := range []string{
		"5C 03 5F FF 00 53 05 80 03 81 01 02",
		"5C 03 5F C1 09 53 1C 88 1A 89 18 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08",
		"5C 03 5F C1 05 53 00",
		"5C 01 7E 53 00",
		"5C 03 5F C1 05 53 81 80" + string(bytes.Repeat([]byte(" 00"), 0x80)),
	} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		id, v, err := DecodePutData(in)
		if err != nil {
			return
		}
		if id == 0 && in[2] != 0 {
			t.Fatalf("id 0 from %x", in)
		}
		if !bytes.HasSuffix(in, v) {
			t.Fatalf("value %x is not the tail of %x", v, in)
		}
	})
}
