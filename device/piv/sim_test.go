package piv

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
	"github.com/keywizard/keywizard/device/sim"
	"github.com/keywizard/keywizard/device/tlv"
)

// These tests run keywizard's own APDU code against the simulator's PIV
// applet in process (no pcscd): sim.Key.Card() is a fresh connection each
// time, like SCardConnect.

func newSim(t *testing.T, fw device.Version) *sim.Key {
	t.Helper()
	k, err := sim.New(sim.Config{Serial: 18000001, Model: "5c-nano", Firmware: fw})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	fw527 = device.Version{Major: 5, Minor: 2, Patch: 7}
	fw543 = device.Version{Major: 5, Minor: 4, Patch: 3}
	fw571 = device.Version{Major: 5, Minor: 7, Patch: 1}
)

// simOpener is a SessionOpener over the in-process card.
func simOpener(k *sim.Key) SessionOpener {
	return func(ctx context.Context) (*Session, func(), error) {
		c := k.Card()
		s, err := NewSession(ctx, c)
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return s, func() { c.Close() }, nil
	}
}

// simKeySetter changes the management key with SET MANAGEMENT KEY (FF FF
// FF alg 9B len key) after authenticating, choosing the algorithm as piv-go
// does for a 24-byte key (docs/yubikey-protocol.md §4.12). Production uses
// piv-go itself; the pcscd integration test covers that path.
func simKeySetter(k *sim.Key) KeySetter {
	return func(ctx context.Context, old, new []byte) error {
		s, closeS, err := simOpener(k)(ctx)
		if err != nil {
			return err
		}
		defer closeS()
		alg, err := s.ManagementKeyAlgorithm(ctx)
		if err != nil {
			return err
		}
		if err := s.Authenticate(ctx, alg, old); err != nil {
			return err
		}
		na := wantAlgorithm(s.Version())
		_, err = apdu.Transmit(ctx, s.card, apdu.Command{INS: 0xFF, P1: 0xFF, P2: 0xFF,
			Data: append([]byte{byte(na), 0x9B, byte(len(new))}, new...)})
		return err
	}
}

func TestReadStateFactory(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fw       device.Version
		alg      string
		metadata bool
	}{
		{fw527, "TDES", false},
		{fw543, "TDES", true},
		{fw571, "AES192", true}, // AES-192 default from 5.7 (§4.1)
	} {
		t.Run(tc.fw.String(), func(t *testing.T) {
			k := newSim(t, tc.fw)
			st, err := ReadState(ctx, k.Card())
			if err != nil {
				t.Fatal(err)
			}
			if st.PINRetries != 3 || st.MgmtKeyAlgorithm != tc.alg || st.MgmtKeyProtected || st.PUKBlockedByAdmin {
				t.Errorf("state %+v", st)
			}
			if tc.metadata {
				if st.PINRetriesTotal != 3 || st.PUKRetries != 3 || st.PUKRetriesTotal != 3 ||
					st.DefaultPIN == nil || !*st.DefaultPIN || st.DefaultPUK == nil || !*st.DefaultPUK ||
					st.DefaultMgmtKey == nil || !*st.DefaultMgmtKey {
					t.Errorf("metadata state %+v", st)
				}
			} else if st.PUKRetries != -1 || st.DefaultPIN != nil || st.DefaultMgmtKey != nil {
				t.Errorf("pre-5.3 state claims to know more than it can: %+v", st)
			}
		})
	}
}

