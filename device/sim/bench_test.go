package sim

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/keywizard/keywizard/device/apdu"
)

// BenchmarkReadConfig is one READ CONFIG through the in-process card: the
// cost other packages' unit tests pay per device-info read.
func BenchmarkReadConfig(b *testing.B) {
	k := newKey(b, Config{Serial: 1, Model: "5c-nano"})
	c := k.Card()
	send(b, c, selMgmt)
	cmd := unhex(b, "00 1D 00 00 00")
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPIVSignECDSA is one P-256 signature in 9A (PIN policy never).
func BenchmarkPIVSignECDSA(b *testing.B) {
	k := newKey(b, Config{Serial: 1, Model: "5c-nano"})
	c := k.Card()
	send(b, c, selPIV)
	ctx := context.Background()
	if _, err := apdu.Transmit(ctx, c, apdu.Command{INS: 0x87, P1: 0x0A, P2: 0x9B, Data: []byte{0x7C, 0x02, 0x80, 0x00}}); err != nil {
		b.Fatal(err)
	}
	k.mu.Lock()
	k.sess.pivMgmt = true // skip the round trip: this measures signing
	k.mu.Unlock()
	send(b, c, "00 47 00 9A 08 AC 06 80 01 11 AA 01 01")
	digest := sha256.Sum256([]byte("bench"))
	cmd := apdu.Command{INS: 0x87, P1: 0x11, P2: 0x9A, Data: append([]byte{0x7C, 0x24, 0x82, 0x00, 0x81, 0x20}, digest[:]...)}
	for b.Loop() {
		if _, err := apdu.Transmit(ctx, c, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew is creating a key (per-key attestation key and certificate).
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Config{Serial: 1, Model: "5c-nfc"}); err != nil {
			b.Fatal(err)
		}
	}
}
