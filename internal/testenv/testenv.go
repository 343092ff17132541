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
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device/sim/vpcdlock"
)

// LockFile is the lock every process using vpcd slots takes (flock).
const LockFile = vpcdlock.LockFile

// LockVPCD takes the machine-wide vpcd lock for the rest of the test (both
// slots), waiting for other test processes, benchmarks or a running
// `keywizard --simulate` to finish with it. It also checks that pcscd is up
// with vpcd listening, and that both readers are empty before and after.
func LockVPCD(tb testing.TB) {
	tb.Helper()
	RequirePCSCD(tb)
	unlock, err := vpcdlock.Lock(context.Background())
	if err != nil {
		tb.Fatalf("locking vpcd: %v", err)
	}
	WaitReadersEmpty(tb)
	tb.Cleanup(func() {
		// Cleanups run last-in first-out, so the test's simulated keys
		// are detached by now; hand over only once pcscd has seen them go.
		WaitReadersEmpty(tb)
		unlock()
	})
}

// RequirePCSCD fails the test unless pcscd is running with vpcd listening
// on TCP 35963. It looks at the kernel's socket table rather than connecting:
// a connection to vpcd is a card insertion and would disturb other tests.
func RequirePCSCD(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat("/run/pcscd/pcscd.comm"); err == nil && listening(0x8C7B) {
		return
	}
	tb.Fatalf("pcscd with vsmartcard-vpcd is not running; run `make test`, or scripts/deps.sh test && scripts/pcscd.sh")
}

// listening reports whether /proc/net/tcp or tcp6 has a LISTEN socket on port.
func listening(port int) bool {
	want := fmt.Sprintf(":%04X ", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			// fields[1] is local address:port, fields[3] the state (0A = LISTEN).
			if len(fields) > 3 && strings.Contains(fields[1]+" ", want) && fields[3] == "0A" {
				return true
			}
		}
	}
	return false
}
