package throttle

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// TestFailoverWithoutRedis throttles with Redis never up: every check
// works, in this process, and the outage is logged once.
func TestFailoverWithoutRedis(t *testing.T) {
	t.Parallel()
	logs, log := testkit.NewLogCount(t)
	c := testkit.RedisClient(t, "redis://127.0.0.1:"+strconv.Itoa(testkit.FreePort(t))+"/0")
	_, clock := fakeClock()
	store := ratelimit.NewFailover(ratelimit.NewRedis(c, ""), ratelimit.NewMemory(0, clock), log)
	start := time.Now()
	checkBackoff(t, newThrottle(t, store, suitePolicy), 0) // never an error, and still throttled
	th := newThrottle(t, store, accountWidePolicy)
	checkAccountWide(t, th, th, 0)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the checks took %v with Redis down", d)
	}
	if n := logs.Count(ratelimit.MsgRedisDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}
}

// TestFailoverThroughOutage cuts Redis between two replicas: the one cut
// off goes on with its own counts, known addresses included, and uses
// Redis again once it is back.
func TestFailoverThroughOutage(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	proxy := testkit.NewProxy(t, c.Options().Addr)
	viaProxy := testkit.RedisClient(t, "redis://"+proxy.Addr()+"/0")
	logs, log := testkit.NewLogCount(t)
	p := Policy{AccountFree: 3, AddressFree: 100, AccountWideFree: 6, BaseDelay: 10 * time.Second, MaxDelay: time.Minute, Forget: time.Hour}
	f := newThrottle(t, ratelimit.NewFailover(ratelimit.NewRedis(viaProxy, prefix), ratelimit.NewMemory(0, nil), log), p)
	other := inRedis(t, c, prefix, p) // another replica, always connected

	if err := f.Succeeded(t.Context(), "alice", "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	fail(t, f, "alice", "192.0.2.1", 4)
	expectWait(t, other, "alice", "192.0.2.1", 10*time.Second, slack) // counted in Redis

	proxy.Cut()
	start := time.Now()
	// The call that finds Redis gone may take up to a Redis timeout, while
	// the waits run down.
	outageSlack := slack + time.Second
	expectWait(t, f, "alice", "192.0.2.1", 10*time.Second, outageSlack) // this process's count
	fail(t, f, "alice", "192.0.2.1", 1)
	expectWait(t, f, "alice", "192.0.2.1", 20*time.Second, slack)
	expectWait(t, other, "alice", "192.0.2.1", 10*time.Second, outageSlack) // not in Redis
	fail(t, f, "alice", "192.0.2.2", 2)                                     // 7 for the account: past its 6
	expectWait(t, f, "alice", "192.0.2.3", 10*time.Second, slack)
	expectWait(t, f, "alice", "198.51.100.7", 0, 0) // known in this process too
	if err := f.Succeeded(t.Context(), "alice", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	expectWait(t, f, "alice", "192.0.2.1", 0, 0)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the outage's calls took %v", d)
	}
	if n := logs.Count(ratelimit.MsgRedisDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}

	proxy.Restore()
	time.Sleep(1100 * time.Millisecond)    // Redis is tried again once a second
	fail(t, other, "erin", "192.0.2.1", 4) // only Redis knows of these
	expectWait(t, f, "erin", "192.0.2.1", 10*time.Second, slack)
	if n := logs.Count(ratelimit.MsgRedisUp); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}

// TestFailoverCallerGone checks that a caller's cancelled context is not
// taken for a Redis outage.
func TestFailoverCallerGone(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	logs, log := testkit.NewLogCount(t)
	_, clock := fakeClock()
	f := newThrottle(t, ratelimit.NewFailover(ratelimit.NewRedis(c, prefix), ratelimit.NewMemory(0, clock), log), suitePolicy)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Wait(ctx, "alice", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := logs.Count(ratelimit.MsgRedisDown); n != 0 {
		t.Fatalf("a cancelled caller was logged as an outage")
	}
	fail(t, inRedis(t, c, prefix, suitePolicy), "alice", "192.0.2.1", 4) // in Redis only
	expectWait(t, f, "alice", "192.0.2.1", time.Second, slack)
}
