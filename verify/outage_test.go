package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for a RemoteKeySet.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// settle waits for the fetch in flight, if any, to end.
func settle(t *testing.T, r *RemoteKeySet) {
	t.Helper()
	r.mu.Lock()
	wait := r.inflight
	r.mu.Unlock()
	if wait == nil {
		return
	}
	select {
	case <-wait:
	case <-time.After(15 * time.Second):
		t.Fatal("the key set's fetch never ended")
	}
}

// staleKeySet returns a key set that loaded f.es from srv and whose cache
// has expired since.
func staleKeySet(t *testing.T, srv *jwksServer, client *http.Client) (*RemoteKeySet, *testClock) {
	t.Helper()
	clock := &testClock{now: testNow}
	ks := NewRemoteKeySet(srv.URL+"/.well-known/jwks.json", client, clock.Now)
	if _, err := ks.LookupKey(context.Background(), loadFixture().es.kid); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Minute) // past max-age=60
	return ks, clock
}

// The issuer answers 503 and the cache is stale: verifications go on with
// the cached key, and make one fetch between them, not one each.
func TestRemoteKeySetIssuerDownStaleCache(t *testing.T) {
	f := loadFixture()
	srv := newJWKSServer(t, f.es.public())
	ks, clock := staleKeySet(t, srv, nil)
	srv.set(func(s *jwksServer) { s.fail = true })
	v, err := New(context.Background(), Config{Issuer: testIssuer, Algorithms: []string{ES256}, KeySet: ks, Now: clock.Now, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	tok := mint(f.es, goodHeader(f.es), with(goodClaims(), "iat", clock.Now().Unix(), "nbf", clock.Now().Unix(), "exp", clock.Now().Add(time.Hour).Unix()))
	for i := range 5 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("verification %d with the issuer down: %v", i, err)
		}
		settle(t, ks)
		clock.Add(time.Second)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches for 5 verifications over 5 s with a stale cache, want 2 (the load and one refresh)", n)
	}
	// After a failure the next attempt waits out the backoff.
	clock.Add(MinRefetchInterval)
	ks.LookupKey(context.Background(), f.es.kid)
	settle(t, ks)
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches once the interval passed, want 3", n)
	}
	ks.LookupKey(context.Background(), f.es.kid)
	clock.Add(MinRefetchInterval) // the second failure doubles the wait
	ks.LookupKey(context.Background(), f.es.kid)
	settle(t, ks)
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches: no backoff after two failures", n)
	}
	clock.Add(MinRefetchInterval)
	ks.LookupKey(context.Background(), f.es.kid)
	settle(t, ks)
	if n := srv.fetches.Load(); n != 4 {
		t.Fatalf("%d fetches after the doubled wait, want 4", n)
	}
	// The issuer back: the next refresh succeeds and resets the backoff.
	srv.set(func(s *jwksServer) { s.fail = false })
	clock.Add(4 * MinRefetchInterval)
	ks.LookupKey(context.Background(), f.es.kid)
	settle(t, ks)
	clock.Add(30 * time.Second) // fresh again (max-age=60): no fetch
	ks.LookupKey(context.Background(), f.es.kid)
	settle(t, ks)
	if n := srv.fetches.Load(); n != 5 {
		t.Fatalf("%d fetches, want 5", n)
	}
}

// The issuer hangs and the cache is stale: a cached kid never waits on the
// network.
func TestRemoteKeySetIssuerHangs(t *testing.T) {
	f := loadFixture()
	srv := newJWKSServer(t, f.es.public())
	ks, clock := staleKeySet(t, srv, nil) // the default client: a 10 s timeout
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for handlers
	srv.set(func(s *jwksServer) { s.block = release })
	v, err := New(context.Background(), Config{Issuer: testIssuer, Algorithms: []string{ES256}, KeySet: ks, Now: clock.Now, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	tok := mint(f.es, goodHeader(f.es), with(goodClaims(), "iat", clock.Now().Unix(), "nbf", clock.Now().Unix(), "exp", clock.Now().Add(time.Hour).Unix()))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	took := time.Since(start)
	for err := range errs {
		if err != nil {
			t.Fatalf("a cached kid failed while the issuer hangs: %v", err)
		}
	}
	if took > 2*time.Second {
		t.Fatalf("20 verifications with a cached kid took %v while the issuer hangs", took)
	}
	t.Logf("20 concurrent verifications with the issuer hanging: %v, %d fetch(es) started", took, srv.fetches.Load())
	if n := srv.fetches.Load(); n > 2 {
		t.Fatalf("%d fetches, want at most one refresh in flight", n)
	}
}

// A flood of unknown kids while the issuer is down fetches at most once
// per interval; the lookups fail fast.
func TestRemoteKeySetUnknownKidFlood(t *testing.T) {
	f := loadFixture()
	srv := newJWKSServer(t, f.es.public())
	ks, clock := staleKeySet(t, srv, nil)
	srv.set(func(s *jwksServer) { s.fail = true })
	for i := range 200 {
		_, err := ks.LookupKey(context.Background(), fmt.Sprintf("forged-%d", i))
		if !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("unknown kid: %v", err)
		}
		if i%20 == 0 {
			clock.Add(time.Second / 2)
		}
	}
	settle(t, ks)
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches for 200 unknown kids in 5 s, want 2 (the load and one)", n)
	}
	// Up: an unknown kid fetches again once the wait is over, and the
	// cached keys are still served meanwhile.
	srv.set(func(s *jwksServer) { s.fail = false; s.keys = append(s.keys, f.ed.public()) })
	if _, err := ks.LookupKey(context.Background(), f.ed.kid); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a lookup inside the backoff fetched: %v", err)
	}
	clock.Add(MinRefetchInterval)
	if _, err := ks.LookupKey(context.Background(), f.ed.kid); err != nil {
		t.Fatalf("a new key after the backoff: %v", err)
	}
	if _, err := ks.LookupKey(context.Background(), f.es.kid); err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

// Without any cached keys, the first lookups wait for one shared fetch,
// bounded by their context.
func TestRemoteKeySetFirstLoad(t *testing.T) {
	f := loadFixture()
	srv := newJWKSServer(t, f.es.public())
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv.set(func(s *jwksServer) { s.block = release })
	ks := NewRemoteKeySet(srv.URL+"/.well-known/jwks.json", nil, fakeNow)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := ks.LookupKey(ctx, f.es.kid); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a first load past the caller's deadline: %v", err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := ks.LookupKey(context.Background(), f.es.kid); err != nil {
				t.Errorf("waiting for the first load: %v", err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	release <- struct{}{}
	wg.Wait()
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for the first load, want 1 shared", n)
	}
}
