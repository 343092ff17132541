//go:build cgo

package libfido2

import (
	"context"
	"fmt"

	libfido2 "github.com/keys-pub/go-libfido2"

	"github.com/keywizard/keywizard/device/trace"
)

// open is Open, as this package's Authenticator.
func (p *Provider) open(ctx context.Context, path string) (*Authenticator, error) {
	fa, err := p.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return fa.(*Authenticator), nil
}

// MakeCredential registers a discoverable ES256 credential on the device at
// path, with pin when the key has a PIN (libfido2 asks the key for a PIN
// token with the makeCredential permission for the RP ID, src/pin.c), as a
// browser does once the person typed the PIN into its prompt. The key
// then waits for a touch; the call is not cancelled while it waits (ctx
// ending returns once the key answered), which suits the simulated person
// (internal/simulation), who touches at once. The trace records the call
// with the PIN's length only.
func (p *Provider) MakeCredential(ctx context.Context, path, pin string, r Registration) (*Registered, error) {
	a, err := p.open(ctx, path)
	if err != nil {
		return nil, err
	}
	var att *libfido2.Attestation
	err = a.call(ctx, func() (err error) {
		att, err = a.dev.MakeCredential(r.ClientDataHash,
			libfido2.RelyingParty{ID: r.RPID, Name: r.RPName},
			libfido2.User{ID: r.UserID, Name: r.UserName, DisplayName: r.UserDisplayName},
			libfido2.ES256, pin, &libfido2.MakeCredentialOpts{RK: libfido2.True})
		return err
	})
	trace.Default().CTAPCall(path, "makeCredential", "(rk, es256, "+trace.Secret("PIN", pin)+")", err)
	if err != nil {
		return nil, fmt.Errorf("registering a passkey for %s: %w", r.RPID, err)
	}
	return &Registered{CredentialID: att.CredentialID, PublicKey: att.PubKey, AuthData: att.AuthData,
		Format: att.Format, Sig: att.Sig, Cert: att.Cert}, nil
}

// GetAssertion signs in with a credential on the device at path
// (go-libfido2's Assertion, libfido2 src/assert.c fido_dev_get_assert),
// with pin when set (a PIN token with the getAssertion permission), after
// the key's touch. As MakeCredential, it is not cancelled while the key
// waits.
func (p *Provider) GetAssertion(ctx context.Context, path, pin string, q AssertionRequest) (*Asserted, error) {
	a, err := p.open(ctx, path)
	if err != nil {
		return nil, err
	}
	var as *libfido2.Assertion
	err = a.call(ctx, func() (err error) {
		as, err = a.dev.Assertion(q.RPID, q.ClientDataHash, q.CredentialIDs, pin, &libfido2.AssertionOpts{UP: libfido2.True})
		return err
	})
	trace.Default().CTAPCall(path, "getAssertion", fmt.Sprintf("(%d credential IDs, %s)", len(q.CredentialIDs), trace.Secret("PIN", pin)), err)
	if err != nil {
		return nil, fmt.Errorf("signing in to %s: %w", q.RPID, err)
	}
	return &Asserted{CredentialID: as.CredentialID, AuthData: as.AuthDataCBOR, Sig: as.Sig, UserID: as.User.ID}, nil
}
