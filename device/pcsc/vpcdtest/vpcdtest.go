// Package vpcdtest attaches minimal scripted smart cards to vsmartcard's
// vpcd virtual reader, so tests of the PC/SC path can run through the real
// pcscd without a YubiKey simulator: a card answers each command APDU with
// whatever its handler returns.
//
// vpcd is the TCP server (port 35963 for slot 0, 35964 for slot 1) and the
// card the client. Every message is a 2-byte big-endian length and that many
// bytes; a 1-byte message is a control code (00 power off, 01 power on,
// 02 reset, 04 get ATR, answered with the ATR), anything longer is a command
// APDU answered with the response APDU (docs/yubikey-protocol.md §6.2-6.3,
// vsmartcard doc/api.txt). Closing the connection is "card removed".
//
// Tests using it must hold testenv.LockVPCD: the two slots are one
// machine-wide resource.
package vpcdtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/keywizard/keywizard/internal/tcpquick"
)

// BasePort is vpcd's TCP port for slot 0 (0x8C7B); slot n listens on
// BasePort+n.
const BasePort = 35963

// YubiKeyATR is a YubiKey 5's ATR over USB CCID (docs/yubikey-protocol.md §2.4);
// its high nibble of byte 1 makes ykman treat the transport as USB.
var YubiKeyATR = []byte{0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40}

// ReaderName is the PC/SC name pcsc-lite gives vpcd slot n with Debian's
// /etc/reader.conf.d/vpcd ("Virtual PCD 00 00", "Virtual PCD 00 01").
func ReaderName(slot int) string { return "Virtual PCD 00 0" + strconv.Itoa(slot) }

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
		tcpquick.QuickAck(c.conn)
		msg, err := readMsg(c.conn)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if len(msg) == 1 {
			switch msg[0] {
			case 0x01:
				c.mu.Lock()
				c.powerOns++
				c.mu.Unlock()
			case 0x04:
				if err := writeMsg(c.conn, c.atr); err != nil {
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
		if err := writeMsg(c.conn, resp); err != nil {
			return err
		}
	}
}

func readMsg(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func writeMsg(w io.Writer, b []byte) error {
	out := make([]byte, 2+len(b))
	binary.BigEndian.PutUint16(out, uint16(len(b)))
	copy(out[2:], b)
	_, err := w.Write(out)
	return err
}
