package simulation

import "syscall"

// simProcAttr ends a simulated key's process with the window's: a crashed
// window must not leave keys plugged into vpcd (and its lock free) behind.
func simProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} }
