// Package trace records what keywizard sends to and receives from each key,
// for IT to diagnose a failure on a real key: smart-card APDUs (hooked in
// device/apdu's Transmit, which every APDU of keywizard's own goes
// through, and, on Linux, at the PC/SC layer for the piv-go sessions
// device/piv opens: device/piv/pivgotrace_linux.c) and FIDO2 operations (hooked around device/fido's
// Authenticator). Secrets never reach it: PINs, PUKs, management keys,
// lock codes, PIN tokens, pinUvAuthParams and key material are replaced by
// their length ("<PIN 6 bytes>"), decided by decoding each command
// (redact.go), with a safe default: data of a command it does not know is
// shown only as its length.
//
// `KEYWIZARD_DEBUG=apdu,ctap` (either or both) writes the trace to
// keywizard/trace.log in the user cache directory (~/.cache on Linux,
// ~/Library/Caches on macOS, %LocalAppData% on Windows), appended, mode
// 0600, and says where on standard error once. Without it nothing is
// written anywhere; the last [RingSize] lines are still kept in memory
// (redacted the same way) for the window's "Copy diagnostics".
package trace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Kinds of trace, as named in KEYWIZARD_DEBUG.
const (
	KindAPDU = "apdu"
	KindCTAP = "ctap"
)

// RingSize is how many recent lines are kept in memory.
const RingSize = 400

// Log is a trace: a ring of recent lines and, when enabled, a writer.
type Log struct {
	mu    sync.Mutex
	ring  []string
	next  int
	full  bool
	out   io.Writer
	kinds map[string]bool
	now   func() time.Time
	// aid is the application last selected on each card, by label, so
	// commands are decoded for the application that receives them.
	aid map[string][]byte
	// last is the last command per card, for decoding its response.
	last map[string]command
}

// New returns a log writing the given kinds to out (nil: memory only).
func New(out io.Writer, kinds ...string) *Log {
	l := &Log{ring: make([]string, RingSize), out: out, kinds: map[string]bool{}, now: time.Now,
		aid: map[string][]byte{}, last: map[string]command{}}
	for _, k := range kinds {
		l.kinds[k] = true
	}
	return l
}

var (
	defaultOnce sync.Once
	defaultLog  *Log
)

// Default is the process's trace, set up from KEYWIZARD_DEBUG on first use.
func Default() *Log {
	defaultOnce.Do(func() { defaultLog = FromEnv(os.Getenv("KEYWIZARD_DEBUG"), os.Stderr) })
	return defaultLog
}

// FromEnv builds a log from a KEYWIZARD_DEBUG value ("apdu,ctap"). With any
// kind named it opens keywizard/trace.log in the user cache directory and
// tells notice (standard error) where it is; if that fails it writes to
// notice itself. Unknown words are ignored.
func FromEnv(value string, notice io.Writer) *Log {
	var kinds []string
	for _, w := range strings.FieldsFunc(strings.ToLower(value), func(r rune) bool { return r == ',' || r == ' ' }) {
		switch w {
		case KindAPDU, KindCTAP:
			kinds = append(kinds, w)
		case "all", "1":
			kinds = append(kinds, KindAPDU, KindCTAP)
		}
	}
	if len(kinds) == 0 {
		return New(nil)
	}
	path, f, err := openFile()
	if err != nil {
		fmt.Fprintf(notice, "keywizard: KEYWIZARD_DEBUG: cannot open the trace file (%v); tracing to standard error\n", err)
		return New(notice, kinds...)
	}
	fmt.Fprintf(notice, "keywizard: KEYWIZARD_DEBUG=%s: tracing to %s (PINs, keys and tokens appear only as their length)\n", strings.Join(kinds, ","), path)
	return New(f, kinds...)
}

func openFile() (string, *os.File, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", nil, err
	}
	dir = filepath.Join(dir, "keywizard")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "trace.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	return path, f, err
}

// Enabled reports whether kind is written out (lines are kept in memory
// either way).
func (l *Log) Enabled(kind string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.kinds[kind]
}

// add records one line, already redacted.
func (l *Log) add(kind, who, line string) {
	s := fmt.Sprintf("%s %s %s %s", l.now().UTC().Format("15:04:05.000"), kind, who, line)
	l.ring[l.next] = s
	l.next = (l.next + 1) % len(l.ring)
	if l.next == 0 {
		l.full = true
	}
	if l.out != nil && l.kinds[kind] {
		fmt.Fprintln(l.out, s)
	}
}

// Recent returns the lines kept in memory, oldest first, as text to copy:
// what the window's "Copy diagnostics" puts on the clipboard.
func (l *Log) Recent() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var lines []string
	if l.full {
		lines = append(lines, l.ring[l.next:]...)
	}
	lines = append(lines, l.ring[:l.next]...)
	if len(lines) == 0 {
		return "keywizard trace: nothing was sent to a key yet.\n"
	}
	return "keywizard trace (PINs, keys and tokens appear only as their length):\n" + strings.Join(lines, "\n") + "\n"
}

// Note records a line of context ("opening reader X"), never secret.
func (l *Log) Note(kind, who, text string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(kind, who, "# "+text)
}
