package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// committer runs the write transactions of an SQLite store, several to a
// commit (group commit). SQLite has one writer, so write transactions wait
// for each other anyway; while one commits, those that arrive meanwhile
// queue here, and the next commit takes them all: one BEGIN IMMEDIATE and
// one COMMIT for the batch, each transaction under a savepoint of its own,
// rolled back alone if it fails. Pages that several of them change (the
// tail of the audit log, the new refresh tokens) reach the WAL once per
// batch instead of once per transaction, and the connection is never idle
// between two writers.
//
// A caller's transaction is durable, and its result is told, only once the
// batch's COMMIT has returned: what a caller is told succeeded survives a
// crash as it did with a transaction of its own. If the batch as a whole
// fails (BEGIN or COMMIT fails, SQLite rolls the transaction back under a
// failed statement, or one of them is told SQLITE_BUSY), each of its
// transactions runs again in a transaction of its own, so one caller's
// trouble is never another's error. That is why fn may run more than once
// (see inTx). A transaction whose context has ended before it starts does
// not run.
type committer struct {
	db        *sql.DB
	cache     *stmtCache
	retryable func(error) bool
	reqs      chan *txReq

	mu       sync.RWMutex // closed, against inflight.Add
	closed   bool
	inflight sync.WaitGroup // callers between their send and their answer
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// txReq is one caller's transaction, waiting for its batch.
type txReq struct {
	ctx context.Context
	fn  func(querier) error
	err chan error // buffered: the committer never waits for a caller
}

// maxBatch bounds the transactions of one commit, so that a long queue
// does not make one caller wait for all of it.
const maxBatch = 64

var errStoreClosed = errors.New("sqlstore: the store is closed")

func startCommitter(db *sql.DB, cache *stmtCache, retryable func(error) bool) *committer {
	ctx, stop := context.WithCancel(context.Background())
	c := &committer{db: db, cache: cache, retryable: retryable, reqs: make(chan *txReq, maxBatch), stop: stop}
	c.done.Go(func() { c.run(ctx) })
	return c
}

// do runs fn in a write transaction, in the next batch, and returns when
// that batch has committed (or fn has failed).
func (c *committer) do(ctx context.Context, fn func(querier) error) error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errStoreClosed
	}
	c.inflight.Add(1)
	c.mu.RUnlock()
	defer c.inflight.Done()
	r := &txReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	c.reqs <- r
	// Once sent it is answered, whatever ctx does: it may be committing
	// already, and a caller told "cancelled" must not find it committed.
	err := <-r.err
	if p, ok := err.(*panicked); ok {
		panic(p.value) // in the caller's goroutine, where it would have been
	}
	return err
}

// panicked carries a panic of a caller's fn back to the caller: the
// committer's goroutine serves every writer, so one request's panic must
// not end the process (net/http recovers it for its own goroutines).
type panicked struct{ value any }

func (p *panicked) Error() string { return fmt.Sprintf("sqlstore: transaction panicked: %v", p.value) }

// run calls fn with q and returns a panic of fn as a *panicked error.
func (r *txReq) run(q querier) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicked{value: v}
		}
	}()
	return r.fn(q)
}

func (c *committer) run(ctx context.Context) {
	batch := make([]*txReq, 0, maxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.commit(batch)
		clear(batch) // let the answered requests go
		c.cache.preparePending(ctx)
	}
}

// commit runs batch and answers each of its callers.
func (c *committer) commit(batch []*txReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err <- err
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		live[0].err <- c.alone(live[0])
		return
	}
	errs, err := c.together(live)
	if err != nil {
		for _, r := range live {
			r.err <- c.alone(r)
		}
		return
	}
	for i, r := range live {
		r.err <- errs[i]
	}
}

// together runs live in one transaction, each under a savepoint, and
// returns the error of each, or an error of the whole batch (after which
// nothing of it is committed).
func (c *committer) together(live []*txReq) ([]error, error) {
	ctx := context.Background() // the batch's own statements belong to no caller
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() // a no-op after Commit
	q := querier{db: c.db, tx: tx, cache: c.cache}
	errs := make([]error, len(live))
	for i, r := range live {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT batched`); err != nil {
			return nil, err
		}
		if errs[i] = r.run(q); errs[i] != nil {
			if c.retryable(errs[i]) {
				return nil, errs[i]
			}
			// Fails when SQLite rolled the whole transaction back under
			// the failed statement (an interrupt, a full disk): the
			// savepoint is gone with it.
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO batched`); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE batched`); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return errs, nil
}

// alone runs r in a transaction of its own, retried as inTx retries.
func (c *committer) alone(r *txReq) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	return retryTx(r.ctx, c.db, c.cache, c.retryable, r.run)
}

// close answers every transaction already handed to do, then stops the
// committer; do fails from then on.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.inflight.Wait()
	c.stop()
	c.done.Wait()
}
