package scan

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/piv"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/sim/simfido"
)

var (
	fw571 = device.Version{Major: 5, Minor: 7, Patch: 1}
	fw543 = device.Version{Major: 5, Minor: 4, Patch: 3}
	fw523 = device.Version{Major: 5, Minor: 2, Patch: 3}
)

func fidoFor(serial uint32, model string, fw device.Version) *simfido.Authenticator {
	return simfido.New(simfido.Config{Serial: serial, Model: model, Firmware: fw})
}

func serials(keys []device.Key) []uint32 {
	out := []uint32{}
	for _, k := range keys {
		out = append(out, k.Serial)
	}
	return out
}

func TestKeysReadsManagementInfo(t *testing.T) {
	f := newFakePCSC()
	nano := newKey(t, 11111111, "5c-nano", fw571)
	nfc := newKey(t, 22222222, "5c-nfc", fw543)
	f.insertKey("Reader B", nfc)
	f.insertKey("Reader A", nano)
	s := &Scanner{PCSC: f}
	keys, err := s.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := serials(keys); !reflect.DeepEqual(got, []uint32{11111111, 22222222}) {
		t.Fatalf("serials %v", got)
	}
	want := []struct {
		model, reader string
		fw            device.Version
	}{{"YubiKey 5C Nano", "Reader A", fw571}, {"YubiKey 5C NFC", "Reader B", fw543}}
	for i, k := range keys {
		if k.Model != want[i].model || k.Reader != want[i].reader || k.Info.Version != want[i].fw || k.Info.Serial != k.Serial {
			t.Errorf("key %d = %+v", i, k)
		}
		if k.FIDO != nil || k.FIDOMatch != device.MatchNone || k.PIV != nil {
			t.Errorf("key %d has FIDO/PIV without a provider: %+v", i, k)
		}
	}
	// Minimal commands: SELECT management + READ CONFIG, nothing else.
	if nano.Commands() != 2 || nfc.Commands() != 2 {
		t.Errorf("commands sent: %d, %d; want 2 each", nano.Commands(), nfc.Commands())
	}
	if f.contexts != 0 {
		t.Errorf("%d PC/SC contexts leaked", f.contexts)
	}
}

func TestKeysSkipsEmptyReadersAndOtherCards(t *testing.T) {
	f := newFakePCSC()
	f.addReader("Empty Reader")
	f.insert("Other Card", func() (device.Card, error) { return &scriptedCard{resp: []byte{0x6A, 0x82}}, nil })
	f.insert("Odd Card", func() (device.Card, error) { return &scriptedCard{resp: []byte{0x6D, 0x00}}, nil })
	f.insert("Chatty Card", func() (device.Card, error) { return &scriptedCard{resp: []byte("hello\x90\x00")}, nil })
	k := newKey(t, 123, "5ci", fw571)
	f.insertKey("Key", k)
	keys, err := (&Scanner{PCSC: f}).Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Serial != 123 || keys[0].Model != "YubiKey 5Ci" {
		t.Fatalf("keys %+v", keys)
	}
}

func TestKeysNoReaders(t *testing.T) {
	keys, err := (&Scanner{PCSC: newFakePCSC()}).Keys(context.Background())
	if err != nil || len(keys) != 0 {
		t.Fatalf("Keys() = %v, %v", keys, err)
	}
	if _, err := (&Scanner{}).Keys(context.Background()); !errors.Is(err, device.ErrInvalidArgument) {
		t.Fatalf("no PCSC: %v", err)
	}
}

func TestKeysPulledMidProbe(t *testing.T) {
	f := newFakePCSC()
	gone := newKey(t, 1, "5c-nano", fw571)
	gone.RemoveAfter(1) // answers SELECT, pulled during READ CONFIG
	stays := newKey(t, 2, "5c-nfc", fw571)
	f.insertKey("R1", gone)
	f.insertKey("R2", stays)
	keys, err := (&Scanner{PCSC: f}).Keys(context.Background())
	if err != nil {
		t.Fatalf("a key pulled mid-probe is not an error: %v", err)
	}
	if got := serials(keys); !reflect.DeepEqual(got, []uint32{2}) {
		t.Fatalf("serials %v, want [2]", got)
	}
}

