package throttle

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

// testRedis returns a client of the tests' Redis and a key prefix of the
// test's own, whose keys are deleted at the end; it skips without Redis.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	u := testkit.RedisURL(t)
	return newClient(t, u), testkit.RedisPrefix(t, u)
}

func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled, opt.DialerRetries = true, 1 // as Gatehouse's client
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func keys(ctx context.Context, t *testing.T, c *redis.Client, prefix string) []string {
	out, err := testkit.RedisKeys(ctx, c, prefix)
	if err != nil {
		t.Error(err)
	}
	return out
}

// slack is how far a wait read back from Redis may be below the wait set:
// its TTL runs down while the test goes on.
const slack = 500 * time.Millisecond

func TestRedisBackoffAndReset(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkBackoff(t, NewRedis(c, prefix, suitePolicy), slack)
}

func TestRedisPerAddressLimit(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkPerAddress(t, NewRedis(c, prefix, suitePolicy), slack)
}

func TestRedisIPv6SharesThe64(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkIPv6(t, NewRedis(c, prefix, suitePolicy), slack)
}

// TestRedisKeysExpire checks that every key has a TTL no longer than the
// forget window, that keys name no username, and that counters are
// forgotten after the window.
func TestRedisKeysExpire(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	p := Policy{AccountFree: 1, AddressFree: 1, BaseDelay: 100 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Forget: 400 * time.Millisecond}
	th := NewRedis(c, prefix, p)
	fail(t, th, "alice@example.com", "192.0.2.1", 3) // waits of 100 ms, then 200 ms
	expectWait(t, th, "alice@example.com", "192.0.2.1", 200*time.Millisecond, 150*time.Millisecond)
	ks := keys(t.Context(), t, c, prefix)
	if len(ks) != 4 {
		t.Fatalf("keys %v, want 4 (two counters, two waits)", ks)
	}
	for _, k := range ks {
		if strings.Contains(k, "alice") {
			t.Errorf("key %q names the account", k)
		}
		ttl := c.PTTL(t.Context(), k).Val()
		limit := p.Forget
		if strings.HasSuffix(k, ":wait") {
			limit = p.MaxDelay
		}
		if ttl <= 0 || ttl > limit {
			t.Errorf("key %q: TTL %v, want within (0, %v]", k, ttl, limit)
		}
	}
	time.Sleep(p.Forget + 100*time.Millisecond)
	if ks := keys(t.Context(), t, c, prefix); len(ks) != 0 {
		t.Fatalf("keys %v left after the forget window", ks)
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
	c2 := newClient(t, testkit.RedisURL(t))
	p := Policy{AccountFree: 190, AddressFree: 1000, BaseDelay: time.Second, MaxDelay: time.Hour, Forget: time.Hour}
	replicas := []*Redis{NewRedis(c1, prefix, p), NewRedis(c2, prefix, p)}
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
	th := replicas[0]
	for _, k := range []string{th.accountKey("alice", "192.0.2.1"), th.addressKey("192.0.2.1")} {
		if got := c1.Get(t.Context(), k).Val(); got != "200" {
			t.Errorf("%s = %q after %d concurrent failures", k, got, n)
		}
	}
	// 10 over the free 190: the wait is 2^9 s.
	expectWait(t, th, "alice", "192.0.2.1", 512*time.Second, slack)
}

// TestRedisAndMemoryAgree checks that the Lua script and the Go code
// compute the same waits, up to the cap.
func TestRedisAndMemoryAgree(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	p := Policy{AccountFree: 2, AddressFree: 1000, BaseDelay: 300 * time.Millisecond, MaxDelay: 10 * time.Second, Forget: time.Hour}
	r := NewRedis(c, prefix, p)
	_, clock := fakeClock()
	m := NewMemory(p, clock)
	for i := range 10 {
		fail(t, r, "dave", "192.0.2.1", 1)
		fail(t, m, "dave", "192.0.2.1", 1)
		want, _ := m.Wait(t.Context(), "dave", "192.0.2.1")
		t.Run(fmt.Sprintf("failure %d", i+1), func(t *testing.T) { expectWait(t, r, "dave", "192.0.2.1", want, slack) })
	}
}