func TestReadStateAfterChanges(t *testing.T) {
	ctx := context.Background()
	for _, fw := range []device.Version{fw527, fw571} {
		t.Run(fw.String(), func(t *testing.T) {
			k := newSim(t, fw)
			s, err := NewSession(ctx, k.Card())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.VerifyPIN(ctx, "000000"); !errors.Is(err, device.ErrWrongPIN) {
				t.Fatalf("wrong PIN: %v", err)
			}
			if err := s.ChangePIN(ctx, DefaultPIN, "246810"); err != nil {
				t.Fatal(err)
			}
			alg, err := s.ManagementKeyAlgorithm(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Authenticate(ctx, alg, DefaultManagementKey); err != nil {
				t.Fatal(err)
			}
			if err := s.PutObject(ctx, ObjectAdminData, []byte{0x80, 0x03, 0x81, 0x01, 0x03}); err != nil {
				t.Fatal(err)
			}
			st, err := ReadState(ctx, k.Card())
			if err != nil {
				t.Fatal(err)
			}
			// A successful change resets the counter the wrong PIN used.
			if st.PINRetries != 3 || !st.MgmtKeyProtected || !st.PUKBlockedByAdmin {
				t.Errorf("state %+v", st)
			}
			if fw.AtLeast(5, 3, 0) && (st.DefaultPIN == nil || *st.DefaultPIN || !*st.DefaultMgmtKey) {
				t.Errorf("defaults %+v", st)
			}
			// A wrong PIN shows up in the count (pre-5.3: empty VERIFY).
			s2, _ := NewSession(ctx, k.Card())
			_ = s2.VerifyPIN(ctx, "999999")
			st, err = ReadState(ctx, k.Card())
			if err != nil || st.PINRetries != 2 {
				t.Errorf("after a wrong PIN: %+v, %v", st, err)
			}
		})
	}
}

func TestReadStateErrors(t *testing.T) {
	ctx := context.Background()
	k := newSim(t, fw571)
	k.RemoveAfter(3)
	if _, err := ReadState(ctx, k.Card()); !errors.Is(err, device.ErrRemoved) {
		t.Errorf("removed mid-read: %v", err)
	}
	k.Plug()
	k.RemoveAfter(-1)
	k.MangleNext(func([]byte) []byte { return []byte{0x6A, 0x82} }) // SELECT: no PIV
	if _, err := ReadState(ctx, k.Card()); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("no PIV application: %v", err)
	}
	// Truncate each response in turn (data loses its last byte, the status
	// word stays): ReadState fails with ErrInvalidResponse or, where the
	// data is ignored (SELECT) or absent, succeeds; it never panics.
	failed := 0
	for i := 0; ; i++ {
		c := &truncatingCard{Card: k.Card(), at: i}
		_, err := ReadState(ctx, c)
		if err != nil {
			if !errors.Is(err, device.ErrInvalidResponse) {
				t.Errorf("response %d truncated: %v", i, err)
			}
			failed++
		}
		if c.n <= i {
			break
		}
	}
	if failed < 4 { // version and three metadata responses at least
		t.Errorf("only %d truncations detected", failed)
	}
}

// truncatingCard drops the last data byte of response number at.
type truncatingCard struct {
	device.Card
	at, n int
}

func (c *truncatingCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	r, err := c.Card.Transmit(ctx, cmd)
	if err == nil && c.n == c.at && len(r) > 2 {
		r = append(r[:len(r)-3:len(r)-3], r[len(r)-2:]...)
	}
	c.n++
	return r, err
}

