package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointEvery is how often the WAL of an SQLite database is copied
// back into the database file.
const checkpointEvery = 250 * time.Millisecond

// walSizeLimit is the size a WAL file is cut back to when it restarts
// (journal_size_limit): a burst of writes may grow it past this, but it
// does not keep that size on disk.
const walSizeLimit = 64 << 20

// checkpointer copies an SQLite WAL back into the database file in the
// background. SQLite does it by default inside the commit that passes
// 1000 pages, which then takes several milliseconds longer: the p99 of a
// write was that commit's (POST /auth/password/forgot at 200/s: 5.8 ms
// with it, 2.2 ms without). The write connections leave the WAL alone
// (wal_autocheckpoint(0)).
//
// Each tick has two steps. A connection of the checkpointer's own runs a
// PASSIVE checkpoint, which waits for no reader or writer and copies the
// bulk of the WAL while writes go on. That is not enough: SQLite restarts
// the WAL from its beginning only in a write transaction that began when
// every frame was copied, and under a steady stream of writes the next
// write has always come in before the checkpoint ends, so the WAL would
// never restart and would grow without bound (half a gigabyte for 10 000
// refreshes, with every page lookup searching an index of the whole WAL).
// So a second PASSIVE checkpoint runs on the write connection, between two
// write transactions, where no write can race it: it copies only what the
// first one left, and the next write restarts the WAL (and cuts its file
// back to walSizeLimit).
type checkpointer struct {
	own, writer *sql.DB
	stop        context.CancelFunc
	done        sync.WaitGroup
}

func startCheckpointer(own, writer *sql.DB) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{own: own, writer: writer, stop: stop}
	c.done.Go(func() {
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.checkpoint(ctx) // a failure is tried again next tick
			}
		}
	})
	return c
}

// checkpoint runs one tick's checkpoints and reports whether the WAL was
// wholly copied.
func (c *checkpointer) checkpoint(ctx context.Context) bool {
	frames, _, err := passiveCheckpoint(ctx, c.own)
	if err != nil || frames == 0 {
		return err == nil
	}
	frames, copied, err := passiveCheckpoint(ctx, c.writer)
	return err == nil && copied >= frames
}

// passiveCheckpoint runs PRAGMA wal_checkpoint(PASSIVE) on db and returns
// the frames in the WAL and how many of them are now copied into the
// database file.
func passiveCheckpoint(ctx context.Context, db *sql.DB) (frames, copied int64, err error) {
	var busy int64
	err = db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	return frames, copied, err
}

// close stops the checkpoints, copies what the WAL still holds back, and
// closes the checkpointer's connection (the write connection is the
// store's to close).
func (c *checkpointer) close() error {
	c.stop()
	c.done.Wait()
	c.checkpoint(context.Background())
	return c.own.Close()
}
