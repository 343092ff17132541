package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/join"
)

// The IT commands that work from any computer: `tracker login` keeps an IT
// token in the OS keychain, and `tracker key find|lost|found|retire` call
// the tracker's API with the caller's own token (tracker/client), so they
// have exactly the dashboard's rights and audit: the server decides and
// records, the command only asks. A person may use `key lost` for their
// own key (the server refuses any other); find, found and retire are IT's.

// KeyOptions are the flags shared by the key commands.
type KeyOptions struct {
	// URL is the tracker; empty: the one join or login saved.
	URL       string
	AllowHTTP bool
}

// KeyFindOptions are the arguments of `tracker key find`.
type KeyFindOptions struct {
	KeyOptions
	Serial uint32
}

// KeyStatusOptions are the arguments of `tracker key lost|found|retire`.
type KeyStatusOptions struct {
	KeyOptions
	Serial uint32
	// Status is what the key becomes: lost, active (found) or retired.
	Status tracker.KeyStatus
	Reason string
}

// LoginOptions are the flags of `tracker login`.
type LoginOptions struct {
	URL       string
	AllowHTTP bool
}

// Errors the key commands return, for callers that branch on them.
var (
	// ErrNoReason: --reason is required (it goes into the audit log).
	ErrNoReason = errors.New("--reason is required: say why, for the audit log (a ticket number is fine)")
	// ErrNotIT: the tracker refused the caller (not an IT administrator).
	ErrNotIT = errors.New("only IT administrators can do this; a person can report their own key lost with \"keywizard tracker key lost SERIAL --reason TEXT\"")
	// ErrNotYourKey: a person reported a key that is not theirs.
	ErrNotYourKey = errors.New("the tracker has no key with this serial among yours; check the serial printed on the key (or in \"keywizard keys\")")
)

// keyClient is the tracker client for the key commands: the tracker o
// names or the saved one, with this computer's token from the keychain.
func keyClient(env Env, o KeyOptions) (*client.Client, string, error) {
	base, tokens, err := join.Tracker(o.URL, o.AllowHTTP, env.Join)
	if err != nil {
		return nil, "", err
	}
	dir, err := join.QueueDir(env.Join)
	if err != nil {
		return nil, "", err
	}
	cl, err := client.New(client.Config{BaseURL: base, Dir: dir, Tokens: tokens, HTTPClient: env.Join.HTTPClient})
	if err != nil {
		return nil, "", err
	}
	return cl, base, nil
}

// keyErr says in plain words what a refusal means for the key commands.
func keyErr(err error, serial uint32) error {
	var ae *client.APIError
	switch {
	case errors.Is(err, client.ErrNoToken):
		return fmt.Errorf("%w (IT: \"keywizard tracker login --url URL\")", err)
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		return ErrNotIT
	case errors.Is(err, client.ErrNoSuchKey):
		return fmt.Errorf("no key %d in the tracker: %w", serial, err)
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		return fmt.Errorf("key %d: %s", serial, strings.TrimPrefix(ae.Body.Error, "status: "))
	}
	return err
}

// RunKeyFind prints whose key o.Serial is, its status and history.
func RunKeyFind(ctx context.Context, env Env, o KeyFindOptions) error {
	env = env.filled()
	cl, _, err := keyClient(env, o.KeyOptions)
	if err != nil {
		return err
	}
	rec, err := cl.FindKey(ctx, o.Serial)
	if err != nil {
		return keyErr(err, o.Serial)
	}
	printKey(env.Out, rec)
	return nil
}

