package redisbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// channelName is the channel that carries revocations, before the prefix.
const channelName = "gatehouse:revocations"

// openPingTimeout bounds the reachability check that Open logs.
const openPingTimeout = 2 * time.Second

// Options configures a Bus.
type Options struct {
	// Prefix is prepended to every key and to the channel name. It is empty
	// in production; tests use a unique prefix each.
	Prefix string
	// Log receives connection changes and skipped messages; nil discards.
	Log *slog.Logger
}

// Bus publishes revocations to Redis and receives those of other replicas.
// It is safe for concurrent use; Run should be called once.
type Bus struct {
	client    *redis.Client
	prefix    string
	channel   string
	log       *slog.Logger
	connected atomic.Bool
	done      chan struct{} // closed by Close; stops Run
	closeOnce sync.Once
	closeErr  error
}

// Open returns a Bus for the redis:// or rediss:// URL. It fails only on a
// bad URL: when Redis is unreachable it logs a warning and returns a working
// Bus, whose Ping fails and whose Run keeps retrying, so that the server can
// start and serve from the database alone.
func Open(ctx context.Context, rawURL string, opt Options) (*Bus, error) {
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisbus: open: %w", redactURLError(err))
	}
	ro.ContextTimeoutEnabled = true // ctx deadlines bound every command
	ro.DialerRetries = 1            // Run has its own backoff; fail fast
	b := &Bus{
		client:  redis.NewClient(ro),
		prefix:  opt.Prefix,
		channel: opt.Prefix + channelName,
		log:     opt.Log,
		done:    make(chan struct{}),
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.checkReachable(ctx)
	return b, nil
}

// redactURLError drops the URL, which may hold a password, from a parse error.
func redactURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

func (b *Bus) checkReachable(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, openPingTimeout)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		b.log.Warn("redisbus: redis unreachable at start; will keep retrying", "err", err)
	}
}

// Channel returns the name of the channel that carries revocations, so that
// other tools can subscribe to it. The message format is in the package doc.
func (b *Bus) Channel() string { return b.channel }

// Client returns the Bus's Redis client, for the other state that
// Gatehouse shares through Redis (the login throttle's counters), so that
// it uses the same connections. Close closes it.
func (b *Bus) Client() *redis.Client { return b.client }

// Prefix returns the prefix of every key and of the channel.
func (b *Bus) Prefix() string { return b.prefix }

// Ping checks that Redis answers; it suits a readiness probe.
func (b *Bus) Ping(ctx context.Context) error {
	if err := b.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisbus: ping: %w", err)
	}
	return nil
}

// Connected reports whether Run's subscription is live and the reload that
// followed it succeeded, that is whether the caller's state is being kept in
// step through Redis right now.
func (b *Bus) Connected() bool { return b.connected.Load() }

// Close stops Run (it returns shortly after) and closes the connections.
// Calling it more than once returns the first result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		close(b.done)
		if err := b.client.Close(); err != nil {
			b.closeErr = fmt.Errorf("redisbus: close: %w", err)
		}
	})
	return b.closeErr
}
