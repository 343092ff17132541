package keys

import (
	"context"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
	"github.com/keywizard/keywizard/device/fido/libfido2"
	"github.com/keywizard/keywizard/device/hub"
	"github.com/keywizard/keywizard/device/pcsc"
	"github.com/keywizard/keywizard/device/piv"
	"github.com/keywizard/keywizard/device/scan"
)

// SystemHub builds the hub over the machine's PC/SC service and FIDO HID
// devices (go-libfido2), including simulated keys' HID nodes named in
// KEYWIZARD_FIDO_HID_PATHS (`keywizard sim --hid PATH`; docs/fido-hid.md).
func SystemHub() *hub.Hub {
	return NewHub(libfido2.NewProvider(libfido2.EnvPaths()...))
}

// NewHub builds a hub over the machine's PC/SC service with the given FIDO
// provider (libfido2 for hardware, simfido for the simulator).
func NewHub(fp fido.Provider) *hub.Hub {
	return &hub.Hub{
		Scanner:  &scan.Scanner{PCSC: scan.System, FIDO: fp, ReadPIV: piv.ReadState},
		OpenCard: OpenPCSC,
	}
}

// OpenPCSC opens a shared connection to the card in reader, inside a PC/SC
// transaction for its whole life (one sequence of commands against one
// selected application, as device/scan's connections); closing the card
// ends the transaction and releases its PC/SC context, so piv-go can then
// open the card exclusively.
func OpenPCSC(ctx context.Context, reader string) (device.Card, error) {
	c, err := pcsc.Establish()
	if err != nil {
		return nil, err
	}
	card, err := c.Connect(ctx, reader, false)
	if err != nil {
		c.Release()
		return nil, err
	}
	if err := card.Begin(); err != nil {
		card.Close()
		c.Release()
		return nil, err
	}
	return &ownedCard{Card: card, ctx: c}, nil
}

type ownedCard struct {
	*pcsc.Card
	ctx *pcsc.Context
}

func (o *ownedCard) Close() error {
	o.Card.End() // fails harmlessly when the key left meanwhile
	err := o.Card.Close()
	if rerr := o.ctx.Release(); err == nil {
		err = rerr
	}
	return err
}