func printKey(out io.Writer, rec tracker.KeyRecord) {
	fmt.Fprintf(out, "Key %d (%s, %s key): %s\n", rec.Serial, rec.Model, rec.Role, rec.Status)
	fmt.Fprintf(out, "Owner: %s <%s> (%s)\n", rec.OwnerName, rec.OwnerEmail, rec.PersonID)
	genuine := "not known to be genuine"
	if rec.Genuine {
		genuine = "genuine"
	}
	if rec.GenuineDetail != "" {
		genuine += " (" + rec.GenuineDetail + ")"
	}
	if rec.Firmware != "" {
		genuine = "firmware " + rec.Firmware + ", " + genuine
	}
	fmt.Fprintln(out, strings.ToUpper(genuine[:1])+genuine[1:])
	fmt.Fprintln(out, "History:")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, e := range rec.History {
		who := e.ActorName
		if who == "" {
			who = e.Actor
		}
		line := fmt.Sprintf("  %s\t%s\t%s\t%s", e.At.UTC().Format("2006-01-02 15:04 UTC"), e.Status, who, e.Reason)
		if len(e.Erased) > 0 {
			line += " (erased: " + strings.Join(e.Erased, ", ") + ")"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// RunKeyStatus changes a key's status: IT by serial, whoever's key it is;
// a person only "lost", for their own key (the tracker's loss report,
// which IT then confirms).
func RunKeyStatus(ctx context.Context, env Env, o KeyStatusOptions) error {
	env = env.filled()
	if strings.TrimSpace(o.Reason) == "" {
		return ErrNoReason
	}
	o.Reason = strings.TrimSpace(o.Reason)
	cl, _, err := keyClient(env, o.KeyOptions)
	if err != nil {
		return err
	}
	me, err := cl.Me(ctx)
	if err != nil {
		return keyErr(err, o.Serial)
	}
	if !me.Admin && o.Status == tracker.KeyLost {
		return reportOwnLoss(ctx, env, cl, o)
	}
	// Anyone else's change is the tracker's to refuse (403), and to audit.
	rec, err := cl.SetKeyStatus(ctx, o.Serial, tracker.KeyStatusChange{Status: o.Status, Reason: o.Reason})
	if err != nil {
		return keyErr(err, o.Serial)
	}
	fmt.Fprintf(env.Out, "Key %d of %s <%s> is now %s (recorded in the audit log).\n", rec.Serial, rec.OwnerName, rec.OwnerEmail, rec.Status)
	return nil
}

// reportOwnLoss is a person's `key lost`: the loss report the wizard
// sends, through the same queue, so it is not lost if the tracker cannot
// be reached now.
func reportOwnLoss(ctx context.Context, env Env, cl *client.Client, o KeyStatusOptions) error {
	err := cl.ReportLost(ctx, tracker.LossReport{Serial: o.Serial, Reason: o.Reason, At: env.Now().UTC()})
	var rej *client.RejectedError
	switch {
	case errors.As(err, &rej) && rej.Err.Status == http.StatusNotFound:
		return ErrNotYourKey
	case errors.Is(err, client.ErrQueued):
		fmt.Fprintf(env.Out, "The tracker could not be reached; the report that key %d is lost is saved and will be sent by the wizard or the next key command.\n", o.Serial)
		return err
	case err != nil:
		return keyErr(err, o.Serial)
	}
	me, err := cl.Me(ctx)
	if err != nil {
		return keyErr(err, o.Serial)
	}
	fmt.Fprintf(env.Out, "Reported key %d lost; IT has been told and will confirm it.\n", o.Serial)
	if !me.Complete {
		fmt.Fprintln(env.Out, "Your onboarding is not complete until a replacement key is enrolled in its place: run the keywizard app.")
	}
	return nil
}

// RunLogin reads an IT token from env.In, checks it with the tracker and
// keeps it in the OS keychain. The token is never printed.
func RunLogin(ctx context.Context, env Env, o LoginOptions) error {
	env = env.filled()
	res, err := join.Login(ctx, o.URL, o.AllowHTTP, env.Join, func() (string, error) { return readToken(env.In, env.Err) })
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Out, "Signed in to %s as %s <%s>%s\n", res.URL, res.Person.Name, res.Person.Email, res.Role)
	if res.Previous != "" {
		fmt.Fprintf(env.Out, "This computer now uses %s instead of %s.\n", res.URL, res.Previous)
	}
	if res.OverriddenBy != "" {
		fmt.Fprintf(env.Err, "Note: %s=%s is set and overrides the saved tracker; unset it to use %s.\n", join.EnvTracker, res.OverriddenBy, res.URL)
	}
	return nil
}

// readToken reads the first non-empty line of in, asking first on a
// terminal (on errOut, so piping stdout stays clean).
func readToken(in io.Reader, errOut io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(errOut, "Tracker token: ")
		}
	}
	sc := bufio.NewScanner(io.LimitReader(in, maxInviteLine))
	for sc.Scan() {
		if tok := strings.TrimSpace(sc.Text()); tok != "" {
			return tok, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	return "", join.ErrNoToken
}

func parseSerialArg(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%q is not a key serial: use the number printed on the key (or shown by \"keywizard keys\")", s)
	}
	return uint32(v), nil
}

// keyCmd is `tracker key find|lost|found|retire`.
func keyCmd(env Env) *cobra.Command {
	var ko KeyOptions
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Find a key by serial, or mark it lost, found or retired (through the tracker's API, with your own rights)",
		Long: `Find whose a YubiKey is, and record what happened to it. These commands call
the tracker's API with this computer's token from the OS keychain (IT: run
"keywizard tracker login --url URL" once), so they have exactly the
dashboard's rights, and every change is in the audit log.

A person may report their own key lost ("key lost SERIAL --reason ..."); IT
then confirms it, or marks it found. Finding keys, marking them found and
retiring them is IT's.`,
	}
	cmd.PersistentFlags().StringVar(&ko.URL, "url", "", "the tracker's address (default: the one saved by join or login)")
	cmd.PersistentFlags().BoolVar(&ko.AllowHTTP, "allow-http", false, "allow a plain http:// tracker that is not on this computer")

	find := &cobra.Command{
		Use:     "find SERIAL",
		Short:   "Show whose key SERIAL is, its status and history (IT)",
		Example: "  keywizard tracker key find 31000006",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			serial, err := parseSerialArg(args[0])
			if err != nil {
				return err
			}
			return RunKeyFind(cmd.Context(), env.withIO(cmd), KeyFindOptions{KeyOptions: ko, Serial: serial})
		},
	}
	cmd.AddCommand(find)
	for _, x := range []struct {
		use, short string
		status     tracker.KeyStatus
	}{
		{"lost", "Mark key SERIAL lost (IT: any key; a person: their own, for IT to confirm)", tracker.KeyLost},
		{"found", "Mark key SERIAL found: active again (IT)", tracker.KeyActive},
		{"retire", "Retire key SERIAL: it no longer counts for anyone, and its next owner starts afresh (IT)", tracker.KeyRetired},
	} {
		var reason string
		c := &cobra.Command{
			Use:     x.use + " SERIAL --reason TEXT",
			Short:   x.short,
			Example: "  keywizard tracker key " + x.use + " 31000006 --reason \"ticket IT-1234\"",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				serial, err := parseSerialArg(args[0])
				if err != nil {
					return err
				}
				return RunKeyStatus(cmd.Context(), env.withIO(cmd), KeyStatusOptions{KeyOptions: ko, Serial: serial, Status: x.status, Reason: reason})
			},
		}
		c.Flags().StringVar(&reason, "reason", "", "why, for the audit log (required)")
		cmd.AddCommand(c)
	}
	return cmd
}

// loginCmd is `tracker login`.
func loginCmd(env Env) *cobra.Command {
	var o LoginOptions
	cmd := &cobra.Command{
		Use:   "login --url URL",
		Short: "Keep an IT token for the tracker in the OS keychain, for the key commands",
		Long: `Sign this computer in to the tracker with a token IT already has (the first
administrator's from "keywizard tracker admin create-admin", or another
issued on the tracker's host). The token is read from standard input, checked
with the tracker and kept in the OS keychain; it is never a flag, so it stays
out of your shell history, and it is never printed.`,
		Example: `  keywizard tracker login --url https://tracker.example.com < it-token.txt`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return RunLogin(cmd.Context(), env.withIO(cmd), o)
		},
	}
	cmd.Flags().StringVar(&o.URL, "url", "", "the tracker's address, e.g. https://tracker.example.com (required)")
	cmd.Flags().BoolVar(&o.AllowHTTP, "allow-http", false, "allow a plain http:// tracker that is not on this computer (the token would cross the network unencrypted)")
	cmd.MarkFlagRequired("url")
	return cmd
}
