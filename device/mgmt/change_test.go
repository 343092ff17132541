package mgmt

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/sim"
)

var v543 = device.Version{Major: 5, Minor: 4, Patch: 3}

// nano is a YubiKey 5C Nano 5.4.3 with the given USB enabled mask.
func nano(serial uint32, usbEn uint16) infoSpec {
	return infoSpec{serial: serial, version: ver(5, 4, 3), ff: 0x04, usbSup: usbEn | 0x023F, usbEn: u16(usbEn)}
}

// fiveNFC is a YubiKey 5 NFC 5.4.3.
func fiveNFC(serial uint32, usbEn, nfcEn uint16) infoSpec {
	return infoSpec{serial: serial, version: ver(5, 4, 3), ff: 0x01, usbSup: 0x023F, usbEn: u16(usbEn), nfcSup: u16(0x023F), nfcEn: u16(nfcEn)}
}

func readStep(s infoSpec) step { return step{cmd: cmdReadConfig, resp: hexOf(s.bytes()) + "9000"} }

// reopenTo returns a Reopener handing out card once, and a counter.
func reopenTo(t *testing.T, card *scriptCard) (Reopener, *int) {
	n := 0
	return func(context.Context) (device.Card, error) {
		n++
		if n > 1 {
			t.Errorf("reopen called %d times", n)
		}
		return card, nil
	}, &n
}

// noReopen fails the test if called.
func noReopen(t *testing.T) Reopener {
	return func(context.Context) (device.Card, error) {
		t.Errorf("reopen called")
		return nil, device.ErrRemoved
	}
}

func TestChangeApplicationsDisableOTPWithReboot(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    uint16
		after     uint16
		writeData string
	}{
		{"5C Nano 023F", 0x023F, 0x023E, "06 0C 00 03 02 02 3E"},
		// Bits 0x0400 and 0x0004 survive (ykman 4.0.9 would send 023E, §1.8).
		{"unknown bits 063F", 0x063F, 0x063E, "06 0C 00 03 02 06 3E"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := newScript(t, "before reboot",
				step{cmd: cmdSelect, resp: selectOK(v543)},
				readStep(nano(1001, tc.before)),
				step{cmd: "00 1C 00 00 07" + tc.writeData, resp: "9000"})
			fresh := newScript(t, "after reboot",
				step{cmd: cmdSelect, resp: selectOK(v543)},
				readStep(nano(1001, tc.after)))
			reopen, n := reopenTo(t, fresh)
			res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, reopen)
			if err != nil {
				t.Fatal(err)
			}
			if *n != 1 || !res.Rebooted || res.ReplugRequired {
				t.Errorf("reopen calls %d, Rebooted %v, ReplugRequired %v; want 1, true, false", *n, res.Rebooted, res.ReplugRequired)
			}
			if res.Serial != 1001 || res.Model != "YubiKey 5C Nano" || uint16(res.Before.USBEnabled) != tc.before || uint16(res.After.USBEnabled) != tc.after {
				t.Errorf("result %+v", res)
			}
			if strings.Join(res.Changed, "|") != "USB: OTP disabled" || len(res.Unchanged) != 0 {
				t.Errorf("Changed %q Unchanged %q", res.Changed, res.Unchanged)
			}
			if !fresh.closed {
				t.Error("the card from reopen was not closed")
			}
			want := "YubiKey 5C Nano (serial 1001): USB: OTP disabled; the key rebooted to apply it"
			if res.String() != want {
				t.Errorf("String() = %q, want %q", res.String(), want)
			}
		})
	}
}

func TestChangeApplicationsNoReboot(t *testing.T) {
	t.Run("within CCID", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(nano(7, 0x023F)),
			step{cmd: "00 1C 00 00 05 04 03 02 02 1F", resp: "9000"},
			readStep(nano(7, 0x021F)))
		res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOATH}, noReopen(t))
		if err != nil {
			t.Fatal(err)
		}
		if res.Rebooted || res.After.USBEnabled != 0x021F {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("NFC", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(fiveNFC(8, 0x023F, 0x023F)),
			step{cmd: "00 1C 00 00 05 04 0E 02 02 3E", resp: "9000"},
			readStep(fiveNFC(8, 0x023F, 0x023E)))
		res, err := ChangeApplications(context.Background(), card, Request{NFCDisable: device.CapOTP}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rebooted || res.After.NFCEnabled != 0x023E || strings.Join(res.Changed, "|") != "NFC: OTP disabled" {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("USB and NFC in one write", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(fiveNFC(8, 0x023F, 0x023F)),
			step{cmd: "00 1C 00 00 0B 0A 0C 00 03 02 02 3E 0E 02 02 3E", resp: "9000"})
		fresh := newScript(t, "after", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(fiveNFC(8, 0x023E, 0x023E)))
		reopen, _ := reopenTo(t, fresh)
		res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP, NFCDisable: device.CapOTP}, reopen)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(res.Changed, "|") != "USB: OTP disabled|NFC: OTP disabled" {
			t.Errorf("Changed %q", res.Changed)
		}
	})
}

