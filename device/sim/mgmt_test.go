package sim

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/apdu"
)

// The two real READ CONFIG responses of docs/yubikey-protocol.md §1.6, rebuilt
// byte for byte from a configured simulator.
func TestReadConfigRealDumps(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{
			name: "YubiKey 5 NFC 5.2.3 (.NET get-device-info dump)",
			cfg: Config{Serial: 0x00AB579B, Model: "5-nfc", Firmware: device.Version{Major: 5, Minor: 2, Patch: 3},
				USBEnabled: 0x003C, NFCEnabled: 0x023B, AutoEjectTimeout: 0x0A, ChalRespTimeout: 0x0F, DeviceFlags: 0x80},
			want: "2E 01 02 02 3F 03 02 00 3C 02 04 00 AB 57 9B 04 01 01 05 03 05 02 03 06 02 00 0A 07 01 0F 08 01 80 0D 02 02 3F 0E 02 02 3B 0A 01 00 0F 01 00 90 00",
		},
		{
			name: "YubiKey 5Ci 5.2.6 (ykman issue #354)",
			cfg:  Config{Serial: 0x00DBEC4A, Model: "5ci", Firmware: device.Version{Major: 5, Minor: 2, Patch: 6}},
			want: "26 01 02 02 3F 03 02 02 3F 02 04 00 DB EC 4A 04 01 05 05 03 05 02 06 06 02 00 00 07 01 0F 08 01 00 0A 01 00 0F 01 0C 90 00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newKey(t, tt.cfg).Card()
			expect(t, c, selMgmt, asciiHex("Virtual mgr - FW version "+tt.cfg.Firmware.String())+"9000")
			// ykman 4.0.9 sends Lc=00 (§7.3); ykman 5.x sends case 1 (§1.2).
			expect(t, c, "00 1D 00 00 00", tt.want)
			expect(t, c, "00 1D 00 00", tt.want)
		})
	}
}

// Presets report what ykman names correctly (device.Info.Model follows
// ykman's get_name) and the capability masks of §1.4.
func TestPresets(t *testing.T) {
	tests := []struct {
		model     string
		fw        device.Version
		product   string
		supported device.Capability
		nfc       bool
	}{
		{"5c-nano", device.Version{Major: 5, Minor: 7, Patch: 1}, "YubiKey 5C Nano", 0x033F, false},
		{"5c-nfc", device.Version{Major: 5, Minor: 7, Patch: 1}, "YubiKey 5C NFC", 0x033F, true},
		{"5ci", device.Version{Major: 5, Minor: 4, Patch: 3}, "YubiKey 5Ci", 0x033F, false},
		{"5-nfc", device.Version{Major: 5, Minor: 4, Patch: 2}, "YubiKey 5 NFC", 0x023F, true},
		{"5-nano", device.Version{Major: 5, Minor: 7, Patch: 1}, "YubiKey 5 Nano", 0x033F, false},
		{"5c", device.Version{Major: 5, Minor: 2, Patch: 7}, "YubiKey 5C", 0x023F, false},
		{"4", device.Version{Major: 4, Minor: 3, Patch: 7}, "YubiKey 4", 0x003F, false},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			k := newKey(t, Config{Serial: 1234567, Model: tt.model, Firmware: tt.fw})
			info := k.Info()
			if got := info.Model(); got != tt.product || k.Preset().Product != tt.product {
				t.Errorf("Model() = %q, preset product %q, want %q", got, k.Preset().Product, tt.product)
			}
			if info.USBSupported != tt.supported || info.USBEnabled != tt.supported {
				t.Errorf("USB supported/enabled = %04x/%04x, want %04x", uint16(info.USBSupported), uint16(info.USBEnabled), uint16(tt.supported))
			}
			if info.HasNFC != tt.nfc {
				t.Errorf("HasNFC = %v, want %v", info.HasNFC, tt.nfc)
			}
			if tt.nfc && info.NFCEnabled != tt.supported&^device.CapCCID {
				t.Errorf("NFC enabled = %04x", uint16(info.NFCEnabled))
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	for _, cfg := range []Config{
		{Serial: 0, Model: "5c-nano"},
		{Serial: 1, Model: "5x"},
		{Serial: 1, Model: "5c-nano", Firmware: device.Version{Major: 5, Minor: 10, Patch: 1}},
		{Serial: 1, Model: "5c-nano", Firmware: device.Version{Major: 3, Minor: 4, Patch: 9}},
		{Serial: 1, Model: "4", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}},
		{Serial: 1, Model: "5c-nano", LockCode: []byte{1, 2, 3}},
	} {
		if _, err := New(cfg); !errors.Is(err, device.ErrInvalidArgument) {
			t.Errorf("New(%+v) = %v, want ErrInvalidArgument", cfg, err)
		}
	}
}

// ykman 4.0.9 `config usb --disable OTP -f` (§1.8 / §7.4): exact bytes.
func TestWriteConfigDisableOTP(t *testing.T) {
	k := newKey(t, Config{Serial: 0x00BC614E, Model: "5-nfc", Firmware: device.Version{Major: 5, Minor: 4, Patch: 3}})
	c := k.Card()
	expect(t, c, selMgmt, asciiHex("Virtual mgr - FW version 5.4.3")+"9000")
	expect(t, c, "00 1C 00 00 0A 09 0C 00 03 02 03 3E 08 01 00", "9000")
	// The reboot makes the open handle stale, as PC/SC does.
	if _, err := c.Transmit(context.Background(), unhex(t, "00 1D 00 00 00")); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("after reboot: %v, want ErrRemoved", err)
	}
	c = k.Card()
	// Session state went with the reboot: nothing is selected.
	expect(t, c, "00 1D 00 00 00", "6D00")
	expect(t, c, selMgmt, asciiHex("Virtual mgr - FW version 5.4.3")+"9000")
	expect(t, c, "00 1D 00 00 00", "2E 01 02 03 3F 03 02 03 3E 02 04 00 BC 61 4E 04 01 01 05 03 05 04 03 06 02 00 00 07 01 0F 08 01 00 0D 02 03 3F 0E 02 03 3B 0A 01 00 0F 01 00 9000")
	if got := k.Info().USBEnabled; got != 0x033E {
		t.Errorf("USB enabled = %04x, want 033E", uint16(got))
	}
}

