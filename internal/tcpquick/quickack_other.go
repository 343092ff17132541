//go:build !linux

package tcpquick

import "net"

// QuickAck is Linux's TCP_QUICKACK; elsewhere delayed ACKs stay as they are.
func QuickAck(net.Conn) {}
