package sim

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/keywizard/keywizard/device"
)

// Options configure [Run]: one simulated key in one vpcd slot.
type Options struct {
	Serial uint32
	// Model is a [Presets] name ("5c-nano", "5c-nfc", "5ci", "5-nfc",
	// "5-nano", "5c").
	Model string
	// Firmware defaults to the preset's (see [Config.Firmware]).
	Firmware device.Version
	// Slot is the vpcd slot: 0 ("Virtual PCD 00 00") or 1 ("... 00 01").
	Slot int
	// Out receives one line each time the key is attached or re-attached;
	// nil discards them.
	Out io.Writer
	// RebootDelay overrides AttachConfig.RebootDelay.
	RebootDelay time.Duration
	// HIDPath, if set, is where the key's FIDO HID node appears (Linux;
	// package simhid) for as long as the key runs: libfido2, go-libfido2
	// and fido2-token open it as a USB key's /dev/hidrawN. keywizard
	// lists it when it is named in libfido2.EnvHIDPaths.
	HIDPath string
	// StatePath, if set, is the key's storage (state.go): read at start
	// (a missing file is a factory-fresh key) and written after every
	// change, so that the key keeps its PINs, keys and passkeys when its
	// process is restarted, as a real key does when unplugged. A restart
	// is a replug: it clears what a replug clears (the FIDO2 PIN-auth
	// block, PINs verified). The file holds the simulated key's secrets;
	// it is written with mode 0600.
	StatePath string
	// NoFIDOOverCCID keeps the FIDO2 application off the reader, as on
	// firmware before 5.8: for a set-up whose FIDO2 side lives elsewhere
	// (the window's simulation, internal/simulation), where ykman would
	// otherwise see a second, different FIDO2 state through the reader.
	NoFIDOOverCCID bool
}

// Run simulates one key attached to vpcd until ctx is cancelled, which is a
// clean stop (nil error). It is `keywizard sim`. It fails at once if the
// options are invalid or vpcd cannot be reached.
func Run(ctx context.Context, o Options) error {
	if o.Slot < 0 || o.Slot > 1 {
		return fmt.Errorf("running simulator: slot %d does not exist (vpcd has slots 0 and 1): %w", o.Slot, device.ErrInvalidArgument)
	}
	// FIDO2 over CCID too: one key, reachable by ykman through the
	// reader and by libfido2 through the HID node, with one state.
	k, err := New(Config{Serial: o.Serial, Model: o.Model, Firmware: o.Firmware, FIDOOverCCID: !o.NoFIDOOverCCID})
	if err != nil {
		return fmt.Errorf("running simulator: %w", err)
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.StatePath != "" {
		p := &persister{k: k, path: o.StatePath}
		if err := p.load(); err != nil {
			return fmt.Errorf("running simulator: %w", err)
		}
		if err := p.save(); err != nil {
			return fmt.Errorf("running simulator: %w", err)
		}
		changed := make(chan struct{}, 1)
		k.SetOnChange(func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		report := func(err error) {
			if err != nil {
				fmt.Fprintf(out, "%s: %v\n", k, err)
			}
		}
		sctx, stopSaver := context.WithCancel(ctx)
		saverDone := make(chan struct{})
		go func() {
			defer close(saverDone)
			for {
				select {
				case <-changed:
					report(p.save())
				case <-sctx.Done():
					return
				}
			}
		}()
		defer func() {
			stopSaver()
			<-saverDone
			report(p.save())
		}()
	}
	if o.HIDPath != "" {
		n, err := k.ServeHID(o.HIDPath)
		if err != nil {
			return fmt.Errorf("running simulator: %w", err)
		}
		// Pulling the key (the process ending) removes the node.
		defer n.Close()
		fmt.Fprintf(out, "%s: FIDO HID device at %s\n", k, n.Path())
	}
	reader := ReaderName(o.Slot)
	a, err := AttachWith(ctx, k, AttachConfig{
		Addr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(VPCDPort+o.Slot)),
		RebootDelay: o.RebootDelay,
		OnConnect: func(n int) {
			verb := "attached to"
			if n > 1 {
				verb = "re-attached to"
			}
			fmt.Fprintf(out, "%s %s %q\n", k, verb, reader)
		},
	})
	if err != nil {
		return fmt.Errorf("running simulator: %w", err)
	}
	<-a.Done()
	return nil
}
