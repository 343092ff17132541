package evidence

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"aead.dev/minisign"
)

// Kind is an export's file format.
type Kind string

// The signed formats.
const (
	CSV  Kind = "csv"
	JSON Kind = "json"
)

// How the signature sits in each format: the file is the signed bytes, then
// the signature (standard base64, strict, of the minisign signature text),
// then a fixed closing. The signed bytes end with the field's opening, so
// the signature covers every byte but itself and the closing, which is
// checked literally.
const (
	csvOpen   = "# signature: "
	csvClose  = "\n"
	jsonOpen  = "\"signature\": \""
	jsonClose = "\"\n}\n"
)

// Errors of [Verify]; each is wrapped with what was wrong.
var (
	// ErrMalformed: the file is not a signed export (no signature field
	// where it must be, or one that cannot be read).
	ErrMalformed = errors.New("not a signed export")
	// ErrBadSignature: the signature does not match the file and key; the
	// file was changed after signing, or signed by another key.
	ErrBadSignature = errors.New("signature does not match")
)

var b64 = base64.StdEncoding.Strict()

// untrusted is minisign's unsigned comment line. It is fixed, and checked,
// so that no byte of an export can change without verify noticing.
const untrusted = "keywizard tracker export signature"

// Signer signs exports with the tracker's key.
type Signer struct {
	key minisign.PrivateKey
}

// NewSigner returns a signer with a new random key (tests; a server keeps
// its key with [LoadOrCreateKey]).
func NewSigner() (*Signer, error) {
	_, key, err := minisign.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	return &Signer{key: key}, nil
}

// PublicKey returns the key that verifies this signer's exports.
func (s *Signer) PublicKey() minisign.PublicKey {
	return s.key.Public().(minisign.PublicKey)
}

// PublicKeyText is the public key in minisign's file format (two lines:
// an untrusted comment with the key ID, then the key in base64).
func (s *Signer) PublicKeyText() string {
	b, _ := s.PublicKey().MarshalText() // never fails
	return string(b) + "\n"
}

// SignCSV appends the signature line to body, which must end with a
// newline. trusted is signed too and shown by verify (one line).
func (s *Signer) SignCSV(body []byte, trusted string) []byte {
	if len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	msg := append(body, csvOpen...)
	return s.seal(msg, trusted, csvClose)
}

// SignJSON signs a JSON object (as from json.MarshalIndent with a two-space
// indent) by adding a last member "signature". obj must be a non-empty
// object.
func (s *Signer) SignJSON(obj []byte, trusted string) ([]byte, error) {
	t := bytes.TrimRight(obj, " \t\r\n")
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return nil, errors.New("signing JSON: not an object")
	}
	t = bytes.TrimRight(t[:len(t)-1], " \t\r\n")
	if t[len(t)-1] == '{' {
		return nil, errors.New("signing JSON: empty object")
	}
	msg := make([]byte, 0, len(t)+64)
	msg = append(msg, t...)
	msg = append(msg, ",\n  "+jsonOpen...)
	return s.seal(msg, trusted, jsonClose), nil
}

func (s *Signer) seal(msg []byte, trusted, closing string) []byte {
	trusted = strings.NewReplacer("\r", " ", "\n", " ").Replace(trusted)
	sig := minisign.SignWithComments(s.key, msg, trusted, untrusted)
	out := append(msg, b64.EncodeToString(sig)...)
	return append(out, closing...)
}

// Verified is what [Verify] learned from a good file.
type Verified struct {
	Kind Kind
	// Signed is the file up to the signature's value: what was signed.
	Signed []byte
	// Trusted is the signed comment (what, when, for whom).
	Trusted string
	KeyID   uint64
}

