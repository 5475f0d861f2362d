package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwksServer serves the public keys it is given, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []Key
	cc      string
	fail    bool
	block   chan struct{} // when set, each fetch waits for it to close or receive
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, keys ...Key) *jwksServer {
	s := &jwksServer{keys: keys, cc: "max-age=60"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		block := s.block
		s.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var set jose.JSONWebKeySet
		for _, k := range s.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"})
		}
		w.Header().Set("Cache-Control", s.cc)
		json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": s.URL, "jwks_uri": s.URL + "/.well-known/jwks.json"})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) { s.mu.Lock(); f(s); s.mu.Unlock() }

func TestRemoteKeySetCachesAndRefetches(t *testing.T) {
	f := loadFixture()
	srv := newJWKSServer(t, f.es.public())
	now := testNow
	var clock sync.Mutex
	tick := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }
	ks := NewRemoteKeySet(srv.URL+"/.well-known/jwks.json", nil, func() time.Time { clock.Lock(); defer clock.Unlock(); return now })
	ctx := context.Background()

	for range 5 {
		if _, err := ks.LookupKey(ctx, f.es.kid); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for a cached key, want 1", n)
	}

	// An unknown kid refetches once, shared by concurrent callers, then is
	// rate limited.
	tick(MinRefetchInterval)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ks.LookupKey(ctx, "nope")
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("unknown kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after 20 concurrent unknown-kid lookups, want 2", n)
	}
	ks.LookupKey(ctx, "nope")
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("refetch not rate limited: %d fetches", n)
	}

	// A new key published by the issuer is found after the rate limit.
	srv.set(func(s *jwksServer) { s.keys = append(s.keys, f.ed.public()) })
	tick(MinRefetchInterval)
	if _, err := ks.LookupKey(ctx, f.ed.kid); err != nil {
		t.Fatalf("rotated-in key not found: %v", err)
	}

	// max-age expiry refetches; an unreachable issuer leaves the last good keys.
	srv.set(func(s *jwksServer) { s.fail = true })
	tick(61 * time.Second)
	if _, err := ks.LookupKey(ctx, f.es.kid); err != nil {
		t.Fatalf("issuer down: last good key lost: %v", err)
	}
	settle(t, ks) // the stale cache is refreshed in the background
	if n := srv.fetches.Load(); n != 4 {
		t.Fatalf("%d fetches, want 4 (the expired cache is refreshed)", n)
	}
}

func TestCacheTTL(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"": DefaultKeyCacheTTL, "public, max-age=300": 5 * time.Minute, "max-age=0": 0,
		"no-store": 0, "max-age=999999": MaxKeyCacheTTL, "max-age=x": DefaultKeyCacheTTL,
	} {
		if got := cacheTTL(cc); got != want {
			t.Errorf("cacheTTL(%q) = %v, want %v", cc, got, want)
		}
	}
}

func TestNewWithDiscovery(t *testing.T) {
	f := loadFixture()
	srv := newJWKSServer(t, f.es.public())
	v, err := New(context.Background(), Config{Issuer: srv.URL, Algorithms: []string{ES256}, Now: fakeNow})
	if err != nil {
		t.Fatal(err)
	}
	tok := mint(f.es, goodHeader(f.es), with(goodClaims(), "iss", srv.URL, "aud", nil))
	c, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "alice" {
		t.Fatalf("claims %+v", c)
	}
	// A discovery document naming another issuer is refused.
	if _, err := New(context.Background(), Config{Issuer: srv.URL + "/other", Algorithms: []string{ES256}}); err == nil {
		t.Fatal("a mismatched issuer in discovery was accepted")
	}
}
