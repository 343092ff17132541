package simfido

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// The CBOR subset CTAP2 uses (RFC 8949; CTAP 2.1 §8 "Message Encoding"):
// unsigned and negative integers, byte and text strings, arrays, maps and
// the simple values false, true and null. No tags, floats or
// indefinite lengths: CTAP2 forbids them in requests, so the decoder
// rejects them as a YubiKey does (CTAP2_ERR_INVALID_CBOR).

// errCBOR is any malformed or unsupported CBOR input.
var errCBOR = errors.New("invalid CBOR")

// maxCBORDepth bounds nesting: CTAP requests nest four levels at most (a
// COSE key inside a request map); the authenticator may reject deeper
// input (CTAP 2.1 §8 "maximum nesting depth").
const maxCBORDepth = 8

// cborNull is the decoded CBOR null.
type cborNull struct{}

// cborMap is a decoded map: keys are int64 or string, kept in wire order.
type cborMap struct {
	keys []any
	vals []any
}

func (m *cborMap) get(k any) (any, bool) {
	if n, ok := k.(int); ok { // untyped constants arrive as int
		k = int64(n)
	}
	for i, key := range m.keys {
		if key == k {
			return m.vals[i], true
		}
	}
	return nil, false
}

// member is m's value under k (an integer or a text key), when there is
// one, as a T. Absent is not an error here (the caller decides; see
// required); another CBOR type is CBOR_UNEXPECTED_TYPE, a missing required
// one MISSING_PARAMETER (CTAP 2.1 §8.2).
func member[T any](m *cborMap, k any) (T, bool, error) {
	var zero T
	v, ok := m.get(k)
	if !ok {
		return zero, false, nil
	}
	t, ok := v.(T)
	if !ok {
		return zero, false, ctapStatus(ctapUnexpectedTyp)
	}
	return t, true, nil
}

// required is member for a parameter the command cannot go without:
// absent is CTAP2_ERR_MISSING_PARAMETER.
func required[T any](m *cborMap, k any) (T, error) {
	t, ok, err := member[T](m, k)
	if err == nil && !ok {
		err = ctapStatus(ctapMissingParam)
	}
	return t, err
}

// decodeCBOR decodes exactly one item filling all of b.
func decodeCBOR(b []byte) (any, error) {
	v, rest, err := decodeItem(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes: %w", len(rest), errCBOR)
	}
	return v, nil
}

// head reads an item's major type and argument.
func head(b []byte) (major byte, arg uint64, rest []byte, err error) {
	if len(b) == 0 {
		return 0, 0, nil, fmt.Errorf("truncated: %w", errCBOR)
	}
	major, info := b[0]>>5, b[0]&0x1f
	b = b[1:]
	switch {
	case info < 24:
		return major, uint64(info), b, nil
	case info <= 27:
		n := 1 << (info - 24)
		if len(b) < n {
			return 0, 0, nil, fmt.Errorf("truncated argument: %w", errCBOR)
		}
		switch n {
		case 1:
			arg = uint64(b[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(b))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(b))
		case 8:
			arg = binary.BigEndian.Uint64(b)
		}
		return major, arg, b[n:], nil
	}
	// 28-30 reserved, 31 indefinite length: not in CTAP2's subset.
	return 0, 0, nil, fmt.Errorf("additional information %d: %w", info, errCBOR)
}

