package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keywizard/keywizard/tracker/join"
	"github.com/spf13/cobra"
)

// JoinOptions are the flags of `tracker join`.
type JoinOptions struct {
	URL       string
	AllowHTTP bool // a plain http:// tracker on another machine
}

// joinCmd returns `join`: it trades the invite code from IT for this
// computer's own tracker token, keeps the token in the OS keychain and
// saves the tracker's address, so the wizard reports there from now on.
func joinCmd(env Env) *cobra.Command {
	var o JoinOptions
	cmd := &cobra.Command{
		Use:   "join --url URL",
		Short: "Join the onboarding tracker with the invite code from IT",
		Long: `Join the onboarding tracker: trade the single-use invite code from IT for
this computer's own token, which is kept in the OS keychain, and save the
tracker's address in the keywizard settings. The wizard then reports your
keys there, and managers see their team in the app.

The invite code is read from standard input: type or paste it when asked,
or pipe it in from a file. It is never a flag, so it stays out of your
shell history.`,
		Example: `  keywizard tracker join --url https://tracker.example.com
  keywizard tracker join --url https://tracker.example.com < invite.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return RunJoin(cmd.Context(), env.withIO(cmd), o)
		},
	}
	cmd.Flags().StringVar(&o.URL, "url", "", "the tracker's address, e.g. https://tracker.example.com (required)")
	cmd.Flags().BoolVar(&o.AllowHTTP, "allow-http", false, "allow a plain http:// tracker that is not on this computer (the token would cross the network unencrypted)")
	cmd.MarkFlagRequired("url")
	return cmd
}

// RunJoin reads the invite code from env.In, joins the tracker and says
// as whom.
func RunJoin(ctx context.Context, env Env, o JoinOptions) error {
	env = env.filled()
	res, err := join.Run(ctx, o.URL, o.AllowHTTP, env.Join, func() (string, error) { return readInviteCode(env.In, env.Err) })
	if err != nil {
		return err
	}
	out, errOut := env.Out, env.Err
	fmt.Fprintf(out, "Joined %s as %s <%s>%s\n", res.URL, res.Person.Name, res.Person.Email, res.Role)
	if res.Previous != "" {
		fmt.Fprintf(out, "This computer now reports to %s instead of %s.\n", res.URL, res.Previous)
	}
	if res.OverriddenBy != "" {
		fmt.Fprintf(errOut, "Note: %s=%s is set and overrides the saved tracker; unset it to use %s.\n", join.EnvTracker, res.OverriddenBy, res.URL)
	}
	return nil
}

// maxInviteLine bounds what is read from standard input: codes are short
// (tracker.Exchange allows 128 characters).
const maxInviteLine = 4 << 10

// readInviteCode reads the first non-empty line of in. On a terminal it
// asks first, on errOut so that piping stdout stays clean. The code is
// echoed by the terminal: it works once and is spent seconds later, and
// hiding it would need golang.org/x/term, not otherwise a dependency.
func readInviteCode(in io.Reader, errOut io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(errOut, "Invite code from IT: ")
		}
	}
	r := bufio.NewReader(io.LimitReader(in, maxInviteLine))
	for {
		line, err := r.ReadString('\n')
		// A lone \r ends a line too (text saved by old Mac editors).
		for part := range strings.SplitSeq(line, "\r") {
			if code := strings.TrimSpace(part); code != "" {
				return code, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return "", join.ErrNoInviteCode
		}
		if err != nil {
			return "", fmt.Errorf("reading the invite code: %w", err)
		}
	}
}
