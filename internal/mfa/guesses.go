package mfa

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// Limiter keeps failure counters (app.RateLimits: in Redis when there is
// one, so that every replica counts the same guesses).
type Limiter interface {
	Wait(ctx context.Context, keys ...ratelimit.Key) (time.Duration, error)
	Hit(ctx context.Context, keys ...ratelimit.Key) (time.Duration, error)
	Reset(ctx context.Context, keys ...ratelimit.Key) error
}

// CodeFailures is the per-user counter of wrong second-factor codes: ten
// free, then a wait of one second doubling up to fifteen minutes, forgotten
// after an hour without one. It is counted per user, not per address, so
// that guesses spread over many addresses (or many login attempts) count
// together.
var CodeFailures = ratelimit.Limit{Name: "mfa-user", Free: 10, Window: time.Hour, Backoff: time.Second, MaxBackoff: 15 * time.Minute}

// Guesses counts wrong second-factor codes per user (login.CodeThrottle).
// A limiter that fails never refuses a code.
type Guesses struct {
	l     Limiter
	limit ratelimit.Limit
}

// NewGuesses counts on l with CodeFailures.
func NewGuesses(l Limiter) *Guesses { return &Guesses{l: l, limit: CodeFailures} }

// Wait says how long the user must wait before the next code.
func (g *Guesses) Wait(ctx context.Context, userID string) (time.Duration, error) {
	if g == nil {
		return 0, nil
	}
	return g.l.Wait(ctx, g.limit.Key(userID))
}

// Failed counts a wrong code.
func (g *Guesses) Failed(ctx context.Context, userID string) error {
	if g == nil {
		return nil
	}
	_, err := g.l.Hit(context.WithoutCancel(ctx), g.limit.Key(userID))
	return err
}

// Succeeded forgets the user's wrong codes.
func (g *Guesses) Succeeded(ctx context.Context, userID string) error {
	if g == nil {
		return nil
	}
	return g.l.Reset(context.WithoutCancel(ctx), g.limit.Key(userID))
}

// errThrottled is the answer past the free wrong codes.
func errThrottled(wait time.Duration) error {
	return &auth.Error{Code: auth.ETooMany, Message: "Too many wrong codes; try again later", RetryAfter: wait}
}

// guard refuses a code check while the user waits, and returns a func
// that records its outcome.
func (s *Service) guard(ctx context.Context, u auth.User, where string, o auth.Origin) (func(ok bool), error) {
	if wait, err := s.c.Guesses.Wait(ctx, u.ID); err == nil && wait > 0 {
		s.c.Audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditMFAFailed, UserID: u.ID, Username: u.Username, Detail: where + " throttled"})
		return nil, errThrottled(wait)
	}
	return func(ok bool) {
		if ok {
			_ = s.c.Guesses.Succeeded(ctx, u.ID)
			return
		}
		_ = s.c.Guesses.Failed(ctx, u.ID)
		s.c.Audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditMFAFailed, UserID: u.ID, Username: u.Username, Detail: where})
	}, nil
}
