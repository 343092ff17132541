//go:build unix

package vpcdlock

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// LockFile is the machine-wide lock on vpcd's two virtual readers. pcscd
// and vpcd are one resource for every process on the machine: a simulated
// key attached while another process's key sits in the same slot would take
// its place. Every user of the slots (tests through internal/testenv,
// `keywizard --simulate`, the benchmarks) holds this flock while attached.
const LockFile = "/tmp/keywizard-vpcd.lock"

// Lock takes the vpcd lock, waiting until ctx ends. The returned
// function releases it. Within one process, call it once: flock locks
// conflict between open files even in the same process.
func Lock(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(LockFile, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("opening the virtual reader lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("locking the virtual readers: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("the virtual readers are in use by another simulation or test run (lock %s): %w", LockFile, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
