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
// An entry is keyed by the token's signature, the part of a token nobody
// can make without the signing key, and holds a keyed hash of the rest
// (header and payload) and its length: a token is taken for the one
// verified only when its signature is the same string and the rest hashes
// the same. Whoever could send a different rest with the same signature
// holds the verified token already, and a hit answers that token's claims,
// never the sender's; the hash only keeps such a token (a malformed one,
// say) from being taken for it. Kept this way, an entry costs the
// signature's bytes (86 for ES256) rather than the whole token's (about
// 700), and a lookup compares no more than that.
type tokenCache struct {
	mu   sync.RWMutex
	m    map[string]cacheEntry
	max  int
	seed maphash.Seed
}

type cacheEntry struct {
	claims  *Claims
	rest    uint64 // maphash of the token before its last "."
	restLen int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[string]cacheEntry, min(max, 1024)), max: max, seed: maphash.MakeSeed()}
}

// splitSignature returns a compact token's part before its last "." and
// the signature after it; ok is false without a "." or a signature.
func splitSignature(token string) (rest, sig string, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || i == len(token)-1 {
		return "", "", false
	}
	return token[:i], token[i+1:], true
}

func (c *tokenCache) get(token string) (*Claims, bool) {
	rest, sig, ok := splitSignature(token)
	if !ok {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[sig]
	c.mu.RUnlock()
	if !ok || e.restLen != len(rest) || e.rest != maphash.String(c.seed, rest) {
		return nil, false
	}
	return e.claims, true
}

// put adds a token; when the cache is full it first forgets about a tenth
// of it (Go's map order picks the victims at random).
func (c *tokenCache) put(token string, cl *Claims) {
	rest, sig, ok := splitSignature(token)
	if !ok {
		return
	}
	e := cacheEntry{claims: cl, rest: maphash.String(c.seed, rest), restLen: len(rest)}
	sig = strings.Clone(sig) // not the request's whole token
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
	c.m[sig] = e
}

func (c *tokenCache) remove(token string) {
	if _, sig, ok := splitSignature(token); ok {
		c.mu.Lock()
		delete(c.m, sig)
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
