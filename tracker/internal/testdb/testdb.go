// Package testdb opens fresh tracker stores for tests: a SQLite file in a
// temporary directory and, when configured, a private schema in the
// PostgreSQL named by KEYWIZARD_TEST_POSTGRES.
package testdb

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keywizard/keywizard/tracker/store"
)

// EnvPostgres names the environment variable holding the test database URL.
const EnvPostgres = "KEYWIZARD_TEST_POSTGRES"

// Backend is one database kind under test.
type Backend struct {
	Name string
	// DSN returns a DSN for a new, empty database.
	DSN func(t testing.TB) string
}

// Backends returns SQLite and PostgreSQL. PostgreSQL fails the test (rather
// than skipping it silently) when KEYWIZARD_TEST_POSTGRES is unset, and is
// left out only when it is explicitly "off".
func Backends(t testing.TB) []Backend {
	bs := []Backend{{Name: "sqlite", DSN: SQLiteDSN}}
	switch os.Getenv(EnvPostgres) {
	case "off":
		t.Logf("%s=off: PostgreSQL tests skipped", EnvPostgres)
	default:
		bs = append(bs, Backend{Name: "postgres", DSN: PostgresDSN})
	}
	return bs
}

// SQLiteDSN returns a path to a new SQLite file.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "tracker.db")
}

// PostgresDSN creates a private schema in the test PostgreSQL server and
// returns a URL whose search_path points at it; the schema is dropped when
// the test ends.
func PostgresDSN(t testing.TB) string {
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("%s is not set: run `make test`, or `export %s=$(scripts/postgres.sh)`, or set it to \"off\" to skip PostgreSQL", EnvPostgres, EnvPostgres)
	}
	if base == "off" {
		t.Skipf("%s=off", EnvPostgres)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("opening %s: %v", EnvPostgres, err)
	}
	defer db.Close()
	schema := strings.ToLower(store.NewID("t_"))
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating schema (is scripts/postgres.sh running?): %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a store on a fresh database of backend b and closes it when the
// test ends.
func Open(t testing.TB, b Backend) (store.Store, string) {
	dsn := b.DSN(t)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("opening %s store: %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dsn
}

// ForEach runs f as a subtest per backend.
func ForEach(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}
