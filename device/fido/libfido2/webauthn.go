package libfido2

// Registration is a passkey registration as a browser asks a key for one
// (WebAuthn navigator.credentials.create with residentKey "required" and
// ES256; CTAP 2.1 §6.1 authenticatorMakeCredential with rk=true), made by
// [Provider.MakeCredential] through go-libfido2's MakeCredential
// (libfido2 src/cred.c fido_dev_make_cred).
type Registration struct {
	// ClientDataHash is SHA-256 of the client data the browser made
	// (WebAuthn §5.8.1); 32 bytes.
	ClientDataHash  []byte
	RPID, RPName    string
	UserID          []byte // the site's user handle, 1-64 bytes
	UserName        string
	UserDisplayName string
}

// Registered is what the key answered a [Registration]: the credential's
// ID and public key, and the attestation over them.
type Registered struct {
	CredentialID []byte
	// PublicKey is the credential's ES256 public key as libfido2 gives it
	// (fido_cred_pubkey_ptr: X || Y, 64 bytes).
	PublicKey []byte
	// AuthData is the authenticator data, CBOR-wrapped as libfido2 keeps
	// it (fido_cred_authdata_ptr).
	AuthData []byte
	Format   string // attestation format, "packed" for a YubiKey 5
	Sig      []byte // attestation signature
	Cert     []byte // attestation certificate; none for self attestation
}

// AssertionRequest is a sign-in as a browser asks a key for one (CTAP 2.1
// §6.2 authenticatorGetAssertion): with CredentialIDs empty the key looks
// up its discoverable credentials for RPID itself, as passkey sign-in
// does.
type AssertionRequest struct {
	RPID           string
	ClientDataHash []byte
	CredentialIDs  [][]byte
}

// Asserted is the key's answer to an [AssertionRequest]: the credential
// it signed with, the authenticator data and signature, and the user
// handle of a discoverable credential.
type Asserted struct {
	CredentialID []byte
	// AuthData is the authenticator data, CBOR-wrapped as libfido2 keeps
	// it (fido_assert_authdata_ptr).
	AuthData []byte
	Sig      []byte
	UserID   []byte
}
