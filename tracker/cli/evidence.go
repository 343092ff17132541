package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"aead.dev/minisign"
	"github.com/spf13/cobra"

	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/store"
)

// SigningKeyFile is the signing key's name in the tracker's data directory.
const SigningKeyFile = "tracker-signing.key"

// SigningKeyPath is where the tracker keeps its signing key: flag if set;
// else next to the SQLite file dsn names; else (PostgreSQL, or no --db) in
// the default data directory.
func SigningKeyPath(dsn, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if dsn != "" && !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		return filepath.Join(filepath.Dir(path), SigningKeyFile), nil
	}
	db, err := DefaultDBPath()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(db), SigningKeyFile), nil
}

// SigningKeyOptions are the flags of `tracker signing-key`.
type SigningKeyOptions struct {
	DB      string
	KeyFile string // --signing-key
}

// VerifyOptions are the arguments of `tracker verify`.
type VerifyOptions struct {
	File string
	// Key is a minisign public key file, or the key's base64 line; empty:
	// the public half of this host's signing key (DB, KeyFile locate it).
	Key     string
	DB      string
	KeyFile string
}

// AuditVerifyOptions are the flags of `tracker audit verify`.
type AuditVerifyOptions struct {
	DB string
	// Anchors are heads the log must still hold ("SEQ:HASH", an export's
	// audit_head).
	Anchors []string
	// File is a signed audit log export (GET /v1/audit/chain) to check
	// instead of the database; Key, DB and KeyFile find the public key as
	// for verify.
	File, Key, KeyFile string
}

