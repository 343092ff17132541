package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keywizard/keywizard/tracker/store"
)

// OIDCConfig configures OpenID Connect sign-in for the dashboard: the
// tracker is a confidential client (relying party) of the organisation's
// identity provider, using the authorization code flow with PKCE, state
// and nonce (OpenID Connect Core 1.0 §3.1, RFC 7636). The person is the
// one whose e-mail address the provider says it verified.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, where
	// /.well-known/openid-configuration is found (tracker/README.md lists
	// Google's, Okta's and Entra ID's).
	Issuer string
	// ClientID and ClientSecret are the tracker's registration at the
	// provider.
	ClientID, ClientSecret string
	// RedirectURL is the callback registered at the provider:
	// https://<tracker>/login/oidc/callback.
	RedirectURL string
	// Name labels the sign-in button ("Sign in with Google"); default
	// "single sign-on".
	Name string
}

func (c *OIDCConfig) label() string {
	if c.Name == "" {
		return "single sign-on"
	}
	return c.Name
}

// oidcState is the relying party, found by discovery on first use (so a
// provider that is down when the tracker starts delays SSO, not the
// tracker) and kept once found.
type oidcState struct {
	mu       sync.Mutex
	provider *oidc.Provider
}

// oidcFlowCookie carries one sign-in's state, nonce and PKCE verifier from
// oidcStart to oidcCallback. It is SameSite=Lax, not Strict: the callback
// is a top-level navigation from the provider's site, on which a browser
// sends Lax cookies but not Strict ones. It is scoped to the callback's
// path and lives ten minutes.
const (
	oidcFlowCookie = "kw_oidc"
	oidcFlowTTL    = 10 * time.Minute
	oidcTimeout    = 15 * time.Second
)

// errSSOOff answers the SSO routes when OpenID Connect is not configured.
var errSSOOff = &HTTPError{Code: http.StatusNotFound, Msg: "single sign-on is not configured on this tracker; sign in with a token"}

func (s *Server) oidcClient(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	c := s.cfg.OIDC
	if c == nil {
		return nil, nil, errSSOOff
	}
	s.oidc.mu.Lock()
	defer s.oidc.mu.Unlock()
	if s.oidc.provider == nil {
		ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
		defer cancel()
		p, err := oidc.NewProvider(ctx, c.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("discovering the identity provider: %w", err)
		}
		s.oidc.provider = p
	}
	p := s.oidc.provider
	return p, &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}, nil
}

func randomString() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// oidcStart sends the browser to the provider with a fresh state (binds
// the callback to this browser, against login CSRF), nonce (binds the ID
// token to this sign-in, against replay) and PKCE challenge (binds the
// code to this client, against code interception), all three kept only
// in this browser's flow cookie.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) error {
	_, cfg, err := s.oidcClient(r.Context())
	if err != nil {
		return err
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: state + "." + nonce + "." + verifier, Path: "/login/oidc/callback",
		HttpOnly: true, Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(oidcFlowTTL.Seconds())})
	http.Redirect(w, r, cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
	return nil
}

// ssoRefusal is a sign-in the tracker refuses; the page says why and what
// to do, with the technical reason behind Details.
func ssoRefusal(code int, headline, next, detail string, err error) *HTTPError {
	return &HTTPError{Code: code, Msg: detail, Err: err, page: &errorPage{Headline: headline, Next: next, Link: "/login", LinkText: "Back to sign-in"}}
}

