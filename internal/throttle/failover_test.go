package throttle

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

func TestFailoverWithoutRedis(t *testing.T) {
	t.Parallel()
	logs, log := testkit.NewLogCount(t)
	c := newClient(t, "redis://127.0.0.1:"+strconv.Itoa(testkit.FreePort(t))+"/0")
	_, clock := fakeClock()
	f := NewFailover(NewRedis(c, "", suitePolicy), NewMemory(suitePolicy, clock), log)
	start := time.Now()
	checkBackoff(t, f, 0) // never an error, and still throttled
	checkPerAddress(t, f, 0)
	if d := time.Since(start); d > 2*redisTimeout {
		t.Errorf("the checks took %v with Redis down", d)
	}
	if n := logs.Count(msgDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}
}

func TestFailoverThroughOutage(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	proxy := testkit.NewProxy(t, c.Options().Addr)
	viaProxy := newClient(t, "redis://"+proxy.Addr()+"/0")
	logs, log := testkit.NewLogCount(t)
	p := Policy{AccountFree: 3, AddressFree: 100, BaseDelay: 10 * time.Second, MaxDelay: time.Minute, Forget: time.Hour}
	f := NewFailover(NewRedis(viaProxy, prefix, p), NewMemory(p, nil), log)
	other := NewRedis(c, prefix, p) // another replica, always connected

	fail(t, f, "alice", "192.0.2.1", 4)
	expectWait(t, other, "alice", "192.0.2.1", 10*time.Second, slack) // counted in Redis

	proxy.Cut()
	// The call that finds Redis gone may take up to redisTimeout, while
	// the waits run down.
	outageSlack := slack + redisTimeout
	expectWait(t, f, "alice", "192.0.2.1", 10*time.Second, outageSlack) // this process's count
	fail(t, f, "alice", "192.0.2.1", 1)
	expectWait(t, f, "alice", "192.0.2.1", 20*time.Second, slack)
	expectWait(t, other, "alice", "192.0.2.1", 10*time.Second, outageSlack) // not in Redis
	if err := f.Succeeded(t.Context(), "alice", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	expectWait(t, f, "alice", "192.0.2.1", 0, 0)
	if n := logs.Count(msgDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}

	proxy.Restore()
	time.Sleep(redisRetry + 100*time.Millisecond)
	fail(t, other, "erin", "192.0.2.1", 4) // only Redis knows of these
	expectWait(t, f, "erin", "192.0.2.1", 10*time.Second, slack)
	if n := logs.Count(msgUp); n != 1 {
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
	f := NewFailover(NewRedis(c, prefix, suitePolicy), NewMemory(suitePolicy, clock), log)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Wait(ctx, "alice", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := logs.Count(msgDown); n != 0 {
		t.Fatalf("a cancelled caller was logged as an outage")
	}
	fail(t, NewRedis(c, prefix, suitePolicy), "alice", "192.0.2.1", 4) // in Redis only
	expectWait(t, f, "alice", "192.0.2.1", time.Second, slack)
}

const (
	msgDown = "throttle: Redis unreachable; counting failed logins in this process until it answers"
	msgUp   = "throttle: Redis answers again; counting failed logins there"
)