func TestChangeApplicationsNothingToDo(t *testing.T) {
	card := newScript(t, "key", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(nano(9, 0x023E)))
	res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP, USBEnable: device.CapPIV}, noReopen(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 0 || strings.Join(res.Unchanged, "|") != "USB: OTP already disabled|USB: PIV already enabled" {
		t.Errorf("Changed %q Unchanged %q", res.Changed, res.Unchanged)
	}
	if want := "YubiKey 5C Nano (serial 9): nothing to change (USB: OTP already disabled; USB: PIV already enabled)"; res.String() != want {
		t.Errorf("String() = %q, want %q", res.String(), want)
	}
}

func TestChangeApplicationsLock(t *testing.T) {
	locked := nano(11, 0x023F)
	locked.locked = true
	t.Run("locked without a code: nothing written", func(t *testing.T) {
		card := newScript(t, "key", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(locked))
		_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, noReopen(t))
		var le *LockedError
		if !errors.Is(err, device.ErrLocked) || !errors.As(err, &le) || le.SW != 0 {
			t.Fatalf("err = %v; want a LockedError before any write", err)
		}
		if !strings.Contains(err.Error(), "supply the lock code") {
			t.Errorf("message does not say how to proceed: %v", err)
		}
	})
	t.Run("locked with a code: 0B sent", func(t *testing.T) {
		after := locked
		after.usbEn = u16(0x023E)
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(locked),
			step{cmd: "00 1C 00 00 19 18 0C 00 0B 10" + hexOf(lockA) + "03 02 02 3E", resp: "9000"})
		fresh := newScript(t, "after", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(after))
		reopen, _ := reopenTo(t, fresh)
		res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP, LockCode: lockA}, reopen)
		if err != nil || res.After.USBEnabled != 0x023E {
			t.Fatalf("ChangeApplications = %+v, %v", res, err)
		}
	})
	t.Run("wrong code", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(locked),
			step{cmd: "00 1C 00 00 19 18 0C 00 0B 10" + hexOf(lockB) + "03 02 02 3E", resp: "6F00"})
		_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP, LockCode: lockB}, noReopen(t))
		if !errors.Is(err, device.ErrLocked) || !errors.Is(err, device.ErrWrongPIN) {
			t.Fatalf("err = %v; want ErrLocked and ErrWrongPIN", err)
		}
		if strings.Contains(err.Error(), hexOf(lockB)) || strings.Contains(err.Error(), string(lockB)) {
			t.Fatalf("error leaks the lock code: %v", err)
		}
	})
	t.Run("unlocked key with a code: no 0B", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(nano(12, 0x023F)),
			step{cmd: "00 1C 00 00 05 04 03 02 02 2F", resp: "9000"},
			readStep(nano(12, 0x022F)))
		if _, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapPIV, LockCode: lockA}, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestChangeApplicationsRefusals: each must fail before any write.
