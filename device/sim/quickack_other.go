//go:build !linux

package sim

import "net"

// quickAck is Linux's TCP_QUICKACK; elsewhere delayed ACKs stay as they are.
func quickAck(net.Conn) {}
