package sqlstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/pgtest"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/storetest"
)

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return newSQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	base := postgresURL(t)
	storetest.Run(t, func(t *testing.T) auth.Store { return newPostgres(t, base) })
}

// sqliteURL returns the URL of a new database file in a test directory.
func sqliteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
}

// newSQLite returns a migrated store on a new SQLite file. The caller
// closes it (storetest.Run does).
func newSQLite(t testing.TB) *Store {
	t.Helper()
	return openMigrated(t, sqliteURL(t))
}

// newPostgres returns a migrated store in a new schema of base's database.
func newPostgres(t testing.TB, base string) *Store {
	t.Helper()
	return openMigrated(t, newSchema(t, base))
}

func openMigrated(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		s.Close()
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// closeAtEnd closes s when the test ends.
func closeAtEnd(t testing.TB, s *Store) *Store {
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresURL returns the test database's URL, or skips the test.
func postgresURL(t testing.TB) string { return pgtest.URL(t) }

// newSchema creates a schema of the test's own (see pgtest.Schema).
func newSchema(t testing.TB, base string) string {
	t.Helper()
	return pgtest.Schema(t, base)
}

// dialects runs fn against SQLite, and against PostgreSQL when it is
// configured, each time with the URL of an empty database.
func dialects(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newSchema(t, postgresURL(t))) })
}
