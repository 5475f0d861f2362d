package sqlstore

import (
	"context"
	"sync"
	"testing"
)

// migrations returns the versions recorded in schema_migrations, with the
// times they were applied.
func migrations(t *testing.T, s *Store) map[int64]int64 {
	t.Helper()
	rows, err := s.r.Query(`SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	got := map[int64]int64{}
	for rows.Next() {
		var v, at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		got[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// wantAllMigrations checks that every embedded migration is recorded once.
func wantAllMigrations(t *testing.T, s *Store) map[int64]int64 {
	t.Helper()
	ms, err := loadMigrations(s.d.name())
	if err != nil {
		t.Fatal(err)
	}
	got := migrations(t, s)
	if len(got) != len(ms) || len(ms) == 0 {
		t.Fatalf("schema_migrations has %v, want the %d embedded migrations", got, len(ms))
	}
	for _, m := range ms {
		if _, ok := got[m.version]; !ok {
			t.Fatalf("migration %s is not recorded", m.name)
		}
	}
	return got
}

func TestMigrateTwice(t *testing.T) {
	dialects(t, func(t *testing.T, url string) {
		s := closeAtEnd(t, openMigrated(t, url))
		first := wantAllMigrations(t, s)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		second := wantAllMigrations(t, s)
		for v, at := range first {
			if second[v] != at {
				t.Fatalf("the second Migrate applied version %d again", v)
			}
		}
	})
}

// TestMigrateConcurrent starts three stores on one empty database at once,
// as replicas do: each migration must be applied exactly once.
func TestMigrateConcurrent(t *testing.T) {
	dialects(t, func(t *testing.T, url string) {
		var wg sync.WaitGroup
		errs := make([]error, 3)
		stores := make([]*Store, 3)
		for i := range stores {
			s, err := Open(context.Background(), url, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			stores[i] = closeAtEnd(t, s)
			wg.Go(func() { errs[i] = s.Migrate(context.Background()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Migrate %d: %v", i, err)
			}
		}
		wantAllMigrations(t, stores[0])
	})
}

func TestMigrationFiles(t *testing.T) {
	for _, d := range []dialect{sqliteDialect{}, postgresDialect{}} {
		ms, err := loadMigrations(d.name())
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if m.version != int64(i+1) {
				t.Errorf("%s: migration %s: want version %d (no gaps)", d.name(), m.name, i+1)
			}
		}
	}
	a, _ := loadMigrations("sqlite")
	b, _ := loadMigrations("postgres")
	if len(a) != len(b) {
		t.Fatalf("sqlite has %d migrations, postgres %d: each change needs both", len(a), len(b))
	}
	for i := range a {
		if a[i].name != b[i].name {
			t.Errorf("migration %d is %s on sqlite, %s on postgres", i, a[i].name, b[i].name)
		}
	}
}
