package evidence

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EraseAction is the audit action of an erasure. Free text of entries
// about a person (their subject, or their actor when the subject is empty)
// may be redacted only if the log later holds this action for that person.
const EraseAction = "person.erase"

// SaltSize is the length of an entry's text salt.
const SaltSize = 32

// Hash is a SHA-256 digest.
type Hash [sha256.Size]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a hex digest.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("hash %q: want %d hex bytes", s, len(h))
	}
	copy(h[:], b)
	return h, nil
}

// MarshalText writes h as lowercase hex, as stored.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads hex.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	*h = v
	return err
}

// Entry is one audit log entry as the chain sees it, and as the audit
// log's export carries it (hashes in hex, the salt in base64).
type Entry struct {
	Seq     int64     `json:"seq"` // 1, 2, 3, ... in chain order
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	Reason  string    `json:"reason"`
	Detail  string    `json:"detail"`
	// Salt is nil once the entry's text has been redacted.
	Salt       []byte `json:"salt"`
	TextCommit Hash   `json:"text_commit"`
	Prev       Hash   `json:"prev_hash"`
	Hash       Hash   `json:"hash"`
}

// Redacted reports whether the entry's free text was erased.
func (e *Entry) Redacted() bool { return len(e.Salt) == 0 }

// NewSalt returns a fresh random salt.
func NewSalt() []byte {
	s := make([]byte, SaltSize)
	if _, err := rand.Read(s); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return s
}

// lp appends v with its length, so no two field lists encode alike.
func lp(b *bytes.Buffer, v string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(v)))
	b.Write(n[:])
	b.WriteString(v)
}

// CommitText is the salted commitment to an entry's free text:
// SHA-256("keywizard-audit-text-v1" 0x00 || salt || lp(reason) || lp(detail)),
// lp(x) being x's length as 4 bytes big-endian followed by x.
func CommitText(salt []byte, reason, detail string) Hash {
	var b bytes.Buffer
	b.WriteString("keywizard-audit-text-v1\x00")
	b.Write(salt)
	lp(&b, reason)
	lp(&b, detail)
	return sha256.Sum256(b.Bytes())
}

// LinkHash is an entry's hash:
// SHA-256("keywizard-audit-v1" 0x00 || seq (8 bytes BE) || at in Unix
// microseconds (8 bytes BE, two's complement) || lp(actor) || lp(action) ||
// lp(subject) || text commitment (32) || previous hash (32)).
func LinkHash(e *Entry) Hash {
	var b bytes.Buffer
	b.WriteString("keywizard-audit-v1\x00")
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	b.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixMicro()))
	b.Write(n[:])
	lp(&b, e.Actor)
	lp(&b, e.Action)
	lp(&b, e.Subject)
	b.Write(e.TextCommit[:])
	b.Write(e.Prev[:])
	return sha256.Sum256(b.Bytes())
}

// Seal links e after an entry with sequence number seq-1 and hash prev:
// it sets Seq, Prev, a new Salt, TextCommit and Hash. At is truncated to
// the microsecond, as stored.
func Seal(e *Entry, seq int64, prev Hash) {
	e.Seq, e.Prev = seq, prev
	e.At = time.UnixMicro(e.At.UnixMicro()).UTC()
	e.Salt = NewSalt()
	e.TextCommit = CommitText(e.Salt, e.Reason, e.Detail)
	e.Hash = LinkHash(e)
}

// ErrChainBroken is matched by every [ChainError].
var ErrChainBroken = errors.New("audit chain broken")

// ChainError says where and how the chain does not hold.
type ChainError struct {
	Seq     int64 // the entry at fault (for a gap, the first one after it)
	Problem string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit entry %d: %s", e.Seq, e.Problem)
}

// Unwrap makes errors.Is(err, ErrChainBroken) true.
func (e *ChainError) Unwrap() error { return ErrChainBroken }

