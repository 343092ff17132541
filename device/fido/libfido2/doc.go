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
// firmwareVersion (0x0E) and remainingDiscoverableCredentials (0x14) are not
// exposed, so [fido.RawInfo] leaves them at their "absent" values (0, false,
// 0, -1) and package fido applies CTAP's defaults (minimum PIN length 4).
//
// Without cgo the package builds, and its Provider returns
// device.ErrUnsupported.
package libfido2
