// Package tcpquick holds the one socket option the vpcd cards need
// (the simulator and device/pcsc/vpcdtest's scripted card): vpcd writes each
// message in two send() calls, and Linux's delayed ACK then holds the second
// back by up to 40 ms, which no real key's USB link does.
package tcpquick
