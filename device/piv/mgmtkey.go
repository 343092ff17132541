package piv

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/tlv"
)

// MgmtKeyAlgorithm is the algorithm byte of a management key (P1 of
// GENERAL AUTHENTICATE on slot 9B, tag 01 of its metadata).
type MgmtKeyAlgorithm byte

// Management key algorithms (docs/yubikey-protocol.md §4.3).
const (
	MgmtTDES   MgmtKeyAlgorithm = 0x03
	MgmtAES128 MgmtKeyAlgorithm = 0x08
	MgmtAES192 MgmtKeyAlgorithm = 0x0A
	MgmtAES256 MgmtKeyAlgorithm = 0x0C
)

// String names the algorithm as ykman's "Management key algorithm:" line
// does (MANAGEMENT_KEY_TYPE names).
func (a MgmtKeyAlgorithm) String() string {
	switch a {
	case MgmtTDES:
		return "TDES"
	case MgmtAES128:
		return "AES128"
	case MgmtAES192:
		return "AES192"
	case MgmtAES256:
		return "AES256"
	}
	return fmt.Sprintf("0x%02x", byte(a))
}

// KeyLen is the key size in bytes, 0 for unknown algorithms.
func (a MgmtKeyAlgorithm) KeyLen() int {
	switch a {
	case MgmtTDES, MgmtAES192:
		return 24
	case MgmtAES128:
		return 16
	case MgmtAES256:
		return 32
	}
	return 0
}

// DefaultManagementKey is the factory management key, 01..08 three times
// (3DES up to firmware 5.6, AES-192 from 5.7: same bytes).
var DefaultManagementKey = []byte{
	1, 2, 3, 4, 5, 6, 7, 8,
	1, 2, 3, 4, 5, 6, 7, 8,
	1, 2, 3, 4, 5, 6, 7, 8,
}

func (a MgmtKeyAlgorithm) cipher(key []byte) (cipher.Block, error) {
	if n := a.KeyLen(); n == 0 || len(key) != n {
		// The length is not secret; the key is never printed.
		return nil, fmt.Errorf("a %s management key is %d bytes, got %d: %w", a, a.KeyLen(), len(key), device.ErrInvalidArgument)
	}
	if a == MgmtTDES {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// mutualAuth runs management-key mutual authentication (GENERAL
// AUTHENTICATE, P2 9B) as ykman and piv-go do (docs/yubikey-protocol.md §4.5):
//
//  1. 7C 02 80 00 asks for a witness; the card answers 7C L 80 n <witness
//     encrypted under the key>.
//  2. The host sends 7C L 80 n <decrypted witness> 81 n <own challenge>; the
//     card checks the witness (69 82 if wrong) and answers 7C L 82 n
//     <challenge encrypted under the key>, which the host checks in turn.
//
// n is the cipher block size: 8 for 3DES, 16 for AES, single-block ECB.
// Step 2 proves the host knows the key; the host's check proves the card
// does, so a card that accepts any witness is still caught.
func mutualAuth(ctx context.Context, card device.Card, alg MgmtKeyAlgorithm, key []byte, rnd io.Reader) error {
	block, err := alg.cipher(key)
	if err != nil {
		return err
	}
	n := block.BlockSize()
	resp, err := apdu.Transmit(ctx, card, apdu.Command{INS: insAuthenticate, P1: byte(alg), P2: SlotCardManagement,
		Data: []byte{0x7C, 0x02, 0x80, 0x00}})
	if err != nil {
		return fmt.Errorf("requesting management key witness: %w", err)
	}
	witness, err := dynAuthElement(resp, 0x80, n)
	if err != nil {
		return fmt.Errorf("reading management key witness: %w", err)
	}
	decrypted := make([]byte, n)
	block.Decrypt(decrypted, witness)
	challenge := make([]byte, n)
	if _, err := io.ReadFull(rnd, challenge); err != nil {
		return fmt.Errorf("generating management key challenge: %w", err)
	}
	var in []byte
	in = tlv.Append(in, 0x80, decrypted)
	in = tlv.Append(in, 0x81, challenge)
	resp, err = apdu.Transmit(ctx, card, apdu.Command{INS: insAuthenticate, P1: byte(alg), P2: SlotCardManagement,
		Data: tlv.Encode(0x7C, in)})
	if err != nil {
		return fmt.Errorf("answering management key witness: %w", err)
	}
	got, err := dynAuthElement(resp, 0x82, n)
	if err != nil {
		return fmt.Errorf("reading management key response: %w", err)
	}
	want := make([]byte, n)
	block.Encrypt(want, challenge)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return fmt.Errorf("the key's answer to our challenge is wrong; it does not hold this management key: %w", device.ErrAuthentication)
	}
	return nil
}

// dynAuthElement extracts element tag (n bytes) from a 7C dynamic
// authentication template.
func dynAuthElement(resp []byte, tag uint32, n int) ([]byte, error) {
	outer, rest, err := tlv.Next(resp)
	if err != nil || outer.Tag != 0x7C || len(rest) != 0 {
		return nil, fmt.Errorf("answer is not a 7C template: %w", device.ErrInvalidResponse)
	}
	v, ok, err := tlv.Find(outer.Value, tag)
	if err != nil || !ok {
		return nil, fmt.Errorf("7C template lacks element %02x: %w", tag, device.ErrInvalidResponse)
	}
	if len(v) != n {
		return nil, fmt.Errorf("element %02x has %d bytes, want %d: %w", tag, len(v), n, device.ErrInvalidResponse)
	}
	return bytes.Clone(v), nil
}
