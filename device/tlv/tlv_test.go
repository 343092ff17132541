package tlv

import (
	"bytes"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	tests := []struct {
		name    string
		in      []byte
		want    []TLV
		wantErr bool
	}{
		{"empty", nil, nil, false},
		{"one byte tag", []byte{0x02, 0x04, 0x00, 0xAB, 0x57, 0x9B}, []TLV{{0x02, []byte{0x00, 0xAB, 0x57, 0x9B}}}, false},
		{"empty value", []byte{0x0C, 0x00}, []TLV{{0x0C, []byte{}}}, false},
		{"two", []byte{0x04, 0x01, 0x01, 0x05, 0x03, 0x05, 0x02, 0x03}, []TLV{{0x04, []byte{1}}, {0x05, []byte{5, 2, 3}}}, false},
		{"multi byte tag", []byte{0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x7F, 0x49, 0x01, 0x86}, []TLV{{0x5C, []byte{0x5F, 0xC1, 0x05}}, {0x7F49, []byte{0x86}}}, false},
		{"three byte tag", []byte{0x5F, 0xC1, 0x05, 0x01, 0xFF}, []TLV{{0x5FC105, []byte{0xFF}}}, false},
		{"81 length", append([]byte{0x53, 0x81, 0x80}, long[:0x80]...), []TLV{{0x53, long[:0x80]}}, false},
		{"82 length", append([]byte{0x70, 0x82, 0x01, 0x2C}, long...), []TLV{{0x70, long}}, false},
		{"length past end", []byte{0x02, 0x05, 0x01}, nil, true},
		{"missing length", []byte{0x02}, nil, true},
		{"81 truncated", []byte{0x53, 0x81}, nil, true},
		{"82 truncated", []byte{0x53, 0x82, 0x01}, nil, true},
		{"84 form", []byte{0x53, 0x84, 0, 0, 0, 1, 0}, nil, true},
		{"tag truncated", []byte{0x5F}, nil, true},
		{"tag too long", []byte{0x5F, 0xC1, 0x85, 0x01, 0x00}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(% X) error = %v, want ErrMalformed", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(% X): %v", tc.in, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Parse(% X) = %d items, want %d", tc.in, len(got), len(tc.want))
			}
			for i := range got {
				if got[i].Tag != tc.want[i].Tag || !bytes.Equal(got[i].Value, tc.want[i].Value) {
					t.Errorf("item %d = %x:% X, want %x:% X", i, got[i].Tag, got[i].Value, tc.want[i].Tag, tc.want[i].Value)
				}
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536} {
		for _, tag := range []uint32{0x01, 0x7F49, 0x5FC105} {
			v := bytes.Repeat([]byte{0x5A}, n)
			enc := Encode(tag, v)
			got, err := Parse(enc)
			if err != nil || len(got) != 1 || got[0].Tag != tag || !bytes.Equal(got[0].Value, v) {
				t.Fatalf("round trip tag %x len %d: %v %v", tag, n, got, err)
			}
		}
	}
}

func TestFindAndMap(t *testing.T) {
	b := []byte{0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03, 0x05, 0x01, 0x00}
	v, ok, err := Find(b, 0x06)
	if err != nil || !ok || !bytes.Equal(v, []byte{3, 3}) {
		t.Fatalf("Find 06 = % X %v %v", v, ok, err)
	}
	if _, ok, _ := Find(b, 0x07); ok {
		t.Fatal("Find 07 found a tag that is absent")
	}
	m, err := Map(b)
	if err != nil || !bytes.Equal(m[0x05], []byte{1}) {
		t.Fatalf("Map keeps the first of repeated tags: % X %v", m[0x05], err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0x02, 0x04, 0x00, 0xAB, 0x57, 0x9B})
	f.Add([]byte{0x5F, 0xC1, 0x05, 0x82, 0x00, 0x01, 0x00})
	f.Add([]byte{0x7F, 0x49, 0x43, 0x86, 0x41, 0x04})
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := Parse(b)
		if err != nil {
			return
		}
		// A successful parse must re-encode to something that parses the same.
		var enc []byte
		for _, it := range items {
			enc = Append(enc, it.Tag, it.Value)
		}
		again, err := Parse(enc)
		if err != nil || len(again) != len(items) {
			t.Fatalf("re-encoded % X does not parse back: %v", enc, err)
		}
		for i := range items {
			if again[i].Tag != items[i].Tag || !bytes.Equal(again[i].Value, items[i].Value) {
				t.Fatalf("item %d changed on re-encode", i)
			}
		}
	})
}
