package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/auth"
)

var _ auth.Store = (*Store)(nil)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// MaxConns caps the connections to the database: the read pool for
	// SQLite (which writes through one connection of its own), the one pool
	// for PostgreSQL. 0 means the greater of 4 and the number of CPUs. For
	// PostgreSQL a pool_max_conns parameter in the URL wins over it.
	MaxConns int
	// Logger receives the few events worth logging (migrations applied).
	// nil discards them.
	Logger *slog.Logger
	// InsecureAllowSharedFile opens an SQLite database file (or its -wal or
	// -shm file) that other local users may access; without it such a
	// file is refused.
	InsecureAllowSharedFile bool
}

// Store is an auth.Store on a SQL database. It is safe for concurrent use.
type Store struct {
	r      *sql.DB    // reads outside transactions
	w      *sql.DB    // transactions and writes; the same pool as r on PostgreSQL
	rc, wc *stmtCache // prepared statements of r and w; nil on PostgreSQL
	d      dialect
	log    *slog.Logger
	// listenCfg connects the LISTEN connection; nil on SQLite.
	listenCfg *pgx.ConnConfig
	// ckpt checkpoints an SQLite WAL in the background; nil on PostgreSQL.
	ckpt *checkpointer
	// batch runs SQLite's write transactions, several to a commit; nil on
	// PostgreSQL, whose transactions run side by side.
	batch *committer
}

// Open prepares a Store for url: "sqlite:PATH" (a file, created if
// missing) or "postgres://…" / "postgresql://…" (any parameter pgx knows;
// search_path selects the schema). It checks the URL and sets up the
// connection pools but does not connect: Ping or Migrate tell whether the
// database answers.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = max(4, runtime.NumCPU())
	}
	scheme, _, _ := strings.Cut(url, ":")
	switch scheme {
	case "sqlite":
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite:"), maxConns, opts.InsecureAllowSharedFile, log)
	case "postgres", "postgresql":
		return openPostgres(ctx, url, maxConns, log)
	}
	return nil, fmt.Errorf("sqlstore: unsupported database URL %q: want sqlite:PATH or postgres://…", redact(url))
}

// redact keeps the scheme of a URL that is not understood, so that an
// error message never repeats a password.
func redact(url string) string {
	if scheme, _, ok := strings.Cut(url, "://"); ok {
		return scheme + "://…"
	}
	if len(url) > 16 {
		return url[:16] + "…"
	}
	return url
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail(opPing, s.r.PingContext(ctx))
}

// Close releases the connections.
func (s *Store) Close() error {
	var err error
	if s.batch != nil { // first: what it was handed commits
		s.batch.close()
	}
	if s.ckpt != nil { // its last checkpoint may use the write connection
		err = s.ckpt.close()
	}
	if s.rc != nil {
		err = errors.Join(err, s.rc.close(), s.wc.close())
	}
	err = errors.Join(err, s.r.Close())
	if s.w != s.r {
		err = errors.Join(err, s.w.Close())
	}
	return err
}

// read runs statements on the read pool.
func (s *Store) read() querier { return querier{db: s.r, cache: s.rc} }

// write runs single statements that write, outside a transaction.
func (s *Store) write() querier { return querier{db: s.w, cache: s.wc} }

// maxAttempts bounds the retries of a transaction that PostgreSQL aborted
// to break a deadlock or a serialization conflict.
const maxAttempts = 3

// inTx runs fn in a write transaction and commits it if fn returns nil. fn
// may run more than once, so it must assign its results, not append. On
// SQLite the transaction shares its commit with those that queued beside
// it (see committer).
func (s *Store) inTx(ctx context.Context, fn func(querier) error) error {
	if s.batch != nil {
		return s.batch.do(ctx, fn)
	}
	if s.wc != nil {
		defer s.wc.preparePending(ctx)
	}
	return retryTx(ctx, s.w, s.wc, s.d.retryable, fn)
}

// retryTx runs fn in a transaction of db and commits it, trying again
// (up to maxAttempts, a little apart) when retryable says the database
// refused it for a reason that may not hold the next time.
func retryTx(ctx context.Context, db *sql.DB, cache *stmtCache, retryable func(error) bool, fn func(querier) error) error {
	for attempt := 1; ; attempt++ {
		err := tryTx(ctx, db, cache, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		select { // a little apart, so that the contenders do not meet again
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
}

func tryTx(ctx context.Context, db *sql.DB, cache *stmtCache, fn func(querier) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if err := fn(querier{db: db, tx: tx, cache: cache}); err != nil {
		return err
	}
	return tx.Commit()
}

// execOne runs a statement that must change exactly one row, and returns
// sql.ErrNoRows when it changes none.
func execOne(ctx context.Context, db querier, query string, args ...any) error {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// Times are stored as unix milliseconds, UTC.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS stores the zero time as NULL.
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromNullMS reads NULL as the zero time.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// now is the store's clock for the methods that take no time.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
