package mgmt_test

import (
	"context"
	"fmt"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/mgmt"
	"github.com/keywizard/keywizard/device/sim"
)

// Turning off the OTP application over USB, as keywizard does for every new
// key. Here the key is the in-process simulator; in the application the card
// and the Reopener come from PC/SC (device/scan).
func ExampleChangeApplications() {
	key, err := sim.New(sim.Config{Serial: 12345678, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	if err != nil {
		panic(err)
	}
	reopen := func(context.Context) (device.Card, error) { return key.Card(), nil }
	res, err := mgmt.ChangeApplications(context.Background(), key.Card(), mgmt.Request{USBDisable: device.CapOTP}, reopen)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res)
	fmt.Printf("USB enabled: %#04x -> %#04x\n", uint16(res.Before.USBEnabled), uint16(res.After.USBEnabled))
	// Output:
	// YubiKey 5C Nano (serial 12345678): USB: OTP disabled; the key rebooted to apply it
	// USB enabled: 0x033f -> 0x033e
}
