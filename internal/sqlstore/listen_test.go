package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// TestChannelNames: the public schema keeps the documented channel names
// (so replicas of an earlier release still hear each other); any other
// schema gets its own, within PostgreSQL's 63 bytes.
func TestChannelNames(t *testing.T) {
	t.Parallel()
	base := postgresURL(t)
	name := func(url, channel string) string {
		t.Helper()
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var got string
		if err := db.QueryRowContext(context.Background(), `SELECT `+channelName, channel).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := name(base, KeysChannel); got != KeysChannel {
		t.Errorf("public schema: channel %q, want %q", got, KeysChannel)
	}
	a, b := newSchema(t, base), newSchema(t, base)
	ka, kb := name(a, KeysChannel), name(b, KeysChannel)
	ra := name(a, NotifyChannel)
	if ka == KeysChannel || ka == kb || !strings.HasPrefix(ka, KeysChannel+"_") || !strings.HasPrefix(ra, NotifyChannel+"_") {
		t.Errorf("schema channels %q, %q, %q: want distinct names with the base as prefix", ka, kb, ra)
	}
	if len(ra) > 63 {
		t.Errorf("channel %q is %d bytes, over PostgreSQL's 63", ra, len(ra))
	}
	if again := name(a, KeysChannel); again != ka {
		t.Errorf("channel of one schema changed: %q then %q", ka, again)
	}
}

func TestListenWakesOnRevocation(t *testing.T) {
	t.Parallel()
	url := newSchema(t, postgresURL(t))
	a := closeAtEnd(t, openMigrated(t, url))
	b := closeAtEnd(t, openMigrated(t, url))
	if !b.CanListen() {
		t.Fatal("a PostgreSQL store must be able to listen")
	}
	var connects, notes atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Listen(ctx, func(context.Context) error { connects.Add(1); return nil }, func(context.Context) { notes.Add(1) })
	}()
	waitFor(t, func() bool { return connects.Load() == 1 })
	if _, err := a.RevokeToken(ctx, "jti-1", time.Now().Add(time.Hour), auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return notes.Load() >= 1 })
	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}

func TestSQLiteDoesNotListen(t *testing.T) {
	s := closeAtEnd(t, openMigrated(t, sqliteURL(t)))
	if s.CanListen() {
		t.Fatal("SQLite cannot LISTEN")
	}
	s.Listen(context.Background(), nil, nil) // returns at once
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
