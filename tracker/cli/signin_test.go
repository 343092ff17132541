package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/cli"
)

// TestServeSignInFlags: the single sign-on flags come together or not at
// all; with them the sign-in page offers the provider. The session cookie
// is Secure unless --insecure-cookies.
func TestServeSignInFlags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, args := range [][]string{
		{"--oidc-issuer", "https://accounts.google.com"},
		{"--oidc-issuer", "https://accounts.google.com", "--oidc-client-id", "x", "--oidc-client-secret-file", secret},
		{"--oidc-issuer", "accounts.google.com", "--oidc-client-id", "x", "--oidc-client-secret-file", secret, "--oidc-redirect-url", "https://t.example/login/oidc/callback"},
		{"--oidc-issuer", "https://accounts.google.com", "--oidc-client-id", "x", "--oidc-client-secret-file", filepath.Join(dir, "none"), "--oidc-redirect-url", "https://t.example/login/oidc/callback"},
	} {
		err := run(t, ctx, &out, append([]string{"--db", filepath.Join(dir, "t.db"), "serve", "--listen", "127.0.0.1:0"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "oidc") {
			t.Errorf("serve %v: %v, want an error naming the flag", args, err)
		}
	}

	db := filepath.Join(dir, "tracker.db")
	out.Reset()
	if err := run(t, ctx, &out, "--db", db, "admin", "create-admin", "--email", "it@example.com", "--name", "IT Desk"); err != nil {
		t.Fatal(err)
	}
	tok := regexp.MustCompile(`kwt_\S+`).FindString(out.String())
	for _, insecure := range []bool{false, true} {
		args := []string{"--db", db, "serve", "--listen", "127.0.0.1:0", "--oidc-issuer", "https://accounts.google.com", "--oidc-client-id", "x",
			"--oidc-client-secret-file", secret, "--oidc-redirect-url", "https://t.example/login/oidc/callback", "--oidc-name", "Google"}
		if insecure {
			args = append(args, "--insecure-cookies")
		}
		base, _ := startServe(t, cli.Env{}, args...)
		resp, err := http.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), "Sign in with Google") {
			t.Errorf("sign-in page offers no SSO:\n%s", page)
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = noFollow.PostForm(base+"/login", url.Values{"credential": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var secure *bool
		for _, c := range resp.Cookies() {
			if c.Name == "kw_token" {
				secure = &c.Secure
			}
		}
		if secure == nil || *secure == insecure {
			t.Errorf("--insecure-cookies=%v: login %d, cookie Secure %v", insecure, resp.StatusCode, secure)
		}
	}
}
