// Package maclogin pairs a YubiKey's PIV identities with the macOS account
// for smart-card login through Apple's sc_auth(8), and reads which
// identities are paired: steps.SmartCardLogin over that command. Its output
// parsing is tested against recorded output; elsewhere than macOS it says
// pairing is not supported.
package maclogin

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"strings"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/steps"
)

// SCAuth is macOS smart-card pairing through Apple's sc_auth(8)
// (docs/services.md §2). Run executes a command and returns its standard output;
// nil means os/exec. GOOS "" means runtime.GOOS.
type SCAuth struct {
	GOOS string
	Run  func(ctx context.Context, name string, args ...string) ([]byte, error)
}

var _ steps.SmartCardLogin = SCAuth{}

func (s SCAuth) goos() string {
	if s.GOOS != "" {
		return s.GOOS
	}
	return runtime.GOOS
}

func (s SCAuth) run(ctx context.Context, args ...string) ([]byte, error) {
	if s.Run != nil {
		out, err := s.Run(ctx, "sc_auth", args...)
		if err != nil {
			return nil, &SCAuthError{Args: args, Err: err}
		}
		return out, nil
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "/usr/sbin/sc_auth", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &SCAuthError{Args: args, Err: err, Stderr: strings.TrimSpace(stderr.String())}
	}
	return out, nil
}

// SCAuthError says an sc_auth command failed (not found, refused, exited
// non-zero). It unwraps to the cause, so errors.Is(err, exec.ErrNotFound)
// and errors.As(err, **exec.ExitError) work.
type SCAuthError struct {
	Args   []string
	Err    error
	Stderr string // what sc_auth printed on standard error, if anything
}

func (e *SCAuthError) Error() string {
	msg := "sc_auth " + strings.Join(e.Args, " ") + ": " + e.Err.Error()
	if e.Stderr != "" {
		msg += " (" + e.Stderr + ")"
	}
	return msg
}

// Unwrap returns the cause.
func (e *SCAuthError) Unwrap() error { return e.Err }

// SCAuthOutputError says sc_auth printed a line keywizard does not
// recognise. Apple does not specify the format, so rather than read "not
// paired" into output it cannot parse, keywizard says so. It matches
// device.ErrInvalidResponse.
type SCAuthOutputError struct {
	Command string // "list" or "identities"
	Line    string
}

func (e *SCAuthOutputError) Error() string {
	return fmt.Sprintf("sc_auth %s printed a line keywizard does not recognise (%q); check the pairing with sc_auth %s in Terminal", e.Command, e.Line, e.Command)
}

// Is makes SCAuthOutputError match device.ErrInvalidResponse.
func (e *SCAuthOutputError) Is(target error) bool { return target == device.ErrInvalidResponse }

// Supported reports whether this machine pairs smart cards with sc_auth.
func (s SCAuth) Supported() (bool, string) {
	if g := s.goos(); g != "darwin" {
		return false, fmt.Sprintf("smart-card login with sc_auth is a macOS feature; this computer runs %s", osName(g))
	}
	return true, ""
}

func osName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "windows":
		return "Windows"
	}
	return goos
}

// hashRE matches an identity hash sc_auth prints at the start of a line
// (40 hex digits, SHA-1), then a tab or spaces and the label or user.
var hashRE = regexp.MustCompile(`^([0-9A-Fa-f]{40})(?:\s+(.*))?$`)

// Paired lists the hashes paired with user (`sc_auth list -u USER`): one
// hash per line, nothing when no key is paired; a heading line (ending in
// a colon) is skipped. Any other line is a *SCAuthOutputError.
func (s SCAuth) Paired(ctx context.Context, user string) ([]string, error) {
	out, err := s.run(ctx, "list", "-u", user)
	if err != nil {
		return nil, err
	}
	var hashes []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch m := hashRE.FindStringSubmatch(line); {
		case line == "", strings.HasSuffix(line, ":"):
		case m != nil:
			hashes = append(hashes, strings.ToUpper(m[1]))
		default:
			return nil, &SCAuthOutputError{Command: "list", Line: line}
		}
	}
	return hashes, nil
}

// Identities lists the identities on inserted tokens (`sc_auth
// identities`). Apple does not specify the format; macOS prints, per
// token, a "SmartCard: <token id>" line, then the hashes under "Paired
// identities which are used for authentication:" (each with the user it
// is paired with) and under "Unpaired identities:" (each with its
// certificate's label); nothing at all with no token inserted.
func (s SCAuth) Identities(ctx context.Context) ([]steps.Identity, error) {
	out, err := s.run(ctx, "identities")
	if err != nil {
		return nil, err
	}
	return parseIdentities(out)
}

func parseIdentities(out []byte) ([]steps.Identity, error) {
	var ids []steps.Identity
	paired := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		low := strings.ToLower(line)
		switch m := hashRE.FindStringSubmatch(line); {
		case line == "":
		case strings.HasPrefix(low, "smartcard:"):
			// A token's heading: its ID may itself be hex, so it is never
			// read as an identity.
			paired = false
		case strings.HasPrefix(low, "unpaired"):
			paired = false
		case strings.HasPrefix(low, "paired"):
			paired = true
		case m != nil:
			ids = append(ids, steps.Identity{Hash: strings.ToUpper(m[1]), Label: strings.TrimSpace(m[2]), Paired: paired})
		default:
			return nil, &SCAuthOutputError{Command: "identities", Line: line}
		}
	}
	return ids, nil
}

// Pair pairs hash with user (`sc_auth pair -u USER -h HASH`); macOS asks the
// person for their password and the PIV PIN itself.
func (s SCAuth) Pair(ctx context.Context, user, hash string) error {
	_, err := s.run(ctx, "pair", "-u", user, "-h", hash)
	return err
}

// Unpair removes hash's pairing with user (`sc_auth unpair -u USER -h
// HASH`, docs/services.md §2 and §9.1): how a lost key's pairing is undone,
// by the hashes remembered when it was paired.
func (s SCAuth) Unpair(ctx context.Context, user, hash string) error {
	_, err := s.run(ctx, "unpair", "-u", user, "-h", hash)
	return err
}
