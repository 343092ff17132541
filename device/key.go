package device

import "context"

// Card is an open connection to one key's smart-card (CCID) interface: what a
// PC/SC reader, an NFC reader or a test double gives. Transmit sends one raw
// command APDU and returns the raw response including SW1 SW2; chaining and
// GET RESPONSE are done above it (package apdu). Transmit returns an error
// matching ErrRemoved when the card has gone.
type Card interface {
	Transmit(ctx context.Context, command []byte) ([]byte, error)
	Close() error
}

// Key is keywizard's model of one physical key, built from every interface
// it exposes. Parts a key does not expose, or that could not be read, are nil.
type Key struct {
	Serial uint32 `json:"serial"`
	Model  string `json:"model"`
	Info   Info   `json:"-"`
	// Reader is the PC/SC reader the key's smart-card interface sits in.
	Reader string `json:"reader"`
	// FIDO is the key's FIDO2 state, when its FIDO interface was found and
	// correlated with this key; FIDOMatch says how sure that correlation is.
	FIDO      *FIDOState `json:"fido,omitempty"`
	FIDOMatch Match      `json:"fido_match,omitempty"`
	PIV       *PIVState  `json:"piv,omitempty"`
}

// Match says how a FIDO HID device was tied to a smart-card key.
type Match string

// Correlation outcomes. MatchAmbiguous is reported, never guessed past.
const (
	MatchNone      Match = ""          // no FIDO interface found for this key
	MatchExact     Match = "exact"     // same serial read over both interfaces
	MatchUnique    Match = "unique"    // only one candidate with matching identity
	MatchAmbiguous Match = "ambiguous" // several keys could own this FIDO device
)

// FIDOState is what the FIDO2 application reports.
type FIDOState struct {
	Path           string   `json:"path"`
	AAGUID         string   `json:"aaguid"`
	Versions       []string `json:"versions"`
	PINSet         bool     `json:"pin_set"`
	PINRetries     int      `json:"pin_retries"` // -1 when unknown
	MinPINLength   int      `json:"min_pin_length"`
	ForcePINChange bool     `json:"force_pin_change,omitempty"`
	CredMgmt       bool     `json:"cred_mgmt"`
	Firmware       string   `json:"firmware,omitempty"`
}

// PIVState is what the PIV application reports. Default* say whether the
// factory values are still in place (from GET METADATA on firmware >= 5.3;
// nil where the firmware cannot tell).
type PIVState struct {
	PINRetries        int    `json:"pin_retries"`
	PINRetriesTotal   int    `json:"pin_retries_total,omitempty"`
	PUKRetries        int    `json:"puk_retries"`
	PUKRetriesTotal   int    `json:"puk_retries_total,omitempty"`
	DefaultPIN        *bool  `json:"default_pin,omitempty"`
	DefaultPUK        *bool  `json:"default_puk,omitempty"`
	DefaultMgmtKey    *bool  `json:"default_management_key,omitempty"`
	MgmtKeyAlgorithm  string `json:"management_key_algorithm,omitempty"`
	MgmtKeyProtected  bool   `json:"management_key_pin_protected"`
	PUKBlockedByAdmin bool   `json:"puk_blocked_by_admin,omitempty"`
}
