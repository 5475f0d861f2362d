// Package revocation keeps the denylist of revoked sessions and access-token
// ids in memory, so that checking a token costs two map lookups and no
// network round trip, and keeps that copy in step with the durable list in
// the database.
package revocation

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/verify"
)

// Set is the in-memory denylist. It is safe for concurrent use.
type Set struct {
	mu       sync.RWMutex
	sessions map[string]int64 // sid → expiry, unix seconds
	tokens   map[string]int64 // jti → expiry, unix seconds
	now      func() time.Time

	publisher Publisher
	log       *slog.Logger
	// onSession is told of every revoked session id the set learns of.
	onSession func(sid string)
}

// OnSessionRevoked registers fn to be told of every session revocation
// the set learns of, from this process, the other replicas or a reload
// (a cache of live sessions forgets them). Call it before serving; fn must
// be quick and must not call back into the set.
func (s *Set) OnSessionRevoked(fn func(sid string)) {
	s.mu.Lock()
	s.onSession = fn
	s.mu.Unlock()
}

// NewSet returns an empty set; now is the clock (time.Now when nil).
func NewSet(now func() time.Time) *Set {
	if now == nil {
		now = time.Now
	}
	return &Set{sessions: map[string]int64{}, tokens: map[string]int64{}, now: now}
}

// Revoked reports whether the token id or its session is revoked. An entry
// whose expiry has passed no longer matters: every token it named expired.
func (s *Set) Revoked(jti, sid string) bool {
	s.mu.RLock()
	_, bySession := s.sessions[sid]
	_, byToken := s.tokens[jti]
	s.mu.RUnlock()
	return bySession || byToken
}

// Add records revocations.
func (s *Set) Add(recs ...auth.Revocation) {
	if len(recs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.add(r)
	}
}

func (s *Set) add(r auth.Revocation) {
	exp := r.ExpiresAt.Unix()
	m := s.tokens
	if r.Kind == auth.RevokedSession {
		m = s.sessions
		if s.onSession != nil {
			s.onSession(r.ID)
		}
	}
	if old, ok := m[r.ID]; !ok || exp > old {
		m[r.ID] = exp
	}
}

// Replace swaps the whole content for recs (used for a full reload).
func (s *Set) Replace(recs []auth.Revocation) {
	sessions := make(map[string]int64, len(s.sessions))
	tokens := make(map[string]int64, len(s.tokens))
	s.mu.RLock()
	fresh := &Set{sessions: sessions, tokens: tokens, onSession: s.onSession}
	s.mu.RUnlock()
	for _, r := range recs {
		fresh.add(r)
	}
	s.mu.Lock()
	s.sessions, s.tokens = sessions, tokens
	s.mu.Unlock()
}

// Expire forgets entries whose expiry has passed and returns how many.
func (s *Set) Expire() int {
	now := s.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	return expire(s.sessions, now) + expire(s.tokens, now)
}

func expire(m map[string]int64, now int64) int {
	n := 0
	for id, exp := range m {
		if exp < now {
			delete(m, id)
			n++
		}
	}
	return n
}

// Len returns the number of revoked sessions and token ids held.
func (s *Set) Len() (sessions, tokens int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions), len(s.tokens)
}

// publishTimeout bounds how long a request waits for Redis.
const publishTimeout = 500 * time.Millisecond

// Publisher carries revocations to the other replicas (Redis).
type Publisher interface {
	Publish(ctx context.Context, recs []auth.Revocation) error
}

// SetPublisher makes Record also publish; call it before serving.
func (s *Set) SetPublisher(p Publisher, log *slog.Logger) {
	s.publisher, s.log = p, log
}

// Record applies revocations that were just written to the database: at
// once here, and through the publisher to every other replica. A failed
// publish is logged, not returned: the revocation is durable, and the
// other replicas reload it from the database when they reconnect.
func (s *Set) Record(ctx context.Context, recs ...auth.Revocation) {
	if len(recs) == 0 {
		return
	}
	s.Add(recs...)
	if s.publisher == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := s.publisher.Publish(ctx, recs); err != nil {
		s.log.Warn("publishing revocations failed; other replicas will reload them from the database", "count", len(recs), "err", err)
	}
}

// Until is when a revocation made at now can be forgotten: every access
// token issued before now, living accessTTL, has expired by then, even to
// a verifier allowing the largest clock leeway.
func Until(now time.Time, accessTTL time.Duration) time.Time {
	return now.Add(accessTTL + verify.MaxLeeway)
}
