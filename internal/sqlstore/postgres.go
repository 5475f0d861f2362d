package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens one pool. Parameters that pgx does not know, such as
// search_path, are sent to the server as run-time parameters; the pool_*
// parameters of pgxpool are read here and removed, since the server would
// refuse them.
func openPostgres(_ context.Context, url string, maxConns int, log *slog.Logger) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: postgres: %w", err)
	}
	pool, err := takePoolParams(cfg.RuntimeParams, maxConns)
	if err != nil {
		return nil, err
	}
	listen := cfg.Copy()
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(pool.maxConns)
	db.SetMaxIdleConns(pool.maxConns)
	db.SetConnMaxLifetime(pool.maxLifetime)
	db.SetConnMaxIdleTime(pool.maxIdleTime)
	return &Store{r: db, w: db, d: postgresDialect{}, log: log, listenCfg: listen}, nil
}

// poolParams are the pool settings that a URL may carry.
type poolParams struct {
	maxConns    int
	maxLifetime time.Duration
	maxIdleTime time.Duration
}

// takePoolParams removes the pool_* parameters from params and returns
// them: pool_max_conns, pool_max_conn_lifetime, pool_max_conn_idle_time.
func takePoolParams(params map[string]string, maxConns int) (poolParams, error) {
	p := poolParams{maxConns: maxConns, maxLifetime: time.Hour, maxIdleTime: 5 * time.Minute}
	for k, v := range params {
		if !strings.HasPrefix(k, "pool_") {
			continue
		}
		delete(params, k)
		if err := p.set(k, v); err != nil {
			return p, fmt.Errorf("sqlstore: postgres: URL parameter %s=%q: %w", k, v, err)
		}
	}
	return p, nil
}

func (p *poolParams) set(k, v string) error {
	var err error
	switch k {
	case "pool_max_conns":
		p.maxConns, err = strconv.Atoi(v)
		if err == nil && p.maxConns < 1 {
			err = errors.New("must be at least 1")
		}
	case "pool_max_conn_lifetime":
		p.maxLifetime, err = time.ParseDuration(v)
	case "pool_max_conn_idle_time":
		p.maxIdleTime, err = time.ParseDuration(v)
	default:
		err = errors.New("not supported")
	}
	return err
}

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

// lock takes a transaction-level advisory lock, released at commit or
// rollback. Its second half is the schema, so that stores in different
// schemas of one database (tests) do not wait for each other.
func (postgresDialect) lock(ctx context.Context, tx querier, key lockKey) error {
	_, err := tx.ExecContext(ctx,
		`SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`, int32(key))
	return err
}

// isolate runs fn under a savepoint: on PostgreSQL a failed statement
// aborts the whole transaction unless rolled back to one.
func (postgresDialect) isolate(ctx context.Context, tx querier, fn func() error) (fnErr, err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT isolated`); err != nil {
		return nil, err
	}
	if fnErr = fn(); fnErr != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT isolated`); err != nil {
			return nil, err
		}
		return fnErr, nil
	}
	_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT isolated`)
	return nil, err
}

func (postgresDialect) retryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
}

func (postgresDialect) classify(err error) errKind {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return kindUnavailable
	}
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return kindOther
	}
	switch e.Code {
	case "23505": // unique_violation
		return kindConflict
	case "23503": // foreign_key_violation
		return kindMissingRef
	}
	switch e.Code[:min(2, len(e.Code))] {
	case "08", // connection exception
		"53", // insufficient resources (too many connections, disk full)
		"57": // operator intervention (shutdown, statement timeout)
		return kindUnavailable
	case "22": // data exception: 22021 a NUL byte or bad UTF-8, 22001 too long, 22P02 bad syntax
		return kindInvalid
	}
	return kindOther
}

func (postgresDialect) conflictOn(err error, ix uniqueIndex) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505" && e.ConstraintName == ix.name
}

func (postgresDialect) skipLocked() string { return " FOR UPDATE SKIP LOCKED" }
