// Package cli provides the `keywizard tracker` commands: serve runs the
// onboarding tracker; admin, person and invite act directly on the
// tracker's database on the machine where it runs, which is how the first
// IT administrator gets a credential; join trades an invite code for this
// computer's tracker token, and login keeps a token IT already has; key
// finds a key by serial and changes its status through the tracker's API,
// with the caller's own rights.
//
// It follows internal/cli's style: each command's flags fill an options
// struct, and a run function does the work with everything it touches
// outside itself (standard IO, the database, the clock, the socket) taken
// from an Env, so a test calls the same code with fakes.
package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/join"
	"github.com/keywizard/keywizard/tracker/store"
)

// Env is everything the tracker commands touch outside themselves. Zero
// fields take the real thing: the command's own standard IO, store.Open,
// time.Now, net.Listen, the digest's own timer, the OS keychain and
// settings for join.
type Env struct {
	In       io.Reader
	Out, Err io.Writer
	// OpenStore opens the database a DSN names (a SQLite path or a
	// postgres:// URL).
	OpenStore func(ctx context.Context, dsn string) (store.Store, error)
	// Now is the clock for creation times, tokens and invites.
	Now func() time.Time
	// Listen opens serve's socket.
	Listen func(network, addr string) (net.Listener, error)
	// DigestAfter is the daily digest loop's timer (server.RunDigest).
	DigestAfter func(time.Duration) <-chan time.Time
	// Join is what join needs: keychain, settings directory, host name.
	Join join.Options
}

// withIO gives e the command's standard IO where it has none.
func (e Env) withIO(cmd *cobra.Command) Env {
	if e.In == nil {
		e.In = cmd.InOrStdin()
	}
	if e.Out == nil {
		e.Out = cmd.OutOrStdout()
	}
	if e.Err == nil {
		e.Err = cmd.ErrOrStderr()
	}
	return e
}

// filled is e with its zero fields set to the real thing; every run
// function starts with it.
func (e Env) filled() Env {
	if e.In == nil {
		e.In = os.Stdin
	}
	if e.Out == nil {
		e.Out = os.Stdout
	}
	if e.Err == nil {
		e.Err = os.Stderr
	}
	if e.OpenStore == nil {
		e.OpenStore = store.Open
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Listen == nil {
		e.Listen = net.Listen
	}
	return e
}

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

// Command returns `tracker` and its subcommands with the real environment.
func Command() *cobra.Command { return NewCommand(Env{}) }

// NewCommand returns `tracker` and its subcommands over env.
func NewCommand(env Env) *cobra.Command {
	var db string
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
	cmd.PersistentFlags().StringVar(&db, "db", "", "SQLite file path or postgres:// URL (default: keywizard/tracker.db in the user data directory)")
	dbFlag := func() string { return db }
	cmd.AddCommand(serveCmd(env, dbFlag), adminCmd(env, dbFlag), personCmd(env, dbFlag), inviteCmd(env, dbFlag), joinCmd(env), scimCmd(env, dbFlag), loginCmd(env), keyCmd(env))
	cmd.AddCommand(evidenceCmds(env, dbFlag)...)
	return cmd
}

// openStore opens the database --db names (dsn), or the default SQLite
// file, and says where it is with any password hidden.
func openStore(ctx context.Context, env Env, dsn string) (st store.Store, where string, err error) {
	if dsn == "" {
		if dsn, err = DefaultDBPath(); err != nil {
			return nil, "", err
		}
	}
	if st, err = env.OpenStore(ctx, dsn); err != nil {
		return nil, "", err
	}
	return st, redact(dsn), nil
}

// withStore runs f on the database dsn names and closes it after.
func withStore(ctx context.Context, env Env, dsn string, f func(store.Store) error) error {
	st, _, err := openStore(ctx, env, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(st)
}

// personByEmail is the one lookup of a person the commands name by e-mail
// address; who says what the address is for ("" or "manager ") in the
// error.
func personByEmail(ctx context.Context, st store.Store, who, email string) (tracker.Person, error) {
	p, err := st.PersonByEmail(ctx, email)
	if err != nil {
		return tracker.Person{}, fmt.Errorf("finding %s%s: %w", who, email, err)
	}
	return p, nil
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
