package tcpquick

import (
	"net"
	"syscall"
)

// QuickAck asks the kernel to acknowledge the next segment at once.
//
// vpcd sends each message as two send() calls, the 2-byte length and then
// the payload (vsmartcard vpcd.c sendToVICC). With Nagle's algorithm on
// vpcd's socket the payload waits for the length's ACK, and Linux delays
// that ACK by up to 40 ms because the card has nothing to send back yet:
// every command APDU then costs about 45 ms, which no real key's USB link
// does. TCP_QUICKACK is not sticky (the kernel clears it), so it is set
// before every read. device/pcsc/vpcdtest found and measured this.
func QuickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
