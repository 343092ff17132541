package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker/attest"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/server"
)

// ServeOptions are the flags of `tracker serve`.
type ServeOptions struct {
	DB         string // --db; "": DefaultDBPath
	Listen     string
	Webhook    string
	Services   string // comma-separated, in dashboard order; "": the latest report's catalogue
	DigestHour int
	TrustProxy bool
	// LeaverRetention is how long a leaver's records are kept before they
	// may be erased as retention-expired.
	LeaverRetention time.Duration
	// SigningKey is the export signing key file; "": SigningKeyPath's
	// default, created on first start.
	SigningKey string

	Integrity IntegrityOptions // integrity.go
	// InsecureCookies drops Secure from the dashboard's cookies (plain-HTTP
	// development only).
	InsecureCookies bool
	// OIDC is single sign-on (oidc.go); all empty: none.
	OIDC OIDCOptions
}

func serveCmd(env Env, db func() string) *cobra.Command {
	var o ServeOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the tracker API and dashboard",
		Long: `Serve the tracker's JSON API (/v1, described at /v1/openapi.json) and the
dashboard (/dashboard). Without flags it listens on 127.0.0.1:8740 and keeps
its data in a SQLite file in the user data directory. For several instances
behind a load balancer, give them all the same --db postgres:// URL; put TLS
in front. The dashboard's cookies are Secure (HTTPS only) unless
--insecure-cookies is given, for plain-HTTP development. With
--oidc-issuer, --oidc-client-id, --oidc-client-secret-file and
--oidc-redirect-url the sign-in page offers single sign-on through the
organisation's OpenID Connect provider (Google Workspace, Okta, Entra ID).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.DB = db()
			return RunServe(ctx, env.withIO(cmd), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", DefaultListen, "address to listen on")
	f.StringVar(&o.Webhook, "webhook", "", "Slack-compatible webhook URL for completions and the daily overdue digest")
	f.IntVar(&o.DigestHour, "digest-hour", 8, "hour (UTC) to send the daily overdue digest")
	f.StringVar(&o.Services, "services", "", "required services, comma-separated, in dashboard order (default: those of the catalogue the latest wizard report named)")
	var secureCookies bool // kept so that existing command lines still start
	f.BoolVar(&secureCookies, "secure-cookies", true, "no effect: the dashboard's cookies are Secure unless --insecure-cookies")
	_ = f.MarkDeprecated("secure-cookies", "cookies are Secure by default; --insecure-cookies turns that off")
	f.BoolVar(&o.InsecureCookies, "insecure-cookies", false, "send the dashboard's cookies over plain HTTP too (development only)")
	o.OIDC.flags(f)
	f.StringVar(&o.SigningKey, "signing-key", "", "file of the key that signs exports, created (mode 0600) if missing; give every instance the same one (default: "+SigningKeyFile+" in the data directory)")
	f.BoolVar(&o.TrustProxy, "trust-proxy", false, "rate-limit by the last X-Forwarded-For address (only behind a load balancer that sets it)")
	f.DurationVar(&o.LeaverRetention, "leaver-retention", server.DefaultLeaverRetention, "how long a leaver's records are kept before they may be erased as retention-expired")
	addIntegrityFlags(cmd, &o.Integrity)
	return cmd
}

// splitList splits a comma-separated flag; empty gives nil.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// RunServe serves the tracker until ctx ends, then shuts down gracefully.
func RunServe(ctx context.Context, env Env, o ServeOptions) error {
	env = env.filled()
	if o.DigestHour < 0 || o.DigestHour > 23 {
		return errors.New("--digest-hour must be 0 to 23")
	}
	oidcCfg, err := o.OIDC.config()
	if err != nil {
		return err
	}
	st, where, err := openStore(ctx, env, o.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	verifier, err := attest.Yubico()
	if err != nil {
		return err
	}
	keyPath, err := SigningKeyPath(o.DB, o.SigningKey)
	if err != nil {
		return err
	}
	signer, err := evidence.LoadOrCreateKey(keyPath)
	if err != nil {
		return err
	}
	cfg := server.Config{
		Store: st, Verifier: verifier, Services: splitList(o.Services), Signer: signer,
		WebhookURL: o.Webhook, InsecureCookies: o.InsecureCookies, TrustProxy: o.TrustProxy,
		LeaverRetention: o.LeaverRetention, OIDC: oidcCfg,
	}
	o.Integrity.apply(&cfg)
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := env.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	out := env.Out
	fmt.Fprintf(out, "tracker: serving http://%s/dashboard (%s: %s)\n", ln.Addr(), st.Backend(), where)
	fmt.Fprintf(out, "tracker: exports signed with key %X (%s); public key at /v1/signing-key\n", signer.PublicKey().ID(), keyPath)
	if people, err := st.People(ctx); err == nil && len(people) == 0 {
		fmt.Fprintf(out, "tracker: nobody is registered yet; create the first IT administrator on this machine with\n  keywizard tracker admin create-admin --email you@example.com --name \"Your Name\"%s\n", dbHint(o.DB))
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(out, "tracker: listening beyond loopback; put TLS in front of it")
	}
	if o.Webhook != "" {
		go srv.RunDigest(ctx, o.DigestHour, env.DigestAfter)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	fmt.Fprintln(out, "tracker: stopped")
	return nil
}