func TestKeysReportsUnreadableReaders(t *testing.T) {
	f := newFakePCSC()
	f.insert("Held", func() (device.Card, error) { return nil, &pcsc.Error{Code: pcsc.CodeSharingViolation} })
	f.insert("Broken", func() (device.Card, error) {
		return &scriptedCard{err: &pcsc.Error{Code: pcsc.CodeCommDataLost}}, nil
	})
	// A YubiKey whose READ CONFIG answer is cut short: it is a key, so
	// this is an error, not a card to skip.
	mangled := newKey(t, 3, "5c", fw571)
	f.insert("Mangled", func() (device.Card, error) {
		return &truncateCard{Card: mangled.Card(), nth: 2}, nil
	})
	ok := newKey(t, 4, "5c", fw571)
	f.insertKey("Fine", ok)
	keys, err := (&Scanner{PCSC: f}).Keys(context.Background())
	if !errors.Is(err, pcsc.ErrInUse) {
		t.Errorf("error %v does not report the key held by another program", err)
	}
	var pe *pcsc.Error
	if !errors.As(err, &pe) {
		t.Errorf("error %v lost the PC/SC code", err)
	}
	if !errors.Is(err, device.ErrInvalidResponse) {
		t.Errorf("error %v does not report the malformed READ CONFIG", err)
	}
	if got := serials(keys); !reflect.DeepEqual(got, []uint32{4}) {
		t.Errorf("serials %v, want [4] alongside the error", got)
	}
}

func TestKeysWithPIV(t *testing.T) {
	f := newFakePCSC()
	k := newKey(t, 5, "5c-nano", fw571)
	f.insertKey("R", k)
	s := &Scanner{PCSC: f, ReadPIV: piv.ReadState}
	keys, err := s.Keys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].PIV != nil {
		t.Fatalf("PIV read without WithPIV: %+v %v", keys, err)
	}
	s.WithPIV = true
	keys, err = s.Keys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].PIV == nil {
		t.Fatalf("WithPIV: %+v %v", keys, err)
	}
	p := keys[0].PIV
	if p.PINRetries != 3 || p.DefaultPIN == nil || !*p.DefaultPIN || p.DefaultMgmtKey == nil || !*p.DefaultMgmtKey {
		t.Errorf("PIV state %+v", *p)
	}
}

