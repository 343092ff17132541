package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// The roster commands, run on the tracker's host like person add: edit a
// person, make them a leaver, import a CSV roster, and issue or revoke the
// provisioning (SCIM) token. Flags fill an options struct and an exported
// Run function does the work, over the store and clock it is given.

// PersonEditOptions are the flags of `tracker person edit`: the person by
// e-mail address, and the fields to change (nil: keep).
type PersonEditOptions struct {
	Email  string
	Update tracker.PersonUpdate
}

// PersonLeaveOptions are the flags of `tracker person leave`.
type PersonLeaveOptions struct {
	Email, Reason string
}

// PersonImportOptions are the arguments of `tracker person import`.
type PersonImportOptions struct {
	CSV    io.Reader
	DryRun bool
}

// SCIMTokenOptions are the flags of `tracker scim token`.
type SCIMTokenOptions struct {
	Name string
}

// rosterServer is the tracker's roster logic over st, for the commands.
func rosterServer(st store.Store, now func() time.Time) (*server.Server, error) {
	return server.New(server.Config{Store: st, Now: now, Logf: func(string, ...any) {}})
}

// rosterPerson finds the person email names and the roster logic that acts
// on them, for the commands that change one person.
func rosterPerson(ctx context.Context, st store.Store, now func() time.Time, email string) (tracker.Person, *server.Server, error) {
	p, err := personByEmail(ctx, st, "", email)
	if err != nil {
		return tracker.Person{}, nil, err
	}
	srv, err := rosterServer(st, now)
	return p, srv, err
}

// RunPersonEdit changes the fields o gives of the person o.Email names.
func RunPersonEdit(ctx context.Context, out io.Writer, st store.Store, now func() time.Time, o PersonEditOptions) error {
	p, srv, err := rosterPerson(ctx, st, now, o.Email)
	if err != nil {
		return err
	}
	p, err = srv.UpdatePerson(ctx, localActor, p.ID, o.Update)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Saved %s (%s): team %q, start %s, due %s.\n", p.Email, p.ID, p.Team, p.StartDate, p.Due().Format(time.DateOnly))
	return nil
}

// RunPersonLeave makes the person o.Email names a leaver and lists the
// keys to collect.
func RunPersonLeave(ctx context.Context, out io.Writer, st store.Store, now func() time.Time, o PersonLeaveOptions) error {
	p, srv, err := rosterPerson(ctx, st, now, o.Email)
	if err != nil {
		return err
	}
	l, err := srv.Leave(ctx, localActor, p.ID, o.Reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s is a leaver since %s: signed out everywhere; records kept until %s.\n",
		l.Person.Email, l.Person.LeftAt.Format(time.DateOnly), l.RetainUntil.Format(time.DateOnly))
	for _, k := range l.KeysToCollect {
		fmt.Fprintf(out, "Collect key %d (%s, %s), then mark it retired.\n", k.Serial, k.Model, k.Role)
	}
	return nil
}

// RunPersonImport imports a CSV roster, or with DryRun says what it would
// change.
func RunPersonImport(ctx context.Context, out io.Writer, st store.Store, now func() time.Time, o PersonImportOptions) error {
	srv, err := rosterServer(st, now)
	if err != nil {
		return err
	}
	res, err := srv.Import(ctx, localActor, o.CSV, o.DryRun)
	if err != nil {
		return err
	}
	verb := "Imported"
	if res.DryRun {
		verb = "Dry run, nothing changed"
	}
	fmt.Fprintf(out, "%s: %d to create, %d to update, %d unchanged.\n", verb, res.Created, res.Updated, res.Unchanged)
	for _, r := range res.Rows {
		if r.Action == tracker.ImportUnchanged {
			continue
		}
		fmt.Fprintf(out, "row %d %s: %s\n", r.Row, r.Email, r.Action)
		for _, c := range r.Changes {
			fmt.Fprintf(out, "  %s: %q -> %q\n", c.Field, c.Before, c.After)
		}
	}
	return nil
}

// RunSCIMToken prints a new provisioning token, once.
func RunSCIMToken(ctx context.Context, out io.Writer, st store.Store, now func() time.Time, o SCIMTokenOptions) error {
	tok, err := server.IssueSCIMToken(ctx, st, o.Name, now())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Provisioning token %q (shown once; give it to the identity provider as the bearer token for /scim/v2):\n%s\n", o.Name, tok)
	return nil
}

