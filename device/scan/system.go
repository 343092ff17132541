package scan

import (
	"context"
	"runtime"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/pcsc"
)

// System is the machine's PC/SC service (pcscd, the macOS CryptoTokenKit
// PC/SC layer, or the Windows Smart Card service) through package pcsc.
var System PCSC = systemPCSC{}

type systemPCSC struct{}

// StopsWithoutReaders: since Windows 8 the Smart Card service stops when
// its last reader is removed and starts again with the next one, so "no
// service" there means "no readers" (Microsoft, "What's New in Smart Cards",
// Smart Card Service start and stop behavior; docs/pcsc-platforms.md).
// pcscd stopping is a failure to report.
func (systemPCSC) StopsWithoutReaders() bool { return runtime.GOOS == "windows" }

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
	if err := card.Begin(); err != nil {
		card.Close()
		return nil, err
	}
	return txCard{card}, nil
}

// txCard holds a PC/SC transaction for the life of the connection. A card
// has one selected application for every program that shares it, so another
// program's (or goroutine's) SELECT between our SELECT and READ CONFIG would
// send READ CONFIG to its application (status 6D00). Every connection the
// scanner makes is one short sequence (SELECT, READ CONFIG, PIV state, or a
// configuration change), so holding the card for it is what piv-go does for
// a whole session, and what ykman does per command group.
type txCard struct{ *pcsc.Card }

func (t txCard) Close() error {
	t.Card.End() // fails harmlessly when the key rebooted or left meanwhile
	return t.Card.Close()
}
