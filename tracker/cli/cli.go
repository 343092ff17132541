// Package cli provides the `keywizard tracker` commands: serve runs the
// onboarding tracker; admin, person and invite act directly on the
// tracker's database on the machine where it runs, which is how the first
// IT administrator gets a credential.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/attest"
	"github.com/keywizard/keywizard/tracker/join"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// DefaultListen is where `tracker serve` listens without --listen: loopback
// only, so an unconfigured tracker is never exposed to the network.
const DefaultListen = "127.0.0.1:8740"

// DefaultDBPath is the SQLite file used without --db: keywizard/tracker.db
// in the user's data directory.
func DefaultDBPath() (string, error) {
	var dir string
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		dir = os.Getenv("XDG_DATA_HOME")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("finding data directory: %w", err)
			}
			dir = filepath.Join(home, ".local", "share")
		}
	default: // macOS: ~/Library/Application Support; Windows: %AppData%
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("finding data directory: %w", err)
		}
		dir = d
	}
	return filepath.Join(dir, "keywizard", "tracker.db"), nil
}

// Command returns `tracker` and its subcommands.
func Command() *cobra.Command {
	var dbFlag string
	cmd := &cobra.Command{
		Use:   "tracker",
		Short: "Run or administer the onboarding tracker",
		Long: `The onboarding tracker records who has enrolled their YubiKeys with which
services, for the person, their manager and IT.

Start it with "keywizard tracker serve". On first use, create the first IT
administrator on the same machine (it needs the database, not the network):

  keywizard tracker admin create-admin --email it@example.com --name "IT Desk"

That prints a token for the API and the dashboard. Then add people and give
each an invite code, which the wizard exchanges for its own token:

  keywizard tracker person add --email ann@example.com --name "Ann Lee" --manager maria@example.com --start 2026-03-02
  keywizard tracker invite --email ann@example.com

On Ann's computer, "keywizard tracker join --url https://tracker.example.com"
reads that code from standard input and keeps the token in the OS keychain.`,
		SilenceUsage: true,
	}
	cmd.PersistentFlags().StringVar(&dbFlag, "db", "", "SQLite file path or postgres:// URL (default: keywizard/tracker.db in the user data directory)")
	db := func() string { return dbFlag }
	cmd.AddCommand(serveCmd(db), adminCmd(db), personCmd(db), inviteCmd(db), JoinCommand(join.Options{}), scimCmd(db))
	return cmd
}

func openStore(ctx context.Context, flag string) (store.Store, string, error) {
	dsn := flag
	if dsn == "" {
		p, err := DefaultDBPath()
		if err != nil {
			return nil, "", err
		}
		dsn = p
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, "", err
	}
	return st, redact(dsn), nil
}

func dbHint(flag string) string {
	if flag == "" {
		return ""
	}
	return " --db " + redact(flag)
}

// redact hides a PostgreSQL password before the DSN is printed.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

type serveOpts struct {
	listen, webhook, services string
	digestHour                int
	secureCookies, trustProxy bool
	leaverRetention           time.Duration
}

