package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Limits of RemoteKeySet.
const (
	DefaultKeyCacheTTL = 5 * time.Minute  // when the JWKS sets no max-age
	MaxKeyCacheTTL     = time.Hour        // a longer max-age is cut to this
	MinRefetchInterval = 10 * time.Second // fetch attempts are at least this far apart
	MaxRefetchBackoff  = 5 * time.Minute  // the longest wait after failed fetches
	maxJWKSBytes       = 1 << 20
	// fetchTimeout bounds a fetch whose client has no timeout of its own:
	// a fetch is shared, so no caller's context ends it.
	fetchTimeout = 30 * time.Second
)

// RemoteKeySet fetches the issuer's JWKS and caches it for the lifetime
// that its Cache-Control header gives. It is built to keep verifying while
// the issuer is slow or down:
//
//   - A kid in the cache is served at once, even when the cache is stale;
//     a stale cache is refreshed in the background (stale-while-revalidate),
//     so a token with a known kid never waits on the network.
//   - At most one fetch is in flight; every lookup that must wait for keys
//     waits for that one, bounded by its own context.
//   - Fetch attempts are at least MinRefetchInterval apart, stale cache or
//     not; after failures the wait doubles, up to MaxRefetchBackoff, and a
//     success resets it. A lookup of an unknown kid that may not fetch yet
//     fails at once with ErrUnknownKey, so forged kids cannot make a storm.
//   - Only the very first load, with nothing cached, makes lookups wait.
//
// When the issuer cannot be reached the last good keys stay in use.
type RemoteKeySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	keys     map[string]Key // nil until the first successful fetch
	expires  time.Time      // when the cached keys should be refreshed
	next     time.Time      // the earliest time of the next fetch attempt
	failures int            // consecutive failed fetches
	lastErr  error          // of the last failed fetch, while failing
	inflight chan struct{}  // closed when the running fetch ends
}

// NewRemoteKeySet returns a key set for the JWKS at jwksURL. client and now
// may be nil (http.DefaultClient with a 10 s timeout, time.Now).
func NewRemoteKeySet(jwksURL string, client *http.Client, now func() time.Time) *RemoteKeySet {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &RemoteKeySet{url: jwksURL, client: client, now: now}
}

var _ KeySet = (*RemoteKeySet)(nil)

// LookupKey implements KeySet. It waits on the network only when kid is not
// cached and a fetch is running or allowed; see RemoteKeySet.
func (r *RemoteKeySet) LookupKey(ctx context.Context, kid string) (Key, error) {
	r.mu.Lock()
	now := r.now()
	if k, ok := r.keys[kid]; ok {
		if now.After(r.expires) {
			r.startFetch(ctx, now) // in the background; k is served meanwhile
		}
		r.mu.Unlock()
		return k, nil
	}
	wait := r.startFetch(ctx, now)
	lastErr := r.lastErr
	r.mu.Unlock()
	if wait == nil {
		if lastErr != nil {
			return Key{}, fmt.Errorf("%w: kid %q (keys not refetched until the backoff ends: %w)", ErrUnknownKey, kid, lastErr)
		}
		return Key{}, fmt.Errorf("%w: kid %q is not in %s", ErrUnknownKey, kid, r.url)
	}
	select {
	case <-wait:
	case <-ctx.Done():
		return Key{}, fmt.Errorf("%w: kid %q: waiting for %s: %w", ErrUnknownKey, kid, r.url, ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[kid]; ok {
		return k, nil
	}
	if r.lastErr != nil {
		return Key{}, fmt.Errorf("%w: kid %q: %w", ErrUnknownKey, kid, r.lastErr)
	}
	return Key{}, fmt.Errorf("%w: kid %q is not in %s", ErrUnknownKey, kid, r.url)
}

// startFetch returns the channel of the fetch in flight, or starts one if
// the backoff allows it, or returns nil. r.mu must be held. The fetch runs
// on its own goroutine under ctx's values but not its cancellation, since
// other lookups may come to wait for it.
func (r *RemoteKeySet) startFetch(ctx context.Context, now time.Time) chan struct{} {
	if r.inflight != nil {
		return r.inflight
	}
	if now.Before(r.next) {
		return nil
	}
	done := make(chan struct{})
	r.inflight = done
	r.next = now.Add(MinRefetchInterval) // until the fetch ends, no other starts
	go r.refresh(context.WithoutCancel(ctx), done)
	return done
}

// refresh fetches the JWKS and records the outcome, then closes done.
func (r *RemoteKeySet) refresh(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	keys, ttl, err := r.fetch(ctx)
	r.mu.Lock()
	now := r.now()
	if err == nil {
		r.keys, r.expires, r.failures, r.lastErr = keys, now.Add(ttl), 0, nil
		r.next = now.Add(MinRefetchInterval)
	} else {
		r.failures++
		r.lastErr = err
		r.next = now.Add(backoff(r.failures))
	}
	r.inflight = nil
	r.mu.Unlock()
	close(done)
}

// backoff is the wait after n consecutive failed fetches:
// MinRefetchInterval doubled n-1 times, at most MaxRefetchBackoff.
func backoff(n int) time.Duration {
	d := MinRefetchInterval
	for i := 1; i < n && d < MaxRefetchBackoff; i++ {
		d *= 2
	}
	return min(d, MaxRefetchBackoff)
}

func (r *RemoteKeySet) fetch(ctx context.Context) (map[string]Key, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, 0, err
	}
	res, err := r.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: fetch JWKS: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("verify: fetch JWKS: %s", res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes))
	if err != nil {
		return nil, 0, fmt.Errorf("verify: read JWKS: %w", err)
	}
	keys, err := parseJWKS(body)
	return keys, cacheTTL(res.Header.Get("Cache-Control")), err
}

// parseJWKS keeps the signing keys of a JWKS that name an algorithm this
// package supports; the key is bound to that algorithm.
func parseJWKS(body []byte) (map[string]Key, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("verify: parse JWKS: %w", err)
	}
	keys := make(map[string]Key, len(set.Keys))
	for _, jwk := range set.Keys {
		if jwk.Use != "" && jwk.Use != "sig" || !jwk.IsPublic() {
			continue
		}
		k := Key{ID: jwk.KeyID, Algorithm: jwk.Algorithm, Key: jwk.Key}
		if checkKey(k) == nil {
			keys[k.ID] = k
		}
	}
	return keys, nil
}

// cacheTTL reads max-age from a Cache-Control header.
func cacheTTL(cc string) time.Duration {
	for _, part := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			if s, err := strconv.Atoi(val); err == nil && s >= 0 {
				return min(time.Duration(s)*time.Second, MaxKeyCacheTTL)
			}
		}
	}
	return DefaultKeyCacheTTL
}

// discover reads the issuer's OpenID discovery document and returns its
// jwks_uri, after checking that it names the same issuer.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", err
	}
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("verify: discovery: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("verify: discovery: %s", res.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxJWKSBytes)).Decode(&doc); err != nil {
		return "", fmt.Errorf("verify: discovery: %w", err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("verify: discovery names issuer %q, want %q", doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", errors.New("verify: discovery has no jwks_uri")
	}
	return doc.JWKSURI, nil
}
