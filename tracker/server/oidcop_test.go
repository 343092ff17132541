package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/keywizard/keywizard/tracker/server"
)

// testOP is a real OpenID provider on loopback: zitadel/oidc's pkg/op (an
// OpenID Foundation certified provider library) with the module's own
// example storage (example/server/storage), so discovery, the authorize and
// token endpoints, PKCE checks, ID token signing and UserInfo are the
// library's, not this test's.
//
// The one part replaced is the provider's login page, which belongs to the
// provider and not to the relying party under test: instead of asking for a
// password it signs the auth request in as the account named by as(), like
// a browser that already has a session at the provider. It does so through
// the example storage's own password check.
type testOP struct {
	srv     *httptest.Server
	storage *storage.Storage
	clients map[string]*storage.Client

	iss      string
	mu       sync.Mutex
	user     string
	withPage bool
}

const (
	opClientID     = "keywizard-tracker"
	opClientSecret = "test-client-secret"
	opPassword     = "test-password"
)

// opUsers are the provider's accounts: username to e-mail and whether the
// provider verified that address.
var opUsers = map[string]struct {
	email    string
	verified bool
}{
	"it":         {"it@example.com", true},
	"ann":        {"Ann@Example.com", true}, // providers keep the case people typed
	"boss":       {"boss@example.com", true},
	"unverified": {"mid@example.com", false},
	"stranger":   {"stranger@example.com", true},
	"bob":        {"bob@example.com", true},
	// Entra ID-like accounts: no email_verified, but xms_edov (see
	// entraLike).
	"entra":         {"eve@example.com", false},
	"entra-unowned": {"zed@example.com", false},
}

func startOP(t *testing.T) *testOP {
	t.Helper()
	o := &testOP{clients: map[string]*storage.Client{}}
	o.srv = httptest.NewUnstartedServer(nil)
	// By the name localhost, so that the provider is another site than
	// the tracker at 127.0.0.1 (a site ignores the port), as a real
	// provider is: the callback is then a cross-site navigation.
	_, port, _ := net.SplitHostPort(o.srv.Listener.Addr().String())
	issuer := "http://localhost:" + port

	users := map[string]*storage.User{}
	for name, u := range opUsers {
		users[name] = &storage.User{ID: name, Username: name, Password: opPassword, FirstName: name, Email: u.email, EmailVerified: u.verified}
	}
	data, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	us, err := storage.StoreFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	o.storage = storage.NewStorageWithClients(us, o.clients)
	provider, err := op.NewProvider(&op.Config{CryptoKey: sha256.Sum256([]byte(t.Name())), CodeMethodS256: true, AuthMethodPost: true},
		entraLike{o.storage}, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	callback := op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	// The example client's login URL (storage.Client.LoginURL).
	mux.Handle("/login/username", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("authRequestID")
		if r.Method == http.MethodGet && o.isPage() {
			// The provider's own page sends the sign-in, as a person
			// pressing its button would: the way back to the tracker is
			// then a navigation started on the provider's site.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><form method="post" action="/login/username"><input type="hidden" name="authRequestID" value="%s"><button>Sign in</button></form><script>document.forms[0].submit()</script>`, html.EscapeString(id))
			return
		}
		if err := o.storage.CheckUsernamePassword(o.current(), opPassword, id); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", provider)
	o.srv.Config.Handler = mux
	o.iss = issuer
	o.srv.Start()
	t.Cleanup(o.srv.Close)
	return o
}

func (o *testOP) issuer() string { return o.iss }

// as makes the provider sign in the named account from now on.
func (o *testOP) as(user string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.user = user
}

// page makes the login step a page of the provider's that posts itself
// (for a browser), instead of an immediate redirect (for Go's client).
func (o *testOP) page() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.withPage = true
}

func (o *testOP) isPage() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.withPage
}

func (o *testOP) current() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.user
}

// register registers the tracker as a confidential web client whose
// redirect URI is redirect. Called before any request reaches the
// provider, so the map needs no lock.
func (o *testOP) register(redirect string) {
	o.clients[opClientID] = storage.WebClient(opClientID, opClientSecret, redirect)
}

// withOIDC is a newEnv option giving the tracker SSO through op; the
// redirect URL is filled in by ssoEnv once the tracker has an address.
func withOIDC(o *testOP, cfg *server.OIDCConfig) func(*server.Config) {
	*cfg = server.OIDCConfig{Issuer: o.issuer(), ClientID: opClientID, ClientSecret: opClientSecret, Name: "Test IdP"}
	return func(c *server.Config) { c.OIDC = cfg }
}

// entraLike answers UserInfo for the "entra" accounts as Microsoft Entra
// ID does: no email_verified, and the optional claim xms_edov saying
// whether the owner of the address's domain was verified (Microsoft's
// "Optional claims reference", learn.microsoft.com/entra/identity-platform/optional-claims-reference).
type entraLike struct{ *storage.Storage }

func (s entraLike) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	switch subject {
	case "entra":
		ui.AppendClaims("xms_edov", true)
	case "entra-unowned":
		ui.AppendClaims("xms_edov", false)
	}
	return nil
}
