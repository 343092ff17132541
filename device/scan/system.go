package scan

import (
	"context"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
)

// System is the machine's PC/SC service (pcscd, the macOS CryptoTokenKit
// PC/SC layer, or the Windows Smart Card service) through package pcsc.
var System PCSC = systemPCSC{}

type systemPCSC struct{}

func (systemPCSC) Establish() (Context, error) {
	c, err := pcsc.Establish()
	if err != nil {
		return nil, err
	}
	return systemContext{c}, nil
}

type systemContext struct{ *pcsc.Context }

func (c systemContext) Connect(ctx context.Context, reader string, exclusive bool) (device.Card, error) {
	card, err := c.Context.Connect(ctx, reader, exclusive)
	if err != nil {
		return nil, err
	}
	return card, nil
}
