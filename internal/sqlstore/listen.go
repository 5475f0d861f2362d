package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the PostgreSQL channel on which every transaction that
// records a revocation sends a NOTIFY (delivered at commit, not before).
const NotifyChannel = "gatehouse_revocations"

// KeysChannel is the PostgreSQL channel on which every transaction that
// stores a signing key sends a NOTIFY (delivered at commit, not before).
const KeysChannel = "gatehouse_keys"

// notifyKeys wakes the key listeners of other processes when tx commits.
func notifyKeys(ctx context.Context, tx querier) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, KeysChannel)
	return err
}

// notifyRevocations wakes the listeners of other replicas when tx commits.
func notifyRevocations(ctx context.Context, tx querier) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, NotifyChannel)
	return err
}

// CanListen reports whether the database can tell other processes about
// revocations as they commit (PostgreSQL LISTEN/NOTIFY).
func (s *Store) CanListen() bool { return s.listenCfg != nil }

// Listen runs until ctx ends: it LISTENs on NotifyChannel over a connection
// of its own, calls onConnect after every (re)connection (the caller
// reloads its whole state there, so nothing committed while it was away
// stays missed), and onNotify for every notification. It reconnects with
// capped backoff. On SQLite it returns at once.
func (s *Store) Listen(ctx context.Context, onConnect func(context.Context) error, onNotify func(context.Context)) {
	s.listen(ctx, NotifyChannel, onConnect, onNotify)
}

// ListenKeys is Listen on KeysChannel: onNotify runs for every signing key
// stored by any process.
func (s *Store) ListenKeys(ctx context.Context, onConnect func(context.Context) error, onNotify func(context.Context)) {
	s.listen(ctx, KeysChannel, onConnect, onNotify)
}

func (s *Store) listen(ctx context.Context, channel string, onConnect func(context.Context) error, onNotify func(context.Context)) {
	if s.listenCfg == nil {
		return
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channel, onConnect, onNotify, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("database listener lost its connection; retrying", "channel", channel, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, channel string, onConnect func(context.Context) error, onNotify func(context.Context), connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.listenCfg.Copy())
	if err != nil {
		return fmt.Errorf("sqlstore: listen: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("sqlstore: listen: %w", err)
	}
	if err := onConnect(ctx); err != nil {
		return fmt.Errorf("sqlstore: listen: reload: %w", err)
	}
	connected()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("sqlstore: listen: %w", err)
		}
		onNotify(ctx)
	}
}
