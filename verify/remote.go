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
	MinRefetchInterval = 10 * time.Second // unknown kids refetch at most this often
	maxJWKSBytes       = 1 << 20
)

// RemoteKeySet fetches the issuer's JWKS and caches it for the lifetime
// that its Cache-Control header gives. A token naming an unknown kid
// triggers one refetch (rate limited, and shared by every request waiting
// for it); when the issuer cannot be reached the last good keys stay in use.
type RemoteKeySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	keys      map[string]Key
	expires   time.Time // when the cached keys should be refreshed
	lastFetch time.Time
	inflight  chan struct{} // closed when the running fetch ends
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

// LookupKey implements KeySet.
func (r *RemoteKeySet) LookupKey(ctx context.Context, kid string) (Key, error) {
	r.mu.Lock()
	k, ok := r.keys[kid]
	stale := r.now().After(r.expires)
	mayFetch := stale || r.now().Sub(r.lastFetch) >= MinRefetchInterval
	r.mu.Unlock()
	if ok && !stale {
		return k, nil
	}
	if mayFetch {
		if err := r.refresh(ctx); err != nil && !ok {
			return Key{}, fmt.Errorf("%w: kid %q: %w", ErrUnknownKey, kid, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[kid]; ok {
		return k, nil
	}
	return Key{}, fmt.Errorf("%w: kid %q is not in %s", ErrUnknownKey, kid, r.url)
}

// refresh fetches the JWKS, or waits for the fetch already running.
func (r *RemoteKeySet) refresh(ctx context.Context) error {
	r.mu.Lock()
	if wait := r.inflight; wait != nil {
		r.mu.Unlock()
		select {
		case <-wait:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	r.inflight = done
	r.lastFetch = r.now()
	r.mu.Unlock()

	keys, ttl, err := r.fetch(ctx)
	r.mu.Lock()
	if err == nil {
		r.keys, r.expires = keys, r.now().Add(ttl)
	}
	r.inflight = nil
	r.mu.Unlock()
	close(done)
	return err
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
