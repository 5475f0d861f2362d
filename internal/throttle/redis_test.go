package throttle

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// testRedis returns a client of the tests' Redis and a key prefix of the
// test's own.
func testRedis(t *testing.T) (*redis.Client, string) { return testkit.Redis(t) }

// inRedis returns a Throttle with p whose counters live in Redis through c.
func inRedis(t *testing.T, c *redis.Client, prefix string, p Policy) *Throttle {
	return newThrottle(t, ratelimit.NewRedis(c, prefix), p)
}

// slack is how far a wait read back from Redis may be below the wait set:
// its TTL runs down while the test goes on.
const slack = 500 * time.Millisecond

func TestRedisBackoffAndReset(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkBackoff(t, inRedis(t, c, prefix, suitePolicy), slack)
}

func TestRedisPerAddressLimit(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkPerAddress(t, inRedis(t, c, prefix, suitePolicy), slack)
}

func TestRedisIPv6SharesThe64(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkIPv6(t, inRedis(t, c, prefix, suitePolicy), slack)
}

// TestRedisAccountWide runs the account-wide checks on two replicas that
// share Redis through clients of their own.
func TestRedisAccountWide(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	c2 := testkit.RedisClient(t, testkit.RedisURL(t))
	checkAccountWide(t, inRedis(t, c, prefix, accountWidePolicy), inRedis(t, c2, prefix, accountWidePolicy), slack)
}

// TestRedisKeysExpire checks that every key has a TTL no longer than its
// window, that keys name no username or address, and that counters are
// forgotten after the window.
func TestRedisKeysExpire(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	p := Policy{AccountFree: 1, AddressFree: 1, AccountWideFree: 1, BaseDelay: 100 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Forget: 400 * time.Millisecond, KnownFor: 700 * time.Millisecond}
	th := inRedis(t, c, prefix, p)
	fail(t, th, "alice@example.com", "192.0.2.1", 3) // waits of 100 ms, then 200 ms
	expectWait(t, th, "alice@example.com", "192.0.2.1", 200*time.Millisecond, 150*time.Millisecond)
	if err := th.Succeeded(t.Context(), "alice@example.com", "192.0.2.99"); err != nil {
		t.Fatal(err)
	}
	ks, err := testkit.RedisKeys(t.Context(), c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	// Three counters and their waits, and the known address.
	if len(ks) != 7 {
		t.Fatalf("keys %v, want 7", ks)
	}
	for _, k := range ks {
		if strings.Contains(k, "alice") || strings.Contains(k, "192.0.2") {
			t.Errorf("key %q names the account or the address", k)
		}
		ttl := c.PTTL(t.Context(), k).Val()
		limit := p.Forget
		switch {
		case strings.HasSuffix(k, ":wait"):
			limit = p.MaxDelay
		case strings.Contains(k, ":login-known:"):
			limit = p.KnownFor
		}
		if ttl <= 0 || ttl > limit {
			t.Errorf("key %q: TTL %v, want within (0, %v]", k, ttl, limit)
		}
	}
	time.Sleep(p.KnownFor + 100*time.Millisecond)
	if ks, _ := testkit.RedisKeys(t.Context(), c, prefix); len(ks) != 0 {
		t.Fatalf("keys %v left after the windows", ks)
	}
	expectWait(t, th, "alice@example.com", "192.0.2.1", 0, 0)
	fail(t, th, "alice@example.com", "192.0.2.1", 1) // a new count: the first is free
	expectWait(t, th, "alice@example.com", "192.0.2.1", 0, 0)
}

// TestRedisConcurrentFailuresCountExactly fails from many goroutines at
// once through two clients, as two replicas would, and checks that every
// failure was counted once.
func TestRedisConcurrentFailuresCountExactly(t *testing.T) {
	t.Parallel()
	c1, prefix := testRedis(t)
	c2 := testkit.RedisClient(t, testkit.RedisURL(t))
	p := Policy{AccountFree: 190, AddressFree: 1000, AccountWideFree: 1000, BaseDelay: time.Second, MaxDelay: time.Hour, Forget: time.Hour}
	replicas := []*Throttle{inRedis(t, c1, prefix, p), inRedis(t, c2, prefix, p)}
	const n = 200
	var wg sync.WaitGroup
	gate := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-gate
			if err := replicas[i%2].Failed(context.Background(), "alice", "192.0.2.1"); err != nil {
				errs <- err
			}
		})
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	th, r := replicas[0], ratelimit.NewRedis(c1, prefix)
	for _, k := range []ratelimit.Key{th.pair.Key(pairID("alice", "192.0.2.1")), th.address.Key("192.0.2.1"), th.account.Key("alice")} {
		if got := c1.Get(t.Context(), r.Name(k)).Val(); got != "200" {
			t.Errorf("%s = %q after %d concurrent failures", k.Limit.Name, got, n)
		}
	}
	// 10 over the free 190: the wait is 2^9 s.
	expectWait(t, th, "alice", "192.0.2.1", 512*time.Second, slack)
}
