package sqlstore

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// The migrations of each dialect are files named NNNN_what.sql in
// migrations/<dialect>/, applied in version order. A migration, once
// released, is never edited: a change is a new file.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int64
	name    string
	sql     string
}

var opMigrate = op{name: "migrate"}

// The table of applied migrations. Its DDL is valid in both dialects.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
)`

// Migrate applies the migrations that the database lacks, each in its own
// transaction, recorded in schema_migrations. It is a no-op on an
// up-to-date database, and safe when several processes run it at once.
// Then it fills in what SQL cannot compute (backfillSkeletons).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.d.name())
	if err != nil {
		return err
	}
	for _, m := range ms {
		applied, err := s.applyMigration(ctx, m)
		if err != nil {
			return s.fail(op{name: "migrate " + m.name}, err)
		}
		if applied {
			s.log.Info("database migration applied", "version", m.version, "name", m.name)
		}
	}
	return s.backfillSkeletons(ctx)
}

// applyMigration applies m unless it has been. It holds lockMigrate from
// the check to the commit; on SQLite, BEGIN IMMEDIATE does the same.
func (s *Store) applyMigration(ctx context.Context, m migration) (bool, error) {
	var applied bool
	err := s.inTx(ctx, func(tx querier) error {
		applied = false
		if err := s.d.lock(ctx, tx, lockMigrate); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
			return err
		}
		var n int
		err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil { // several statements: not prepared
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, ms(now()))
		applied = err == nil
		return err
	})
	return applied, err
}

// loadMigrations reads the migrations of a dialect, in version order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", opMigrate.name, err)
	}
	var ms []migration
	for _, e := range entries {
		m, err := readMigration(dir, e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", opMigrate.name, err)
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: %s: two migrations have version %d", opMigrate.name, ms[i].version)
		}
	}
	return ms, nil
}

func readMigration(dir, name string) (migration, error) {
	digits, _, ok := strings.Cut(name, "_")
	v, err := strconv.ParseInt(digits, 10, 64)
	if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
		return migration{}, fmt.Errorf("migration file %s is not named NNNN_what.sql", name)
	}
	b, err := migrationFiles.ReadFile(path.Join(dir, name))
	return migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)}, err
}
