package cli

import (
	"net"
	"testing"
	"time"
)

// SetListen replaces how serve opens its socket, for t.
func SetListen(t testing.TB, f func(network, addr string) (net.Listener, error)) {
	old := listen
	listen = f
	t.Cleanup(func() { listen = old })
}

// SetDigestAfter replaces the digest loop's timer, for t.
func SetDigestAfter(t testing.TB, f func(time.Duration) <-chan time.Time) {
	old := digestAfter
	digestAfter = f
	t.Cleanup(func() { digestAfter = old })
}