func TestChangeApplicationsRefusals(t *testing.T) {
	bogusNFCNano := nano(13, 0x023F)
	bogusNFCNano.nfcSup, bogusNFCNano.nfcEn = u16(0x023F), u16(0x023F)
	tests := []struct {
		name string
		info infoSpec
		req  Request
		nilR bool
		want error
	}{
		{"all USB applications disabled", infoSpec{serial: 14, version: ver(5, 4, 3), ff: 0x04, usbSup: 0x023F, usbEn: u16(0x0005)}, Request{USBDisable: device.CapOTP}, false, device.ErrInvalidArgument},
		{"all USB applications disabled at once", nano(14, 0x023F), Request{USBDisable: device.CapOTP | device.CapU2F | device.CapFIDO2 | device.CapPIV | device.CapOATH | device.CapOpenPGP}, false, device.ErrInvalidArgument},
		{"unsupported application", nano(15, 0x023F), Request{USBDisable: device.CapHSMAuth}, false, device.ErrUnsupported},
		{"NFC on a key without NFC", nano(16, 0x023F), Request{NFCDisable: device.CapOTP}, false, device.ErrUnsupported},
		{"NFC on a nano with bogus NFC tags", bogusNFCNano, Request{NFCDisable: device.CapOTP}, false, device.ErrUnsupported},
		{"reboot needed but no reopener", nano(17, 0x023F), Request{USBDisable: device.CapOTP}, true, device.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := newScript(t, "key", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(tt.info))
			r := noReopen(t)
			if tt.nilR {
				r = nil
			}
			_, err := ChangeApplications(context.Background(), card, tt.req, r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestChangeApplicationsBadRequest(t *testing.T) {
	for _, req := range []Request{
		{USBDisable: device.CapOTP, USBEnable: device.CapOTP},
		{NFCDisable: device.CapPIV, NFCEnable: device.CapPIV},
		{USBDisable: device.CapCCID},
		{USBEnable: 0x0400},
		{USBDisable: device.CapOTP, LockCode: []byte("short")},
	} {
		card := newScript(t, "untouched") // nothing may be sent
		if _, err := ChangeApplications(context.Background(), card, req, noReopen(t)); !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("%+v: err = %v; want ErrInvalidArgument", req, err)
		}
	}
}

func TestChangeApplicationsRemovedMidWrite(t *testing.T) {
	card := newScript(t, "key",
		step{cmd: cmdSelect, resp: selectOK(v543)},
		readStep(nano(18, 0x023F)),
		step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3E", err: device.ErrRemoved})
	_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, noReopen(t))
	if !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("err = %v; want ErrRemoved", err)
	}
}

func TestChangeApplicationsReadBack(t *testing.T) {
	t.Run("mismatch", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(nano(19, 0x023F)),
			step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3E", resp: "9000"})
		fresh := newScript(t, "after", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(nano(19, 0x023F)))
		reopen, _ := reopenTo(t, fresh)
		res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, reopen)
		var na *NotAppliedError
		if !errors.Is(err, ErrNotApplied) || !errors.As(err, &na) || na.Want != 0x023E || na.Got != 0x023F || na.Transport != "USB" {
			t.Fatalf("err = %v; want NotAppliedError USB 023E vs 023F", err)
		}
		if res.After.USBEnabled != 0x023F || !res.Rebooted {
			t.Errorf("result not filled in: %+v", res)
		}
	})
	t.Run("another key came back", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(nano(20, 0x023F)),
			step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3E", resp: "9000"})
		fresh := newScript(t, "other", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(nano(21, 0x023E)))
		reopen, _ := reopenTo(t, fresh)
		_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, reopen)
		var nf *device.KeyNotFoundError
		if !errors.As(err, &nf) || nf.Serial != 20 {
			t.Fatalf("err = %v; want KeyNotFoundError for serial 20", err)
		}
	})
	t.Run("reopen fails", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(nano(22, 0x023F)),
			step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3E", resp: "9000"})
		reopen := func(context.Context) (device.Card, error) {
			return nil, &device.KeyNotFoundError{Serial: 22}
		}
		res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, reopen)
		if !errors.Is(err, device.ErrNotFound) || !res.Rebooted {
			t.Fatalf("err = %v, rebooted %v; want ErrNotFound after the reboot", err, res.Rebooted)
		}
	})
}

func TestChangeApplicationsMalformed(t *testing.T) {
	card := newScript(t, "key",
		step{cmd: cmdSelect, resp: selectOK(v543)},
		step{cmd: cmdReadConfig, resp: "2B 01 02 02 3F 9000"})
	_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, noReopen(t))
	if !errors.Is(err, device.ErrInvalidResponse) {
		t.Fatalf("err = %v; want ErrInvalidResponse", err)
	}
}