// TestKeysProbesInParallel: each card's first command waits until every
// card has received one. Probing one reader after another would never get
// there; the guard turns that hang into a failure (it is not a timing
// assertion).
func TestKeysProbesInParallel(t *testing.T) {
	f := newFakePCSC()
	const n = 3
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	for i := range n {
		k := newKey(t, uint32(100+i), "5c-nano", fw571)
		f.insert(string(rune('A'+i)), func() (device.Card, error) {
			return &barrierCard{Card: k.Card(), started: &started, all: all}, nil
		})
	}
	done := make(chan error, 1)
	go func() {
		keys, err := (&Scanner{PCSC: f}).Keys(context.Background())
		if err == nil && len(keys) != n {
			err = errors.New("wrong number of keys")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("readers were not probed in parallel")
	}
}

type barrierCard struct {
	device.Card
	once    sync.Once
	started *sync.WaitGroup
	all     chan struct{}
}

func (c *barrierCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.once.Do(func() {
		c.started.Done()
		<-c.all
	})
	return c.Card.Transmit(ctx, cmd)
}

func TestCorrelation(t *testing.T) {
	type key struct {
		serial uint32
		model  string
		fw     device.Version
		usb    device.Capability // 0 = factory default
	}
	type fdev struct {
		serial uint32 // which physical key it belongs to (the sim needs one)
		model  string
		fw     device.Version
		aaguid string
	}
	tests := []struct {
		name      string
		keys      []key
		devs      []fdev
		want      map[uint32]device.Match
		unmatched int
	}{
		{
			name: "one key one FIDO device",
			keys: []key{{1, "5c-nano", fw571, 0}},
			devs: []fdev{{1, "YubiKey 5C Nano", fw571, ""}},
			want: map[uint32]device.Match{1: device.MatchUnique},
		},
		{
			name: "two different models",
			keys: []key{{1, "5c-nano", fw571, 0}, {2, "5c-nfc", fw571, 0}},
			devs: []fdev{{1, "YubiKey 5C Nano", fw571, ""}, {2, "YubiKey 5C NFC", fw571, ""}},
			want: map[uint32]device.Match{1: device.MatchUnique, 2: device.MatchUnique},
		},
		{
			name: "same series, different firmware",
			keys: []key{{1, "5c-nano", fw571, 0}, {2, "5c", fw543, 0}},
			devs: []fdev{{1, "YubiKey 5C Nano", fw571, ""}, {2, "YubiKey 5C", fw543, ""}},
			want: map[uint32]device.Match{1: device.MatchUnique, 2: device.MatchUnique},
		},
		{
			name:      "two identical models are ambiguous",
			keys:      []key{{1, "5c-nano", fw571, 0}, {2, "5c-nano", fw571, 0}},
			devs:      []fdev{{1, "YubiKey 5C Nano", fw571, ""}, {2, "YubiKey 5C Nano", fw571, ""}},
			want:      map[uint32]device.Match{1: device.MatchAmbiguous, 2: device.MatchAmbiguous},
			unmatched: 2,
		},
		{
			name:      "5C and 5C Nano share an AAGUID and firmware: ambiguous",
			keys:      []key{{1, "5c-nano", fw571, 0}, {2, "5c", fw571, 0}},
			devs:      []fdev{{1, "YubiKey 5C Nano", fw571, ""}, {2, "YubiKey 5C", fw571, ""}},
			want:      map[uint32]device.Match{1: device.MatchAmbiguous, 2: device.MatchAmbiguous},
			unmatched: 2,
		},
		{
			name:      "two identical keys, one FIDO device: still ambiguous",
			keys:      []key{{1, "5c-nano", fw571, 0}, {2, "5c-nano", fw571, 0}},
			devs:      []fdev{{1, "YubiKey 5C Nano", fw571, ""}},
			want:      map[uint32]device.Match{1: device.MatchAmbiguous, 2: device.MatchAmbiguous},
			unmatched: 1,
		},
		{
			name:      "FIDO device with no matching key",
			keys:      []key{{1, "5c-nano", fw571, 0}},
			devs:      []fdev{{9, "YubiKey 5Ci", fw571, ""}},
			want:      map[uint32]device.Match{1: device.MatchNone},
			unmatched: 1,
		},
		{
			name:      "FIDO device only (smart card interface off)",
			devs:      []fdev{{9, "YubiKey 5C NFC", fw571, ""}},
			want:      map[uint32]device.Match{},
			unmatched: 1,
		},
		{
			name:      "firmware mismatch",
			keys:      []key{{1, "5c-nano", fw571, 0}},
			devs:      []fdev{{1, "YubiKey 5C Nano", device.Version{Major: 5, Minor: 7, Patch: 2}, ""}},
			want:      map[uint32]device.Match{1: device.MatchNone},
			unmatched: 1,
		},
		{
			name:      "AAGUID of another series",
			keys:      []key{{1, "5c-nano", fw571, 0}},
			devs:      []fdev{{1, "YubiKey 5C Nano", fw571, "2fc0579f-8113-47ea-b116-bb5a8db9202a"}},
			want:      map[uint32]device.Match{1: device.MatchNone},
			unmatched: 1,
		},
		{
			name:      "key with FIDO off over USB cannot own a FIDO device",
			keys:      []key{{1, "5c-nano", fw571, device.CapOTP | device.CapPIV | device.CapOATH | device.CapOpenPGP}},
			devs:      []fdev{{1, "YubiKey 5C Nano", fw571, ""}},
			want:      map[uint32]device.Match{1: device.MatchNone},
			unmatched: 1,
		},
		{
			name: "firmware 5.2 reports no getInfo firmwareVersion: AAGUID decides",
			keys: []key{{1, "5-nfc", fw523, 0}, {2, "5c-nano", fw571, 0}},
			devs: []fdev{{1, "YubiKey 5 NFC", fw523, ""}, {2, "YubiKey 5C Nano", fw571, ""}},
			want: map[uint32]device.Match{1: device.MatchUnique, 2: device.MatchUnique},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePCSC()
			for _, k := range tc.keys {
				sk, err := sim.New(sim.Config{Serial: k.serial, Model: k.model, Firmware: k.fw, USBEnabled: k.usb})
				if err != nil {
					t.Fatal(err)
				}
				f.insertKey("Reader "+sk.String(), sk)
			}
			prov := simfido.NewProvider()
			for _, d := range tc.devs {
				prov.Add(simfido.New(simfido.Config{Serial: d.serial, Model: d.model, Firmware: d.fw, AAGUID: d.aaguid}))
			}
			res, err := (&Scanner{PCSC: f, FIDO: prov}).Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Keys) != len(tc.want) {
				t.Fatalf("%d keys, want %d", len(res.Keys), len(tc.want))
			}
			for _, k := range res.Keys {
				m := tc.want[k.Serial]
				if k.FIDOMatch != m {
					t.Errorf("serial %d: match %q, want %q", k.Serial, k.FIDOMatch, m)
				}
				switch m {
				case device.MatchUnique:
					// The sim's FIDO path names the physical key, so a
					// unique match can be checked against the truth.
					if k.FIDO == nil || k.FIDO.Path != "sim:"+itoa(k.Serial) {
						t.Errorf("serial %d tied to %+v", k.Serial, k.FIDO)
					}
					if k.FIDO != nil && (k.FIDO.PINRetries != 8 || k.FIDO.PINSet) {
						t.Errorf("serial %d FIDO state %+v", k.Serial, *k.FIDO)
					}
				default:
					if k.FIDO != nil {
						t.Errorf("serial %d: FIDO state attached with match %q", k.Serial, m)
					}
				}
			}
			if len(res.UnmatchedFIDO) != tc.unmatched {
				t.Errorf("%d unmatched FIDO devices, want %d", len(res.UnmatchedFIDO), tc.unmatched)
			}
		})
	}
}

