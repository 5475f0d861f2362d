// Package trust decides who the bearer of a verified access token is, for
// Gatehouse's own endpoints: a token is believed only as far as the store
// agrees. Its session must exist and be live, belong to the token's
// subject, and that user must exist and be active; the role is the
// store's, never the token's. A bounded cache of live sessions keeps the
// database off the hot path: it is kept coherent by the denylist's change
// feed (a session revoked anywhere is forgotten here, see Forget), and
// session ids that the store does not know are remembered apart, so that a
// flood of made-up ids neither evicts live entries nor reaches the
// database more than once per id.
package trust

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/verify"
)

// Store reads the session behind a token and its user, in one round trip.
type Store interface {
	SessionWithUser(ctx context.Context, id string) (auth.Session, auth.User, error)
}

// ErrUntrusted is the answer to a correctly signed token that the store
// does not stand behind: the same as to any other invalid token.
var ErrUntrusted = auth.Errorf(auth.EUnauthenticated, "Could not validate credentials")

// Options size a Resolver; the zero value is ready to use.
type Options struct {
	// Live caps the cached live sessions (DefaultLive when 0), Absent the
	// remembered unknown session ids (DefaultAbsent when 0).
	Live, Absent int
	// AbsentTTL is how long an unknown id is remembered (DefaultAbsentTTL
	// when 0). A session id is 128 random bits made at login and stored
	// before any token names it, so an id unknown once stays unknown; the
	// TTL only bounds how long memory is held for it.
	AbsentTTL time.Duration
	Now       func() time.Time
}

// The default sizes.
const (
	DefaultLive      = 1 << 17
	DefaultAbsent    = 1 << 16
	DefaultAbsentTTL = 10 * time.Minute
)

// Resolver turns verified claims into a Principal. It is safe for
// concurrent use.
type Resolver struct {
	store     Store
	live      *bounded[liveSession]
	absent    *bounded[time.Time] // id → when it was found missing
	absentTTL time.Duration
	now       func() time.Time
	loads     singleflight.Group
	// forgets counts calls to Forget: a load that read the store before a
	// Forget does not cache what it read, which may predate a revocation.
	forgets atomic.Uint64
}

// liveSession is what the store said of a session and its user.
type liveSession struct {
	userID, username string
	role             auth.Role
	active           bool
	amr              []string
	authTime         time.Time
	expires          time.Time // the session's expiry when it was read
	revoked          bool
}

// New returns a Resolver on store.
func New(store Store, opt Options) *Resolver {
	if opt.Live <= 0 {
		opt.Live = DefaultLive
	}
	if opt.Absent <= 0 {
		opt.Absent = DefaultAbsent
	}
	if opt.AbsentTTL <= 0 {
		opt.AbsentTTL = DefaultAbsentTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Resolver{
		store: store, live: newBounded[liveSession](opt.Live), absent: newBounded[time.Time](opt.Absent),
		absentTTL: opt.AbsentTTL, now: opt.Now,
	}
}

// Principal returns the caller that the verified claims c name, as the
// store knows them. ErrUntrusted when the session or the user does not
// exist, the session has ended or belongs to another user, or the user is
// disabled.
func (r *Resolver) Principal(ctx context.Context, c *verify.Claims) (auth.Principal, error) {
	now := r.now()
	ls, ok := r.live.get(c.SessionID)
	if !ok || !now.Before(ls.expires) {
		// Not cached, or cached with an expiry that refreshes may have
		// moved since: ask the store.
		var err error
		if ls, err = r.load(ctx, c.SessionID, now); err != nil {
			return auth.Principal{}, err
		}
	}
	if ls.revoked || !now.Before(ls.expires) || ls.userID != c.Subject || !ls.active {
		return auth.Principal{}, ErrUntrusted
	}
	return auth.Principal{
		UserID: ls.userID, Username: ls.username, Role: ls.role, SessionID: c.SessionID,
		AMR: ls.amr, AuthTime: ls.authTime, TokenID: c.ID,
	}, nil
}

// load reads a session from the store, once for any number of concurrent
// callers, and caches what it found.
func (r *Resolver) load(ctx context.Context, sid string, now time.Time) (liveSession, error) {
	if at, ok := r.absent.get(sid); ok && now.Sub(at) < r.absentTTL {
		return liveSession{}, ErrUntrusted
	}
	v, err, _ := r.loads.Do(sid, func() (any, error) {
		if ls, ok := r.live.get(sid); ok && now.Before(ls.expires) {
			return ls, nil // cached by a load that finished just before this one began
		}
		gen := r.forgets.Load()
		sess, u, err := r.store.SessionWithUser(context.WithoutCancel(ctx), sid)
		if auth.ErrorCode(err) == auth.ENotFound {
			r.absent.put(sid, now)
			return liveSession{}, ErrUntrusted
		}
		if err != nil {
			return liveSession{}, err
		}
		ls := sessionOf(sess, u)
		if ls.revoked || !ls.active {
			r.absent.put(sid, now) // ended for good
			return ls, nil
		}
		if r.forgets.Load() == gen {
			r.live.put(sid, ls)
		}
		return ls, nil
	})
	if err != nil {
		return liveSession{}, err
	}
	return v.(liveSession), nil
}

// Remember caches a session that was just started or renewed, with its
// user, so that the tokens this replica issues are checked without a
// database round trip (also while the database is briefly away).
func (r *Resolver) Remember(sess auth.Session, u auth.User) {
	if !sess.RevokedAt.IsZero() || !u.Active || sess.UserID != u.ID {
		return
	}
	r.live.put(sess.ID, sessionOf(sess, u))
}

func sessionOf(sess auth.Session, u auth.User) liveSession {
	return liveSession{
		userID: u.ID, username: u.Username, role: u.Role, active: u.Active,
		amr: sess.Auth.AMR, authTime: sess.Auth.Time, expires: sess.ExpiresAt, revoked: !sess.RevokedAt.IsZero(),
	}
}

// Forget drops what is cached of a session: it has been revoked (or its
// user changed), so the next token that names it is checked in the store.
// The denylist calls it for every session revocation it learns of, from
// this process, Redis or the database.
func (r *Resolver) Forget(sid string) {
	r.forgets.Add(1)
	r.live.remove(sid)
}

// Len returns how many live sessions and unknown ids are cached.
func (r *Resolver) Len() (live, absent int) { return r.live.len(), r.absent.len() }

// bounded is a sharded map that holds at most about max entries: when a
// shard is full, putting a new key drops an arbitrary one of the shard's
// (Go's map iteration order). Each operation costs O(1) under one shard's
// lock.
type bounded[V any] struct {
	shards   [shardCount]shard[V]
	perShard int
}

const shardCount = 32

type shard[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

func newBounded[V any](max int) *bounded[V] {
	b := &bounded[V]{perShard: (max + shardCount - 1) / shardCount}
	for i := range b.shards {
		b.shards[i].m = make(map[string]V)
	}
	return b
}

func (b *bounded[V]) shard(key string) *shard[V] {
	// FNV-1a: cheap, and the keys are random ids or an attacker's strings,
	// whose only effect is which shard they crowd.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &b.shards[h%shardCount]
}

func (b *bounded[V]) get(key string) (V, bool) {
	s := b.shard(key)
	s.mu.RLock()
	v, ok := s.m[key]
	s.mu.RUnlock()
	return v, ok
}

func (b *bounded[V]) put(key string, v V) {
	s := b.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok && len(s.m) >= b.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[key] = v
}

func (b *bounded[V]) remove(key string) {
	s := b.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

func (b *bounded[V]) len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
