package throttle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

const (
	// redisTimeout bounds every Redis call of a login, so that a Redis that
	// hangs delays a login by this much at most.
	redisTimeout = 500 * time.Millisecond
	// redisRetry is how often Redis is tried again while it is down; the
	// logins in between use this process's counters at once.
	redisRetry = time.Second
)

// Failover counts in Redis while Redis answers, and in this process while
// it does not, so that logins go on, still throttled, through a Redis
// outage. Its methods never fail.
//
// Every failure and success is also recorded in this process, so that the
// fallback starts from what this replica has seen rather than from zero.
// Losing Redis is logged once, at Warn, and its return once, at Info.
type Failover struct {
	redis *Redis
	local *Memory
	log   *slog.Logger

	mu      sync.Mutex
	down    bool
	retryAt time.Time // while down, the next call after this tries Redis
}

// NewFailover returns a throttle that uses r, or local when r fails; log
// may be nil.
func NewFailover(r *Redis, local *Memory, log *slog.Logger) *Failover {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Failover{redis: r, local: local, log: log}
}

// Wait returns how long the client must wait before trying this account
// again; 0 means go ahead.
func (f *Failover) Wait(ctx context.Context, account, addr string) (time.Duration, error) {
	if f.tryRedis() {
		rctx, cancel := context.WithTimeout(ctx, redisTimeout)
		wait, err := f.redis.Wait(rctx, account, addr)
		cancel()
		if f.answered(ctx, err) {
			return wait, nil
		}
	}
	return f.local.Wait(ctx, account, addr)
}

// Failed records a failed attempt.
func (f *Failover) Failed(ctx context.Context, account, addr string) error {
	_ = f.local.Failed(ctx, account, addr)
	f.inRedis(ctx, func(ctx context.Context) error { return f.redis.Failed(ctx, account, addr) })
	return nil
}

// Succeeded resets the account's counter for this address.
func (f *Failover) Succeeded(ctx context.Context, account, addr string) error {
	_ = f.local.Succeeded(ctx, account, addr)
	f.inRedis(ctx, func(ctx context.Context) error { return f.redis.Succeeded(ctx, account, addr) })
	return nil
}

func (f *Failover) inRedis(ctx context.Context, op func(context.Context) error) {
	if !f.tryRedis() {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	f.answered(ctx, op(rctx))
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
		f.log.Warn("throttle: Redis unreachable; counting failed logins in this process until it answers", "err", err)
	case err == nil && f.down:
		f.down = false
		f.log.Info("throttle: Redis answers again; counting failed logins there")
	}
	return err == nil
}
