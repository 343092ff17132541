package piv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keywizard/keywizard/device"
)

// keySource says where the management key in force was found.
type keySource int

const (
	keyDefault  keySource = iota // the factory key
	keyStored                    // PRINTED tag 89: the pivman stored key
	keyPrevious                  // PRINTED tag 8A: a rotation was interrupted before the change
)

// currentKey is the management key in force, and this session is
// authenticated with it.
type currentKey struct {
	alg    MgmtKeyAlgorithm
	key    []byte
	source keySource
}

// errUnknownMgmtKey is what keywizard says when it cannot find the key.
var errUnknownMgmtKey = fmt.Errorf("the PIV management key is neither the factory key nor stored on the key under the PIN, so keywizard cannot change PIV; reset PIV (this erases its keys and certificates) and run the setup again: %w", device.ErrAuthentication)

// resolveManagementKey finds the management key in force and authenticates
// the session with it. The PIN must already be verified in this session,
// because PRINTED is readable only then (docs/yubikey-protocol.md §4.8).
// Candidates, in order: the pivman stored key (PRINTED 89), the key a
// rotation was replacing (PRINTED 8A), the factory key; with metadata
// (firmware 5.3+) a default key is known without trying. A failed
// management-key authentication costs nothing: it has no retry counter.
func (s *Session) resolveManagementKey(ctx context.Context) (*currentKey, *ProtectedData, error) {
	alg, err := s.ManagementKeyAlgorithm(ctx)
	if err != nil {
		return nil, nil, err
	}
	prot, err := s.ProtectedData(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the stored management key: %w", err)
	}
	type cand struct {
		key []byte
		src keySource
	}
	var cands []cand
	isDefault := false
	if s.HasMetadata() {
		m, err := s.Metadata(ctx, SlotCardManagement)
		if err != nil {
			return nil, nil, err
		}
		isDefault = m.HasIsDefault && m.IsDefault
	}
	if !isDefault {
		if prot.ManagementKey != nil {
			cands = append(cands, cand{prot.ManagementKey, keyStored})
		}
		if prot.PreviousKey != nil {
			cands = append(cands, cand{prot.PreviousKey, keyPrevious})
		}
	}
	cands = append(cands, cand{DefaultManagementKey, keyDefault})
	for _, c := range cands {
		if len(c.key) != alg.KeyLen() {
			continue
		}
		err := s.Authenticate(ctx, alg, c.key)
		if err == nil {
			return &currentKey{alg: alg, key: c.key, source: c.src}, prot, nil
		}
		if !errors.Is(err, device.ErrAuthentication) {
			return nil, nil, err
		}
	}
	return nil, nil, errUnknownMgmtKey
}

// wantAlgorithm is the algorithm keywizard gives new management keys:
// AES-192 where the firmware has AES management keys (5.4.0, ykman
// require_version(5,4,0)), 3DES before. Both are 24 bytes, and piv-go's
// SetManagementKey picks AES-192 for 24 bytes on 5.4+ (docs/yubikey-protocol.md
// §4.12).
func wantAlgorithm(v device.Version) MgmtKeyAlgorithm {
	if v.AtLeast(5, 4, 0) {
		return MgmtAES192
	}
	return MgmtTDES
}

// KeySetter changes the management key from old to new on the reader's
// card (piv-go's SetManagementKey in production). It must choose the
// algorithm as [wantAlgorithm] does.
type KeySetter func(ctx context.Context, old, new []byte) error

// SessionOpener opens a fresh connection to the card being provisioned and
// selects PIV. The returned func closes the connection.
type SessionOpener func(ctx context.Context) (*Session, func(), error)

// protectManagementKey makes the management key random and stores it
// PIN-protected in the form ykman recognises (docs/yubikey-protocol.md §4.11):
// PRINTED 5FC109 = 88 1A 89 18 <key>, ADMIN DATA 5FFF00 = 80 03 81 01 02
// (other ADMIN flags kept, the deprecated PIN-derived salt dropped). It also
// writes a fresh CHUID and CCC. With rotate false an existing stored key of
// the wanted algorithm is kept and only missing pieces are completed, so
// re-running after success or an interruption is safe.
//
// Invariant: at every instant the key in force is one of {factory key,
// PRINTED 89, PRINTED 8A}, all readable with the PIN:
//
//  1. PRINTED := {89 new, 8A current}   (authenticated with current)
//  2. management key := new             (setKey: piv-go, one APDU)
//  3. ADMIN DATA flag 02, PRINTED := {89 new}, CHUID, CCC
//
// Interrupted before 2, the current key is still in 8A (or is the factory
// key); after 2, the new one is in 89. resolveManagementKey tries them all.
func protectManagementKey(ctx context.Context, open SessionOpener, pin string, rotate bool, setKey KeySetter, rnd io.Reader, now time.Time) (MgmtKeyAlgorithm, error) {
	s, closeS, err := open(ctx)
	if err != nil {
		return 0, err
	}
	defer func() {
		if closeS != nil {
			closeS()
		}
	}()
	if err := s.VerifyPIN(ctx, pin); err != nil {
		return 0, err
	}
	cur, prot, err := s.resolveManagementKey(ctx)
	if err != nil {
		return 0, err
	}
	want := wantAlgorithm(s.Version())
	if !rotate && cur.source == keyStored && cur.alg == want {
		admin, err := s.AdminData(ctx)
		if err != nil {
			return 0, err
		}
		if admin.MgmtKeyProtected() && admin.Salt == nil && prot.PreviousKey == nil {
			// An interruption may have come after ADMIN DATA and PRINTED
			// but before the CHUID and CCC (finishProtection's order).
			ids, err := s.hasObjects(ctx, ObjectCHUID, ObjectCCC)
			if err != nil || ids {
				return cur.alg, err
			}
		}
		return cur.alg, s.finishProtection(ctx, cur.key, rnd, now)
	}

	next := make([]byte, want.KeyLen())
	if _, err := io.ReadFull(rnd, next); err != nil {
		return 0, fmt.Errorf("generating a management key: %w", err)
	}
	staged := &ProtectedData{ManagementKey: next, PreviousKey: cur.key}
	if err := s.PutObject(ctx, ObjectPrinted, staged.Marshal()); err != nil {
		return 0, fmt.Errorf("storing the new management key under the PIN: %w", err)
	}
	closeS()
	closeS = nil

	if err := setKey(ctx, cur.key, next); err != nil {
		return 0, fmt.Errorf("changing the management key: %w", err)
	}

	s, closeS, err = open(ctx)
	if err != nil {
		return 0, err
	}
	alg, err := s.ManagementKeyAlgorithm(ctx)
	if err != nil {
		return 0, err
	}
	if alg != want {
		return 0, fmt.Errorf("the key reports a %s management key after setting a %s one: %w", alg, want, device.ErrInvalidResponse)
	}
	if s.HasMetadata() {
		m, err := s.Metadata(ctx, SlotCardManagement)
		if err != nil {
			return 0, err
		}
		if m.IsDefault {
			return 0, fmt.Errorf("the key still reports the factory management key after changing it: %w", device.ErrInvalidResponse)
		}
	}
	if err := s.VerifyPIN(ctx, pin); err != nil {
		return 0, err
	}
	if err := s.Authenticate(ctx, alg, next); err != nil {
		return 0, fmt.Errorf("checking the new management key: %w", err)
	}
	return alg, s.finishProtection(ctx, next, rnd, now)
}

