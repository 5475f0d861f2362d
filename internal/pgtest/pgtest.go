// Package pgtest gives each test a PostgreSQL schema of its own, so that
// tests against the one test database run in parallel without meeting.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Env names the variable that holds the test database's URL.
const Env = "GATEHOUSE_TEST_POSTGRES_URL"

// URL returns the test database's URL, or skips the test saying why.
func URL(t testing.TB) string {
	u := os.Getenv(Env)
	if u == "" {
		t.Skipf("%s is not set: skipping the PostgreSQL tests", Env)
	}
	return u
}

// Schema creates a schema gh_test_<random> in base's database, drops it
// when the test ends, and returns base with search_path set to it.
func Schema(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "gh_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