func TestChangeApplicationsOldKeys(t *testing.T) {
	yk4 := device.Version{Major: 4, Minor: 3, Patch: 7}
	yk4info := infoSpec{serial: 30, version: ver(4, 3, 7), ff: 0x01, usbSup: 0x003F}
	t.Run("YubiKey 4 disable OTP: legacy mode FIDO+CCID", func(t *testing.T) {
		card := newScript(t, "yk4",
			step{cmd: cmdSelect, resp: selectOK(yk4)},
			readStep(yk4info),
			step{cmd: "00 16 11 00 04 05 0F 00 00", resp: "9000"})
		res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, noReopen(t))
		if err != nil {
			t.Fatal(err)
		}
		if !res.ReplugRequired || res.Rebooted || res.Model != "YubiKey 4" {
			t.Errorf("result %+v", res)
		}
		if got := strings.Join(res.Changed, "|"); got != "USB: OTP disabled|USB interfaces after re-insertion: FIDO+CCID" {
			t.Errorf("Changed %q", got)
		}
		if !strings.Contains(res.String(), "remove and re-insert") {
			t.Errorf("String() = %q does not say to re-plug", res.String())
		}
	})
	t.Run("YubiKey 4 cannot disable part of CCID", func(t *testing.T) {
		card := newScript(t, "yk4", step{cmd: cmdSelect, resp: selectOK(yk4)}, readStep(yk4info))
		_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapPIV}, noReopen(t))
		if !errors.Is(err, device.ErrUnsupported) {
			t.Fatalf("err = %v; want ErrUnsupported", err)
		}
	})
	t.Run("YubiKey 4 NFC", func(t *testing.T) {
		info := yk4info
		info.nfcSup, info.nfcEn = u16(0x3F), u16(0x3F)
		card := newScript(t, "yk4", step{cmd: cmdSelect, resp: selectOK(yk4)}, readStep(info))
		_, err := ChangeApplications(context.Background(), card, Request{NFCDisable: device.CapOTP}, noReopen(t))
		if !errors.Is(err, device.ErrUnsupported) {
			t.Fatalf("err = %v; want ErrUnsupported", err)
		}
	})
	t.Run("YubiKey 4 every interface off", func(t *testing.T) {
		card := newScript(t, "yk4", step{cmd: cmdSelect, resp: selectOK(yk4)}, readStep(yk4info))
		_, err := ChangeApplications(context.Background(), card, Request{USBDisable: 0x3F &^ device.CapCCID}, noReopen(t))
		if !errors.Is(err, device.ErrInvalidArgument) {
			t.Fatalf("err = %v; want ErrInvalidArgument", err)
		}
	})
	for _, v := range []device.Version{{Major: 3, Minor: 4, Patch: 9}, {Major: 4, Minor: 0, Patch: 5}} {
		t.Run("refused on "+v.String(), func(t *testing.T) {
			card := newScript(t, "old", step{cmd: cmdSelect, resp: selectOK(v)})
			_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, noReopen(t))
			if !errors.Is(err, device.ErrUnsupported) {
				t.Fatalf("err = %v; want ErrUnsupported", err)
			}
		})
	}
}

func TestChangeApplicationsEnable(t *testing.T) {
	card := newScript(t, "key",
		step{cmd: cmdSelect, resp: selectOK(v543)},
		readStep(nano(40, 0x023E)),
		step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3F", resp: "9000"})
	fresh := newScript(t, "after", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(nano(40, 0x023F)))
	reopen, _ := reopenTo(t, fresh)
	res, err := ChangeApplications(context.Background(), card, Request{USBEnable: device.CapOTP}, reopen)
	if err != nil || strings.Join(res.Changed, "|") != "USB: OTP enabled" || !res.Rebooted {
		t.Fatalf("ChangeApplications = %+v, %v", res, err)
	}
}

func TestChangeApplicationsCancelled(t *testing.T) {
	k := newSimKey(t, sim.Config{Serial: 41, Model: "5c-nano"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := k.Info()
	_, err := ChangeApplications(ctx, k.Card(), Request{USBDisable: device.CapOTP}, nil)
	if !errors.Is(err, context.Canceled) || k.Info() != before {
		t.Fatalf("cancelled: %v; want context.Canceled and no change", err)
	}
}

func TestChangeApplicationsVerifiesApplicationsOnly(t *testing.T) {
	t.Run("firmware drops the 0x0004 bit: not a failure", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(nano(50, 0x023F)),
			step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3E", resp: "9000"})
		fresh := newScript(t, "after", step{cmd: cmdSelect, resp: selectOK(v543)}, readStep(nano(50, 0x023A)))
		reopen, _ := reopenTo(t, fresh)
		res, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP}, reopen)
		if err != nil || res.After.USBEnabled != 0x023A {
			t.Fatalf("ChangeApplications = %+v, %v", res, err)
		}
	})
	t.Run("NFC changed behind our back", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(fiveNFC(51, 0x023F, 0x023F)),
			step{cmd: "00 1C 00 00 05 04 03 02 02 2F", resp: "9000"},
			readStep(fiveNFC(51, 0x022F, 0x022F)))
		_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapPIV}, nil)
		var na *NotAppliedError
		if !errors.As(err, &na) || na.Transport != "NFC" {
			t.Fatalf("err = %v; want NotAppliedError for NFC", err)
		}
	})
	t.Run("reopener returning no card", func(t *testing.T) {
		card := newScript(t, "key",
			step{cmd: cmdSelect, resp: selectOK(v543)},
			readStep(nano(52, 0x023F)),
			step{cmd: "00 1C 00 00 07 06 0C 00 03 02 02 3E", resp: "9000"})
		_, err := ChangeApplications(context.Background(), card, Request{USBDisable: device.CapOTP},
			func(context.Context) (device.Card, error) { return nil, nil })
		if !errors.Is(err, device.ErrInvalidArgument) {
			t.Fatalf("err = %v; want ErrInvalidArgument", err)
		}
	})
}
