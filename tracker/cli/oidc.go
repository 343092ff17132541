package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/keywizard/keywizard/tracker/server"
)

// OIDCOptions are serve's single sign-on flags.
type OIDCOptions struct {
	Issuer, ClientID string
	// ClientSecretFile holds the client secret: a flag's value would show
	// in ps and in shell history.
	ClientSecretFile string
	RedirectURL      string
	// Name labels the sign-in button.
	Name string
}

func (o *OIDCOptions) flags(f *pflag.FlagSet) {
	f.StringVar(&o.Issuer, "oidc-issuer", "", "OpenID Connect issuer URL for single sign-on (e.g. https://accounts.google.com)")
	f.StringVar(&o.ClientID, "oidc-client-id", "", "the tracker's client ID at the OpenID Connect provider")
	f.StringVar(&o.ClientSecretFile, "oidc-client-secret-file", "", "file holding the tracker's client secret at the OpenID Connect provider")
	f.StringVar(&o.RedirectURL, "oidc-redirect-url", "", "the redirect URI registered at the provider: https://<tracker>/login/oidc/callback")
	f.StringVar(&o.Name, "oidc-name", "", `the provider's name on the sign-in button (e.g. "Google")`)
}

// errOIDCFlags says which single sign-on flags are missing.
var errOIDCFlags = errors.New("single sign-on needs --oidc-issuer, --oidc-client-id, --oidc-client-secret-file and --oidc-redirect-url together")

// config is the server's OIDC configuration, nil without --oidc-issuer.
func (o *OIDCOptions) config() (*server.OIDCConfig, error) {
	if o.Issuer == "" && o.ClientID == "" && o.ClientSecretFile == "" && o.RedirectURL == "" {
		return nil, nil
	}
	if o.Issuer == "" || o.ClientID == "" || o.ClientSecretFile == "" || o.RedirectURL == "" {
		return nil, errOIDCFlags
	}
	for _, u := range []struct{ flag, v string }{{"--oidc-issuer", o.Issuer}, {"--oidc-redirect-url", o.RedirectURL}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("%s: not an http(s) URL", u.flag)
		}
	}
	b, err := os.ReadFile(o.ClientSecretFile)
	if err != nil {
		return nil, fmt.Errorf("reading --oidc-client-secret-file: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return nil, errors.New("--oidc-client-secret-file is empty")
	}
	return &server.OIDCConfig{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret, RedirectURL: o.RedirectURL, Name: o.Name}, nil
}
