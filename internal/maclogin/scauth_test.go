package maclogin_test

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/internal/maclogin"
	"github.com/keywizard/keywizard/steps"
)

// Output samples in the shape macOS prints (docs/services.md §2,
// docs/yubikey-protocol.md §5: sc_auth identities lists each inserted token's
// paired identities with their user and its unpaired ones with their
// certificate label; sc_auth list -u prints the user's paired hashes).
const (
	nano9a = "F630FDB2F37478DCB46B5BBE270845341AC9DE5D"
	nano9d = "0C1D7A5E3B9F48A2C6D0E4F7A1B3C5D7E9F0A2B4"
	nfc9a  = "5E9C2A7B1D4F6E8A0C3B5D7F9E1A2C4B6D8F0E1A"
	// tokenID is a token ID that happens to be 40 hex digits, like a hash.
	tokenID = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
)

// fakeSCAuth records the commands run and answers each with out or err.
type fakeSCAuth struct {
	out  string
	err  error
	args [][]string
}

func (f *fakeSCAuth) sc() maclogin.SCAuth {
	return maclogin.SCAuth{GOOS: "darwin", Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
		if name != "sc_auth" {
			return nil, errors.New("ran " + name)
		}
		f.args = append(f.args, args)
		return []byte(f.out), f.err
	}}
}

func TestSCAuthPaired(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		runErr  error
		want    []string
		wantErr func(error) bool
	}{
		{name: "nothing paired", out: "", want: nil},
		{name: "one key paired", out: nano9a + "\n", want: []string{nano9a}},
		{name: "two keys, lower case, indented", out: "  " + strings.ToLower(nano9a) + "\n\t" + nfc9a + "\n", want: []string{nano9a, nfc9a}},
		{name: "heading line", out: "Hashes of public keys paired with alice:\n" + nano9a + "\n", want: []string{nano9a}},
		{name: "garbage", out: "sc_auth: unrecognized command\n", wantErr: func(err error) bool {
			var oe *maclogin.SCAuthOutputError
			return errors.As(err, &oe) && oe.Command == "list" && errors.Is(err, device.ErrInvalidResponse)
		}},
		{name: "a short hash is garbage", out: nano9a[:39] + "\n", wantErr: func(err error) bool { return errors.Is(err, device.ErrInvalidResponse) }},
		{name: "not installed", runErr: exec.ErrNotFound, wantErr: func(err error) bool {
			var se *maclogin.SCAuthError
			return errors.As(err, &se) && errors.Is(err, exec.ErrNotFound) && strings.Contains(err.Error(), "sc_auth list -u alice")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSCAuth{out: tt.out, err: tt.runErr}
			got, err := f.sc().Paired(context.Background(), "alice")
			if !slices.Equal(f.args[0], []string{"list", "-u", "alice"}) {
				t.Errorf("ran sc_auth %q", f.args[0])
			}
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("err = %v (%T)", err, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Paired = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSCAuthIdentities(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []steps.Identity
		wantErr bool
	}{
		{name: "no token inserted", out: ""},
		{name: "unpaired key", out: "SmartCard: com.apple.pivtoken:" + tokenID + "\n" +
			"Unpaired identities:\n" +
			nano9a + "\tCertificate For PIV Authentication\n" +
			nano9d + "\tCertificate For Key Management\n",
			want: []steps.Identity{
				{Hash: nano9a, Label: "Certificate For PIV Authentication"},
				{Hash: nano9d, Label: "Certificate For Key Management"},
			}},
		{name: "paired key", out: "SmartCard: com.apple.pivtoken:" + tokenID + "\n" +
			"Paired identities which are used for authentication:\n" +
			nano9a + "\talice\n" +
			"Unpaired identities:\n" +
			nano9d + "\tCertificate For Key Management\n",
			want: []steps.Identity{
				{Hash: nano9a, Label: "alice", Paired: true},
				{Hash: nano9d, Label: "Certificate For Key Management"},
			}},
		{name: "two tokens", out: "SmartCard: com.apple.pivtoken:" + tokenID + "\n" +
			"Paired identities which are used for authentication:\n" +
			nano9a + "\talice\n\n" +
			"SmartCard: com.apple.pivtoken:FFEE\n" +
			"Unpaired identities:\n" +
			strings.ToLower(nfc9a) + "    Certificate For PIV Authentication\n",
			want: []steps.Identity{
				{Hash: nano9a, Label: "alice", Paired: true},
				{Hash: nfc9a, Label: "Certificate For PIV Authentication"},
			}},
		{name: "garbage", out: "Segmentation fault: 11\n", wantErr: true},
		{name: "garbage after identities", out: "Unpaired identities:\n" + nano9a + "\tCertificate For PIV Authentication\nerror: token went away\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSCAuth{out: tt.out}
			got, err := f.sc().Identities(context.Background())
			if !slices.Equal(f.args[0], []string{"identities"}) {
				t.Errorf("ran sc_auth %q", f.args[0])
			}
			if tt.wantErr {
				var oe *maclogin.SCAuthOutputError
				if !errors.As(err, &oe) || oe.Command != "identities" || !errors.Is(err, device.ErrInvalidResponse) {
					t.Fatalf("err = %v (%T), want a *SCAuthOutputError", err, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Identities = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestSCAuthPair(t *testing.T) {
	f := &fakeSCAuth{}
	if err := f.sc().Pair(context.Background(), "alice", nano9a); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.args[0], []string{"pair", "-u", "alice", "-h", nano9a}) {
		t.Errorf("ran sc_auth %q", f.args[0])
	}
	// Pairing needs an administrator: the refusal comes back typed.
	exit := &exec.ExitError{}
	f = &fakeSCAuth{err: exit}
	err := f.sc().Pair(context.Background(), "alice", nano9a)
	var se *maclogin.SCAuthError
	var ee *exec.ExitError
	if !errors.As(err, &se) || !errors.As(err, &ee) || !slices.Equal(se.Args, []string{"pair", "-u", "alice", "-h", nano9a}) {
		t.Fatalf("err = %v (%T)", err, err)
	}
}

func TestSCAuthUnpair(t *testing.T) {
	f := &fakeSCAuth{}
	if err := f.sc().Unpair(context.Background(), "alice", nano9a); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.args[0], []string{"unpair", "-u", "alice", "-h", nano9a}) {
		t.Errorf("ran sc_auth %q", f.args[0])
	}
	f = &fakeSCAuth{err: &exec.ExitError{}}
	var se *maclogin.SCAuthError
	if err := f.sc().Unpair(context.Background(), "alice", nano9a); !errors.As(err, &se) || se.Args[0] != "unpair" {
		t.Fatalf("err = %v (%T)", err, err)
	}
}

func TestSCAuthSupported(t *testing.T) {
	for goos, want := range map[string]bool{"darwin": true, "linux": false, "windows": false} {
		ok, why := maclogin.SCAuth{GOOS: goos}.Supported()
		if ok != want || (!ok && !strings.Contains(why, "macOS")) {
			t.Errorf("%s: Supported = %v, %q", goos, ok, why)
		}
	}
}
