package ratelimit

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

// testRedis returns a client of the tests' Redis and a key prefix of the
// test's own.
func testRedis(t *testing.T) (*redis.Client, string) { return testkit.Redis(t) }

// slack is how far a wait read back from Redis may be below the wait set:
// its TTL runs down while the test goes on.
const slack = 500 * time.Millisecond

func TestRedisFailureCounter(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkFailureCounter(t, NewRedis(c, prefix), slack)
}

func TestRedisRate(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkRate(t, NewRedis(c, prefix), slack)
}

// TestRedisConcurrentTake takes through two clients at once, as two
// replicas would: exactly Free are allowed.
func TestRedisConcurrentTake(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	c2 := testkit.RedisClient(t, testkit.RedisURL(t))
	checkConcurrentTake(t, NewRedis(c, prefix), NewRedis(c2, prefix))
}

func TestRedisAndMemoryAgree(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	checkAgainst(t, NewRedis(c, prefix), slack)
}

// TestRedisKeysHaveTTLs checks that every key every script writes has a
// TTL within its window, that keys name no id, and that counters are gone
// after their window.
func TestRedisKeysHaveTTLs(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	r := NewRedis(c, prefix)
	fl := Limit{Name: "test-f", Free: 1, Window: 400 * time.Millisecond, Backoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	rl := Limit{Name: "test-r", Free: 2, Window: 400 * time.Millisecond}
	id := "alice@example.com|192.0.2.1"
	hit(t, r, 3, fl.Key(id))                     // waits of 100 ms, then 200 ms
	hit(t, r, 1, rl.Key(id))                     // Hit on a rate
	_, _ = r.Take(t.Context(), rl.Key("other"))  // Take on a rate
	_, _ = r.Take(t.Context(), fl.Key("other2")) // Take on a failure counter
	ks, err := testkit.RedisKeys(t.Context(), c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 5 {
		t.Fatalf("keys %v, want 5 (four counts, one wait)", ks)
	}
	for _, k := range ks {
		if strings.Contains(k, "alice") || strings.Contains(k, "192.0.2") || strings.Contains(k, "other") {
			t.Errorf("key %q names the id", k)
		}
		if !strings.HasPrefix(k, prefix+"ratelimit:test-") {
			t.Errorf("key %q is not under %sratelimit:", k, prefix)
		}
		ttl := c.PTTL(t.Context(), k).Val()
		limit := 400 * time.Millisecond
		if strings.HasSuffix(k, ":wait") {
			limit = fl.MaxBackoff
		}
		if ttl <= 0 || ttl > limit {
			t.Errorf("key %q: TTL %v, want within (0, %v]", k, ttl, limit)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if ks, _ := testkit.RedisKeys(t.Context(), c, prefix); len(ks) != 0 {
		t.Fatalf("keys %v left after the window", ks)
	}
	expectWait(t, r, 0, 0, fl.Key(id))
	hit(t, r, 1, fl.Key(id)) // a new count: the first is free
	expectWait(t, r, 0, 0, fl.Key(id))
}

// TestRedisRateKeepsItsTTL checks that a plain rate's count gets a TTL
// even if it lost it (the script repairs a key without one), and that the
// window runs from the first event.
func TestRedisRateKeepsItsTTL(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	r := NewRedis(c, prefix)
	l := Limit{Name: "test-ttl", Free: 3, Window: time.Minute}
	hit(t, r, 1, l.Key("x"))
	name := r.Name(l.Key("x"))
	if err := c.Persist(t.Context(), name).Err(); err != nil {
		t.Fatal(err)
	}
	hit(t, r, 1, l.Key("x"))
	if ttl := c.PTTL(t.Context(), name).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL %v after a Hit on a key without one", ttl)
	}
	if err := c.PExpire(t.Context(), name, 30*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	checkWait(t, "the 3rd Hit", hit(t, r, 1, l.Key("x")), 30*time.Second, slack) // not pushed back to a minute
}

func TestFailoverWithoutRedis(t *testing.T) {
	t.Parallel()
	logs, log := testkit.NewLogCount(t)
	c := testkit.RedisClient(t, "redis://127.0.0.1:"+strconv.Itoa(testkit.FreePort(t))+"/0")
	f := NewFailover(NewRedis(c, ""), NewMemory(0, newClock().Now), log)
	start := time.Now()
	checkFailureCounter(t, f, 0) // never an error, and still limited
	checkRate(t, f, 0)
	if d := time.Since(start); d > 2*redisTimeout {
		t.Errorf("the checks took %v with Redis down", d)
	}
	if n := logs.Count(MsgRedisDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}
}

func TestFailoverThroughOutage(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	proxy := testkit.NewProxy(t, c.Options().Addr)
	viaProxy := testkit.RedisClient(t, "redis://"+proxy.Addr()+"/0")
	logs, log := testkit.NewLogCount(t)
	l := Limit{Name: "test-outage", Free: 3, Window: time.Hour, Backoff: 10 * time.Second, MaxBackoff: time.Minute}
	f := NewFailover(NewRedis(viaProxy, prefix), NewMemory(0, nil), log)
	other := NewRedis(c, prefix) // another replica, always connected
	k := l.Key("alice")

	hit(t, f, 4, k)
	expectWait(t, other, 10*time.Second, slack, k) // counted in Redis

	proxy.Cut()
	// The call that finds Redis gone may take up to redisTimeout, while
	// the waits run down.
	outageSlack := slack + redisTimeout
	expectWait(t, f, 10*time.Second, outageSlack, k) // this process's count
	hit(t, f, 1, k)
	expectWait(t, f, 20*time.Second, slack, k)
	expectWait(t, other, 10*time.Second, outageSlack, k) // not in Redis
	if err := f.Reset(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	expectWait(t, f, 0, 0, k)
	if n := logs.Count(MsgRedisDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}

	proxy.Restore()
	time.Sleep(redisRetry + 100*time.Millisecond)
	hit(t, other, 4, l.Key("erin")) // only Redis knows of these
	expectWait(t, f, 10*time.Second, slack, l.Key("erin"))
	if n := logs.Count(MsgRedisUp); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}

// TestFailoverCallerGone checks that a caller's cancelled context is not
// taken for a Redis outage.
func TestFailoverCallerGone(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	logs, log := testkit.NewLogCount(t)
	f := NewFailover(NewRedis(c, prefix), NewMemory(0, nil), log)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Wait(ctx, failures.Key("alice")); err != nil {
		t.Fatal(err)
	}
	if n := logs.Count(MsgRedisDown); n != 0 {
		t.Fatalf("a cancelled caller was logged as an outage")
	}
	hit(t, NewRedis(c, prefix), 4, failures.Key("alice")) // in Redis only
	expectWait(t, f, time.Second, slack, failures.Key("alice"))
}
