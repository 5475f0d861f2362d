package verify

import (
	"hash/maphash"
	"strings"
	"sync"
)

// DefaultCacheSize is the number of verified tokens kept when
// Config.CacheSize is 0: room for tens of thousands of clients whose
// tokens are live at once, at about a kilobyte each. A server with more
// live tokens than that pays a signature check on about one request in
// ten, so the size is set well above the client counts it is built for.
const DefaultCacheSize = 32_768

// tokenCache remembers tokens whose signature and claims were verified, so
// that a client sending the same token many times pays for the signature
// check once. Expiry and revocation are checked again on every hit.
//
// An entry is keyed by the end of the token's signature (its last
// sigKeyLen characters, 132 bits), a part of the token nobody can make
// without the signing key, and holds a keyed hash (maphash, its seed
// this process's secret) of the whole token and its length: a token is
// taken for the one verified only when its signature ends the same and
// all of it hashes the same. A token changed anywhere, in the signature
// too, misses and is verified afresh; to be taken for a cached token, a
// different string would need a 64-bit collision of a hash whose key it
// cannot know, one full verification a try. The key is 22 bytes in the
// map itself, rather than a string of the whole token (about 700 bytes)
// or of its signature (86 for ES256) beside it.
type tokenCache struct {
	mu   sync.RWMutex
	m    map[sigKey]cacheEntry
	max  int
	seed maphash.Seed
}

// sigKeyLen is how many of a signature's last characters key the cache:
// 132 bits of base64url, shorter than any signature Gatehouse accepts
// (HS256's, the shortest, is 43).
const sigKeyLen = 22

type sigKey [sigKeyLen]byte

type cacheEntry struct {
	claims *Claims
	sum    uint64 // maphash of the whole token
	n      int    // its length
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[sigKey]cacheEntry, min(max, 1024)), max: max, seed: maphash.MakeSeed()}
}

// keyOf returns the cache key of a compact token: the end of its
// signature; ok is false without a "." or with a signature shorter than
// the key.
func keyOf(token string) (key sigKey, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || len(token)-i-1 < sigKeyLen {
		return key, false
	}
	copy(key[:], token[len(token)-sigKeyLen:])
	return key, true
}

func (c *tokenCache) get(token string) (*Claims, bool) {
	key, ok := keyOf(token)
	if !ok {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || e.n != len(token) || e.sum != maphash.String(c.seed, token) {
		return nil, false
	}
	return e.claims, true
}

// put adds a token; when the cache is full it first forgets about a tenth
// of it (Go's map order picks the victims at random).
func (c *tokenCache) put(token string, cl *Claims) {
	key, ok := keyOf(token)
	if !ok {
		return
	}
	e := cacheEntry{claims: cl, sum: maphash.String(c.seed, token), n: len(token)}
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
	c.m[key] = e
}

func (c *tokenCache) remove(token string) {
	if key, ok := keyOf(token); ok {
		c.mu.Lock()
		delete(c.m, key)
		c.mu.Unlock()
	}
}

// cached returns the claims of a token verified before, if it has not
// expired since (leeway included); nothing without a cache.
func (v *Verifier) cached(token string) (*Claims, bool) {
	if v.cache == nil {
		return nil, false
	}
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