func TestSessionAuthenticateSim(t *testing.T) {
	ctx := context.Background()
	for _, fw := range []device.Version{fw543, fw571} {
		k := newSim(t, fw)
		s, err := NewSession(ctx, k.Card())
		if err != nil {
			t.Fatal(err)
		}
		alg, err := s.ManagementKeyAlgorithm(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Authenticate(ctx, alg, DefaultManagementKey); err != nil {
			t.Errorf("%s: default %s key: %v", fw, alg, err)
		}
		wrong := bytes.Repeat([]byte{9}, 24)
		if err := s.Authenticate(ctx, alg, wrong); !errors.Is(err, device.ErrAuthentication) {
			t.Errorf("%s: wrong key: %v", fw, err)
		}
		// Writing needs the management key: not authenticated now.
		if err := s.PutObject(ctx, ObjectCHUID, []byte{0xFE, 0x00}); !errors.Is(err, device.ErrAuthentication) {
			t.Errorf("%s: PUT DATA after a failed authentication: %v", fw, err)
		}
	}
}

// checkProtected asserts what ykman needs to call the key "stored, protected
// by PIN" (docs/yubikey-protocol.md §4.11) and returns the stored key.
func checkProtected(t *testing.T, k *sim.Key, pin string, want MgmtKeyAlgorithm) []byte {
	t.Helper()
	ctx := context.Background()
	admin, _ := k.PIVObject(ObjectAdminData)
	if !bytes.Equal(admin, []byte{0x80, 0x03, 0x81, 0x01, 0x02}) {
		t.Errorf("ADMIN DATA = % X, want 80 03 81 01 02", admin)
	}
	printed, _ := k.PIVObject(ObjectPrinted)
	if len(printed) != 28 || !bytes.Equal(printed[:4], []byte{0x88, 0x1A, 0x89, 0x18}) {
		t.Fatalf("PRINTED = % X, want 88 1A 89 18 <24 bytes>", printed)
	}
	key := printed[4:]
	s, err := NewSession(ctx, k.Card())
	if err != nil {
		t.Fatal(err)
	}
	alg, err := s.ManagementKeyAlgorithm(ctx)
	if err != nil || alg != want {
		t.Fatalf("algorithm %s, %v; want %s", alg, err, want)
	}
	if err := s.Authenticate(ctx, alg, key); err != nil {
		t.Fatalf("the stored key does not authenticate: %v", err)
	}
	if bytes.Equal(key, DefaultManagementKey) {
		t.Error("the stored key is the factory key")
	}
	chuid, ok := k.PIVObject(ObjectCHUID)
	if !ok || len(chuid) != 0x3B || !bytes.HasPrefix(chuid, append([]byte{0x30, 0x19}, fascN...)) {
		t.Errorf("CHUID = % X", chuid)
	}
	ccc, ok := k.PIVObject(ObjectCCC)
	if !ok || !bytes.HasPrefix(ccc, []byte{0xF0, 0x15, 0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02}) {
		t.Errorf("CCC = % X", ccc)
	}
	st, err := ReadState(ctx, k.Card())
	if err != nil || !st.MgmtKeyProtected || st.MgmtKeyAlgorithm != want.String() || (st.DefaultMgmtKey != nil && *st.DefaultMgmtKey) {
		t.Errorf("state %+v, %v", st, err)
	}
	return bytes.Clone(key)
}

func TestProtectManagementKey(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		fw   device.Version
		want MgmtKeyAlgorithm
	}{
		{fw527, MgmtTDES}, {fw543, MgmtAES192}, {fw571, MgmtAES192},
	} {
		t.Run(tc.fw.String(), func(t *testing.T) {
			k := newSim(t, tc.fw)
			alg, err := protectManagementKey(ctx, simOpener(k), DefaultPIN, false, simKeySetter(k), randReader(), now)
			if err != nil {
				t.Fatal(err)
			}
			if alg != tc.want {
				t.Errorf("algorithm %s, want %s", alg, tc.want)
			}
			key := checkProtected(t, k, DefaultPIN, tc.want)
			chuid, _ := k.PIVObject(ObjectCHUID)
			if exp, _, _ := tlv.Find(chuid, 0x35); string(exp) != "20561126" {
				t.Errorf("CHUID expiry %q", exp)
			}

			// Again without rotate: nothing to do, nothing written.
			chuidBefore, _ := k.PIVObject(ObjectCHUID)
			if _, err := protectManagementKey(ctx, simOpener(k), DefaultPIN, false, simKeySetter(k), randReader(), now); err != nil {
				t.Fatal(err)
			}
			if again := checkProtected(t, k, DefaultPIN, tc.want); !bytes.Equal(again, key) {
				t.Error("an idempotent run changed the key")
			}
			if chuidAfter, _ := k.PIVObject(ObjectCHUID); !bytes.Equal(chuidAfter, chuidBefore) {
				t.Error("an idempotent run rewrote the CHUID")
			}

			// Rotate: a new stored key, the old one no longer works.
			if _, err := protectManagementKey(ctx, simOpener(k), DefaultPIN, true, simKeySetter(k), randReader(), now); err != nil {
				t.Fatal(err)
			}
			rotated := checkProtected(t, k, DefaultPIN, tc.want)
			if bytes.Equal(rotated, key) {
				t.Error("rotation kept the key")
			}
			s, _ := NewSession(ctx, k.Card())
			if err := s.Authenticate(ctx, tc.want, key); !errors.Is(err, device.ErrAuthentication) {
				t.Errorf("the replaced key still authenticates: %v", err)
			}

			// Wrong PIN: a PINError with the retries, nothing changed.
			_, err = protectManagementKey(ctx, simOpener(k), "000000", true, simKeySetter(k), randReader(), now)
			var pe *device.PINError
			if !errors.As(err, &pe) || pe.Which != device.PIVPIN || pe.Retries != 2 {
				t.Errorf("wrong PIN: %v", err)
			}
			checkProtected(t, k, DefaultPIN, tc.want)
		})
	}
}

