// Package vpcdtest attaches minimal scripted smart cards to vsmartcard's
// vpcd virtual reader, so tests of the PC/SC path can run through the real
// pcscd without a YubiKey simulator: a card answers each command APDU with
// whatever its handler returns.
//
// It is a scripted card over the simulator's vpcd card side (device/sim:
// ports, reader names, the YubiKey ATR and the framing, ReadVPCD and
// WriteVPCD; docs/yubikey-protocol.md §6.2-6.3, vsmartcard doc/api.txt).
// Closing the connection is "card removed".
//
// Tests using it must hold testenv.LockVPCD: the two slots are one
// machine-wide resource.
package vpcdtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/keywizard/keywizard/device/sim"
)

// BasePort is vpcd's TCP port for slot 0; slot n listens on BasePort+n.
const BasePort = sim.VPCDPort

// YubiKeyATR is a YubiKey 5's ATR over USB CCID (sim.ATR).
var YubiKeyATR = sim.ATR

// ReaderName is the PC/SC name pcsc-lite gives vpcd slot n (sim.ReaderName).
func ReaderName(slot int) string { return sim.ReaderName(slot) }

// Handler answers one command APDU with a response APDU (data + SW1 SW2).
// Returning nil closes the connection instead: the card is pulled mid-command.
type Handler func(command []byte) []byte

// Card is a scripted card attached to one vpcd slot.
type Card struct {
	conn    net.Conn
	atr     []byte
	handler Handler

	mu       sync.Mutex
	commands [][]byte
	powerOns int

	done chan struct{}
	err  error
}

// Attach connects a card to vpcd slot (0 or 1) and serves it until Remove,
// ctx is done, or vpcd closes the connection. pcscd notices the card at its
// next presence poll; wait for it with GetStatusChange.
func Attach(ctx context.Context, slot int, atr []byte, h Handler) (*Card, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(BasePort+slot))
	if err != nil {
		return nil, fmt.Errorf("connecting to vpcd slot %d (is pcscd with vsmartcard-vpcd running? scripts/pcscd.sh): %w", slot, err)
	}
	c := &Card{conn: conn, atr: append([]byte(nil), atr...), handler: h, done: make(chan struct{})}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	go func() {
		defer stop()
		defer close(c.done)
		c.err = c.serve()
	}()
	return c, nil
}

// Remove pulls the card (closes the connection) and waits for the serving
// goroutine to end.
func (c *Card) Remove() {
	c.conn.Close()
	<-c.done
}

// Done is closed when the card is no longer attached.
func (c *Card) Done() <-chan struct{} { return c.done }

// Commands returns a copy of every command APDU received so far.
func (c *Card) Commands() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]byte, len(c.commands))
	for i, b := range c.commands {
		out[i] = append([]byte(nil), b...)
	}
	return out
}

// PowerOns counts power-on control messages (pcscd powers the card up on
// connect after having powered it down when idle).
func (c *Card) PowerOns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.powerOns
}

func (c *Card) serve() error {
	for {
		msg, err := sim.ReadVPCD(c.conn)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if len(msg) == 1 {
			switch msg[0] {
			case sim.VPCDPowerOn:
				c.mu.Lock()
				c.powerOns++
				c.mu.Unlock()
			case sim.VPCDGetATR:
				if err := sim.WriteVPCD(c.conn, c.atr); err != nil {
					return err
				}
			}
			continue
		}
		c.mu.Lock()
		c.commands = append(c.commands, append([]byte(nil), msg...))
		c.mu.Unlock()
		resp := c.handler(msg)
		if resp == nil {
			c.conn.Close()
			return nil
		}
		if err := sim.WriteVPCD(c.conn, resp); err != nil {
			return err
		}
	}
}
