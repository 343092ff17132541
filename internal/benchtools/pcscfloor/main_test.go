//go:build cgo && linux

package main

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/mgmt"
	"github.com/keywizard/keywizard/device/scan"
	"github.com/keywizard/keywizard/device/scan/scanbench"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/internal/testenv"
)

// recorder records every command sent to the card it wraps. With morePage0
// it adds MORE_DATA (tag 10, value 01) to READ CONFIG page 0, so paging is
// exercised (the simulator itself never pages).
type recorder struct {
	card      device.Card
	morePage0 bool
	sent      [][]byte
}

func (r *recorder) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	r.sent = append(r.sent, slices.Clone(cmd))
	resp, err := r.card.Transmit(ctx, cmd)
	if err != nil || !r.morePage0 || len(cmd) < 4 || cmd[1] != 0x1D || cmd[2] != 0 || len(resp) < 3 {
		return resp, err
	}
	body := resp[:len(resp)-2]
	page := append([]byte{body[0] + 3}, body[1:]...)
	page = append(page, 0x10, 0x01, 0x01)
	return append(page, resp[len(resp)-2:]...), nil
}

func (r *recorder) Close() error { return r.card.Close() }

func newSim(t *testing.T, serial uint32, fw device.Version) *sim.Key {
	t.Helper()
	k, err := sim.New(sim.Config{Serial: serial, Model: "5c-nano", Firmware: fw})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSameCommandsAsMgmt checks the floor sends byte for byte what
// device/mgmt's Open and ReadInfo (keywizard's discovery) send, so the
// benchmark compares the same work.
func TestSameCommandsAsMgmt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fw    device.Version
		more  bool
		count int
	}{
		{"5.4.3", device.Version{Major: 5, Minor: 4, Patch: 3}, false, 2},
		{"5.7.1", device.Version{Major: 5, Minor: 7, Patch: 1}, false, 2},
		{"5.7.1 paged", device.Version{Major: 5, Minor: 7, Patch: 1}, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := &recorder{card: newSim(t, 1234567, tc.fw).Card(), morePage0: tc.more}
			s, err := mgmt.Open(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReadInfo(ctx); err != nil {
				t.Fatal(err)
			}
			got := &recorder{card: newSim(t, 1234567, tc.fw).Card(), morePage0: tc.more}
			n, err := readInfo(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(got.sent) || n != tc.count {
				t.Errorf("readInfo says %d commands, sent %d, want %d", n, len(got.sent), tc.count)
			}
			if !slices.EqualFunc(got.sent, want.sent, bytes.Equal) {
				t.Errorf("floor sent\n% X\nmgmt sent\n% X", got.sent, want.sent)
			}
		})
	}
}

func TestReadInfoStatusError(t *testing.T) {
	// A card without the management application refuses SELECT (6A82).
	k := newSim(t, 7654321, device.Version{Major: 5, Minor: 4, Patch: 3})
	c := &recorder{card: statusCard{k.Card()}}
	if _, err := readInfo(context.Background(), c); err == nil {
		t.Fatal("readInfo accepted a refused SELECT")
	}
	if len(c.sent) != 1 {
		t.Errorf("sent %d commands after a refused SELECT, want 1", len(c.sent))
	}
}

// statusCard answers every command with 6A 82.
type statusCard struct{ device.Card }

func (statusCard) Transmit(context.Context, []byte) ([]byte, error) { return []byte{0x6A, 0x82}, nil }

func TestMoreData(t *testing.T) {
	for _, tc := range []struct {
		name string
		page []byte
		want bool
	}{
		{"empty", nil, false},
		{"length only", []byte{0}, false},
		{"no tag", []byte{3, 0x02, 0x01, 0x05}, false},
		{"more 01", []byte{6, 0x02, 0x01, 0x05, 0x10, 0x01, 0x01}, true},
		{"more 00", []byte{3, 0x10, 0x01, 0x00}, false},
		{"more 0002", []byte{4, 0x10, 0x02, 0x00, 0x02}, true},
		{"truncated TLV", []byte{3, 0x10, 0x05, 0x01}, false},
	} {
		if got := moreData(tc.page); got != tc.want {
			t.Errorf("%s: moreData(% X) = %v, want %v", tc.name, tc.page, got, tc.want)
		}
	}
}

func FuzzMoreData(f *testing.F) {
	f.Add([]byte{6, 0x02, 0x01, 0x05, 0x10, 0x01, 0x01})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		moreData(b) // must not panic
	})
}

// TestRunThroughVPCD runs the floor against simulated keys in the real
// pcscd and checks it reads every key with as many commands per key as
// keywizard's scanner sends.
func TestRunThroughVPCD(t *testing.T) {
	testenv.LockVPCD(t)
	ctx := context.Background()
	// Both readers empty (LockVPCD waits for that): nothing read, no error.
	if n, err := run(ctx); n != 0 || err != nil {
		t.Fatalf("floor with empty readers: %d keys, %v; want 0, nil", n, err)
	}
	fw := device.Version{Major: 5, Minor: 4, Patch: 3}
	var keys []*scanbench.Attached
	for slot, model := range []string{"5c-nano", "5c-nfc"} {
		a, err := scanbench.Attach(ctx, slot, sim.Config{Serial: uint32(76000001 + slot), Model: model, Firmware: fw})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Remove() })
		keys = append(keys, a)

		before := commands(keys)
		n, err := run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(keys) {
			t.Fatalf("floor read %d keys, want %d", n, len(keys))
		}
		floor := delta(before, commands(keys))

		before = commands(keys)
		found, err := (&scan.Scanner{PCSC: scan.System}).Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != len(keys) {
			t.Fatalf("scanner found %d keys, want %d", len(found), len(keys))
		}
		scanner := delta(before, commands(keys))
		if !slices.Equal(floor, scanner) || floor[0] != 2 {
			t.Errorf("commands per key: floor %v, scanner %v (want equal, 2 each)", floor, scanner)
		}
	}
}

func commands(keys []*scanbench.Attached) []uint64 {
	var n []uint64
	for _, k := range keys {
		n = append(n, k.Key.Commands())
	}
	return n
}

func delta(a, b []uint64) []uint64 {
	d := make([]uint64, len(a))
	for i := range a {
		d[i] = b[i] - a[i]
	}
	return d
}
