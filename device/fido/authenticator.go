// Package fido is keywizard's FIDO2 logic: reading a key's authenticator
// info, setting and changing the FIDO2 PIN under the key's rules, counting
// retries, listing discoverable credentials by relying party, and reset.
//
// The logic is pure Go over the small [Authenticator] interface, which two
// things implement: a thin go-libfido2 adapter for keys on USB HID (package
// fido/libfido2, cgo) and the simulator (package sim). What runs against the
// simulator is therefore what runs against hardware; only the few lines that
// call libfido2 differ.
//
// Section signs (§) in this package's comments that name no document refer
// to docs/yubikey-protocol.md.
package fido

import (
	"context"
	"fmt"
)

// Authenticator is the transport-level view of one FIDO2 authenticator. It
// does no validation and no error interpretation: it reports CTAP status
// codes as *CTAPError and leaves policy to [Client].
type Authenticator interface {
	// Path identifies the device (a HID path, or "sim:<serial>").
	Path() string
	// Info is authenticatorGetInfo (CTAP 2.1 §6.4).
	Info(ctx context.Context) (*RawInfo, error)
	// PINRetries is authenticatorClientPIN getPINRetries (subcommand 0x01).
	PINRetries(ctx context.Context) (int, error)
	// SetPIN sets the first PIN (setPIN, 0x03); ChangePIN changes it (0x04).
	SetPIN(ctx context.Context, pin string) error
	ChangePIN(ctx context.Context, oldPIN, newPIN string) error
	// CredentialsMetadata is credentialManagement getCredsMetadata (0x01).
	CredentialsMetadata(ctx context.Context, pin string) (existing, remaining int, err error)
	// RelyingParties and Credentials enumerate discoverable credentials
	// (enumerateRPsBegin/GetNext, enumerateCredentialsBegin/GetNext).
	RelyingParties(ctx context.Context, pin string) ([]RelyingParty, error)
	Credentials(ctx context.Context, pin, rpID string) ([]Credential, error)
	// Reset is authenticatorReset (0x07): only within seconds of power-up,
	// and only with a touch.
	Reset(ctx context.Context) error
	Close() error
}

// Provider finds authenticators: libfido2's device manifest, or the
// simulator's registry.
type Provider interface {
	Locations(ctx context.Context) ([]Location, error)
	Open(ctx context.Context, path string) (Authenticator, error)
}

// Location is one FIDO HID device as the OS lists it, before opening it.
type Location struct {
	Path         string
	VendorID     uint16
	ProductID    uint16
	Manufacturer string
	Product      string
}

// RawInfo is the part of authenticatorGetInfo keywizard uses
// (docs/yubikey-protocol.md §3.2).
type RawInfo struct {
	Versions   []string
	Extensions []string
	AAGUID     [16]byte
	// Options: absent key = unsupported; value = enabled/disabled.
	Options         map[string]bool
	MinPINLength    int  // 0 when absent (CTAP default 4)
	ForcePINChange  bool // key 0x0C
	FirmwareVersion int  // key 0x0E; 0 when absent
	// RemainingDiscoverableCredentials, key 0x14; -1 when absent.
	RemainingDiscoverableCredentials int
}

// RelyingParty is one RP with discoverable credentials on the key.
type RelyingParty struct {
	ID   string
	Name string
}

// Credential is one discoverable credential. The credential ID and user
// handle are deliberately not carried: keywizard only needs to know that a
// credential for an RP and user name exists, and stores nothing more.
type Credential struct {
	RPID            string
	UserName        string
	UserDisplayName string
}

// CTAPError is a CTAP2 status code from the authenticator (CTAP 2.1 §8.2).
type CTAPError struct{ Code byte }

// CTAP2 status codes keywizard interprets.
const (
	CTAPInvalidCommand     byte = 0x01
	CTAPInvalidParameter   byte = 0x02
	CTAPInvalidLength      byte = 0x03
	CTAPNoCredentials      byte = 0x2E
	CTAPUserActionTimeout  byte = 0x2F
	CTAPNotAllowed         byte = 0x30
	CTAPPINInvalid         byte = 0x31
	CTAPPINBlocked         byte = 0x32
	CTAPPINAuthInvalid     byte = 0x33
	CTAPPINAuthBlocked     byte = 0x34
	CTAPPINNotSet          byte = 0x35
	CTAPPUATRequired       byte = 0x36 // PIN required
	CTAPPINPolicyViolation byte = 0x37
	CTAPActionTimeout      byte = 0x3A
	CTAPUPRequired         byte = 0x3B
	CTAPOperationDenied    byte = 0x27
	CTAPKeepaliveCancel    byte = 0x2D
	CTAPUnsupportedOption  byte = 0x2B
)

func (e *CTAPError) Error() string { return fmt.Sprintf("CTAP error 0x%02x", e.Code) }
