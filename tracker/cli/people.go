package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// localActor is who the audit log says acted for the commands run on the
// tracker's host, where access to the database is the authority.
const localActor = "local-admin-command"

// CreateAdminOptions are the flags of `tracker admin create-admin`.
type CreateAdminOptions struct {
	DB     string
	Person tracker.CreatePerson // Email, Name, Team
}

// AdminTokenOptions are the flags of `tracker admin token`.
type AdminTokenOptions struct {
	DB    string
	Email string
}

// PersonAddOptions are the flags of `tracker person add`.
type PersonAddOptions struct {
	DB     string
	Person tracker.CreatePerson
}

// InviteOptions are the flags of `tracker invite`.
type InviteOptions struct {
	DB     string
	Email  string
	Reason string        // for the audit log
	Valid  time.Duration // how long the code works
}

func adminCmd(env Env, db func() string) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Create IT administrators and their tokens (run on the tracker's host)"}
	var co CreateAdminOptions
	create := &cobra.Command{
		Use:   "create-admin",
		Short: "Create an IT administrator and print their API token",
		Long: `Create an IT administrator directly in the tracker's database and print a
token for them. Run it where the tracker runs: access to the database is the
proof of authority. The token is shown once; only its hash is stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			co.DB = db()
			return RunCreateAdmin(cmd.Context(), env.withIO(cmd), co)
		},
	}
	create.Flags().StringVar(&co.Person.Email, "email", "", "e-mail address (required)")
	create.Flags().StringVar(&co.Person.Name, "name", "", "full name (required)")
	create.Flags().StringVar(&co.Person.Team, "team", "IT", "team")
	create.MarkFlagRequired("email")
	create.MarkFlagRequired("name")

	var to AdminTokenOptions
	token := &cobra.Command{
		Use:   "token",
		Short: "Issue a new API token for an existing person (recovers a lost admin token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			to.DB = db()
			return RunAdminToken(cmd.Context(), env.withIO(cmd), to)
		},
	}
	token.Flags().StringVar(&to.Email, "email", "", "the person's e-mail address (required)")
	token.MarkFlagRequired("email")
	cmd.AddCommand(create, token)
	return cmd
}

// RunCreateAdmin creates an IT administrator and prints their token once.
func RunCreateAdmin(ctx context.Context, env Env, o CreateAdminOptions) error {
	env = env.filled()
	return withStore(ctx, env, o.DB, func(st store.Store) error {
		p, tok, err := server.CreateAdmin(ctx, st, o.Person, env.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "Created IT administrator %s (%s).\nToken (shown once; use as \"Authorization: Bearer <token>\" or paste it at /login):\n%s\n", p.Email, p.ID, tok)
		return nil
	})
}

// RunAdminToken prints a new API token for an existing person.
func RunAdminToken(ctx context.Context, env Env, o AdminTokenOptions) error {
	env = env.filled()
	return withStore(ctx, env, o.DB, func(st store.Store) error {
		p, err := personByEmail(ctx, st, "", o.Email)
		if err != nil {
			return err
		}
		tok, err := server.AdminToken(ctx, st, p.ID, "admin token command", 0, env.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Out, tok)
		return nil
	})
}

func personCmd(env Env, db func() string) *cobra.Command {
	cmd := &cobra.Command{Use: "person", Short: "Manage people (run on the tracker's host; or use POST /v1/people)"}
	var o PersonAddOptions
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a person",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.DB = db()
			return RunPersonAdd(cmd.Context(), env.withIO(cmd), o)
		},
	}
	f := add.Flags()
	f.StringVar(&o.Person.Email, "email", "", "e-mail address (required)")
	f.StringVar(&o.Person.Name, "name", "", "full name (required)")
	f.StringVar(&o.Person.Team, "team", "", "team")
	f.StringVar(&o.Person.ManagerEmail, "manager", "", "manager's e-mail address")
	f.StringVar(&o.Person.StartDate, "start", time.Now().Format(time.DateOnly), "start date, YYYY-MM-DD")
	f.StringVar(&o.Person.DueDate, "due", "", "enrolment due date, YYYY-MM-DD (default: a month after the later of the start date and today)")
	f.BoolVar(&o.Person.Admin, "admin", false, "make them an IT administrator")
	add.MarkFlagRequired("email")
	add.MarkFlagRequired("name")
	cmd.AddCommand(add)
	cmd.AddCommand(personRosterCmds(env, db)...)
	return cmd
}

// RunPersonAdd validates and adds a person, under their manager if named.
func RunPersonAdd(ctx context.Context, env Env, o PersonAddOptions) error {
	env = env.filled()
	req := o.Person
	if err := req.Validate(); err != nil {
		return err
	}
	return withStore(ctx, env, o.DB, func(st store.Store) error {
		now := env.Now()
		p := tracker.Person{ID: store.NewID("p_"), Email: req.Email, Name: req.Name, Team: req.Team, StartDate: req.StartDate, DueDate: req.DueDate, Admin: req.Admin, CreatedAt: now.UTC()}
		if req.ManagerEmail != "" {
			m, err := personByEmail(ctx, st, "manager ", req.ManagerEmail)
			if err != nil {
				return err
			}
			p.ManagerID = m.ID
		}
		if _, err := st.CreatePerson(ctx, p, tracker.AuditEntry{At: now, Actor: localActor, Action: "person.create", Subject: p.ID}); err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "Added %s (%s).\n", p.Email, p.ID)
		return nil
	})
}

func inviteCmd(env Env, db func() string) *cobra.Command {
	var o InviteOptions
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Print a new invite code for a person (earlier unused codes stop working)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.DB = db()
			return RunInvite(cmd.Context(), env.withIO(cmd), o)
		},
	}
	cmd.Flags().StringVar(&o.Email, "email", "", "the person's e-mail address (required)")
	cmd.Flags().StringVar(&o.Reason, "reason", "invited from the command line", "why, for the audit log")
	cmd.Flags().DurationVar(&o.Valid, "valid", 14*24*time.Hour, "how long the code works")
	cmd.MarkFlagRequired("email")
	return cmd
}

// RunInvite prints a new single-use invite code for a person.
func RunInvite(ctx context.Context, env Env, o InviteOptions) error {
	env = env.filled()
	return withStore(ctx, env, o.DB, func(st store.Store) error {
		p, err := personByEmail(ctx, st, "", o.Email)
		if err != nil {
			return err
		}
		inv, err := server.IssueInvite(ctx, st, p.ID, localActor, o.Reason, o.Valid, env.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "Invite code for %s (single use, valid until %s):\n%s\n", p.Email, inv.ExpiresAt.Format(time.RFC3339), inv.Code)
		return nil
	})
}
