"""Differential oracle for device/mgmt tests: feeds management SELECT and
READ CONFIG responses to Yubico's own ykman 4.0.9 code (Debian package
yubikey-manager) through a fake SmartCardConnection, and prints what ykman
makes of them as one JSON object per input line.

stdin: JSON lines, one of
  {"select": hex, "config": hex, "pid": bool}  -> read_info + get_name
  {"version_string": str}                     -> Version.from_string
  {"device_config": {usb, nfc, auto_eject, chalresp, flags, reboot, cur, new}}
                                              -> DeviceConfig.get_bytes
  {"mode": interfaces, "chalresp": n, "auto_eject": n} -> set_mode payload
stdout: JSON lines with ykman's decoded fields, or {"error": "..."}.
"""
import json
import sys

from yubikit.core import TRANSPORT, Version
from yubikit.core.smartcard import SmartCardConnection
import struct

from yubikit.management import CAPABILITY, DEVICE_FLAG, FORM_FACTOR, USB_INTERFACE, DeviceConfig, Mode
from ykman.base import PID
from ykman.device import get_name, read_info
from yubikit.core import Tlv

import ykman_main_support


class FakeConn(SmartCardConnection):
    def __init__(self, select, config):
        self.select = select
        self.config = config

    @property
    def transport(self):
        return TRANSPORT.USB

    def send_and_receive(self, apdu):
        if apdu[1] == 0xA4 and bytes(apdu[5:]) == bytes.fromhex("a000000527471117"):
            return self.select, 0x9000
        if apdu[1] == 0x1D:
            return self.config, 0x9000
        return b"", 0x6A82

    def close(self):
        pass


def main_name(info, config):
    """ykman-main's get_name on 4.0.9's info, with the fields main adds
    (yubikit/management.py DeviceInfo.parse_tlvs: pin_complexity, tag 16 ==
    01) and PID-less, as keywizard reads keys over CCID without a PID."""
    tlvs = Tlv.parse_dict(config[1:])
    info.pin_complexity = tlvs.get(0x16, b"\0") == b"\1"
    info.__class__._is_bio = property(
        lambda self: self.form_factor in (FORM_FACTOR.USB_A_BIO, FORM_FACTOR.USB_C_BIO))
    info.__class__.has_transport = lambda self, t: t in self.supported_capabilities
    return ykman_main_support.get_name(info, None)


def cap(x):
    return None if x is None else int(x)


for line in sys.stdin:
    req = json.loads(line)
    out = {}
    try:
        if "version_string" in req:
            try:
                v = Version.from_string(req["version_string"])
                out = {"version": list(v)}
            except ValueError as e:
                out = {"error": str(e)}
            print(json.dumps(out), flush=True)
            continue
        if "device_config" in req:
            c = req["device_config"]
            enabled = {}
            if c.get("usb") is not None:
                enabled[TRANSPORT.USB] = CAPABILITY(c["usb"])
            if c.get("nfc") is not None:
                enabled[TRANSPORT.NFC] = CAPABILITY(c["nfc"])
            flags = c.get("flags")
            cfg = DeviceConfig(enabled, c.get("auto_eject"), c.get("chalresp"),
                               None if flags is None else DEVICE_FLAG(flags))
            cur = bytes.fromhex(c["cur"]) if c.get("cur") else None
            new = bytes.fromhex(c["new"]) if c.get("new") else None
            print(json.dumps({"bytes": cfg.get_bytes(c.get("reboot", False), cur, new).hex()}), flush=True)
            continue
        if "mode" in req:
            data = struct.pack("<BBH", Mode(USB_INTERFACE(req["mode"])).code, req["chalresp"], req["auto_eject"])
            print(json.dumps({"bytes": data.hex()}), flush=True)
            continue
        pid = PID.YK4_OTP_FIDO_CCID if req["pid"] else None
        conn = FakeConn(bytes.fromhex(req["select"]), bytes.fromhex(req["config"]))
        info = read_info(pid, conn)
        out = {
            "serial": info.serial or 0,
            "version": list(info.version),
            "form_factor": int(info.form_factor),
            "fips": info.is_fips,
            "sky": info.is_sky,
            "locked": info.is_locked,
            "usb_supported": cap(info.supported_capabilities.get(TRANSPORT.USB)),
            "usb_enabled": cap(info.config.enabled_capabilities.get(TRANSPORT.USB)),
            "nfc_supported": cap(info.supported_capabilities.get(TRANSPORT.NFC)),
            "nfc_enabled": cap(info.config.enabled_capabilities.get(TRANSPORT.NFC)),
            "device_flags": int(info.config.device_flags or 0),
            "auto_eject": info.config.auto_eject_timeout or 0,
            "chalresp": info.config.challenge_response_timeout or 0,
            "name": get_name(info, pid.get_type() if pid else None),
            "name_main": main_name(info, bytes.fromhex(req["config"])),
        }
    except Exception as e:  # noqa: BLE001 - every failure is a data point
        out = {"error": type(e).__name__ + ": " + str(e)}
    print(json.dumps(out), flush=True)