func TestWriteConfig(t *testing.T) {
	lock := bytes.Repeat([]byte{0x42}, 16)
	lockHex := hexs(lock)
	other := hexs(bytes.Repeat([]byte{0x43}, 16))
	zero := hexs(make([]byte, 16))
	tests := []struct {
		name     string
		cfg      Config
		cmd      string
		sw       string
		enabled  device.Capability // USB enabled afterwards
		locked   bool
		flags    uint8
		nfc      device.Capability
		rebooted bool
	}{
		{name: "ykman 5.x order, no flags", cmd: "00 1C 00 00 07 06 0C 00 03 02 03 3E", sw: "9000", enabled: 0x033E, rebooted: true},
		{name: ".NET order", cmd: "00 1C 00 00 0A 09 03 02 03 1E 08 01 80 0C 00", sw: "9000", enabled: 0x031E, flags: 0x80, rebooted: true},
		{name: "no reboot", cmd: "00 1C 00 00 05 04 03 02 03 1F", sw: "9000", enabled: 0x031F},
		{name: "unsupported bits dropped, 0004 kept", cmd: "00 1C 00 00 05 04 03 02 F0 15", sw: "9000", enabled: 0x0015},
		{name: "no USB application left", cmd: "00 1C 00 00 05 04 03 02 00 04", sw: "6A80", enabled: 0x033F},
		{name: "length byte wrong", cmd: "00 1C 00 00 05 05 03 02 03 1F", sw: "6A80", enabled: 0x033F},
		{name: "bad value length", cmd: "00 1C 00 00 04 03 03 01 1F", sw: "6A80", enabled: 0x033F},
		{name: "unknown tag", cmd: "00 1C 00 00 04 03 30 01 1F", sw: "6A80", enabled: 0x033F},
		{name: "repeated tag", cmd: "00 1C 00 00 09 08 03 02 03 1F 03 02 03 1F", sw: "6A80", enabled: 0x033F},
		{name: "NFC on a non-NFC key", cmd: "00 1C 00 00 05 04 0E 02 00 01", sw: "6A80", enabled: 0x033F},
		{name: "set lock code", cmd: "00 1C 00 00 13 12 0A 10 " + lockHex, sw: "9000", enabled: 0x033F, locked: true},
		{name: "locked: missing code", cfg: Config{LockCode: lock}, cmd: "00 1C 00 00 05 04 03 02 03 1F", sw: "6F00", enabled: 0x033F, locked: true},
		{name: "locked: wrong code", cfg: Config{LockCode: lock}, cmd: "00 1C 00 00 17 16 0B 10 " + other + " 03 02 03 1F", sw: "6F00", enabled: 0x033F, locked: true},
		{name: "locked: right code", cfg: Config{LockCode: lock}, cmd: "00 1C 00 00 17 16 0B 10 " + lockHex + " 03 02 03 1F", sw: "9000", enabled: 0x031F, locked: true},
		{name: "locked: clear", cfg: Config{LockCode: lock}, cmd: "00 1C 00 00 25 24 0B 10 " + lockHex + " 0A 10 " + zero, sw: "9000", enabled: 0x033F},
		{name: "NFC enabled", cfg: Config{Model: "5c-nfc"}, cmd: "00 1C 00 00 05 04 0E 02 00 10", sw: "9000", enabled: 0x033F, nfc: 0x0010},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Serial = 7
			if cfg.Model == "" {
				cfg.Model = "5c-nano"
			}
			cfg.Firmware = device.Version{Major: 5, Minor: 7, Patch: 1}
			k := newKey(t, cfg)
			c := k.Card()
			send(t, c, selMgmt)
			expect(t, c, tt.cmd, tt.sw)
			info := k.Info()
			if info.USBEnabled != tt.enabled || info.ConfigLocked != tt.locked || info.DeviceFlags != tt.flags {
				t.Errorf("after write: enabled %04x locked %v flags %02x; want %04x %v %02x",
					uint16(info.USBEnabled), info.ConfigLocked, info.DeviceFlags, uint16(tt.enabled), tt.locked, tt.flags)
			}
			if tt.nfc != 0 && info.NFCEnabled != tt.nfc {
				t.Errorf("NFC enabled %04x, want %04x", uint16(info.NFCEnabled), uint16(tt.nfc))
			}
			_, err := c.Transmit(context.Background(), unhex(t, "00 1D 00 00"))
			if gotReboot := errors.Is(err, device.ErrRemoved); gotReboot != tt.rebooted {
				t.Errorf("rebooted = %v (err %v), want %v", gotReboot, err, tt.rebooted)
			}
		})
	}
}

