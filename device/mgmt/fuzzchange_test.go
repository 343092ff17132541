package mgmt

import (
	"context"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
)

// echoCard answers SELECT with a 5.4.3 version, READ CONFIG with info, and
// records whether anything else was sent.
type echoCard struct {
	info   []byte
	writes int
}

func (c *echoCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	switch {
	case len(cmd) >= 2 && cmd[1] == 0xA4:
		return append(selectText(v543), 0x90, 0x00), nil
	case len(cmd) >= 2 && cmd[1] == insReadConfig:
		return append(append([]byte(nil), c.info...), 0x90, 0x00), nil
	}
	c.writes++
	return []byte{0x90, 0x00}, nil
}

func (c *echoCard) Close() error { return nil }

// FuzzChangeApplications feeds arbitrary READ CONFIG answers to the whole
// operation: it must never panic, never write when the info does not
// decode, and never write a configuration that disables every USB
// application.
func FuzzChangeApplications(f *testing.F) {
	for _, s := range []string{resp5NFC523, resp5Ci526, resp5NFC543} {
		f.Add(unhex(f, s), uint16(device.CapOTP), uint16(0))
	}
	f.Add(nano(1, 0x0001).bytes(), uint16(device.CapOTP), uint16(0))
	f.Fuzz(func(t *testing.T, info []byte, disable, enable uint16) {
		card := &echoCard{info: info}
		var sent []byte
		probe := &recordCard{echoCard: card, onWrite: func(b []byte) { sent = b }}
		reopen := func(context.Context) (device.Card, error) { return card, nil }
		req := Request{USBDisable: device.Capability(disable), USBEnable: device.Capability(enable)}
		_, err := ChangeApplications(context.Background(), probe, req, reopen)
		if req.validate() != nil {
			if card.writes != 0 || !errors.Is(err, device.ErrInvalidArgument) {
				t.Fatalf("invalid request: err %v, %d writes", err, card.writes)
			}
			return
		}
		if _, perr := ParseInfo(info); perr != nil {
			if card.writes != 0 || !errors.Is(err, device.ErrInvalidResponse) {
				t.Fatalf("undecodable info: err %v, %d writes", err, card.writes)
			}
			return
		}
		if sent != nil {
			tags, terr := tlvMap(sent[1:])
			if terr != nil {
				t.Fatalf("sent malformed config % x", sent)
			}
			if v, ok := tags[tagUSBEnabled]; ok && (uint16(v[0])<<8|uint16(v[1]))&uint16(allApplications()) == 0 {
				t.Fatalf("sent a config disabling every USB application: % x", sent)
			}
		}
	})
}

// recordCard passes commands to echoCard and captures WRITE CONFIG data.
type recordCard struct {
	*echoCard
	onWrite func([]byte)
}

func (c *recordCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) > 5 && cmd[1] == insWriteConfig {
		c.onWrite(append([]byte(nil), cmd[5:]...))
	}
	return c.echoCard.Transmit(ctx, cmd)
}