// Head names the last entry of a chain: an anchor to check a log against
// later (exports carry the head at the time they were made).
type Head struct {
	Seq  int64 `json:"seq"`
	Hash Hash  `json:"-"`
}

func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.Hash) }

// ParseHead reads "SEQ:HASH" as printed by Head.String.
func ParseHead(s string) (Head, error) {
	var h Head
	seq, hash, ok := strings.Cut(s, ":")
	if !ok {
		return h, fmt.Errorf("head %q: want SEQ:HASH", s)
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n < 1 {
		return h, fmt.Errorf("head %q: bad sequence number", s)
	}
	h.Seq = n
	h.Hash, err = ParseHash(hash)
	return h, err
}

// ChainSummary is what a verified chain held.
type ChainSummary struct {
	Entries  int64
	Redacted int64 // entries whose free text was erased with their subject
	Head     Head
}

// Verifier checks a chain fed to it in order, entry by entry, so a log of
// any length is checked in constant memory (plus the erased subjects).
type Verifier struct {
	// Anchors are heads recorded earlier (from exports); the log must hold
	// each of them unchanged.
	Anchors []Head

	n        int64
	prev     Hash
	pending  map[string]int64 // whose erasure a redaction waits for -> first seq
	redacted int64
	err      error
}

// erasedBy is who must be erased for e's redaction to be legitimate: its
// subject, or, for an entry about nobody else, its actor.
func erasedBy(e *Entry) string {
	if e.Subject != "" {
		return e.Subject
	}
	return e.Actor
}

// Add checks the next entry. After the first error it keeps returning it.
func (v *Verifier) Add(e Entry) error {
	if v.err != nil {
		return v.err
	}
	fail := func(p string, args ...any) error {
		v.err = &ChainError{Seq: e.Seq, Problem: fmt.Sprintf(p, args...)}
		return v.err
	}
	want := v.n + 1
	switch {
	case e.Seq < want:
		return fail("out of order or repeated (expected entry %d)", want)
	case e.Seq > want:
		return fail("entries %d to %d are missing", want, e.Seq-1)
	}
	if e.Prev != v.prev {
		return fail("does not follow entry %d (previous hash differs)", want-1)
	}
	if e.Redacted() {
		if e.Reason != "" || e.Detail != "" {
			return fail("text present without its salt")
		}
		if v.pending == nil {
			v.pending = map[string]int64{}
		}
		if _, ok := v.pending[erasedBy(&e)]; !ok {
			v.pending[erasedBy(&e)] = e.Seq
		}
		v.redacted++
	} else if CommitText(e.Salt, e.Reason, e.Detail) != e.TextCommit {
		return fail("reason or detail changed")
	}
	if LinkHash(&e) != e.Hash {
		return fail("changed (hash differs)")
	}
	if e.Action == EraseAction {
		delete(v.pending, e.Subject)
	}
	for _, a := range v.Anchors {
		if a.Seq == e.Seq && a.Hash != e.Hash {
			return fail("differs from the anchor %s", a)
		}
	}
	v.n, v.prev = e.Seq, e.Hash
	return nil
}

// Finish checks what can only be checked at the end: every redaction was
// followed by its subject's erasure, and every anchor was reached.
func (v *Verifier) Finish() (ChainSummary, error) {
	s := ChainSummary{Entries: v.n, Redacted: v.redacted, Head: Head{Seq: v.n, Hash: v.prev}}
	if v.err != nil {
		return s, v.err
	}
	if len(v.pending) > 0 {
		first := int64(0)
		for _, seq := range v.pending {
			if first == 0 || seq < first {
				first = seq
			}
		}
		return s, &ChainError{Seq: first, Problem: "text redacted, but its subject was never erased"}
	}
	for _, a := range v.Anchors {
		if a.Seq > v.n {
			return s, &ChainError{Seq: v.n + 1, Problem: fmt.Sprintf("the log ends at %d, before the anchor %s: entries were removed from its end", v.n, a)}
		}
	}
	return s, nil
}
