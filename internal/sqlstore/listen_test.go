package sqlstore

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/auth"
	"sync/atomic"
	"testing"
	"time"
)

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
