package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/internal/testdb"
	"github.com/keywizard/keywizard/tracker/store"
)

// TestRosterCommands: on the tracker's host, IT edits a person, imports a
// roster (dry run first), makes someone a leaver and issues and revokes a
// provisioning token, on either database; each change is audited as the
// local command.
func TestRosterCommands(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		dsn := b.DSN(t)
		var out bytes.Buffer
		must := func(args ...string) string {
			t.Helper()
			out.Reset()
			if err := run(t, ctx, &out, append([]string{"--db", dsn}, args...)...); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out.String())
			}
			return out.String()
		}
		must("person", "add", "--email", "maria@example.com", "--name", "Maria", "--start", "2025-01-06")
		must("person", "add", "--email", "ann@example.com", "--name", "Ann Lee", "--start", "2026-03-02")
		got := must("person", "edit", "--email", "ann@example.com", "--team", "Platform", "--manager", "maria@example.com", "--due", "2026-04-30", "--reason", "reorganisation")
		if !strings.Contains(got, `team "Platform"`) || !strings.Contains(got, "due 2026-04-30") {
			t.Errorf("edit: %s", got)
		}
		out.Reset()
		if err := run(t, ctx, &out, "--db", dsn, "person", "edit", "--email", "ann@example.com", "--name", "Eve \u202eNIMDA TI"); err == nil || !strings.Contains(err.Error(), "name: must not contain invisible") {
			t.Errorf("edit with a bidi override: %v", err)
		}

		roster := filepath.Join(t.TempDir(), "roster.csv")
		os.WriteFile(roster, []byte("email,name,team,manager_email,start_date\nann@example.com,Ann Lee,Platform,maria@example.com,2026-03-02\nkim@example.com,Kim Park,Platform,maria@example.com,2026-03-09\n"), 0o600)
		got = must("person", "import", "--dry-run", roster)
		if !strings.Contains(got, "Dry run, nothing changed: 1 to create, 0 to update, 1 unchanged") || !strings.Contains(got, "row 2 kim@example.com: create") {
			t.Errorf("dry run: %s", got)
		}
		got = must("person", "import", roster)
		if !strings.Contains(got, "Imported: 1 to create") {
			t.Errorf("import: %s", got)
		}
		got = must("person", "leave", "--email", "kim@example.com", "--reason", "offer withdrawn")
		if !strings.Contains(got, "kim@example.com is a leaver since") {
			t.Errorf("leave: %s", got)
		}
		got = must("scim", "token", "--name", "okta")
		if !strings.Contains(got, "\nkws_") {
			t.Errorf("scim token: %s", got)
		}
		must("scim", "revoke")

		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ann, _ := st.PersonByEmail(ctx, "ann@example.com")
		maria, _ := st.PersonByEmail(ctx, "maria@example.com")
		kim, _ := st.PersonByEmail(ctx, "kim@example.com")
		if ann.Team != "Platform" || ann.ManagerID != maria.ID || ann.DueDate != "2026-04-30" || kim.ManagerID != maria.ID || !kim.Left() {
			t.Errorf("stored: ann %+v, kim %+v", ann, kim)
		}
		es, _ := st.Audit(ctx, ann.ID, 0)
		found := false
		for _, e := range es {
			if e.Action == "person.update" && e.Actor == "local-admin-command" && e.Reason == "reorganisation" {
				found = true
			}
		}
		if !found {
			t.Errorf("no audited edit: %+v", es)
		}
		sel := strings.TrimSpace(got[strings.Index(got, "kws_")+4:])
		if c, err := st.ServiceToken(ctx, sel[:16]); err != nil || !c.Used {
			t.Errorf("token after revoke: %+v %v", c, err)
		}
	})
}