func TestProtectManagementKeyUnknownKey(t *testing.T) {
	ctx := context.Background()
	k := newSim(t, fw571)
	unknown := bytes.Repeat([]byte{0x33}, 24)
	if err := simKeySetter(k)(ctx, DefaultManagementKey, unknown); err != nil {
		t.Fatal(err)
	}
	_, err := protectManagementKey(ctx, simOpener(k), DefaultPIN, false, simKeySetter(k), randReader(), time.Now())
	if !errors.Is(err, device.ErrAuthentication) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}
	if bytes.Contains([]byte(err.Error()), unknown) {
		t.Error("the error contains the key")
	}
	if _, ok := k.PIVObject(ObjectPrinted); ok {
		t.Error("PRINTED written although the key is unknown")
	}
}

// TestProtectManagementKeyInterrupted pulls the key out after every single
// command of a rotation in turn, then runs the idempotent protection again:
// it must always finish with a stored key that authenticates. This is the
// invariant documented on protectManagementKey.
func TestProtectManagementKeyInterrupted(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		fw     device.Version
		rotate bool // start from a protected key and rotate it (old key not the factory one)
	}{
		{"factory 5.7.1", fw571, false},
		{"factory 5.2.7", fw527, false},
		{"rotation 5.4.3", fw543, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := wantAlgorithm(tc.fw)
			for n := 0; ; n++ {
				k := newSim(t, tc.fw)
				if tc.rotate {
					if _, err := protectManagementKey(ctx, simOpener(k), DefaultPIN, false, simKeySetter(k), randReader(), time.Now()); err != nil {
						t.Fatal(err)
					}
				}
				start := k.Commands()
				k.RemoveAfter(n)
				_, err := protectManagementKey(ctx, simOpener(k), DefaultPIN, tc.rotate, simKeySetter(k), randReader(), time.Now())
				k.RemoveAfter(-1)
				if err == nil {
					if k.Commands()-start > uint64(n)+1 {
						t.Fatalf("completed although removal after %d commands was due", n)
					}
					if n == 0 {
						t.Fatal("completed with the key removed at once")
					}
					checkProtected(t, k, DefaultPIN, want)
					return // every earlier interruption point was covered
				}
				if !errors.Is(err, device.ErrRemoved) {
					t.Fatalf("removal after %d commands: err = %v, want ErrRemoved", n, err)
				}
				k.Plug()
				if _, err := protectManagementKey(ctx, simOpener(k), DefaultPIN, false, simKeySetter(k), randReader(), time.Now()); err != nil {
					t.Fatalf("resume after removal at command %d: %v", n, err)
				}
				checkProtected(t, k, DefaultPIN, want)
				if n > 200 {
					t.Fatal("never completed")
				}
			}
		})
	}
}

// TestPINResumeOnSim: after an interrupted run changed the PIN, the next run
// finds it with one wrong try, which the successful one then resets (no
// metadata on 5.2.7, so the factory PIN is tried first).
func TestPINResumeOnSim(t *testing.T) {
	ctx := context.Background()
	k := newSim(t, fw527)
	s, _ := NewSession(ctx, k.Card())
	if err := s.ChangePIN(ctx, DefaultPIN, "246810"); err != nil {
		t.Fatal(err)
	}
	cands := credentialCandidates(nil, "", "246810", DefaultPIN)
	got, err := tryCredentials(cands, func(c string) error { return s.ChangePIN(ctx, c, "246810") })
	if err != nil || got != "246810" {
		t.Fatalf("got %q, %v", got, err)
	}
	if pin, _ := k.PIVRetries(); pin != 3 {
		t.Errorf("PIN retries %d, want 3 (reset by the right PIN)", pin)
	}
	// A wrong stated PIN that leaves one try: the other candidate is not
	// guessed, so the PIN is not blocked by a wrong guess.
	_ = s.VerifyPIN(ctx, "000000")
	_, err = tryCredentials([]string{"111111", "246810"}, func(c string) error { return s.ChangePIN(ctx, c, "246810") })
	var pe *device.PINError
	if pin, _ := k.PIVRetries(); pin != 1 || !errors.As(err, &pe) || pe.Retries != 1 || pe.Which != device.PIVPIN {
		t.Errorf("retries %d, err %v; want 1 left and a PINError", pin, err)
	}
}

