package scan_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/mgmt"
	"github.com/keywizard/keywizard/device/scan"
)

// List the keys plugged in, as `keywizard keys` does: management info only,
// which is two commands per key.
func ExampleScanner_Keys() {
	s := &scan.Scanner{PCSC: scan.System}
	keys, err := s.Keys(context.Background())
	for _, k := range keys {
		fmt.Printf("%s, serial %d, firmware %s (%s)\n", k.Model, k.Serial, k.Info.Version, k.Reader)
	}
	if err != nil {
		fmt.Println("some readers could not be read:", err)
	}
}

// Disable OTP on one key; the key reboots and the scanner finds it again.
func ExampleScanner_Reopener() {
	ctx := context.Background()
	s := &scan.Scanner{PCSC: scan.System}
	k, err := s.Find(ctx, 0) // the only key
	if errors.Is(err, device.ErrAmbiguous) {
		fmt.Println("several keys are plugged in; choose one by serial")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	card, _, err := s.OpenCard(ctx, k.Serial)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer card.Close()
	res, err := mgmt.ChangeApplications(ctx, card, mgmt.Request{USBDisable: device.CapOTP}, s.Reopener(k.Serial))
	fmt.Println(res, err)
}

// Follow keys arriving and leaving.
func ExampleScanner_Watch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := (&scan.Scanner{PCSC: scan.System}).Watch(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for e := range events {
		switch e.Kind {
		case scan.Arrived, scan.Left:
			fmt.Println(e.Kind, e.Key.Model, e.Key.Serial, e.Reader)
		default:
			fmt.Println(e.Kind, e.Reader, e.Err)
		}
	}
}