// Typed reasons for a refused SSO sign-in, so tests and callers match
// them with errors.Is rather than by text.
var (
	ErrSSOUnverified = errors.New("e-mail address not verified by the identity provider")
	ErrSSOUnknown    = errors.New("no person with that e-mail address")
	ErrSSOLeaver     = errors.New("person has left")
)

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	provider, cfg, err := s.oidcClient(r.Context())
	if err != nil {
		return err
	}
	// The flow cookie is spent whatever happens: a callback works once.
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: "", Path: "/login/oidc/callback", HttpOnly: true,
		Secure: !s.cfg.InsecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	restart := func(detail string) error {
		return ssoRefusal(http.StatusBadRequest, "Sign-in did not complete", "Start again from the sign-in page.", detail, nil)
	}
	ck, err := r.Cookie(oidcFlowCookie)
	if err != nil {
		return restart("no sign-in in progress in this browser, or it took longer than 10 minutes")
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 {
		return restart("sign-in state unreadable")
	}
	state, nonce, verifier := parts[0], parts[1], parts[2]
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return restart("state does not match this browser's sign-in")
	}
	if e := q.Get("error"); e != "" {
		return ssoRefusal(http.StatusUnauthorized, "The identity provider did not sign you in", "Start again; if it keeps happening, ask IT.",
			"identity provider answered "+e+": "+q.Get("error_description"), nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), oidcTimeout)
	defer cancel()
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		s.cfg.Logf("tracker: sso: code exchange: %v", err)
		return restart("the identity provider did not accept the sign-in code")
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.VerifierContext(ctx, &oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		s.cfg.Logf("tracker: sso: id token: %v", err)
		return restart("the identity provider's ID token did not verify")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return restart("ID token nonce does not match this sign-in")
	}
	email, err := verifiedEmail(ctx, provider, idt, tok)
	if err != nil {
		s.cfg.Logf("tracker: sso: %v", err)
		return ssoRefusal(http.StatusForbidden, "Your e-mail address is not verified",
			"Ask IT to check your account at the identity provider.", err.Error(), err)
	}
	p, err := s.cfg.Store.PersonByEmail(r.Context(), email)
	if errors.Is(err, store.ErrNotFound) {
		s.cfg.Logf("tracker: sso: %v", ErrSSOUnknown)
		return ssoRefusal(http.StatusForbidden, "You are not on the tracker's roster",
			"Ask IT to add "+email+" to the tracker.", ErrSSOUnknown.Error()+": "+email, ErrSSOUnknown)
	}
	if err != nil {
		return err
	}
	if p.Left() {
		return ssoRefusal(http.StatusForbidden, "Your account has been closed",
			"You have left the organisation, so the tracker no longer signs you in; ask IT if this is wrong.", ErrSSOLeaver.Error(), ErrSSOLeaver)
	}
	sess, err := s.startSession(r.Context(), p, "signed in to the dashboard with OpenID Connect ("+s.cfg.OIDC.Issuer+")")
	if err != nil {
		return err
	}
	s.setSessionCookie(w, sess)
	// Not a redirect: a navigation whose redirect chain began on the
	// provider's site is cross-site, and the browser does not send the
	// SameSite=Strict session cookie with it (draft-ietf-httpbis-rfc6265bis
	// §5.2, "same-site" requests and redirects; TestOIDCSignInChromium
	// fails with a redirect here). A page of our own that moves on (meta
	// refresh, or the link) starts a same-site navigation.
	return render(w, http.StatusOK, "signedin", dashData{Title: "Signed in", Caller: p})
}

// verifiedEmail is the e-mail address the provider vouches for: from the
// ID token, or else from the UserInfo endpoint (OpenID Connect Core 1.0
// §5.3; a provider may leave claims out of the ID token in the code flow)
// after checking it describes the same subject (§5.3.2). Without
// email_verified true it is refused: an account at the provider whose
// address nobody checked must not become the person with that address.
// A provider that says nothing about it (email_verified absent) is refused
// too, except for Entra ID's own claim below.
func verifiedEmail(ctx context.Context, p *oidc.Provider, idt *oidc.IDToken, tok *oauth2.Token) (string, error) {
	var c emailClaims
	if err := idt.Claims(&c); err != nil {
		return "", fmt.Errorf("reading ID token claims: %w", err)
	}
	if c.Email == "" {
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return "", fmt.Errorf("reading user info: %w", err)
		}
		if ui.Subject != idt.Subject {
			return "", errors.New("user info describes another subject than the ID token")
		}
		if err := ui.Claims(&c); err != nil {
			return "", fmt.Errorf("reading user info claims: %w", err)
		}
	}
	// Entra ID sends no email_verified; its optional claim xms_edov
	// (the address's domain owner verified) is its own word for it
	// (learn.microsoft.com/entra/identity-platform/optional-claims-reference).
	// It counts only where email_verified is absent, never against a false.
	verified := c.EmailVerified != nil && bool(*c.EmailVerified) || c.EmailVerified == nil && bool(c.DomainOwnerVerified)
	if c.Email == "" || !verified {
		return "", fmt.Errorf("%w: %q", ErrSSOUnverified, c.Email)
	}
	return strings.ToLower(c.Email), nil
}

type emailClaims struct {
	Email               string    `json:"email"`
	EmailVerified       *flexBool `json:"email_verified"`
	DomainOwnerVerified flexBool  `json:"xms_edov"`
}

// flexBool reads email_verified whether the provider sends a JSON
// boolean (the standard) or the string "true" (some do, e.g. older AWS
// Cognito); anything else is false.
type flexBool bool

func (b *flexBool) UnmarshalJSON(v []byte) error {
	s := strings.Trim(string(v), `"`)
	*b = flexBool(s == "true")
	return nil
}