func decodeItem(b []byte, depth int) (any, []byte, error) {
	if depth > maxCBORDepth {
		return nil, nil, fmt.Errorf("nested too deep: %w", errCBOR)
	}
	major, arg, rest, err := head(b)
	if err != nil {
		return nil, nil, err
	}
	switch major {
	case 0:
		if arg > math.MaxInt64 {
			return nil, nil, fmt.Errorf("integer too large: %w", errCBOR)
		}
		return int64(arg), rest, nil
	case 1:
		if arg > math.MaxInt64 {
			return nil, nil, fmt.Errorf("integer too small: %w", errCBOR)
		}
		return -1 - int64(arg), rest, nil
	case 2, 3:
		if arg > uint64(len(rest)) {
			return nil, nil, fmt.Errorf("string longer than input: %w", errCBOR)
		}
		s := rest[:arg]
		if major == 2 {
			return bytes.Clone(s), rest[arg:], nil
		}
		return string(s), rest[arg:], nil
	case 4:
		// Each element takes at least one byte: a count beyond the input
		// is malformed (and must not size an allocation).
		if arg > uint64(len(rest)) {
			return nil, nil, fmt.Errorf("array longer than input: %w", errCBOR)
		}
		out := make([]any, 0, arg)
		for i := uint64(0); i < arg; i++ {
			var v any
			v, rest, err = decodeItem(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, v)
		}
		return out, rest, nil
	case 5:
		if arg > uint64(len(rest))/2 {
			return nil, nil, fmt.Errorf("map longer than input: %w", errCBOR)
		}
		m := &cborMap{}
		for i := uint64(0); i < arg; i++ {
			var k, v any
			k, rest, err = decodeItem(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			switch k.(type) {
			case int64, string:
			default:
				return nil, nil, fmt.Errorf("map key of type %T: %w", k, errCBOR)
			}
			if _, dup := m.get(k); dup {
				return nil, nil, fmt.Errorf("duplicate map key %v: %w", k, errCBOR)
			}
			v, rest, err = decodeItem(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			m.keys = append(m.keys, k)
			m.vals = append(m.vals, v)
		}
		return m, rest, nil
	case 7:
		switch arg {
		case 20:
			return false, rest, nil
		case 21:
			return true, rest, nil
		case 22:
			return cborNull{}, rest, nil
		}
		return nil, nil, fmt.Errorf("simple value or float %d: %w", arg, errCBOR)
	}
	// Major type 6: tags.
	return nil, nil, fmt.Errorf("major type %d: %w", major, errCBOR)
}

// encodeCBOR encodes v in CTAP2 canonical form (CTAP 2.1 §8: shortest
// lengths, map keys sorted by encoded length then bytes). It accepts int,
// int64, uint64, []byte, string, bool, []any, map[int]any, map[string]any
// and cborNull, and panics on anything else (a bug in the simulator).
func encodeCBOR(v any) []byte {
	var b []byte
	return appendCBOR(b, v)
}

func appendHead(b []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(b, m|byte(arg))
	case arg <= math.MaxUint8:
		return append(b, m|24, byte(arg))
	case arg <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(arg))
	case arg <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(arg))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), arg)
}

func appendCBOR(b []byte, v any) []byte {
	switch x := v.(type) {
	case int:
		return appendCBOR(b, int64(x))
	case int64:
		if x >= 0 {
			return appendHead(b, 0, uint64(x))
		}
		return appendHead(b, 1, uint64(-1-x))
	case uint64:
		return appendHead(b, 0, x)
	case []byte:
		return append(appendHead(b, 2, uint64(len(x))), x...)
	case string:
		return append(appendHead(b, 3, uint64(len(x))), x...)
	case bool:
		if x {
			return append(b, 0xf5)
		}
		return append(b, 0xf4)
	case cborNull:
		return append(b, 0xf6)
	case []any:
		b = appendHead(b, 4, uint64(len(x)))
		for _, e := range x {
			b = appendCBOR(b, e)
		}
		return b
	case []string:
		b = appendHead(b, 4, uint64(len(x)))
		for _, e := range x {
			b = appendCBOR(b, e)
		}
		return b
	case []int:
		b = appendHead(b, 4, uint64(len(x)))
		for _, e := range x {
			b = appendCBOR(b, e)
		}
		return b
	case map[int]any:
		pairs := make([][2][]byte, 0, len(x))
		for k, v := range x {
			pairs = append(pairs, [2][]byte{encodeCBOR(k), encodeCBOR(v)})
		}
		return appendPairs(b, pairs)
	case map[string]any:
		pairs := make([][2][]byte, 0, len(x))
		for k, v := range x {
			pairs = append(pairs, [2][]byte{encodeCBOR(k), encodeCBOR(v)})
		}
		return appendPairs(b, pairs)
	case *cborMap:
		pairs := make([][2][]byte, 0, len(x.keys))
		for i, k := range x.keys {
			pairs = append(pairs, [2][]byte{encodeCBOR(k), encodeCBOR(x.vals[i])})
		}
		return appendPairs(b, pairs)
	case map[string]bool:
		pairs := make([][2][]byte, 0, len(x))
		for k, v := range x {
			pairs = append(pairs, [2][]byte{encodeCBOR(k), encodeCBOR(v)})
		}
		return appendPairs(b, pairs)
	}
	panic(fmt.Sprintf("simfido: cannot encode %T as CBOR", v))
}

// appendPairs writes a map with keys in CTAP2 canonical order: shorter
// encoded keys first, then bytewise (CTAP 2.1 §8 canonical CBOR rules).
func appendPairs(b []byte, pairs [][2][]byte) []byte {
	sort.Slice(pairs, func(i, j int) bool {
		ki, kj := pairs[i][0], pairs[j][0]
		if len(ki) != len(kj) {
			return len(ki) < len(kj)
		}
		return bytes.Compare(ki, kj) < 0
	})
	b = appendHead(b, 5, uint64(len(pairs)))
	for _, p := range pairs {
		b = append(append(b, p[0]...), p[1]...)
	}
	return b
}
