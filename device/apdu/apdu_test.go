package apdu

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
)

func TestCommandBytes(t *testing.T) {
	tests := []struct {
		name string
		c    Command
		want []byte
	}{
		{"case 1", Command{INS: 0x1D}, []byte{0, 0x1D, 0, 0}},
		{"select", Select([]byte{0xA0, 0, 0, 5, 0x27, 0x47, 0x11, 0x17}), []byte{0, 0xA4, 4, 0, 8, 0xA0, 0, 0, 5, 0x27, 0x47, 0x11, 0x17}},
		{"case 2 short", Command{INS: 0xC0, Ne: 256}, []byte{0, 0xC0, 0, 0, 0}},
		{"case 4 short", Command{INS: 0x87, P1: 3, P2: 0x9B, Data: []byte{0x7C, 0x02, 0x80, 0x00}, Ne: 16}, []byte{0, 0x87, 3, 0x9B, 4, 0x7C, 2, 0x80, 0, 16}},
		{"extended data", Command{INS: 0xF7, P2: 0x80, Data: []byte{1}, Extended: true}, []byte{0, 0xF7, 0, 0x80, 0, 0, 1, 1}},
		{"extended le only", Command{INS: 0xCB, Ne: 65536, Extended: true}, []byte{0, 0xCB, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		if got := tc.c.Bytes(); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: Bytes() = % X, want % X", tc.name, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte
		data    []byte
		ne      int
		wantErr bool
	}{
		{"case 1", []byte{0, 0x1D, 0, 0}, nil, 0, false},
		{"ykman Lc=00", []byte{0, 0x1D, 0, 0, 0}, nil, 0, false},
		{"case 2", []byte{0, 0xC0, 0, 0, 0x10}, nil, 0x10, false},
		{"case 3", []byte{0, 0xA4, 4, 0, 2, 0xA0, 0}, []byte{0xA0, 0}, 0, false},
		{"case 4", []byte{0, 0xA4, 4, 0, 2, 0xA0, 0, 0}, []byte{0xA0, 0}, 256, false},
		{"ykman extended empty", []byte{0, 0xF7, 0, 0x80, 0, 0, 0}, nil, 0, false},
		{"extended case 3", []byte{0, 0xDB, 0x3F, 0xFF, 0, 0, 2, 0x5C, 0}, []byte{0x5C, 0}, 0, false},
		{"extended case 4", []byte{0, 0xDB, 0x3F, 0xFF, 0, 0, 1, 0x5C, 0x01, 0x00}, []byte{0x5C}, 256, false},
		{"short header", []byte{0, 0xA4, 4}, nil, 0, true},
		{"Lc too big", []byte{0, 0xA4, 4, 0, 5, 1}, nil, 0, true},
		{"ext Lc mismatch", []byte{0, 0xDB, 0, 0, 0, 0, 5, 1, 2}, nil, 0, true},
		{"ext truncated", []byte{0, 0xDB, 0, 0, 0, 1}, nil, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.raw)
			if tc.wantErr {
				if !errors.Is(err, device.ErrInvalidArgument) {
					t.Fatalf("Parse(% X) err = %v, want ErrInvalidArgument", tc.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.Data, tc.data) || c.Ne != tc.ne {
				t.Fatalf("Parse(% X) = data % X ne %d, want % X ne %d", tc.raw, c.Data, c.Ne, tc.data, tc.ne)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		sw        uint16
		is        error
		retries   int
		isRetries bool
	}{
		{0x63C2, device.ErrWrongPIN, 2, true},
		{0x63C0, device.ErrBlocked, 0, true},
		{0x6301, device.ErrWrongPIN, 1, true}, // pre-1.0.4 firmware form
		{0x6983, device.ErrBlocked, 0, false},
		{0x6A82, device.ErrNotFound, 0, false},
		{0x6A88, device.ErrNotFound, 0, false},
		{0x6982, device.ErrAuthentication, 0, false},
		{0x6D00, device.ErrUnsupported, 0, false},
		{0x6985, nil, 0, false},
		{0x6F00, nil, 0, false},
	}
	for _, tc := range tests {
		err := error(&StatusError{SW: tc.sw})
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%04x: errors.Is(%v) = false", tc.sw, tc.is)
		}
		if tc.is == nil && errors.Unwrap(err) != nil {
			t.Errorf("%04x unwraps to %v, want nil", tc.sw, errors.Unwrap(err))
		}
		var pe *device.PINError
		if got := errors.As(err, &pe); got != tc.isRetries {
			t.Errorf("%04x: As PINError = %v", tc.sw, got)
		} else if got && pe.Retries != tc.retries {
			t.Errorf("%04x: retries %d, want %d", tc.sw, pe.Retries, tc.retries)
		}
		if err.Error() == "" {
			t.Errorf("%04x: empty message", tc.sw)
		}
	}
}

// scriptCard answers commands from a script and records what it was sent.
type scriptCard struct {
	sent    [][]byte
	answers [][]byte
	err     error
}

func (s *scriptCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	s.sent = append(s.sent, append([]byte(nil), cmd...))
	if s.err != nil && len(s.answers) == 0 {
		return nil, s.err
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}
func (s *scriptCard) Close() error { return nil }

func TestTransmitChainingAndGetResponse(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 300)
	card := &scriptCard{answers: [][]byte{
		{0x90, 0x00},          // first chained chunk
		{1, 2, 3, 0x61, 0x02}, // final chunk; 2 more bytes pending
		{4, 5, 0x90, 0x00},    // GET RESPONSE
	}}
	got, err := Transmit(context.Background(), card, Command{INS: 0xDB, P1: 0x3F, P2: 0xFF, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte{1, 2, 3, 4, 5}) {
		t.Fatalf("data = % X", got)
	}
	if len(card.sent) != 3 || card.sent[0][0] != 0x10 || card.sent[0][4] != 255 || card.sent[1][0] != 0 || card.sent[1][4] != 45 {
		t.Fatalf("chaining wrong: %d commands, first header % X", len(card.sent), card.sent[0][:5])
	}
	if !bytes.Equal(card.sent[2], []byte{0, 0xC0, 0, 0, 0}) {
		t.Fatalf("GET RESPONSE = % X", card.sent[2])
	}
}

func TestTransmitErrors(t *testing.T) {
	card := &scriptCard{answers: [][]byte{{0x63, 0xC1}}}
	_, err := Transmit(context.Background(), card, Command{INS: 0x20, P2: 0x80, Data: []byte{1}})
	var pe *device.PINError
	if !errors.As(err, &pe) || pe.Retries != 1 {
		t.Fatalf("err = %v, want PINError with 1 retry", err)
	}
	card = &scriptCard{answers: [][]byte{{0x90}}}
	if _, err := Transmit(context.Background(), card, Command{INS: 1}); !errors.Is(err, device.ErrInvalidResponse) {
		t.Fatalf("1-byte response: %v", err)
	}
	card = &scriptCard{err: device.ErrRemoved}
	if _, err := Transmit(context.Background(), card, Command{INS: 1}); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("removed: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0, 0x1D, 0, 0, 0})
	f.Add([]byte{0, 0xF7, 0, 0x80, 0, 0, 0})
	f.Add([]byte{0, 0xA4, 4, 0, 5, 0xA0, 0, 0, 3, 8})
	f.Add([]byte{0, 0xDB, 0x3F, 0xFF, 0, 0, 2, 0x5C, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw)
		if err != nil {
			return
		}
		if len(c.Data) > len(raw) || c.Ne < 0 || c.Ne > 65536 {
			t.Fatalf("Parse(% X) = %+v is impossible", raw, c)
		}
		// What we parse, re-encoded, must parse to the same command.
		again, err := Parse(c.Bytes())
		if err != nil || !bytes.Equal(again.Data, c.Data) || again.INS != c.INS || again.P1 != c.P1 || again.P2 != c.P2 {
			t.Fatalf("re-encode of % X gives %+v, %v", raw, again, err)
		}
	})
}

func FuzzSplitResponse(f *testing.F) {
	f.Add([]byte{0x90, 0x00})
	f.Add([]byte{1, 2, 0x61, 0x10})
	f.Add([]byte{0x63})
	f.Fuzz(func(t *testing.T, raw []byte) {
		data, sw, err := SplitResponse(raw)
		if err != nil {
			if len(raw) >= 2 {
				t.Fatalf("rejected % X", raw)
			}
			return
		}
		if len(data)+2 != len(raw) || byte(sw) != raw[len(raw)-1] {
			t.Fatalf("split % X wrong", raw)
		}
	})
}
