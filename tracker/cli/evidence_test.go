package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/tracker"
	"github.com/keywizard/keywizard/tracker/cli"
	"github.com/keywizard/keywizard/tracker/evidence"
	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/server"
	"github.com/keywizard/keywizard/tracker/store"
)

// A tracker started on a data directory signs its exports with the key
// `tracker signing-key` prints; `tracker verify` accepts what it sent and
// refuses any changed byte, for CSV and JSON.
func TestVerifyExports(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "tracker.db")
	var pub bytes.Buffer
	if err := run(t, ctx, &pub, "--db", db, "signing-key"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub.String(), "untrusted comment: minisign public key") {
		t.Fatalf("signing-key printed %q", pub.String())
	}
	pubFile := filepath.Join(dir, "tracker.pub")
	os.WriteFile(pubFile, pub.Bytes(), 0o644)
	fi, err := os.Stat(filepath.Join(dir, cli.SigningKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", fi, err)
	}

	// The server as serve wires it: the key from the data directory.
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keyPath, _ := cli.SigningKeyPath(db, "")
	signer, err := evidence.LoadKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, Signer: signer, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	_, tok, err := server.CreateAdmin(ctx, st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk", Team: "IT"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The key the tracker serves is the one signing-key printed.
	if served := get(t, hs.URL+"/v1/signing-key", ""); served != pub.String() {
		t.Errorf("served key %q, printed %q", served, pub.String())
	}

	for _, kind := range []string{"csv", "json"} {
		file := filepath.Join(dir, "export."+kind)
		os.WriteFile(file, []byte(get(t, hs.URL+"/v1/export."+kind, tok)), 0o644)
		var out bytes.Buffer
		if err := run(t, ctx, &out, "verify", file, "--key", pubFile); err != nil {
			t.Fatalf("%s: a good export refused: %v\n%s", kind, err, out.String())
		}
		if !strings.Contains(out.String(), "good signature") || !strings.Contains(out.String(), "by it@example.com") {
			t.Errorf("%s: verify said %q", kind, out.String())
		}
		// On the tracker's host the key can come from its data directory.
		if err := run(t, ctx, io.Discard, "--db", db, "verify", file); err != nil {
			t.Errorf("%s: with the host's key: %v", kind, err)
		}
		good, _ := os.ReadFile(file)
		for _, i := range []int{0, len(good) / 3, len(good) / 2, len(good) - 30, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[i] ^= 0x01
			os.WriteFile(file, bad, 0o644)
			err := run(t, ctx, io.Discard, "verify", file, "--key", pubFile)
			if !errors.Is(err, cli.ErrNotVerified) {
				t.Errorf("%s: byte %d changed, verify said %v", kind, i, err)
			}
		}
	}
	if err := run(t, ctx, io.Discard, "verify", filepath.Join(dir, "export.csv"), "--db", filepath.Join(t.TempDir(), "other.db")); !errors.Is(err, evidence.ErrNoKey) {
		t.Errorf("no key anywhere: %v", err)
	}
}

func get(t *testing.T, url, tok string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

func TestAuditVerify(t *testing.T) {
	cases := []struct{ name, sql, want string }{
		{"intact", "", ""},
		{"edited", "UPDATE audit SET reason = 'nothing happened' WHERE seq = 3", "audit entry 3: reason or detail changed"},
		{"removed", "DELETE FROM audit WHERE seq = 3", "audit entry 4: entries 3 to 3 are missing"},
		{"reordered", "UPDATE audit SET seq = -seq WHERE seq IN (3, 4); UPDATE audit SET seq = CASE seq WHEN -3 THEN 4 ELSE 3 END WHERE seq IN (-3, -4)", "audit entry 3:"},
		{"cut from the end", "DELETE FROM audit WHERE seq = 5", "before the anchor"},
	}
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		for _, c := range cases {
			t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
				ctx := context.Background()
				st, dsn := testdb.Open(t, b)
				for i := range 5 {
					if err := st.AppendAudit(ctx, tracker.AuditEntry{At: time.Now(), Actor: "p_it", Action: "key.lost", Subject: "p_ann", Reason: fmt.Sprintf("reason %d", i)}); err != nil {
						t.Fatal(err)
					}
				}
				head, err := st.AuditHead(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if c.sql != "" {
					driver, src := "pgx", dsn
					if b.Name == "sqlite" {
						driver, src = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
					}
					raw, err := sql.Open(driver, src)
					if err != nil {
						t.Fatal(err)
					}
					defer raw.Close()
					for _, q := range strings.Split(c.sql, ";") {
						if _, err := raw.Exec(q); err != nil {
							t.Fatal(err)
						}
					}
				}
				var out bytes.Buffer
				err = run(t, ctx, &out, "--db", dsn, "audit", "verify", "--anchor", head.String())
				if c.want == "" {
					if err != nil || !strings.Contains(out.String(), "audit log intact: 5 entries") || !strings.Contains(out.String(), "head "+head.String()) {
						t.Fatalf("intact log: %v\n%s", err, out.String())
					}
					return
				}
				if !errors.Is(err, cli.ErrNotVerified) || !errors.Is(err, evidence.ErrChainBroken) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("%s: got %v, want an error with %q", c.name, err, c.want)
				}
			})
		}
	})
}

// An auditor without the database checks IT's signed download of the log.
func TestAuditVerifyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "tracker.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keyPath, _ := cli.SigningKeyPath(db, "")
	signer, err := evidence.LoadOrCreateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "tracker.pub")
	os.WriteFile(pubFile, []byte(signer.PublicKeyText()), 0o644)
	srv, err := server.New(server.Config{Store: st, Signer: signer, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	_, tok, err := server.CreateAdmin(ctx, st, tracker.CreatePerson{Email: "it@example.com", Name: "IT Desk", Team: "IT"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		st.AppendAudit(ctx, tracker.AuditEntry{At: time.Now(), Actor: "p_it", Action: "key.lost", Subject: "p_ann", Reason: fmt.Sprintf("reason %d", i)})
	}
	file := filepath.Join(dir, "audit.json")
	os.WriteFile(file, []byte(get(t, hs.URL+"/v1/audit/chain", tok)), 0o644)
	var out bytes.Buffer
	if err := run(t, ctx, &out, "audit", "verify", "--file", file, "--key", pubFile); err != nil || !strings.Contains(out.String(), "audit log intact: 5 entries") {
		t.Fatalf("good download: %v\n%s", err, out.String())
	}
	good, _ := os.ReadFile(file)
	os.WriteFile(file, bytes.Replace(good, []byte("reason 1"), []byte("reason X"), 1), 0o644)
	if err := run(t, ctx, io.Discard, "audit", "verify", "--file", file, "--key", pubFile); !errors.Is(err, evidence.ErrBadSignature) {
		t.Errorf("edited download: %v", err)
	}
	// A log edited in the database before the download: the signature
	// holds, the chain does not.
	raw, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE audit SET reason = 'found it' WHERE seq = 4"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, []byte(get(t, hs.URL+"/v1/audit/chain", tok)), 0o644)
	err = run(t, ctx, io.Discard, "audit", "verify", "--file", file, "--key", pubFile)
	if !errors.Is(err, evidence.ErrChainBroken) || !strings.Contains(err.Error(), "audit entry 4") {
		t.Errorf("download of an edited log: %v", err)
	}
}
