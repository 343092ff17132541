// Package apdu encodes ISO/IEC 7816-4 command APDUs, parses responses, maps
// status words to the device package's typed errors, and implements the two
// transport rules every YubiKey client follows: command chaining (CLA bit
// 0x10, 255-byte chunks) and GET RESPONSE while SW1 is 0x61
// (docs/yubikey-protocol.md §4.2).
//
// It also parses command APDUs, for the simulator's side of the wire: every
// encoding real clients send (case 1-4, short and extended, Lc=00 with no
// data) must be accepted.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package apdu

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// Instruction bytes used across applications.
const (
	InsSelect      = 0xA4
	InsGetResponse = 0xC0
	claChain       = 0x10
	maxShortData   = 255
)

// Command is one command APDU. Ne is the expected response length; 0 means
// "no Le field". Extended selects extended-length encoding.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
	Extended         bool
}

// Bytes encodes c. Short commands always carry Lc when they carry data, as
// piv-go and ykman do; a command with no data and no Le is case 1 (4 bytes).
func (c Command) Bytes() []byte {
	b := []byte{c.CLA, c.INS, c.P1, c.P2}
	ext := c.Extended || len(c.Data) > maxShortData || c.Ne > 256
	if ext {
		if len(c.Data) > 0 {
			b = append(b, 0, byte(len(c.Data)>>8), byte(len(c.Data)))
			b = append(b, c.Data...)
		}
		if c.Ne > 0 {
			if len(c.Data) == 0 {
				b = append(b, 0)
			}
			ne := c.Ne
			if ne >= 65536 {
				ne = 0
			}
			b = append(b, byte(ne>>8), byte(ne))
		}
		return b
	}
	if len(c.Data) > 0 {
		b = append(b, byte(len(c.Data)))
		b = append(b, c.Data...)
	}
	if c.Ne > 0 {
		b = append(b, byte(c.Ne)) // 256 encodes as 00
	}
	return b
}

// Select builds SELECT by AID (P1=04), as ykman and piv-go send it (no Le).
func Select(aid []byte) Command {
	return Command{INS: InsSelect, P1: 0x04, Data: aid}
}

// Parse decodes a command APDU in any of the ISO 7816-4 §5.1 cases, short or
// extended. It is lenient where real clients are: "CLA INS P1 P2 00" (Lc=00,
// no data, ykman 4.0.9) and "CLA INS P1 P2 00 00 00" (extended Lc=0) are both
// accepted as case 1.
func Parse(raw []byte) (Command, error) {
	if len(raw) < 4 {
		return Command{}, fmt.Errorf("command of %d bytes is shorter than a header: %w", len(raw), device.ErrInvalidArgument)
	}
	c := Command{CLA: raw[0], INS: raw[1], P1: raw[2], P2: raw[3]}
	body := raw[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2 short, or ykman's Lc=00
		if body[0] != 0 {
			c.Ne = int(body[0])
		}
		return c, nil
	case body[0] != 0: // short with Lc
		lc := int(body[0])
		switch {
		case len(body) == 1+lc:
			c.Data = body[1:]
		case len(body) == 2+lc:
			c.Data = body[1 : 1+lc]
			c.Ne = int(body[1+lc])
			if c.Ne == 0 {
				c.Ne = 256
			}
		default:
			return Command{}, fmt.Errorf("short Lc %d does not match %d body bytes: %w", lc, len(body), device.ErrInvalidArgument)
		}
		return c, nil
	}
	// body[0] == 0 and len(body) >= 2: extended.
	c.Extended = true
	if len(body) == 3 { // case 2 extended (00 Le Le) or ykman's empty extended Lc (00 00 00)
		c.Ne = int(binary.BigEndian.Uint16(body[1:]))
		if c.Ne == 0 && body[1] == 0 && body[2] == 0 {
			// "00 00 00": ykman 4.0.9 sends an extended Lc of zero with no
			// data (docs/yubikey-protocol.md §4.2); treat it as case 1.
			c.Ne = 0
		}
		return c, nil
	}
	if len(body) < 3 {
		return Command{}, fmt.Errorf("extended length field truncated: %w", device.ErrInvalidArgument)
	}
	lc := int(binary.BigEndian.Uint16(body[1:3]))
	rest := body[3:]
	switch {
	case len(rest) == lc:
		c.Data = rest
	case len(rest) == lc+2:
		c.Data = rest[:lc]
		c.Ne = int(binary.BigEndian.Uint16(rest[lc:]))
		if c.Ne == 0 {
			c.Ne = 65536
		}
	default:
		return Command{}, fmt.Errorf("extended Lc %d does not match %d data bytes: %w", lc, len(rest), device.ErrInvalidArgument)
	}
	return c, nil
}

// SplitResponse splits a raw response into data and status word.
func SplitResponse(raw []byte) ([]byte, uint16, error) {
	if len(raw) < 2 {
		return nil, 0, fmt.Errorf("response of %d bytes has no status word: %w", len(raw), device.ErrInvalidResponse)
	}
	n := len(raw) - 2
	return raw[:n], binary.BigEndian.Uint16(raw[n:]), nil
}

// Transmit sends c over card, chaining data longer than a short APDU allows
// (unless c.Extended) and collecting "61 xx" continuations with GET RESPONSE.
// It returns the response data on 90 00 and a *StatusError otherwise.
func Transmit(ctx context.Context, card device.Card, c Command) ([]byte, error) {
	data := c.Data
	for !c.Extended && len(data) > maxShortData {
		part := c
		part.CLA |= claChain
		part.Data = data[:maxShortData]
		part.Ne = 0
		raw, err := card.Transmit(ctx, part.Bytes())
		if err != nil {
			return nil, err
		}
		_, sw, err := SplitResponse(raw)
		if err != nil {
			return nil, err
		}
		if sw != 0x9000 {
			return nil, &StatusError{SW: sw}
		}
		data = data[maxShortData:]
	}
	c.Data = data
	raw, err := card.Transmit(ctx, c.Bytes())
	if err != nil {
		return nil, err
	}
	var out []byte
	for {
		body, sw, err := SplitResponse(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, body...)
		if sw>>8 != 0x61 {
			if sw != 0x9000 {
				return nil, &StatusError{SW: sw}
			}
			return out, nil
		}
		if len(out) > 1<<20 { // no YubiKey object is this large; a card looping is broken
			return nil, fmt.Errorf("response exceeds 1 MiB: %w", device.ErrInvalidResponse)
		}
		// GET RESPONSE in the form the command used: short "00 C0 00 00 00"
		// or extended "00 C0 00 00 00 00 00" (ykman 4.0.9, §4.2).
		gr := []byte{c.CLA &^ claChain, InsGetResponse, 0, 0, 0}
		if c.Extended {
			gr = append(gr, 0, 0)
		}
		raw, err = card.Transmit(ctx, gr)
		if err != nil {
			return nil, err
		}
	}
}