func serveCmd(db func() string) *cobra.Command {
	var o serveOpts
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the tracker API and dashboard",
		Long: `Serve the tracker's JSON API (/v1, described at /v1/openapi.json) and the
dashboard (/dashboard). Without flags it listens on 127.0.0.1:8740 and keeps
its data in a SQLite file in the user data directory. For several instances
behind a load balancer, give them all the same --db postgres:// URL; put TLS
in front (and pass --secure-cookies).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cmd.OutOrStdout(), db(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", DefaultListen, "address to listen on")
	f.StringVar(&o.webhook, "webhook", "", "Slack-compatible webhook URL for completions and the daily overdue digest")
	f.IntVar(&o.digestHour, "digest-hour", 8, "hour (UTC) to send the daily overdue digest")
	f.StringVar(&o.services, "services", "", "required services, comma-separated, in dashboard order (default: those of the catalogue the latest wizard report named)")
	f.BoolVar(&o.secureCookies, "secure-cookies", false, "mark the dashboard cookie Secure (when served over HTTPS)")
	f.BoolVar(&o.trustProxy, "trust-proxy", false, "rate-limit by the last X-Forwarded-For address (only behind a load balancer that sets it)")
	f.DurationVar(&o.leaverRetention, "leaver-retention", server.DefaultLeaverRetention, "how long a leaver's records are kept before they may be erased as retention-expired")
	return cmd
}

// splitList splits a comma-separated flag; empty gives nil.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Test hooks. listen opens the serving socket, so a test can check the
// default address without binding 127.0.0.1:8740 (which may be taken);
// digestAfter is RunDigest's timer, so a test need not wait for the hour.
var (
	listen      = net.Listen
	digestAfter func(time.Duration) <-chan time.Time
)

func serve(ctx context.Context, out io.Writer, dbFlag string, o serveOpts) error {
	if o.digestHour < 0 || o.digestHour > 23 {
		return errors.New("--digest-hour must be 0 to 23")
	}
	st, where, err := openStore(ctx, dbFlag)
	if err != nil {
		return err
	}
	defer st.Close()
	verifier, err := attest.Yubico()
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Store: st, Verifier: verifier, Services: splitList(o.services),
		WebhookURL: o.webhook, SecureCookies: o.secureCookies, TrustProxy: o.trustProxy,
		LeaverRetention: o.leaverRetention,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := listen("tcp", o.listen)
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
	fmt.Fprintf(out, "tracker: serving http://%s/dashboard (%s: %s)\n", ln.Addr(), st.Backend(), where)
	if people, err := st.People(ctx); err == nil && len(people) == 0 {
		fmt.Fprintf(out, "tracker: nobody is registered yet; create the first IT administrator on this machine with\n  keywizard tracker admin create-admin --email you@example.com --name \"Your Name\"%s\n", dbHint(dbFlag))
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(out, "tracker: listening beyond loopback; put TLS in front of it")
	}
	if o.webhook != "" {
		go srv.RunDigest(ctx, o.digestHour, digestAfter)
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

func adminCmd(db func() string) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Create IT administrators and their tokens (run on the tracker's host)"}
	var req tracker.CreatePerson
	create := &cobra.Command{
		Use:   "create-admin",
		Short: "Create an IT administrator and print their API token",
		Long: `Create an IT administrator directly in the tracker's database and print a
token for them. Run it where the tracker runs: access to the database is the
proof of authority. The token is shown once; only its hash is stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := openStore(cmd.Context(), db())
			if err != nil {
				return err
			}
			defer st.Close()
			p, tok, err := server.CreateAdmin(cmd.Context(), st, req, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created IT administrator %s (%s).\nToken (shown once; use as \"Authorization: Bearer <token>\" or paste it at /login):\n%s\n", p.Email, p.ID, tok)
			return nil
		},
	}
	create.Flags().StringVar(&req.Email, "email", "", "e-mail address (required)")
	create.Flags().StringVar(&req.Name, "name", "", "full name (required)")
	create.Flags().StringVar(&req.Team, "team", "IT", "team")
	create.MarkFlagRequired("email")
	create.MarkFlagRequired("name")

	var email string
	token := &cobra.Command{
		Use:   "token",
		Short: "Issue a new API token for an existing person (recovers a lost admin token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := openStore(cmd.Context(), db())
			if err != nil {
				return err
			}
			defer st.Close()
			p, err := st.PersonByEmail(cmd.Context(), email)
			if err != nil {
				return fmt.Errorf("finding %s: %w", email, err)
			}
			tok, err := server.AdminToken(cmd.Context(), st, p.ID, "admin token command", 0, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	token.Flags().StringVar(&email, "email", "", "the person's e-mail address (required)")
	token.MarkFlagRequired("email")
	cmd.AddCommand(create, token)
	return cmd
}

func personCmd(db func() string) *cobra.Command {
	cmd := &cobra.Command{Use: "person", Short: "Manage people (run on the tracker's host; or use POST /v1/people)"}
	var req tracker.CreatePerson
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a person",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := req.Validate(); err != nil {
				return err
			}
			st, _, err := openStore(cmd.Context(), db())
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now()
			p := tracker.Person{ID: store.NewID("p_"), Email: req.Email, Name: req.Name, Team: req.Team, StartDate: req.StartDate, DueDate: req.DueDate, Admin: req.Admin, CreatedAt: now.UTC()}
			if req.ManagerEmail != "" {
				m, err := st.PersonByEmail(cmd.Context(), req.ManagerEmail)
				if err != nil {
					return fmt.Errorf("finding manager %s: %w", req.ManagerEmail, err)
				}
				p.ManagerID = m.ID
			}
			if _, err := st.CreatePerson(cmd.Context(), p, tracker.AuditEntry{At: now, Actor: "local-admin-command", Action: "person.create", Subject: p.ID}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Added %s (%s).\n", p.Email, p.ID)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&req.Email, "email", "", "e-mail address (required)")
	f.StringVar(&req.Name, "name", "", "full name (required)")
	f.StringVar(&req.Team, "team", "", "team")
	f.StringVar(&req.ManagerEmail, "manager", "", "manager's e-mail address")
	f.StringVar(&req.StartDate, "start", time.Now().Format(time.DateOnly), "start date, YYYY-MM-DD")
	f.StringVar(&req.DueDate, "due", "", "enrolment due date, YYYY-MM-DD (default: a month after the later of the start date and today)")
	f.BoolVar(&req.Admin, "admin", false, "make them an IT administrator")
	add.MarkFlagRequired("email")
	add.MarkFlagRequired("name")
	cmd.AddCommand(add)
	cmd.AddCommand(personRosterCmds(db)...)
	return cmd
}

func inviteCmd(db func() string) *cobra.Command {
	var email, reason string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Print a new invite code for a person (earlier unused codes stop working)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := openStore(cmd.Context(), db())
			if err != nil {
				return err
			}
			defer st.Close()
			p, err := st.PersonByEmail(cmd.Context(), email)
			if err != nil {
				return fmt.Errorf("finding %s: %w", email, err)
			}
			inv, err := server.IssueInvite(cmd.Context(), st, p.ID, "local-admin-command", reason, ttl, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Invite code for %s (single use, valid until %s):\n%s\n", p.Email, inv.ExpiresAt.Format(time.RFC3339), inv.Code)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the person's e-mail address (required)")
	cmd.Flags().StringVar(&reason, "reason", "invited from the command line", "why, for the audit log")
	cmd.Flags().DurationVar(&ttl, "valid", 14*24*time.Hour, "how long the code works")
	cmd.MarkFlagRequired("email")
	return cmd
}
