// Package aid holds the smart-card application identifiers (AIDs) of a
// YubiKey's applications, each written once for the device packages that
// select an application (device/mgmt, device/piv, device/apps) or name it
// in the diagnostics trace (device/trace). It imports nothing of the
// project, so device/trace, which device/piv imports, can read it too.
//
// The simulator (device/sim) keeps its own copy on purpose: it stands in
// for the key and is checked against yubikey-manager by itself, so a wrong
// byte shared with the client could not hide a bug on both sides.
package aid

import "strings"

// An AID is an application identifier as SELECT (ISO 7816-4 INS A4, P1 04)
// carries it. It is a string type so that every AID is a constant no
// caller can change; Bytes gives the slice a command needs.
type AID string

// The AIDs of yubikey-manager yubikit/core/smartcard/__init__.py, class AID
// (docs/yubikey-protocol.md §1.1, §4.1, §12.1). FIDO's is also CTAP 2.1
// §11.3.1's.
const (
	Management AID = "\xa0\x00\x00\x05\x27\x47\x11\x17"
	PIV        AID = "\xa0\x00\x00\x03\x08"
	FIDO       AID = "\xa0\x00\x00\x06\x47\x2f\x00\x01"
	OATH       AID = "\xa0\x00\x00\x05\x27\x21\x01"
	OpenPGP    AID = "\xd2\x76\x00\x01\x24\x01"
	HSMAuth    AID = "\xa0\x00\x00\x05\x27\x21\x07\x01"
	OTP        AID = "\xa0\x00\x00\x05\x27\x20\x01"
)

// Bytes returns a new slice holding the AID.
func (a AID) Bytes() []byte { return []byte(a) }

// SelectedBy reports whether the data of a SELECT names this application:
// whether it begins with the AID. A key selects by prefix, so a client may
// send more than yubikey-manager does (piv-go sends the OTP AID with a
// trailing 01, the YubiKey .NET SDK the PIV AID with its version;
// docs/yubikey-protocol.md §1.1, §4.1).
func (a AID) SelectedBy(data []byte) bool {
	return strings.HasPrefix(string(data), string(a))
}
