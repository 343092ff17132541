// Package simhid puts a simulated key's FIDO2 authenticator on a FIDO HID
// device node that the real libfido2 opens with its own HID code: [Device]
// is the CTAPHID layer (CTAP 2.1 §11.2: channels, framing, INIT, PING,
// WINK, MSG, CBOR, CANCEL, KEEPALIVE, ERROR), and [Node] (Linux) connects
// it to a path that libfido2, go-libfido2 and fido2-token open as they
// open /dev/hidrawN. docs/fido-hid.md has the protocol facts it relies
// on, with their sources, and why the node is a pseudo-terminal.
package simhid
