package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// scratch returns an SQLite store with a table of its own to write in.
func scratch(t *testing.T) *Store {
	t.Helper()
	s := closeAtEnd(t, newSQLite(t))
	if _, err := s.w.Exec(`CREATE TABLE scratch (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return s
}

// put is a transaction writing keys, in order, then returning fail.
func put(fail error, keys ...string) func(querier) error {
	return func(tx querier) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(context.Background(), `INSERT INTO scratch (k) VALUES ($1)`, k); err != nil {
				return err
			}
		}
		return fail
	}
}

// stored returns the keys committed, read on the read pool (another
// connection than the writer's).
func stored(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.r.Query(`SELECT k FROM scratch ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// batch hands reqs to one commit, as the committer's loop does when they
// queued while the previous commit ran, and returns their answers.
func batch(s *Store, reqs ...*txReq) []error {
	s.batch.commit(reqs)
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		errs[i] = <-r.err
	}
	return errs
}

func req(ctx context.Context, fn func(querier) error) *txReq {
	return &txReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
}

// TestGroupCommitIsolatesFailures: in one batch, a transaction that fails
// leaves nothing behind, and those around it commit, seeing each other's
// writes as if they had run one after another.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := scratch(t)
	ctx := context.Background()
	boom := errors.New("boom")
	var sawA bool
	errs := batch(s,
		req(ctx, put(nil, "a")),
		req(ctx, put(boom, "b1", "b2")), // fails after writing: rolled back alone
		req(ctx, put(nil, "a")),         // a unique violation: a's row is there
		req(ctx, func(tx querier) error { // reads what the first one wrote
			var n int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM scratch WHERE k = 'a'`).Scan(&n)
			sawA = n == 1
			return err
		}),
		req(ctx, put(nil, "c")),
	)
	if errs[0] != nil || !errors.Is(errs[1], boom) || errs[2] == nil || errs[3] != nil || errs[4] != nil {
		t.Fatalf("answers %v: want nil, boom, a conflict, nil, nil", errs)
	}
	if s.d.classify(errs[2]) != kindConflict {
		t.Errorf("the repeated insert failed with %v, want a unique violation", errs[2])
	}
	if !sawA {
		t.Error("a transaction did not see what one before it in its batch wrote")
	}
	if got := stored(t, s); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("committed %q, want [a c]", got)
	}
}

// TestGroupCommitSurvivesAWreckedTransaction: a transaction that ends the
// shared transaction (as SQLite does under an interrupt or a full disk)
// makes the batch fail as a whole; the others then run alone and commit,
// and nothing of the batch's first try is left.
func TestGroupCommitSurvivesAWreckedTransaction(t *testing.T) {
	s := scratch(t)
	ctx := context.Background()
	var runs atomic.Int32
	errs := batch(s,
		req(ctx, func(tx querier) error { runs.Add(1); return put(nil, "a")(tx) }),
		req(ctx, func(tx querier) error {
			if err := put(nil, "w")(tx); err != nil {
				return err
			}
			_, err := tx.tx.ExecContext(ctx, `ROLLBACK`)
			return err // nil: it does not even say so
		}),
		req(ctx, put(nil, "c")),
	)
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("answers %v: want nil, an error, nil", errs)
	}
	if runs.Load() != 2 {
		t.Errorf("the first transaction ran %d times, want 2 (in the batch, then alone)", runs.Load())
	}
	if got := stored(t, s); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("committed %q, want [a c]", got)
	}
}

// TestGroupCommitSkipsEndedContexts: a transaction whose caller has gone
// before its batch starts does not run.
func TestGroupCommitSkipsEndedContexts(t *testing.T) {
	s := scratch(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	errs := batch(s, req(context.Background(), put(nil, "a")), req(gone, put(nil, "b")))
	if errs[0] != nil || !errors.Is(errs[1], context.Canceled) {
		t.Fatalf("answers %v: want nil, context.Canceled", errs)
	}
	if got := stored(t, s); !slices.Equal(got, []string{"a"}) {
		t.Errorf("committed %q, want [a]", got)
	}
}

// TestGroupCommitUnderLoad: many writers at once, through inTx; every
// answer is right, what succeeded is committed when its caller hears so,
// and no transaction ran twice (no batch failed as a whole).
func TestGroupCommitUnderLoad(t *testing.T) {
	s := scratch(t)
	ctx := context.Background()
	var commits atomic.Int32
	const writers, each = 16, 50
	var wg sync.WaitGroup
	errc := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				k := fmt.Sprintf("%02d-%03d", w, i)
				var fail error
				if i%10 == 9 {
					fail = errors.New("refused")
				}
				err := s.inTx(ctx, func(tx querier) error {
					commits.Add(1)
					return put(fail, k)(tx)
				})
				if (err == nil) != (fail == nil) {
					errc <- fmt.Errorf("%s: %v, want %v", k, err, fail)
					continue
				}
				if err != nil {
					continue
				}
				var n int
				if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM scratch WHERE k = $1`, k).Scan(&n); err != nil || n != 1 {
					errc <- fmt.Errorf("%s: told committed, read %d rows, %v", k, n, err)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if got, want := len(stored(t, s)), writers*each*9/10; got != want {
		t.Errorf("%d rows committed, want %d", got, want)
	}
	if n := commits.Load(); n != writers*each {
		t.Errorf("transactions ran %d times, want %d (no batch should have failed)", n, writers*each)
	}
}

// TestGroupCommitClose: Close answers what it was handed, and the store
// refuses writes after it.
func TestGroupCommitClose(t *testing.T) {
	s := scratch(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 32 {
		wg.Go(func() {
			err := s.inTx(ctx, put(nil, fmt.Sprint(i)))
			if err == nil {
				ok.Add(1)
			} else if !errors.Is(err, errStoreClosed) {
				t.Errorf("write during Close: %v", err)
			}
		})
	}
	s.batch.close()
	wg.Wait()
	if err := s.inTx(ctx, put(nil, "late")); !errors.Is(err, errStoreClosed) {
		t.Errorf("write after close: %v, want errStoreClosed", err)
	}
	if got := len(stored(t, s)); got != int(ok.Load()) {
		t.Errorf("%d rows committed, %d writers told so", got, ok.Load())
	}
}

// TestGroupCommitPanicReachesItsCaller: a transaction that panics is
// rolled back alone, its batch commits, and the panic comes out of its
// caller's inTx, not out of the committer's goroutine (which would end
// the process).
func TestGroupCommitPanicReachesItsCaller(t *testing.T) {
	s := scratch(t)
	ctx := context.Background()
	errs := batch(s,
		req(ctx, put(nil, "a")),
		req(ctx, func(tx querier) error { _ = put(nil, "p")(tx); panic("boom") }),
		req(ctx, put(nil, "c")),
	)
	var p *panicked
	if errs[0] != nil || !errors.As(errs[1], &p) || p.value != "boom" || errs[2] != nil {
		t.Fatalf("answers %v: want nil, the panic, nil", errs)
	}
	got := func() (v any) {
		defer func() { v = recover() }()
		_ = s.inTx(ctx, func(tx querier) error { panic("again") })
		return nil
	}()
	if got != "again" {
		t.Errorf("inTx of a panicking transaction: recovered %v, want the panic", got)
	}
	if err := s.inTx(ctx, put(nil, "d")); err != nil {
		t.Fatalf("a write after the panics: %v", err)
	}
	if keys := stored(t, s); !slices.Equal(keys, []string{"a", "c", "d"}) {
		t.Errorf("committed %q, want [a c d]", keys)
	}
}