// Verify checks a signed export against the tracker's public key. Any
// changed, added or removed byte makes it fail.
func Verify(pub minisign.PublicKey, file []byte) (Verified, error) {
	var (
		v       Verified
		open    string
		closing string
	)
	switch {
	case bytes.HasSuffix(file, []byte(jsonClose)):
		v.Kind, open, closing = JSON, jsonOpen, jsonClose
	case bytes.HasSuffix(file, []byte(csvClose)):
		v.Kind, open, closing = CSV, csvOpen, csvClose
	default:
		return v, fmt.Errorf("%w: it does not end with a signature", ErrMalformed)
	}
	rest := file[:len(file)-len(closing)]
	i := bytes.LastIndex(rest, []byte(open))
	if i < 0 {
		return v, fmt.Errorf("%w: no signature field", ErrMalformed)
	}
	if v.Kind == CSV && i > 0 && rest[i-1] != '\n' {
		return v, fmt.Errorf("%w: the signature is not on a line of its own", ErrMalformed)
	}
	v.Signed = rest[:i+len(open)]
	enc := rest[i+len(open):]
	sig, err := b64.DecodeString(string(enc))
	if err != nil || bytes.ContainsAny(enc, "\r\n") || b64.EncodeToString(sig) != string(enc) {
		return v, fmt.Errorf("%w: the signature is not valid base64", ErrMalformed)
	}
	var parsed minisign.Signature
	if err := parsed.UnmarshalText(sig); err != nil {
		return v, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// minisign's own parser is lenient about whitespace in its base64;
	// re-encoding must give the same text, so no byte can change unseen.
	if canon, err := parsed.MarshalText(); err != nil || !bytes.Equal(bytes.TrimRight(canon, "\n"), bytes.TrimRight(sig, "\n")) {
		return v, fmt.Errorf("%w: the signature is not in minisign's canonical form", ErrMalformed)
	}
	if parsed.UntrustedComment != untrusted {
		return v, fmt.Errorf("%w: unexpected untrusted comment", ErrMalformed)
	}
	if parsed.KeyID != pub.ID() {
		return v, fmt.Errorf("%w: signed by key %X, not %X", ErrBadSignature, parsed.KeyID, pub.ID())
	}
	if !minisign.Verify(pub, v.Signed, sig) {
		return v, fmt.Errorf("%w: the file was changed after it was signed", ErrBadSignature)
	}
	v.Trusted, v.KeyID = parsed.TrustedComment, parsed.KeyID
	return v, nil
}

// ParsePublicKey reads a public key in minisign's file format, or its
// base64 line alone.
func ParsePublicKey(text []byte) (minisign.PublicKey, error) {
	var k minisign.PublicKey
	if err := k.UnmarshalText(bytes.TrimSpace(text)); err != nil {
		return k, fmt.Errorf("reading public key: %w", err)
	}
	return k, nil
}

// ErrKeyExposed is returned when the key file can be read by others than its owner.
var ErrKeyExposed = errors.New("signing key file is readable by others")

// ErrNoKey is returned when there is no signing key file where one was expected.
var ErrNoKey = errors.New("no signing key")

// LoadKey reads the signing key at path, as LoadOrCreateKey does, but
// never creates one.
func LoadKey(path string) (*Signer, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoKey, path)
	}
	return LoadOrCreateKey(path)
}

// LoadOrCreateKey reads the signing key at path, creating it (mode 0600,
// directory 0700) if it does not exist. A key file others can read is
// refused: whoever reads it can sign exports as the tracker.
func LoadOrCreateKey(path string) (*Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s, gerr := NewSigner()
		if gerr != nil {
			return nil, gerr
		}
		text, _ := s.key.MarshalText() // never fails
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating signing key directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateKey(path) // another process made it first
		}
		if err != nil {
			return nil, fmt.Errorf("creating signing key: %w", err)
		}
		if _, err := f.Write(append(text, '\n')); err != nil {
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("writing signing key: %w", err)
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("writing signing key: %w", err)
		}
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("reading signing key: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%w: %s has mode %04o; run chmod 600 on it", ErrKeyExposed, path, fi.Mode().Perm())
		}
	}
	var s Signer
	if err := s.key.UnmarshalText(bytes.TrimSpace(b)); err != nil {
		return nil, fmt.Errorf("reading signing key %s: %w", path, err)
	}
	return &s, nil
}