func itoa(n uint32) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// otherVendor lists a non-Yubico FIDO device next to the simulated ones.
type otherVendor struct{ *simfido.Provider }

func (p otherVendor) Locations(ctx context.Context) ([]fido.Location, error) {
	locs, err := p.Provider.Locations(ctx)
	return append(locs, fido.Location{Path: "/dev/hidraw9", VendorID: 0x20A0}), err
}

func (p otherVendor) Open(ctx context.Context, path string) (fido.Authenticator, error) {
	if path == "/dev/hidraw9" {
		panic("a non-Yubico device was opened")
	}
	return p.Provider.Open(ctx, path)
}

func TestCorrelationIgnoresOtherVendors(t *testing.T) {
	f := newFakePCSC()
	f.insertKey("R", newKey(t, 1, "5ci", fw571))
	prov := otherVendor{simfido.NewProvider(fidoFor(1, "YubiKey 5Ci", fw571))}
	res, err := (&Scanner{PCSC: f, FIDO: prov}).Scan(context.Background())
	if err != nil || len(res.Keys) != 1 || res.Keys[0].FIDOMatch != device.MatchUnique || len(res.UnmatchedFIDO) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestCorrelationFIDODevicePulled(t *testing.T) {
	f := newFakePCSC()
	f.insertKey("R", newKey(t, 1, "5ci", fw571))
	a := fidoFor(1, "YubiKey 5Ci", fw571)
	a.RemoveAfter(0)
	res, err := (&Scanner{PCSC: f, FIDO: simfido.NewProvider(a)}).Scan(context.Background())
	if err != nil {
		t.Fatalf("a FIDO device pulled while being read is not an error: %v", err)
	}
	if res.Keys[0].FIDOMatch != device.MatchNone {
		t.Errorf("match %q", res.Keys[0].FIDOMatch)
	}
}

func TestFind(t *testing.T) {
	f := newFakePCSC()
	s := &Scanner{PCSC: f}
	ctx := context.Background()

	_, err := s.Find(ctx, 0)
	var nf *device.KeyNotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, device.ErrNotFound) || len(nf.Present) != 0 {
		t.Fatalf("no keys: %v", err)
	}

	f.insertKey("R1", newKey(t, 1001, "5c-nano", fw571))
	k, err := s.Find(ctx, 0)
	if err != nil || k.Serial != 1001 {
		t.Fatalf("the only key: %+v %v", k, err)
	}
	k, err = s.Find(ctx, 1001)
	if err != nil || k.Serial != 1001 || k.Reader != "R1" {
		t.Fatalf("by serial: %+v %v", k, err)
	}

	f.insertKey("R2", newKey(t, 1002, "5c-nfc", fw571))
	_, err = s.Find(ctx, 0)
	var amb *device.AmbiguousError
	if !errors.As(err, &amb) || !errors.Is(err, device.ErrAmbiguous) || !reflect.DeepEqual(amb.Serials, []uint32{1001, 1002}) {
		t.Fatalf("two keys, serial 0: %v", err)
	}
	_, err = s.Find(ctx, 4242)
	if !errors.As(err, &nf) || nf.Serial != 4242 || !reflect.DeepEqual(nf.Present, []uint32{1001, 1002}) {
		t.Fatalf("absent serial: %v", err)
	}
	k, err = s.Find(ctx, 1002)
	if err != nil || k.Model != "YubiKey 5C NFC" {
		t.Fatalf("second key: %+v %v", k, err)
	}

	// A reader that could not be read may hold the key: say so.
	f.insert("R3", func() (device.Card, error) { return nil, &pcsc.Error{Code: pcsc.CodeSharingViolation} })
	_, err = s.Find(ctx, 4242)
	if !errors.Is(err, device.ErrNotFound) || !errors.Is(err, pcsc.ErrInUse) {
		t.Fatalf("absent serial with a busy reader: %v", err)
	}
	if k, err := s.Find(ctx, 1001); err != nil || k.Serial != 1001 {
		t.Fatalf("present serial with a busy reader: %v", err)
	}
}

