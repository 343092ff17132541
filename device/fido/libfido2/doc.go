// Package libfido2 connects keywizard's FIDO2 logic to keys on USB HID
// through Yubico's libfido2 (via github.com/keys-pub/go-libfido2, cgo). It is
// deliberately thin: [Provider] lists and opens devices, and [Authenticator]
// forwards each [fido.Authenticator] method to one go-libfido2 call and turns
// go-libfido2's errors into *fido.CTAPError status codes (or device.ErrRemoved
// when the device went away). Every rule and every interpretation of a status
// lives in package fido, where it is tested against the simulator.
//
// go-libfido2's DeviceInfo carries versions, extensions, AAGUID and options
// only: getInfo's minPINLength (0x0D), forcePINChange (0x0C),
// firmwareVersion (0x0E) and remainingDiscoverableCredentials (0x14) are
// read through libfido2's own fido_cbor_info_* accessors by a small cgo
// shim (cborinfo.go). On Windows, where go-libfido2 links its own copy of
// libfido2, they stay absent (0, false, 0, -1) and package fido applies
// CTAP's defaults (minimum PIN length 4).
//
// Besides the devices libfido2 lists (through udev on Linux), a
// [Provider] lists the device nodes it is given ([NewProvider], [EnvPaths]):
// that is how a simulated key's FIDO HID node (device/sim/simhid) is
// reached through the same go-libfido2 and libfido2 calls as a USB key.
//
// Without cgo the package builds, and its Provider returns
// device.ErrUnsupported.
package libfido2
