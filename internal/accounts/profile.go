package accounts

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// DefaultProfileTTL is how long Current may answer from memory: a change
// made through another process shows within it (the same bound as a
// revocation's); a change made through this one shows at once.
const DefaultProfileTTL = time.Second

// maxProfiles bounds the cache of Current.
const maxProfiles = 1 << 16

// profiles caches users for Current: GET /me must not cost a database
// round trip, and its answer must not lag a change for long.
type profiles struct {
	ttl   time.Duration
	now   func() time.Time
	mu    sync.RWMutex
	m     map[string]profile
	loads singleflight.Group
	gen   uint64 // bumped by forget: a load that began before does not cache
}

type profile struct {
	u    auth.User
	read time.Time
}

func newProfiles(ttl time.Duration, now func() time.Time) *profiles {
	if ttl <= 0 {
		ttl = DefaultProfileTTL
	}
	return &profiles{ttl: ttl, now: now, m: make(map[string]profile)}
}

func (c *profiles) get(id string) (profile, bool) {
	c.mu.RLock()
	p, ok := c.m[id]
	c.mu.RUnlock()
	return p, ok
}

func (c *profiles) put(id string, u auth.User, read time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return // a change was made meanwhile: what was read may predate it
	}
	if len(c.m) >= maxProfiles {
		for k := range c.m { // drop an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[id] = profile{u, read}
}

// forget drops a user changed by this process.
func (c *profiles) forget(id string) {
	c.mu.Lock()
	c.gen++
	delete(c.m, id)
	c.mu.Unlock()
}

// Current returns the user as the store knows them, at most
// DefaultProfileTTL old (changes made through this process show at once),
// for GET /me. While the database is unavailable it answers from memory
// if it can, however old. ENotFound.
func (s *Service) Current(ctx context.Context, id string) (auth.User, error) {
	now := s.now()
	cached, ok := s.profiles.get(id)
	if ok && now.Sub(cached.read) < s.profiles.ttl {
		return cached.u, nil
	}
	v, err, _ := s.profiles.loads.Do(id, func() (any, error) {
		s.profiles.mu.RLock()
		gen := s.profiles.gen
		s.profiles.mu.RUnlock()
		u, err := s.store.UserByID(context.WithoutCancel(ctx), id)
		if err != nil {
			return auth.User{}, err
		}
		s.profiles.put(id, u, now, gen)
		return u, nil
	})
	if err != nil {
		if ok && auth.ErrorCode(err) == auth.EUnavailable {
			return cached.u, nil
		}
		if auth.ErrorCode(err) == auth.ENotFound {
			s.profiles.forget(id)
		}
		return auth.User{}, err
	}
	return v.(auth.User), nil
}

// Forget drops what Current remembers of a user that another service of
// this process changed (a second factor turned on or off).
func (s *Service) Forget(id string) { s.profiles.forget(id) }
