package trackerlink

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/keywizard/keywizard/internal/cli"
	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/client"
	"github.com/keywizard/keywizard/tracker/join"
)

// WipeRecorder records `keywizard key wipe --record` (or `--tracker URL`)
// in the onboarding tracker: the key retired with the reason "wiped" and
// the applications erased (POST /v1/keys/{serial}/status, IT only,
// audited).
type WipeRecorder struct {
	Client *client.Client
	URL    string
}

var _ cli.WipeRecorder = (*WipeRecorder)(nil)

// ErrNotIT is returned when the token in the keychain is not an IT administrator's, so
// the tracker would refuse to record the wipe.
var ErrNotIT = errors.New("the tracker token in the keychain is not an IT administrator's")

// OpenWipeRecorder opens the tracker at url (empty: KEYWIZARD_TRACKER, or
// the one `keywizard tracker login` or join saved under configDir) with the
// token kept in the keychain for it (tokens nil: the OS keychain), and
// checks that the token is IT's. The tracker is found as `keywizard tracker
// key` finds it (join.Tracker), so a URL typed with a trailing slash or in
// capitals names the same keychain item login filled. It is called before a
// wipe erases anything, so a missing token or a person's token stops the
// wipe with nothing changed.
func OpenWipeRecorder(ctx context.Context, configDir, url string, tokens client.TokenStore) (*WipeRecorder, error) {
	o := join.Options{ConfigDir: func() (string, error) { return configDir, nil }}
	if tokens != nil {
		o.Tokens = func(string) client.TokenStore { return tokens }
	}
	url, tokens, err := join.Tracker(url, false, o)
	switch {
	case errors.Is(err, join.ErrNotJoined):
		return nil, ErrNoTracker
	case err != nil:
		return nil, err
	}
	if _, err := tokens.Token(); err != nil {
		return nil, fmt.Errorf("no token for %s in the keychain (IT signs in once with: keywizard tracker login --url %s): %w", url, url, err)
	}
	cl, err := client.New(client.Config{BaseURL: url, Dir: filepath.Join(configDir, "keywizard", "queue"), Tokens: tokens})
	if err != nil {
		return nil, fmt.Errorf("setting up the tracker client: %w", err)
	}
	me, err := cl.Me(ctx)
	if err != nil {
		return nil, fmt.Errorf("asking the tracker who you are: %w", err)
	}
	if !me.Admin {
		return nil, fmt.Errorf("%s is signed in as %s: %w", url, me.Name, ErrNotIT)
	}
	return &WipeRecorder{Client: cl, URL: url}, nil
}

// erasedIDs are the tracker's names of the applications a wipe erases
// (tracker.KeyStatusChange.Erased: lower-case ids).
var erasedIDs = map[string]string{
	"PIV": "piv", "FIDO2": "fido2", cli.AppOATH: "oath", cli.AppOpenPGP: "openpgp", cli.AppHSMAuth: "hsmauth", cli.AppOTP: "otp",
}

// RecordWipe retires the key with the reason "wiped" and what was erased.
// A key the tracker has retired already is left as it is (a retired key
// changes status no more) and said so.
func (r *WipeRecorder) RecordWipe(ctx context.Context, w cli.WipeRecord) (cli.WipeRecorded, error) {
	rec, err := r.Client.FindKey(ctx, w.Serial)
	if err != nil {
		return cli.WipeRecorded{}, fmt.Errorf("finding key %d in the tracker: %w", w.Serial, err)
	}
	if rec.Status == tracker.KeyRetired {
		return cli.WipeRecorded{Owner: rec.OwnerName, Status: string(rec.Status), AlreadyRetired: true}, nil
	}
	ch := tracker.KeyStatusChange{Status: tracker.KeyRetired, Reason: "wiped"}
	for _, name := range w.Erased {
		id, ok := erasedIDs[name]
		if !ok {
			id = strings.ToLower(name)
		}
		ch.Erased = append(ch.Erased, id)
	}
	rec, err = r.Client.SetKeyStatus(ctx, w.Serial, ch)
	if err != nil {
		return cli.WipeRecorded{}, fmt.Errorf("retiring key %d in the tracker: %w", w.Serial, err)
	}
	return cli.WipeRecorded{Owner: rec.OwnerName, Status: string(rec.Status)}, nil
}

// Destination is the tracker's URL.
func (r *WipeRecorder) Destination() string { return r.URL }