func evidenceCmds(env Env, db func() string) []*cobra.Command {
	var ko SigningKeyOptions
	key := &cobra.Command{
		Use:   "signing-key",
		Short: "Print the public key that verifies the tracker's exports",
		Long: `Print the public key (minisign format) that verifies this tracker's signed
exports, creating the signing key if the tracker has none yet. Give it to
auditors by a channel of your own; they check exports with
"keywizard tracker verify FILE --key tracker.pub".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ko.DB = db()
			return RunSigningKey(cmd.Context(), env.withIO(cmd), ko)
		},
	}
	key.Flags().StringVar(&ko.KeyFile, "signing-key", "", "signing key file (default: "+SigningKeyFile+" in the data directory)")

	var vo VerifyOptions
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an export's signature, offline",
		Long: `Check that FILE (a CSV or JSON export from the tracker) is exactly as the
tracker signed it: any changed byte fails. No network or database is needed;
the public key comes from --key (a minisign .pub file or its key line), or on
the tracker's host from its own signing key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vo.File, vo.DB = args[0], db()
			return RunVerify(cmd.Context(), env.withIO(cmd), vo)
		},
	}
	verify.Flags().StringVar(&vo.Key, "key", "", "public key: a minisign .pub file or the key itself (RW...)")
	verify.Flags().StringVar(&vo.KeyFile, "signing-key", "", "on the tracker's host: its signing key file, to take the public key from")

	var ao AuditVerifyOptions
	audit := &cobra.Command{Use: "audit", Short: "Check the audit log (run on the tracker's host)"}
	averify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain",
		Long: `Read the whole audit log from the database and check its hash chain: an
edited, removed or reordered entry is reported by number. Entries cut from
the end are caught against an anchor: the audit_head of an export made
earlier, or a head this command printed before.

Without access to the database, check a signed export of the log instead
(IT downloads it from /v1/audit/chain):

  keywizard tracker audit verify --file keywizard-audit.json --key tracker.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ao.DB = db()
			return RunAuditVerify(cmd.Context(), env.withIO(cmd), ao)
		},
	}
	averify.Flags().StringArrayVar(&ao.Anchors, "anchor", nil, "SEQ:HASH the log must still hold (an export's audit_head); repeatable")
	averify.Flags().StringVar(&ao.File, "file", "", "check this signed audit log export (GET /v1/audit/chain) instead of the database")
	averify.Flags().StringVar(&ao.Key, "key", "", "with --file: the tracker's public key, a minisign .pub file or the key itself")
	averify.Flags().StringVar(&ao.KeyFile, "signing-key", "", "with --file, on the tracker's host: its signing key file, to take the public key from")
	audit.AddCommand(averify)
	return []*cobra.Command{key, verify, audit}
}

// RunSigningKey prints the tracker's public key.
func RunSigningKey(ctx context.Context, env Env, o SigningKeyOptions) error {
	env = env.filled()
	path, err := SigningKeyPath(o.DB, o.KeyFile)
	if err != nil {
		return err
	}
	s, err := evidence.LoadOrCreateKey(path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(env.Out, s.PublicKeyText())
	return err
}

// ErrNotVerified is returned when the file or the log did not pass; the error wrapping it
// says why. `keywizard` exits non-zero.
var ErrNotVerified = errors.New("not verified")

// RunVerify checks an export's signature.
func RunVerify(ctx context.Context, env Env, o VerifyOptions) error {
	env = env.filled()
	pub, from, err := verifyKey(o)
	if err != nil {
		return err
	}
	file, err := os.ReadFile(o.File)
	if err != nil {
		return fmt.Errorf("reading export: %w", err)
	}
	v, err := evidence.Verify(pub, file)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotVerified, o.File, err)
	}
	fmt.Fprintf(env.Out, "%s: good signature by key %X (%s), %s, %d signed bytes\n", o.File, v.KeyID, from, v.Kind, len(v.Signed))
	fmt.Fprintf(env.Out, "signed comment: %s\n", v.Trusted)
	return nil
}

func verifyKey(o VerifyOptions) (k minisign.PublicKey, from string, err error) {
	if o.Key != "" {
		text := []byte(o.Key)
		if b, rerr := os.ReadFile(o.Key); rerr == nil {
			text, from = b, o.Key
		} else {
			from = "--key"
		}
		k, err = evidence.ParsePublicKey(text)
		return k, from, err
	}
	path, err := SigningKeyPath(o.DB, o.KeyFile)
	if err != nil {
		return k, "", err
	}
	s, err := evidence.LoadKey(path)
	if errors.Is(err, evidence.ErrNoKey) {
		return k, "", fmt.Errorf("%w; pass the tracker's public key with --key", err)
	}
	if err != nil {
		return k, "", err
	}
	return s.PublicKey(), path, nil
}

// RunAuditVerify checks the audit log's chain in the database.
func RunAuditVerify(ctx context.Context, env Env, o AuditVerifyOptions) error {
	env = env.filled()
	v := evidence.Verifier{}
	for _, a := range o.Anchors {
		h, err := evidence.ParseHead(a)
		if err != nil {
			return fmt.Errorf("--anchor: %w", err)
		}
		v.Anchors = append(v.Anchors, h)
	}
	report := func(sum evidence.ChainSummary, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNotVerified, err)
		}
		fmt.Fprintf(env.Out, "audit log intact: %d entries, %d with text erased with their subject, %d anchors held\nhead %s\n",
			sum.Entries, sum.Redacted, len(v.Anchors), sum.Head)
		return nil
	}
	if o.File != "" {
		pub, _, err := verifyKey(VerifyOptions{Key: o.Key, DB: o.DB, KeyFile: o.KeyFile})
		if err != nil {
			return err
		}
		file, err := os.ReadFile(o.File)
		if err != nil {
			return fmt.Errorf("reading audit log export: %w", err)
		}
		if _, err := evidence.Verify(pub, file); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNotVerified, o.File, err)
		}
		var x struct {
			Header struct {
				AuditHead string `json:"audit_head"`
			} `json:"header"`
			Entries []evidence.Entry `json:"entries"`
		}
		if err := json.Unmarshal(file, &x); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNotVerified, o.File, err)
		}
		// The signed header names the head when the file was made; the
		// entries must reach it.
		if h, err := evidence.ParseHead(x.Header.AuditHead); err == nil {
			v.Anchors = append(v.Anchors, h)
		}
		for _, e := range x.Entries {
			v.Add(e)
		}
		return report(v.Finish())
	}
	return withStore(ctx, env, o.DB, func(st store.Store) error {
		if err := st.AuditChain(ctx, func(e evidence.Entry) error {
			v.Add(e) // the first problem is kept and reported by Finish
			return nil
		}); err != nil {
			return err
		}
		return report(v.Finish())
	})
}
