package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqlitePragmas apply to every connection: WAL so that readers never wait
// for the writer, a busy timeout so that writers from other processes (a
// CLI next to the server) wait for each other instead of failing, foreign
// keys (off by default in SQLite), and NORMAL sync, which is durable in WAL
// mode except for the last transactions before a power loss.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

// openSQLite opens two pools on one file. Writes go through a pool of one
// connection whose transactions start with BEGIN IMMEDIATE: SQLite allows
// one writer anyway, queueing writers in Go is fairer than letting them
// sleep in the busy handler (and 15-20% faster on parallel refreshes, see
// BenchmarkRotateRefreshToken), and a transaction that reads before it
// writes cannot fail to upgrade its lock. Reads outside
// transactions go to a pool of query_only connections, which WAL lets run
// alongside the writer.
func openSQLite(_ context.Context, path string, maxConns int, allowShared bool, log *slog.Logger) (*Store, error) {
	if err := checkSQLitePath(path); err != nil {
		return nil, err
	}
	if err := prepareSQLiteFile(path, allowShared); err != nil {
		return nil, err
	}
	// Checkpoints are the checkpointer's, not a commit's (see checkpointer).
	w, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit("+strconv.Itoa(walSizeLimit)+")")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	r, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(maxConns)
	r.SetMaxIdleConns(maxConns)
	ck, err := sql.Open("sqlite", path+"?"+sqlitePragmas)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	wc := newStmtCache(w)
	d := sqliteDialect{}
	return &Store{r: r, w: w, rc: newStmtCache(r), wc: wc, d: d, log: log,
		ckpt: startCheckpointer(ck, w), batch: startCommitter(w, wc, d.retryable)}, nil
}

func checkSQLitePath(path string) error {
	switch {
	case path == "":
		return errors.New("sqlstore: sqlite: URL names no file: want sqlite:PATH")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return fmt.Errorf("sqlstore: sqlite:%s is not supported: name a file", path)
	case strings.ContainsAny(path, "?#"):
		return fmt.Errorf("sqlstore: sqlite: file name %q must not contain ? or #", path)
	}
	return nil
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) lock(context.Context, querier, lockKey) error { return nil }

// retryable: SQLITE_BUSY that the busy handler did not absorb, which
// happens when several processes open a new database at once and race to
// put it in WAL mode (the busy handler is not asked then). Any other
// SQLite transaction is serial and needs no retry.
func (sqliteDialect) retryable(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// isolate needs no savepoint on SQLite: a statement that fails is rolled
// back alone and the transaction goes on.
func (sqliteDialect) isolate(_ context.Context, _ querier, fn func() error) (error, error) {
	return fn(), nil
}

func (sqliteDialect) classify(err error) errKind {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return kindOther
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return kindConflict
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return kindMissingRef
	}
	switch e.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR:
		return kindUnavailable
	case sqlite3.SQLITE_TOOBIG: // a string or blob over the length limit
		return kindInvalid
	}
	return kindOther
}

// conflictOn reads the message of a unique violation, which SQLite writes
// as "UNIQUE constraint failed: table.column[, table.column…]".
func (sqliteDialect) conflictOn(err error, ix uniqueIndex) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) || e.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return false
	}
	_, cols, ok := strings.Cut(e.Error(), "UNIQUE constraint failed: ")
	cols, _, _ = strings.Cut(cols, " (")
	return ok && cols == ix.columns
}

func (sqliteDialect) skipLocked() string { return "" }
