package wire

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"strings"

	"github.com/keywizard/keywizard/steps"
)

// SCAuth is macOS smart-card pairing through Apple's sc_auth(8)
// (services.md §2). Run executes a command and returns its standard output;
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
		return s.Run(ctx, "sc_auth", args...)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "/usr/sbin/sc_auth", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("sc_auth %s: %w (%s)", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

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

// hashRE matches the identity hashes sc_auth prints (40 hex digits, SHA-1).
var hashRE = regexp.MustCompile(`\b[0-9A-Fa-f]{40}\b`)

// Paired lists the hashes paired with user (`sc_auth list -u USER`).
func (s SCAuth) Paired(ctx context.Context, user string) ([]string, error) {
	out, err := s.run(ctx, "list", "-u", user)
	if err != nil {
		return nil, err
	}
	var hashes []string
	for _, h := range hashRE.FindAllString(string(out), -1) {
		hashes = append(hashes, strings.ToUpper(h))
	}
	return hashes, nil
}

// Identities lists the identities on inserted tokens (`sc_auth
// identities`). The output format is not specified by Apple; each line with a
// hash is one identity, the rest of the line its label, and lines under a
// "Paired identities" heading are paired.
func (s SCAuth) Identities(ctx context.Context) ([]steps.Identity, error) {
	out, err := s.run(ctx, "identities")
	if err != nil {
		return nil, err
	}
	return parseIdentities(out), nil
}

func parseIdentities(out []byte) []steps.Identity {
	var ids []steps.Identity
	paired := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		low := strings.ToLower(line)
		switch {
		case strings.HasPrefix(low, "unpaired"):
			paired = false
			continue
		case strings.HasPrefix(low, "paired"):
			paired = true
			continue
		}
		h := hashRE.FindString(line)
		if h == "" {
			continue
		}
		label := strings.TrimSpace(strings.Replace(line, h, "", 1))
		ids = append(ids, steps.Identity{Hash: strings.ToUpper(h), Label: label, Paired: paired})
	}
	return ids
}

// Pair pairs hash with user (`sc_auth pair -u USER -h HASH`); macOS asks the
// person for their password and the PIV PIN itself.
func (s SCAuth) Pair(ctx context.Context, user, hash string) error {
	_, err := s.run(ctx, "pair", "-u", user, "-h", hash)
	return err
}