// A malformed ADMIN DATA object (written by some other tool) is reported,
// not read as "not protected"; an empty one (53 00, deleted) is empty.
func TestReadStateAdminData(t *testing.T) {
	ctx := context.Background()
	k := newSim(t, fw571)
	for _, tc := range []struct {
		value []byte
		err   error
	}{
		{[]byte{0x81, 0x01, 0x02}, device.ErrInvalidResponse},
		{[]byte{0x80, 0x03, 0x81, 0x02, 0x02}, device.ErrInvalidResponse},
		{nil, nil},
	} {
		// Each Card() is a new connection: authenticate on this one.
		s, err := NewSession(ctx, k.Card())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Authenticate(ctx, MgmtAES192, DefaultManagementKey); err != nil {
			t.Fatal(err)
		}
		if err := s.PutObject(ctx, ObjectAdminData, tc.value); err != nil {
			t.Fatal(err)
		}
		st, err := ReadState(ctx, k.Card())
		if !errors.Is(err, tc.err) || (tc.err == nil && (err != nil || st.MgmtKeyProtected)) {
			t.Errorf("ADMIN DATA % X: %+v, %v", tc.value, st, err)
		}
	}
}

func TestSessionObjects(t *testing.T) {
	ctx := context.Background()
	k := newSim(t, fw571)
	s, err := NewSession(ctx, k.Card())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetObject(ctx, ObjectCHUID); !errors.Is(err, device.ErrNotFound) {
		t.Errorf("missing CHUID: %v", err)
	}
	if err := s.PutObject(ctx, ObjectCHUID, []byte{0xFE, 0x00}); !errors.Is(err, device.ErrAuthentication) {
		t.Errorf("PUT DATA without the management key: %v", err)
	}
	if err := s.Authenticate(ctx, MgmtAES192, DefaultManagementKey); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{0xAB}, 600) // chained PUT, GET RESPONSE on the way back
	if err := s.PutObject(ctx, ObjectCHUID, big); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetObject(ctx, ObjectCHUID)
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("read back %d bytes, %v", len(got), err)
	}
	// PRINTED needs the PIN.
	if err := s.PutObject(ctx, ObjectPrinted, (&ProtectedData{ManagementKey: DefaultManagementKey}).Marshal()); err != nil {
		t.Fatal(err)
	}
	s2, _ := NewSession(ctx, k.Card())
	if _, err := s2.ProtectedData(ctx); !errors.Is(err, device.ErrAuthentication) {
		t.Errorf("PRINTED without the PIN: %v", err)
	}
	if err := s2.VerifyPIN(ctx, DefaultPIN); err != nil {
		t.Fatal(err)
	}
	if p, err := s2.ProtectedData(ctx); err != nil || !bytes.Equal(p.ManagementKey, DefaultManagementKey) {
		t.Errorf("PRINTED with the PIN: %+v, %v", p, err)
	}
	if n, err := s2.PINRetries(ctx); err != nil || n != -1 {
		t.Errorf("retries after VERIFY: %d, %v (want -1: already verified)", n, err)
	}
	if serial, err := s2.Serial(ctx); err != nil || serial != k.Serial() {
		t.Errorf("serial %d, %v", serial, err)
	}
	if err := s2.VerifyPIN(ctx, "123456789"); !errors.Is(err, device.ErrPINPolicy) {
		t.Errorf("9-byte PIN: %v", err)
	}
}

func TestCertificateSlots(t *testing.T) {
	ctx := context.Background()
	k := newSim(t, fw571)
	s, err := NewSession(ctx, k.Card())
	if err != nil {
		t.Fatal(err)
	}
	if slots, err := s.CertificateSlots(ctx); err != nil || len(slots) != 0 {
		t.Fatalf("factory key: slots %x, %v", slots, err)
	}
	if err := s.Authenticate(ctx, MgmtAES192, DefaultManagementKey); err != nil {
		t.Fatal(err)
	}
	// The contents do not matter: a certificate object that is there is
	// a certificate the reset will erase. 5FC10D is retired slot 82.
	for _, id := range []uint32{ObjectCert9D, 0x5FC10D, ObjectCert9A} {
		if err := s.PutObject(ctx, id, []byte{0x70, 0x01, 0x00}); err != nil {
			t.Fatal(err)
		}
	}
	slots, err := s.CertificateSlots(ctx)
	if err != nil || !bytes.Equal(slots, []byte{0x9A, 0x9D, 0x82}) {
		t.Fatalf("slots %x, %v; want 9a 9d 82", slots, err)
	}
	k.RemoveAfter(0)
	if _, err := s.CertificateSlots(ctx); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("key pulled out: %v", err)
	}
}
