package redisbus

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Publish announces revocations to every replica and sets their keys, in one
// pipeline: a revoked:<jti> or revoked-session:<sid> key per record that has
// not expired, with a TTL of the time it has left, then one message on the
// channel carrying all the records. Record them in the database first: Redis
// is not durable, and a failed Publish is made good by the subscribers'
// reload when they reconnect.
func (b *Bus) Publish(ctx context.Context, recs []auth.Revocation) error {
	if len(recs) == 0 {
		return nil
	}
	payload, err := encode(recs)
	if err != nil {
		return fmt.Errorf("redisbus: publish: %w", err)
	}
	now := time.Now()
	_, err = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range recs {
			if ttl := keyTTL(r.ExpiresAt, now); ttl > 0 {
				p.Set(ctx, b.key(r), "1", ttl)
			}
		}
		p.Publish(ctx, b.channel, payload)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisbus: publish: %w", err)
	}
	return nil
}

// key returns the Redis key that marks r as revoked.
func (b *Bus) key(r auth.Revocation) string {
	if r.Kind == auth.RevokedSession {
		return b.prefix + "revoked-session:" + r.ID
	}
	return b.prefix + "revoked:" + r.ID
}

// keyTTL is the time left until exp, rounded up to the millisecond so that a
// key never expires before its record; zero or less means already expired.
func keyTTL(exp, now time.Time) time.Duration {
	left := exp.Sub(now)
	if left <= 0 {
		return 0
	}
	return (left + time.Millisecond - 1).Truncate(time.Millisecond)
}
