// Package device is keywizard's narrow hardware layer: one model of a physical
// YubiKey built from every interface it exposes (management, PIV and FIDO2),
// and the typed errors every caller branches on.
//
// The root package is pure Go and holds only types, errors and the small
// interfaces that transports implement. Protocol code lives in subpackages:
//
//   - [github.com/keywizard/keywizard/device/apdu]: ISO 7816-4 command and
//     response encoding, chaining, GET RESPONSE, status words to errors.
//   - [github.com/keywizard/keywizard/device/tlv]: the TLV encodings YubiKeys use.
//   - device/mgmt: the management application (device info, enable/disable
//     applications, config lock).
//   - device/pcsc: the project's own PC/SC binding (libpcsclite, winscard).
//   - device/piv: PIV provisioning through piv-go, plus the objects piv-go
//     cannot write.
//   - device/fido: FIDO2 logic in pure Go over a thin Authenticator interface,
//     with a go-libfido2 adapter.
//   - device/scan: discovery, correlation of a key's interfaces, hot-plug.
//   - device/sim: a software YubiKey 5 behind vsmartcard's vpcd.
//
// # Errors
//
// Callers use [errors.Is] and [errors.As], never the error text: wrong PINs are
// a [*PINError] carrying the retries left; blocked PINs match [ErrBlocked];
// a key that went away matches [ErrRemoved]; two candidate keys where one was
// meant match [ErrAmbiguous].
package device
