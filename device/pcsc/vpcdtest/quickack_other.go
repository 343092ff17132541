//go:build !linux

package vpcdtest

import "net"

// quickAck is Linux-only (TCP_QUICKACK); elsewhere commands are just slower.
func quickAck(net.Conn) {}
