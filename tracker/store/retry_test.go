package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestTransientWriteRetried: a write that loses to another tracker
// instance's transaction (PostgreSQL's deadlock_detected or
// serialization_failure) is run again on its own and its caller sees the
// success; any other error reaches the caller at once, and a write that
// keeps losing reports the database's error after a bounded number of runs.
func TestTransientWriteRetried(t *testing.T) {
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		failures []error // returned by the first runs, then success
		wantRuns int
		wantErr  bool
	}{
		{"deadlock once", []error{&pgconn.PgError{Code: "40P01"}}, 2, false},
		{"serialization failure twice", []error{&pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "40001"}}, 3, false},
		{"unique violation is not retried", []error{&pgconn.PgError{Code: "23505"}}, 1, true},
		{"plain error is not retried", []error{errors.New("no")}, 1, true},
		{"always deadlocked", []error{&pgconn.PgError{Code: "40P01"}, &pgconn.PgError{Code: "40P01"}, &pgconn.PgError{Code: "40P01"}, &pgconn.PgError{Code: "40P01"}, &pgconn.PgError{Code: "40P01"}}, 1 + retries, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			err := s.write(ctx, func(tx *sql.Tx) error {
				runs++
				if runs <= len(tc.failures) {
					return tc.failures[runs-1]
				}
				_, err := tx.ExecContext(ctx, "SELECT 1")
				return err
			})
			if runs != tc.wantRuns || (err != nil) != tc.wantErr {
				t.Fatalf("%d runs, err %v; want %d runs, error %v", runs, err, tc.wantRuns, tc.wantErr)
			}
		})
	}
}
