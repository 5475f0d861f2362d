package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Source is where the durable denylist lives (the database).
type Source interface {
	Revocations(ctx context.Context, now time.Time) ([]auth.Revocation, int64, error)
	RevocationsSince(ctx context.Context, cursor int64) ([]auth.Revocation, int64, error)
}

// Poller keeps a Set in step with a Source by reading what was recorded
// since the last poll. It suits a database with a single writer order
// (SQLite): the CLI and other processes on the same file revoke through the
// database and every server sees it within one interval.
type Poller struct {
	Set      *Set
	Source   Source
	Interval time.Duration
	Log      *slog.Logger

	mu     sync.Mutex // Load and Poll may run on different goroutines
	cursor int64
}

// Load reads the whole denylist into the set. Call it before serving.
func (p *Poller) Load(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	recs, cursor, err := p.Source.Revocations(ctx, p.Set.now())
	if err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	p.Set.Replace(recs)
	p.cursor = cursor
	return nil
}

// Poll applies what was recorded since the last call.
func (p *Poller) Poll(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	recs, cursor, err := p.Source.RevocationsSince(ctx, p.cursor)
	if err != nil {
		return fmt.Errorf("poll revocations: %w", err)
	}
	p.Set.Add(recs...)
	p.cursor = cursor
	return nil
}

// Run polls every Interval and expires old entries every minute, until ctx
// ends. Errors are logged and retried: the set keeps its last known state.
func (p *Poller) Run(ctx context.Context) {
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	lastExpire := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.Log.Warn("revocation poll failed; keeping last known state", "err", err)
		}
		if time.Since(lastExpire) > time.Minute {
			p.Set.Expire()
			lastExpire = time.Now()
		}
	}
}
