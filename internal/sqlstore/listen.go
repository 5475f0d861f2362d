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
// Like every channel here it is the name in the public schema; see
// channelName for the others.
const NotifyChannel = "gatehouse_revocations"

// KeysChannel is the PostgreSQL channel on which every transaction that
// stores a signing key sends a NOTIFY (delivered at commit, not before).
const KeysChannel = "gatehouse_keys"

// channelName is the SQL expression, with the base channel as $1, of the
// channel a connection notifies and listens on. Channels belong to the
// whole database, not to a schema, so a deployment in another schema
// (search_path) gets channels of its own: the base name and 16 hex digits
// of its schema's MD5 (38 bytes at most, under PostgreSQL's 63). The
// public schema keeps the base name. Notifier and listener both compute it
// on their own connection, so they agree.
const channelName = `CASE WHEN coalesce(current_schema(), 'public') = 'public' THEN $1::text
	ELSE $1::text || '_' || left(md5(current_schema()), 16) END`

// notifyKeys wakes the key listeners of other processes when tx commits.
func notifyKeys(ctx context.Context, tx querier) error {
	return notify(ctx, tx, KeysChannel)
}

// notifyRevocations wakes the listeners of other replicas when tx commits.
func notifyRevocations(ctx context.Context, tx querier) error {
	return notify(ctx, tx, NotifyChannel)
}

func notify(ctx context.Context, tx querier, channel string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify(`+channelName+`, '')`, channel)
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
	var name string
	if err := conn.QueryRow(ctx, `SELECT `+channelName, channel).Scan(&name); err != nil {
		return fmt.Errorf("sqlstore: listen: channel name: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
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
