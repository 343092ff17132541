//go:build !linux

package simulation

import "syscall"

// simProcAttr: only Linux can tie a child's life to its parent's; elsewhere
// Close stops the simulated keys.
func simProcAttr() *syscall.SysProcAttr { return nil }
