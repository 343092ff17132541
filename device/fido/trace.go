package fido

import (
	"context"
	"fmt"
	"strings"

	"github.com/keywizard/keywizard/device/trace"
)

// traced records every Authenticator call in the process's trace
// (device/trace; KEYWIZARD_DEBUG=ctap). The raw CTAP exchange of a real key
// happens inside libfido2, so this is the CTAP layer keywizard sees: the
// operation, with PINs only as their length, and how it ended (CTAP status
// included). Results are summarised by counts, never by credential or user
// identifiers.
type traced struct {
	Authenticator
	log *trace.Log
}

func withTrace(a Authenticator, l *trace.Log) Authenticator {
	if a == nil || l == nil {
		return a
	}
	if _, ok := a.(traced); ok {
		return a
	}
	return traced{Authenticator: a, log: l}
}

func (t traced) call(op, args string, err error) { t.log.CTAPCall(t.Path(), op, args, err) }

func (t traced) Info(ctx context.Context) (*RawInfo, error) {
	i, err := t.Authenticator.Info(ctx)
	args := ""
	if i != nil {
		args = fmt.Sprintf("(versions %s, aaguid %x, minPINLength %d, forcePINChange %v, firmware %d)",
			strings.Join(i.Versions, ","), i.AAGUID, i.MinPINLength, i.ForcePINChange, i.FirmwareVersion)
	}
	t.call("getInfo", args, err)
	return i, err
}

func (t traced) PINRetries(ctx context.Context) (int, error) {
	n, err := t.Authenticator.PINRetries(ctx)
	t.call("clientPIN getPINRetries", fmt.Sprintf("(retries %d)", n), err)
	return n, err
}

func (t traced) SetPIN(ctx context.Context, pin string) error {
	err := t.Authenticator.SetPIN(ctx, pin)
	t.call("clientPIN setPIN", trace.Secret("new PIN", pin), err)
	return err
}

func (t traced) ChangePIN(ctx context.Context, oldPIN, newPIN string) error {
	err := t.Authenticator.ChangePIN(ctx, oldPIN, newPIN)
	t.call("clientPIN changePIN", trace.Secret("current PIN", oldPIN)+" "+trace.Secret("new PIN", newPIN), err)
	return err
}

func (t traced) CredentialsMetadata(ctx context.Context, pin string) (int, int, error) {
	e, r, err := t.Authenticator.CredentialsMetadata(ctx, pin)
	t.call("credentialManagement getCredsMetadata", trace.Secret("PIN", pin)+fmt.Sprintf(" (existing %d, remaining %d)", e, r), err)
	return e, r, err
}

func (t traced) RelyingParties(ctx context.Context, pin string) ([]RelyingParty, error) {
	rps, err := t.Authenticator.RelyingParties(ctx, pin)
	t.call("credentialManagement enumerateRPs", trace.Secret("PIN", pin)+fmt.Sprintf(" (%d relying parties)", len(rps)), err)
	return rps, err
}

func (t traced) Credentials(ctx context.Context, pin, rpID string) ([]Credential, error) {
	cs, err := t.Authenticator.Credentials(ctx, pin, rpID)
	t.call("credentialManagement enumerateCredentials", trace.Secret("PIN", pin)+fmt.Sprintf(" rp %q (%d credentials)", rpID, len(cs)), err)
	return cs, err
}

func (t traced) Reset(ctx context.Context) error {
	err := t.Authenticator.Reset(ctx)
	t.call("reset", "", err)
	return err
}
