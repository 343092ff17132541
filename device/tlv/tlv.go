// Package tlv encodes and decodes the BER-TLV structures YubiKeys use: the
// one-byte tags of management device info (docs/yubikey-protocol.md §1.3) and the
// multi-byte tags and long-form lengths of PIV objects (§4.4, §4.8), as
// ISO/IEC 7816-4 §5.2.2 defines them.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package tlv

import (
	"errors"
	"fmt"
)

// ErrMalformed reports bytes that are not a well-formed TLV sequence.
var ErrMalformed = errors.New("malformed TLV")

// TLV is one decoded element. Tag keeps every tag byte (0x5FC105, 0x7F49).
type TLV struct {
	Tag   uint32
	Value []byte
}

// maxTagBytes bounds multi-byte tags; ISO 7816 uses at most three.
const maxTagBytes = 3

// Parse decodes a sequence of TLVs that must fill b exactly. Values alias b.
func Parse(b []byte) ([]TLV, error) {
	var out []TLV
	for len(b) > 0 {
		t, rest, err := Next(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
	}
	return out, nil
}

// Next decodes the first TLV of b and returns the bytes after it.
func Next(b []byte) (TLV, []byte, error) {
	if len(b) == 0 {
		return TLV{}, nil, fmt.Errorf("empty input: %w", ErrMalformed)
	}
	tag := uint32(b[0])
	i := 1
	if b[0]&0x1f == 0x1f { // multi-byte tag: continue while bit 8 is set
		for {
			if i >= len(b) || i >= maxTagBytes {
				return TLV{}, nil, fmt.Errorf("tag truncated or too long: %w", ErrMalformed)
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return TLV{}, nil, fmt.Errorf("tag %x: length missing: %w", tag, ErrMalformed)
	}
	n := int(b[i])
	i++
	switch {
	case n < 0x80:
	case n == 0x81:
		if i+1 > len(b) {
			return TLV{}, nil, fmt.Errorf("tag %x: length truncated: %w", tag, ErrMalformed)
		}
		n = int(b[i])
		i++
	case n == 0x82:
		if i+2 > len(b) {
			return TLV{}, nil, fmt.Errorf("tag %x: length truncated: %w", tag, ErrMalformed)
		}
		n = int(b[i])<<8 | int(b[i+1])
		i += 2
	case n == 0x83:
		if i+3 > len(b) {
			return TLV{}, nil, fmt.Errorf("tag %x: length truncated: %w", tag, ErrMalformed)
		}
		n = int(b[i])<<16 | int(b[i+1])<<8 | int(b[i+2])
		i += 3
	default:
		return TLV{}, nil, fmt.Errorf("tag %x: length form 0x%02x not supported: %w", tag, n, ErrMalformed)
	}
	if n > len(b)-i {
		return TLV{}, nil, fmt.Errorf("tag %x: length %d exceeds the %d bytes left: %w", tag, n, len(b)-i, ErrMalformed)
	}
	return TLV{Tag: tag, Value: b[i : i+n]}, b[i+n:], nil
}

// Find returns the value of the first element with tag in b (not recursing).
func Find(b []byte, tag uint32) ([]byte, bool, error) {
	items, err := Parse(b)
	if err != nil {
		return nil, false, err
	}
	for _, t := range items {
		if t.Tag == tag {
			return t.Value, true, nil
		}
	}
	return nil, false, nil
}

// Map decodes b into tag → value, keeping the first value of repeated tags.
func Map(b []byte) (map[uint32][]byte, error) {
	items, err := Parse(b)
	if err != nil {
		return nil, err
	}
	m := make(map[uint32][]byte, len(items))
	for _, t := range items {
		if _, dup := m[t.Tag]; !dup {
			m[t.Tag] = t.Value
		}
	}
	return m, nil
}

// Append encodes one TLV onto dst, using the shortest length form.
func Append(dst []byte, tag uint32, value []byte) []byte {
	switch {
	case tag > 0xffff:
		dst = append(dst, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xff:
		dst = append(dst, byte(tag>>8), byte(tag))
	default:
		dst = append(dst, byte(tag))
	}
	n := len(value)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xff:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, value...)
}

// Encode is Append onto a new slice.
func Encode(tag uint32, value []byte) []byte { return Append(nil, tag, value) }
