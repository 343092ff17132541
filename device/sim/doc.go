// Package sim is a software YubiKey 5: the management and PIV applications
// implemented at the APDU level, faithful enough that Yubico's own ykman and
// piv-go identify, configure and use it like hardware. OATH, OpenPGP,
// YubiHSM Auth and the OTP slots (over CCID) are simulated as far as
// storing, listing and their factory resets go, what `keywizard key wipe`
// erases and ykman 4.0.9 reads back (apps.go, docs/yubikey-protocol.md
// §12): OATH without passwords and without computing codes, OpenPGP
// without signing or decrypting (a generated key is random bytes and
// returns no public key), YubiHSM Auth without sessions, OTP slots that
// store their configuration but type nothing.
//
// A [Key] is one simulated physical key. It can be used two ways:
//
//   - in process, through [Key.Card], a [device.Card] whose Transmit runs the
//     applets directly (no pcscd needed; for other packages' unit tests);
//   - as a smart card in the real pcscd, through vsmartcard's vpcd driver
//     ([Attach]): the simulator is vpcd's TCP client and pcscd shows it in
//     the reader "Virtual PCD 00 00" (slot 0) or "Virtual PCD 00 01" (slot 1).
//
// An NFC model can also be tapped on a reader ([Key.CardNFC],
// [AttachConfig.NFC]): then the NFC enabled applications answer, and FIDO2
// is reachable over ISO 7816.
//
// One Key is one physical key across interfaces: [Key.FIDO] is its FIDO2
// side (package simfido, with the AAGUID Yubico lists for the model and
// firmware), and a [Registry] of keys is a fido.Provider (through the one
// simulator registry, simfido.Provider), what keywizard uses instead of
// libfido2 against simulated keys in its own process. [Run] is
// `keywizard sim`: the key in a vpcd slot, its FIDO2 application over CCID
// too, optionally on a FIDO HID node that the real libfido2 opens
// ([Options.HIDPath], package simhid) and with a state file that keeps it
// across restarts ([Options.StatePath], state.go).
//
// The key keeps its persistent state (configuration, PINs, keys, objects)
// across power cycles, reboots and re-attachment, and clears session state
// (selected application, PIN verified, management key authenticated) on
// power off and reset, as a card does (docs/yubikey-protocol.md §6.3).
//
// Through vpcd a removal, unplug or reboot keeps the key away for at least a
// second so that pcscd's presence poll registers it (see [AttachConfig]
// RebootDelay); wait for [Attachment.Ready] before using the reader.
//
// # Fault injection
//
// Clients' error paths are tested with [Key.RemoveAfter] and
// [Key.RemoveAtINS] (the key is pulled out mid-operation), [Key.BlockPIV] (PIN and PUK have no retries left),
// [Config.LockCode] / [Key.SetLockCode] (configuration lock) and
// [Key.MangleNext] / [Key.TruncateNext] and their ...INS forms (the next
// response, or the next response to one instruction, is malformed).
//
// # Fidelity notes
//
// Where the reference (docs/yubikey-protocol.md) and real
// clients disagree the simulator follows the clients (ykman 4.0.9, piv-go
// v2.6.0) and says so in a comment. Known simplifications: touch is always
// given at once (touch policies are recorded and reported, never waited for);
// the attestation key (slot F9) is ECDSA P-256, where real keys use RSA-2048,
// and chains to a per-process "Simulated Yubico PIV Root CA"
// ([AttestationRoot]) instead of Yubico's.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package sim
