// Package piv provisions a YubiKey's PIV application for macOS smart-card
// login and reads its PIV state for discovery.
//
// The package has two halves:
//
//   - Pure Go over a [device.Card] (no cgo, testable with the in-process
//     simulator): [ReadState], [Session] (SELECT, metadata, VERIFY, GET/PUT
//     DATA, management-key mutual authentication with 3DES and AES), the
//     pivman ADMIN DATA and PRINTED encodings ykman uses to recognise a
//     PIN-protected management key, CHUID and CCC objects, and the PIN rules
//     ([ValidateMacPIN], [ValidatePUK]).
//   - An adapter over piv-go (github.com/go-piv/piv-go/v2/piv), which needs
//     cgo and libpcsclite: [Provisioner] and [Provision]. Built without cgo,
//     those return [device.ErrUnsupported].
//
// piv-go cannot write arbitrary objects (ADMIN DATA 5FFF00, CHUID, CCC) and
// holds the card exclusively while open (docs/yubikey-protocol.md §4.12), so the
// provisioner closes its piv-go handle and opens its own connection through a
// [CardOpener] for those writes.
//
// # Errors
//
// Wrong PINs and PUKs are [*device.PINError] (Which is [device.PIVPIN] or
// [device.PIVPUK]) carrying the retries left; blocked ones match
// [device.ErrBlocked]; a key unplugged mid-operation matches
// [device.ErrRemoved]; a management key that is neither the default nor
// stored on the key matches [device.ErrAuthentication]. Secrets (PINs, PUKs,
// management keys) never appear in errors.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package piv
