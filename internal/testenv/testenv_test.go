package testenv

import "testing"

func TestLockVPCD(t *testing.T) {
	// make test starts pcscd, so this checks both the lock and the check.
	LockVPCD(t)
	if listening(1) {
		t.Fatal("port 1 reported as listening")
	}
}