// finishProtection writes step 3 of protectManagementKey; the session is
// authenticated with key.
func (s *Session) finishProtection(ctx context.Context, key []byte, rnd io.Reader, now time.Time) error {
	admin, err := s.AdminData(ctx)
	if err != nil {
		return err
	}
	admin.Flags |= AdminFlagMgmtProtected
	admin.HasFlags = true
	// A salt means "key derived from the PIN" (deprecated); the key is now
	// stored instead, and ykman would otherwise try to derive it.
	admin.Salt = nil
	if err := s.PutObject(ctx, ObjectAdminData, admin.Marshal()); err != nil {
		return fmt.Errorf("marking the management key as PIN-protected: %w", err)
	}
	if err := s.PutObject(ctx, ObjectPrinted, (&ProtectedData{ManagementKey: key}).Marshal()); err != nil {
		return fmt.Errorf("storing the management key under the PIN: %w", err)
	}
	return s.writeCardIDs(ctx, rnd, now, true)
}

// hasObjects reports whether all the objects exist.
func (s *Session) hasObjects(ctx context.Context, ids ...uint32) (bool, error) {
	for _, id := range ids {
		_, err := s.GetObject(ctx, id)
		if errors.Is(err, device.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// certValidity is how long keywizard's self-signed PIV certificates (and
// the CHUID) are valid: Yubico's macOS setup uses 30 years
// (yubikey-manager-qt PivSetupForMacOsView.qml, docs/yubikey-protocol.md §5).
const certValidity = 30

// writeCardIDs writes a fresh CHUID, and a CCC too if ccc, as ykman does
// after changing keys or certificates (docs/yubikey-protocol.md §4.8). The
// session must be authenticated with the management key.
func (s *Session) writeCardIDs(ctx context.Context, rnd io.Reader, now time.Time, ccc bool) error {
	chuid, err := NewCHUID(rnd, now.AddDate(certValidity, 0, 0))
	if err != nil {
		return err
	}
	if err := s.PutObject(ctx, ObjectCHUID, chuid); err != nil {
		return fmt.Errorf("writing the CHUID: %w", err)
	}
	if !ccc {
		return nil
	}
	c, err := NewCCC(rnd)
	if err != nil {
		return err
	}
	if err := s.PutObject(ctx, ObjectCCC, c); err != nil {
		return fmt.Errorf("writing the CCC: %w", err)
	}
	return nil
}

// tryCredentials runs op with each candidate value of a PIN or PUK until
// one is accepted, and returns it. It never spends the last try on a guess:
// after a wrong candidate that leaves fewer than 2 tries, it stops and
// returns that error, so a further wrong guess cannot block the credential
// (a right one resets the counter). Non-PIN errors stop at once.
func tryCredentials(cands []string, op func(c string) error) (string, error) {
	if len(cands) == 0 {
		return "", fmt.Errorf("no candidate value to try: %w", device.ErrInvalidArgument)
	}
	var last error
	for i, c := range cands {
		err := op(c)
		if err == nil {
			return c, nil
		}
		var pe *device.PINError
		if !errors.As(err, &pe) {
			return "", err
		}
		last = err
		if pe.Retries < 2 && i+1 < len(cands) {
			break
		}
	}
	return "", last
}

// credentialCandidates lists what the current PIN (or PUK) may be:
// the factory value only when metadata says it is still the default;
// otherwise the caller's current value, then the new one (a previous run may
// have set it already), without the factory value when metadata says it has
// changed. isDefault is nil when the firmware cannot tell.
func credentialCandidates(isDefault *bool, current, new, factory string) []string {
	if current == "" {
		current = factory
	}
	if isDefault != nil && *isDefault {
		return []string{factory}
	}
	var out []string
	for _, c := range []string{current, new} {
		if c == "" || (isDefault != nil && c == factory) {
			continue
		}
		if len(out) == 1 && out[0] == c {
			continue
		}
		out = append(out, c)
	}
	return out
}
