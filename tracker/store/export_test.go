package store

import (
	"context"
	"database/sql"
	"strings"
)

// MigrateOnlyTo leaves the database dsn names at schema version, as an
// older tracker would have, for upgrade tests.
func MigrateOnlyTo(ctx context.Context, dsn string, version int) error {
	d, driver, src := sqlite, "sqlite", "file:"+dsn
	if strings.HasPrefix(dsn, "postgres://") {
		d, driver, src = postgres, "pgx", dsn
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		return err
	}
	defer db.Close()
	s := &sqlStore{db: db, d: d, stmts: map[string]*sql.Stmt{}, rebound: map[string]string{}}
	return s.migrateTo(ctx, version)
}