func TestYubiKey4(t *testing.T) {
	k := newKey(t, Config{Serial: 4000001, Model: "4"})
	c := k.Card()
	expect(t, c, selMgmt, asciiHex("Virtual mgr - FW version 4.3.7")+"9000")
	// No USB_ENABLED, CONFIG_LOCK or IAP tags on a YK4.
	expect(t, c, "00 1D 00 00 00", "1C 01 02 00 3F 02 04 00 3D 09 01 04 01 01 05 03 04 03 07 06 02 00 00 07 01 0F 08 01 00 9000")
	expect(t, c, "00 1C 00 00 05 04 03 02 00 3E", "6D00")
	// Legacy SET MODE to FIDO+CCID (mode 05), as "disable OTP" on a YK4.
	expect(t, c, "00 16 11 00 04 05 0F 00 00", "9000")
	if got := k.Info().USBEnabled; got != 0x003F {
		t.Errorf("USB enabled before re-insertion = %04x, want 003F", uint16(got))
	}
	k.Unplug()
	k.Plug()
	if got := k.Info().USBEnabled; got != 0x003E {
		t.Errorf("USB enabled after SET MODE 05 and re-insertion = %04x, want 003E", uint16(got))
	}
	c = k.Card()
	send(t, c, selMgmt)
	expect(t, c, "00 16 11 00 04 07 0F 00 00", "6A80")
	expect(t, c, "00 16 11 00 03 05 0F 00", "6700")
	// PIV serial goes through the OTP applet on a YK4.
	expect(t, c, selPIV, hexs(pivSelectResponse)+"9000")
	expect(t, c, "00 F8 00 00 00", "6D00")
	expect(t, c, "00 FD 00 00 00", "04 03 07 9000")
}

