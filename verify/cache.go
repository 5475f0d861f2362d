package verify

import (
	"sync"
)

// DefaultCacheSize is the number of verified tokens kept when
// Config.CacheSize is 0: room for tens of thousands of clients whose
// tokens are live at once, at about a kilobyte each. A server with more
// live tokens than that pays a signature check on about one request in
// ten, so the size is set well above the client counts it is built for.
const DefaultCacheSize = 32_768

// tokenCache remembers tokens whose signature and claims were verified,
// keyed by the exact token text, so that a client sending the same token
// many times pays for the signature check once. Expiry and revocation are
// checked again on every hit.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[string]*Claims
	max int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[string]*Claims, min(max, 1024)), max: max}
}

func (c *tokenCache) get(token string) (*Claims, bool) {
	c.mu.RLock()
	cl, ok := c.m[token]
	c.mu.RUnlock()
	return cl, ok
}

// put adds a token; when the cache is full it first forgets about a tenth
// of it (Go's map order picks the victims at random).
func (c *tokenCache) put(token string, cl *Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		drop := max(1, c.max/10)
		for k := range c.m {
			delete(c.m, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.m[token] = cl
}

func (c *tokenCache) remove(token string) {
	c.mu.Lock()
	delete(c.m, token)
	c.mu.Unlock()
}

// cached returns the claims of a token verified before, if it has not
// expired since (leeway included).
func (v *Verifier) cached(token string) (*Claims, bool) {
	cl, ok := v.cache.get(token)
	if !ok {
		return nil, false
	}
	if !v.now().Before(cl.ExpiresAt.Add(v.leeway)) {
		v.cache.remove(token)
		return nil, false
	}
	return cl, true
}