func TestOpenCard(t *testing.T) {
	f := newFakePCSC()
	s := &Scanner{PCSC: f}
	ctx := context.Background()
	a := newKey(t, 7, "5c-nano", fw571)
	b := newKey(t, 8, "5c-nfc", fw571)
	f.insertKey("RA", a)
	f.insertKey("RB", b)
	card, reader, err := s.OpenCard(ctx, 8)
	if err != nil || reader != "RB" {
		t.Fatalf("OpenCard(8) = %q, %v", reader, err)
	}
	// The card is the key asked for, with the management application
	// selected: READ CONFIG works straight away.
	if k, ok, err := readKey(ctx, card, reader); err != nil || !ok || k.Serial != 8 {
		t.Fatalf("card reads as %+v %v %v", k, ok, err)
	}
	if f.contexts != 1 {
		t.Errorf("%d contexts open with one card out, want 1", f.contexts)
	}
	card.Close()
	if f.contexts != 0 {
		t.Errorf("%d contexts open after Close", f.contexts)
	}
	if _, _, err := s.OpenCard(ctx, 0); !errors.Is(err, device.ErrAmbiguous) {
		t.Errorf("OpenCard(0) with two keys: %v", err)
	}
	if _, _, err := s.OpenCard(ctx, 9); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("OpenCard(absent): %v", err)
	}
	if f.contexts != 0 {
		t.Errorf("%d contexts leaked by failed OpenCard", f.contexts)
	}
}

// truncateCard drops the last data byte of the nth response (1-based).
type truncateCard struct {
	device.Card
	nth, n int
}

func (c *truncateCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(ctx, cmd)
	c.n++
	if err == nil && c.n == c.nth && len(resp) > 2 {
		resp = append(resp[:len(resp)-3:len(resp)-3], resp[len(resp)-2:]...)
	}
	return resp, err
}

type failingProvider struct{ err error }

func (p failingProvider) Locations(ctx context.Context) ([]fido.Location, error) { return nil, p.err }
func (p failingProvider) Open(ctx context.Context, path string) (fido.Authenticator, error) {
	return nil, p.err
}

func TestKeysFIDOFailureKeepsKeys(t *testing.T) {
	f := newFakePCSC()
	f.insertKey("R", newKey(t, 1, "5c-nano", fw571))
	res, err := (&Scanner{PCSC: f, FIDO: failingProvider{device.ErrUnsupported}}).Scan(context.Background())
	if !errors.Is(err, device.ErrUnsupported) {
		t.Errorf("error %v does not report the FIDO failure", err)
	}
	if len(res.Keys) != 1 || res.Keys[0].FIDOMatch != device.MatchNone {
		t.Errorf("keys %+v", res.Keys)
	}
}

func TestKeysPIVErrors(t *testing.T) {
	f := newFakePCSC()
	f.insertKey("R", newKey(t, 1, "5c-nano", fw571))
	for _, tc := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"no PIV application", device.ErrNotFound, false},
		{"pulled out", device.ErrRemoved, false},
		{"broken", device.ErrInvalidResponse, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Scanner{PCSC: f, WithPIV: true, ReadPIV: func(context.Context, device.Card) (*device.PIVState, error) { return nil, tc.err }}
			keys, err := s.Keys(context.Background())
			if (err != nil) != tc.wantErr || tc.wantErr && !errors.Is(err, tc.err) {
				t.Errorf("err = %v", err)
			}
			switch {
			case tc.err == device.ErrRemoved && len(keys) != 0:
				t.Errorf("a key pulled out during the PIV read is still listed: %+v", keys)
			case tc.err != device.ErrRemoved && (len(keys) != 1 || keys[0].PIV != nil):
				t.Errorf("keys %+v: the key must be listed without PIV state", keys)
			}
		})
	}
}
