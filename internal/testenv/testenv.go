// Package testenv holds what keywizard's integration tests share about the
// machine they run on: the real pcscd with vsmartcard's two vpcd slots is one
// resource for every test process, so tests that attach a simulated key take
// an exclusive, cross-process lock for as long as they use it.
//
// Tests that need pcscd fail (they do not skip) when it is not running, with
// the command that starts it: a skipped integration test would hide a broken
// PC/SC path. `make test` starts pcscd before running tests.
package testenv

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// LockFile is the lock every process using vpcd slots takes (flock).
const LockFile = "/tmp/keywizard-vpcd.lock"

// LockVPCD takes the machine-wide vpcd lock for the rest of the test (both
// slots), waiting for other test processes to finish with it. It also checks
// that pcscd is up with vpcd listening.
func LockVPCD(tb testing.TB) {
	tb.Helper()
	RequirePCSCD(tb)
	f, err := os.OpenFile(LockFile, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		tb.Fatalf("opening vpcd lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		tb.Fatalf("locking vpcd: %v", err)
	}
	tb.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// RequirePCSCD fails the test unless pcscd is running with vpcd listening
// on 127.0.0.1:35963.
func RequirePCSCD(tb testing.TB) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:35963", 2*time.Second)
	if err != nil {
		tb.Fatalf("pcscd with vsmartcard-vpcd is not running (%v); run `make test`, or scripts/deps.sh test && scripts/pcscd.sh", err)
	}
	// Closing at once is harmless: vpcd treats it as a card that left.
	c.Close()
}