func TestSelectAndTransport(t *testing.T) {
	k := newKey(t, Config{Serial: 99, Model: "5c-nano"})
	c := k.Card()
	expect(t, c, "00 A4 04 00 07 A0 00 00 05 27 99 99", "6A82") // no such application
	// OTP over CCID answers its status: firmware 5.7.1, programming
	// sequence 1, slot 1 programmed and touch-triggered (as shipped).
	expect(t, c, "00 A4 04 00 07 A0 00 00 05 27 20 01", "05 07 01 01 05 00 9000")
	expect(t, c, "00 1D 00 00 00", "6D00")                // nothing selected
	expect(t, c, "80 A4 04 00 05 A0 00 00 03 08", "6E00") // proprietary class
	expect(t, c, "00 A4", "6700")                         // truncated
	expect(t, c, "00 C0 00 00 00", "6985")                // nothing pending
	// .NET sends the full PIV AID with version.
	expect(t, c, "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00", hexs(pivSelectResponse)+"9000")
	expect(t, c, "00 1D 00 00 00", "6D00") // a management INS under PIV
}

func TestPIVDisabledNotSelectable(t *testing.T) {
	k := newKey(t, Config{Serial: 99, Model: "5c-nano", USBEnabled: 0x032F})
	expect(t, k.Card(), selPIV, "6A82")
}

func TestFaultRemoveAfter(t *testing.T) {
	k := newKey(t, Config{Serial: 99, Model: "5c-nano"})
	c := k.Card()
	k.RemoveAfter(1)
	send(t, c, selMgmt)
	_, err := c.Transmit(context.Background(), unhex(t, "00 1D 00 00 00"))
	if !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("second command: %v, want ErrRemoved", err)
	}
	if k.Present() {
		t.Fatal("key still present after removal")
	}
	if _, err := k.Card().Transmit(context.Background(), unhex(t, selMgmt)); !errors.Is(err, device.ErrRemoved) {
		t.Fatalf("new card while unplugged: %v, want ErrRemoved", err)
	}
	k.Plug()
	c = k.Card()
	expect(t, c, selMgmt, asciiHex("Virtual mgr - FW version 5.7.1")+"9000")
}

func TestFaultTruncateNext(t *testing.T) {
	k := newKey(t, Config{Serial: 99, Model: "5c-nano"})
	c := k.Card()
	send(t, c, selMgmt)
	full := send(t, c, "00 1D 00 00 00")
	k.TruncateNext()
	short := send(t, c, "00 1D 00 00 00")
	if len(short) != len(full)-2 || short[len(short)-4:] != "9000" || short[:len(short)-4] != full[:len(full)-6] {
		t.Fatalf("truncated response %s from %s", short, full)
	}
	// Only the next response is affected.
	if again := send(t, c, "00 1D 00 00 00"); again != full {
		t.Fatalf("fault persisted: %s", again)
	}
	// Through the apdu client: the SW is fine, the length byte is not.
	k.TruncateNext()
	data, err := apdu.Transmit(context.Background(), c, apdu.Command{INS: 0x1D})
	if err != nil || int(data[0]) == len(data)-1 {
		t.Fatalf("truncated READ CONFIG still consistent: %x, %v", data, err)
	}
}

func TestSetLockCode(t *testing.T) {
	k := newKey(t, Config{Serial: 99, Model: "5c-nano"})
	if err := k.SetLockCode([]byte{1}); !errors.Is(err, device.ErrInvalidArgument) {
		t.Fatalf("short lock code: %v", err)
	}
	if err := k.SetLockCode(bytes.Repeat([]byte{9}, 16)); err != nil || !k.Info().ConfigLocked {
		t.Fatalf("lock: %v locked=%v", err, k.Info().ConfigLocked)
	}
	if err := k.SetLockCode(nil); err != nil || k.Info().ConfigLocked {
		t.Fatalf("unlock: %v locked=%v", err, k.Info().ConfigLocked)
	}
}

func TestMangleNextINS(t *testing.T) {
	k := newKey(t, Config{Serial: 99, Model: "5c-nano"})
	c := k.Card()
	k.MangleNextINS(0x1D, func([]byte) []byte { return []byte{0x6F, 0x00} })
	want := asciiHex("Virtual mgr - FW version 5.7.1") + "9000"
	expect(t, c, selMgmt, want) // not a 1D: untouched
	expect(t, c, "00 1D 00 00 00", "6F00")
	if got := send(t, c, "00 1D 00 00 00"); got == "6F00" {
		t.Fatal("fault applied twice")
	}
}
