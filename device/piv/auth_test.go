package piv

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
)

// scriptCard answers each command with handler and records what was sent.
type scriptCard struct {
	sent    [][]byte
	handler func(cmd []byte) []byte
}

func (c *scriptCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	c.sent = append(c.sent, append([]byte(nil), cmd...))
	return c.handler(cmd), nil
}
func (c *scriptCard) Close() error { return nil }

// authCard is the card side of GENERAL AUTHENTICATE 9B written straight
// from docs/yubikey-protocol.md §4.5, independently of mutualAuth: it hands out
// an encrypted witness, checks the decrypted one and encrypts the host's
// challenge. lie makes it answer the challenge wrongly (a card that does not
// hold the key but accepts any witness).
func authCard(t *testing.T, alg byte, key, witness []byte, lie bool) *scriptCard {
	var block cipher.Block
	var err error
	if alg == 0x03 {
		block, err = des.NewTripleDESCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	n := block.BlockSize()
	c := &scriptCard{}
	c.handler = func(raw []byte) []byte {
		cmd, err := apdu.Parse(raw)
		if err != nil || cmd.INS != 0x87 || cmd.P2 != 0x9B {
			return []byte{0x6D, 0x00}
		}
		if cmd.P1 != alg {
			return []byte{0x6A, 0x86}
		}
		d := cmd.Data
		switch {
		case bytes.Equal(d, []byte{0x7C, 0x02, 0x80, 0x00}):
			enc := make([]byte, n)
			block.Encrypt(enc, witness)
			return append(append([]byte{0x7C, byte(n + 2), 0x80, byte(n)}, enc...), 0x90, 0x00)
		case len(d) == 2*n+6 && d[0] == 0x7C && d[1] == byte(2*n+4) && d[2] == 0x80 && d[3] == byte(n) && d[4+n] == 0x81 && d[5+n] == byte(n):
			if !bytes.Equal(d[4:4+n], witness) {
				return []byte{0x69, 0x82}
			}
			resp := make([]byte, n)
			block.Encrypt(resp, d[6+n:])
			if lie {
				resp[0] ^= 1
			}
			return append(append([]byte{0x7C, byte(n + 2), 0x82, byte(n)}, resp...), 0x90, 0x00)
		}
		return []byte{0x6A, 0x80}
	}
	return c
}

func TestMutualAuth(t *testing.T) {
	aes16 := bytes.Repeat([]byte{0x42}, 16)
	aes32 := bytes.Repeat([]byte{0x24}, 32)
	for _, tc := range []struct {
		name string
		alg  MgmtKeyAlgorithm
		key  []byte
	}{
		{"TDES default", MgmtTDES, DefaultManagementKey},
		{"AES128", MgmtAES128, aes16},
		{"AES192 default (fw 5.7)", MgmtAES192, DefaultManagementKey},
		{"AES256", MgmtAES256, aes32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 8
			if tc.alg != MgmtTDES {
				n = 16
			}
			witness := bytes.Repeat([]byte{0x5A}, n)
			challenge := bytes.Repeat([]byte{0xC3}, n)
			card := authCard(t, byte(tc.alg), tc.key, witness, false)
			if err := mutualAuth(context.Background(), card, tc.alg, tc.key, bytes.NewReader(challenge)); err != nil {
				t.Fatal(err)
			}
			// Exact command shapes of §4.5, in piv-go's short encoding.
			if len(card.sent) != 2 {
				t.Fatalf("sent %d commands", len(card.sent))
			}
			if want := []byte{0x00, 0x87, byte(tc.alg), 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00}; !bytes.Equal(card.sent[0], want) {
				t.Errorf("witness request % X, want % X", card.sent[0], want)
			}
			second := card.sent[1]
			wantHead := []byte{0x00, 0x87, byte(tc.alg), 0x9B, byte(2*n + 6), 0x7C, byte(2*n + 4), 0x80, byte(n)}
			if !bytes.Equal(second[:9], wantHead) || !bytes.Equal(second[9:9+n], witness) ||
				!bytes.Equal(second[9+n:11+n], []byte{0x81, byte(n)}) || !bytes.Equal(second[11+n:], challenge) {
				t.Errorf("witness answer % X", second)
			}

			// Wrong key: the card refuses our decrypted witness with 69 82.
			wrong := bytes.Repeat([]byte{0x99}, len(tc.key))
			card = authCard(t, byte(tc.alg), tc.key, witness, false)
			err := mutualAuth(context.Background(), card, tc.alg, wrong, bytes.NewReader(challenge))
			var se *apdu.StatusError
			if !errors.Is(err, device.ErrAuthentication) || !errors.As(err, &se) || se.SW != 0x6982 {
				t.Errorf("wrong key: err = %v, want 69 82 / ErrAuthentication", err)
			}

			// A card that accepts our witness but cannot encrypt our
			// challenge does not hold the key.
			card = authCard(t, byte(tc.alg), tc.key, witness, true)
			err = mutualAuth(context.Background(), card, tc.alg, tc.key, bytes.NewReader(challenge))
			if !errors.Is(err, device.ErrAuthentication) || errors.As(err, &se) {
				t.Errorf("lying card: err = %v, want our own ErrAuthentication", err)
			}
		})
	}
}

func TestMutualAuthErrors(t *testing.T) {
	ctx := context.Background()
	card := &scriptCard{handler: func([]byte) []byte { return []byte{0x90, 0x00} }}
	if err := mutualAuth(ctx, card, MgmtAES128, DefaultManagementKey, bytes.NewReader(nil)); !errors.Is(err, device.ErrInvalidArgument) {
		t.Errorf("24-byte key as AES128: %v", err)
	}
	if len(card.sent) != 0 {
		t.Error("sent a command with an invalid key length")
	}
	if err := mutualAuth(ctx, card, 0x11, make([]byte, 32), bytes.NewReader(nil)); !errors.Is(err, device.ErrInvalidArgument) {
		t.Errorf("non-management algorithm: %v", err)
	}
	for _, resp := range []string{
		"90 00",                                 // empty
		"7C 0A 80 08 0102030405060708 00 90 00", // trailing
		"7C 06 80 04 01020304 90 00",            // short witness
		"7D 0A 80 08 0102030405060708 90 00",
		"7C 0A 81 08 0102030405060708 90 00",
	} {
		card := &scriptCard{handler: func([]byte) []byte { return unhex(t, resp) }}
		err := mutualAuth(ctx, card, MgmtTDES, DefaultManagementKey, bytes.NewReader(make([]byte, 8)))
		if !errors.Is(err, device.ErrInvalidResponse) {
			t.Errorf("response %s: err = %v, want ErrInvalidResponse", resp, err)
		}
	}
	// No randomness: fail, never send a predictable challenge.
	card = authCard(t, 0x03, DefaultManagementKey, make([]byte, 8), false)
	if err := mutualAuth(ctx, card, MgmtTDES, DefaultManagementKey, bytes.NewReader(nil)); err == nil || len(card.sent) != 1 {
		t.Errorf("empty rand: err = %v after %d commands", err, len(card.sent))
	}
}
