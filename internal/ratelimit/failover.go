package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

const (
	// redisTimeout bounds every Redis call, so that a Redis that hangs
	// delays a request by this much at most.
	redisTimeout = 500 * time.Millisecond
	// redisRetry is how often Redis is tried again while it is down; the
	// calls in between use this process's counters at once.
	redisRetry = time.Second
)

// Log messages of an outage and of the recovery.
const (
	MsgRedisDown = "ratelimit: Redis unreachable; counting in this process until it answers"
	MsgRedisUp   = "ratelimit: Redis answers again; counting there"
)

// Failover counts in Redis while Redis answers, and in this process while
// it does not, so that requests go on, still limited, through a Redis
// outage (failing open to local counters). Its methods never fail.
//
// Every event is also counted in this process, so that the fallback starts
// from what this replica has seen rather than from zero. Losing Redis is
// logged once, at Warn, and its return once, at Info.
type Failover struct {
	redis *Redis
	local *Memory
	log   *slog.Logger

	mu      sync.Mutex
	down    bool
	retryAt time.Time // while down, the next call after this tries Redis
}

// NewFailover returns a store that uses r, or local when r fails; log may
// be nil.
func NewFailover(r *Redis, local *Memory, log *slog.Logger) *Failover {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Failover{redis: r, local: local, log: log}
}

// Wait returns how long the keys must wait before their next event.
func (f *Failover) Wait(ctx context.Context, keys ...Key) (time.Duration, error) {
	if w, ok := f.inRedis(ctx, func(ctx context.Context) (time.Duration, error) { return f.redis.Wait(ctx, keys...) }); ok {
		return w, nil
	}
	return f.local.Wait(ctx, keys...)
}

// Hit counts an event on every key and returns the longest wait that the
// keys must now observe.
func (f *Failover) Hit(ctx context.Context, keys ...Key) (time.Duration, error) {
	local, _ := f.local.Hit(ctx, keys...)
	if w, ok := f.inRedis(ctx, func(ctx context.Context) (time.Duration, error) { return f.redis.Hit(ctx, keys...) }); ok {
		return w, nil
	}
	return local, nil
}

// Take counts an event on every key if none must wait (in Redis while it
// answers, this process's count following), and returns 0; otherwise the
// longest wait.
func (f *Failover) Take(ctx context.Context, keys ...Key) (time.Duration, error) {
	if w, ok := f.inRedis(ctx, func(ctx context.Context) (time.Duration, error) { return f.redis.Take(ctx, keys...) }); ok {
		if w == 0 {
			_, _ = f.local.Hit(ctx, keys...)
		}
		return w, nil
	}
	return f.local.Take(ctx, keys...)
}

// Reset forgets the keys' counts, in Redis and in this process.
func (f *Failover) Reset(ctx context.Context, keys ...Key) error {
	_ = f.local.Reset(ctx, keys...)
	f.inRedis(ctx, func(ctx context.Context) (time.Duration, error) { return 0, f.redis.Reset(ctx, keys...) })
	return nil
}

// Seen reports whether k has a live counter.
func (f *Failover) Seen(ctx context.Context, k Key) (bool, error) {
	var seen bool
	if _, ok := f.inRedis(ctx, func(ctx context.Context) (time.Duration, error) {
		var err error
		seen, err = f.redis.Seen(ctx, k)
		return 0, err
	}); ok {
		return seen, nil
	}
	return f.local.Seen(ctx, k)
}

// inRedis runs op against Redis, within redisTimeout, unless Redis is
// known to be down; ok reports that Redis answered.
func (f *Failover) inRedis(ctx context.Context, op func(context.Context) (time.Duration, error)) (w time.Duration, ok bool) {
	if !f.tryRedis() {
		return 0, false
	}
	rctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	w, err := op(rctx)
	return w, f.answered(ctx, err)
}

// tryRedis says whether to use Redis: always while it is up; while it is
// down, for one call per redisRetry.
func (f *Failover) tryRedis() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return true
	}
	now := time.Now()
	if now.Before(f.retryAt) {
		return false
	}
	f.retryAt = now.Add(redisRetry)
	return true
}

// answered notes the outcome of a Redis call and reports whether it
// succeeded. A call cut short by the caller's own context says nothing
// about Redis.
func (f *Failover) answered(ctx context.Context, err error) bool {
	if err != nil && ctx.Err() != nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil && !f.down:
		f.down, f.retryAt = true, time.Now().Add(redisRetry)
		f.log.Warn(MsgRedisDown, "err", err)
	case err == nil && f.down:
		f.down = false
		f.log.Info(MsgRedisUp)
	}
	return err == nil
}