// RunSCIMRevoke revokes every provisioning token.
func RunSCIMRevoke(ctx context.Context, out io.Writer, st store.Store, now func() time.Time) error {
	if err := st.RevokeServiceTokens(ctx, tracker.AuditEntry{At: now(), Actor: localActor, Action: "scim.token.revoke"}); err != nil {
		return err
	}
	fmt.Fprintln(out, "Every provisioning token is revoked; SCIM requests get 401 until a new one is issued.")
	return nil
}

// withRosterStore runs f over the database --db names.
func withRosterStore(cmd *cobra.Command, env Env, db func() string, f func(st store.Store) error) error {
	return withStore(cmd.Context(), env.filled(), db(), f)
}

// personRosterCmds are person edit, leave and import.
func personRosterCmds(env Env, db func() string) []*cobra.Command {
	var eo PersonEditOptions
	var name, team, manager, startDate, due, newEmail string
	edit := &cobra.Command{
		Use:   "edit",
		Short: "Change a person's name, e-mail, team, manager, start or due date (audited, before and after)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for flag, dst := range map[string]**string{"name": &eo.Update.Name, "team": &eo.Update.Team, "manager": &eo.Update.ManagerEmail,
				"start": &eo.Update.StartDate, "due": &eo.Update.DueDate, "new-email": &eo.Update.Email} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetString(flag)
					*dst = &v
				}
			}
			return withRosterStore(cmd, env, db, func(st store.Store) error {
				return RunPersonEdit(cmd.Context(), env.withIO(cmd).Out, st, env.filled().Now, eo)
			})
		},
	}
	f := edit.Flags()
	f.StringVar(&eo.Email, "email", "", "the person's e-mail address (required)")
	f.StringVar(&name, "name", "", "new full name")
	f.StringVar(&team, "team", "", "new team")
	f.StringVar(&manager, "manager", "", `new manager's e-mail address ("" for the top of the tree)`)
	f.StringVar(&startDate, "start", "", "new start date, YYYY-MM-DD")
	f.StringVar(&due, "due", "", `new enrolment due date, YYYY-MM-DD ("" for the default)`)
	f.StringVar(&newEmail, "new-email", "", "new e-mail address")
	f.StringVar(&eo.Update.Reason, "reason", "", "why, for the audit log")
	edit.MarkFlagRequired("email")

	var lo PersonLeaveOptions
	leave := &cobra.Command{
		Use:   "leave",
		Short: "Make a person a leaver: signed out everywhere, keys listed for collection, records kept for the retention period",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRosterStore(cmd, env, db, func(st store.Store) error {
				return RunPersonLeave(cmd.Context(), env.withIO(cmd).Out, st, env.filled().Now, lo)
			})
		},
	}
	leave.Flags().StringVar(&lo.Email, "email", "", "the person's e-mail address (required)")
	leave.Flags().StringVar(&lo.Reason, "reason", "", "why, for the audit log (required)")
	leave.MarkFlagRequired("email")
	leave.MarkFlagRequired("reason")

	var imo PersonImportOptions
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Add and update people from a CSV roster (email,name,team,manager_email,start_date[,due_date]); - reads standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := env.withIO(cmd).In
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("opening roster: %w", err)
				}
				defer f.Close()
				in = f
			}
			imo.CSV = in
			return withRosterStore(cmd, env, db, func(st store.Store) error {
				return RunPersonImport(cmd.Context(), env.withIO(cmd).Out, st, env.filled().Now, imo)
			})
		},
	}
	imp.Flags().BoolVar(&imo.DryRun, "dry-run", false, "only say what would change")
	return []*cobra.Command{edit, leave, imp}
}

// scimCmd is `tracker scim token` and `tracker scim revoke`.
func scimCmd(env Env, db func() string) *cobra.Command {
	cmd := &cobra.Command{Use: "scim", Short: "Provisioning tokens for an identity provider's SCIM client (run on the tracker's host)"}
	var o SCIMTokenOptions
	token := &cobra.Command{
		Use:   "token",
		Short: "Issue a provisioning token for /scim/v2 and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Name == "" {
				return errors.New("--name is required: say which identity provider the token is for")
			}
			return withRosterStore(cmd, env, db, func(st store.Store) error {
				return RunSCIMToken(cmd.Context(), env.withIO(cmd).Out, st, env.filled().Now, o)
			})
		},
	}
	token.Flags().StringVar(&o.Name, "name", "", "which identity provider the token is for, such as okta (required; kept in the audit log)")
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke every provisioning token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRosterStore(cmd, env, db, func(st store.Store) error {
				return RunSCIMRevoke(cmd.Context(), env.withIO(cmd).Out, st, env.filled().Now)
			})
		},
	}
	cmd.AddCommand(token, revoke)
	return cmd
}
