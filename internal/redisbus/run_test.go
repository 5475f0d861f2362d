package redisbus

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

func TestRevocationsReachOtherReplica(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	prefix := testkit.RedisPrefix(t, url)
	a, b := openBus(t, url, prefix, nil), openBus(t, url, prefix, nil)
	rb := newReplica()
	rb.run(t, b)
	rb.waitConnect(t, 2*time.Second)
	waitConnected(t, b)
	want := []auth.Revocation{rev(auth.RevokedToken, "j", time.Hour), rev(auth.RevokedSession, "s", time.Hour)}
	start := time.Now()
	if err := a.Publish(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	got := rb.waitRecs(t, time.Second)
	t.Logf("delivered in %v", time.Since(start))
	if !slices.EqualFunc(got, want, sameRevocation) {
		t.Fatalf("got %v, want %v", got, want)
	}
	select {
	case <-rb.connects:
		t.Fatal("onConnect called again without a reconnection")
	case <-time.After(50 * time.Millisecond):
	}
}

// TestQuietSubscriptionStaysUp checks that the health-check pings, sent
// when nothing is published, are answered and do not cause reconnections.
func TestQuietSubscriptionStaysUp(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	bus := openBus(t, url, testkit.RedisPrefix(t, url), nil)
	r := newReplica()
	r.run(t, bus)
	r.waitConnect(t, 2*time.Second)
	select {
	case <-r.connects:
		t.Fatal("reconnected while idle: the health check failed a live connection")
	case <-time.After(3*healthInterval + healthInterval/2):
	}
	if !bus.Connected() {
		t.Fatal("Connected() = false on an idle live subscription")
	}
}

func sameRevocation(x, y auth.Revocation) bool {
	return x.Kind == y.Kind && x.ID == y.ID && x.ExpiresAt.Equal(y.ExpiresAt)
}

func TestMalformedMessagesAreSkipped(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	prefix := testkit.RedisPrefix(t, url)
	logs, log := testkit.NewLogCount(t)
	bus := openBus(t, url, prefix, log)
	r := newReplica()
	r.run(t, bus)
	r.waitConnect(t, 2*time.Second)
	raw := testkit.RedisClient(t, url)
	bad := []string{
		"not json", "null", "{}", `{"kind":"token"}`, `[1]`, `[null]`,
		`[{"kind":"user","id":"a","exp":1}]`,
		`[{"kind":"token","id":"","exp":1}]`,
		`[{"kind":"token","id":"a"}]`,
		`[{"kind":"token","id":"ok","exp":1},{"kind":"token","id":"a","exp":"soon"}]`,
	}
	for _, p := range bad {
		if err := raw.Publish(t.Context(), bus.Channel(), p).Err(); err != nil {
			t.Fatal(err)
		}
	}
	good := []auth.Revocation{rev(auth.RevokedToken, "after", time.Hour)}
	if err := bus.Publish(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	if got := r.waitRecs(t, time.Second); !slices.EqualFunc(got, good, sameRevocation) {
		t.Fatalf("first delivery %v, want only the good message %v", got, good)
	}
	if n := logs.Count("redisbus: skipped malformed revocation message"); n != len(bad) {
		t.Errorf("%d malformed messages logged, want %d", n, len(bad))
	}
	if !bus.Connected() {
		t.Error("malformed messages disconnected the bus")
	}
}

func TestFailedReloadIsRetried(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	bus := openBus(t, url, testkit.RedisPrefix(t, url), nil)
	r := newReplica()
	var calls atomic.Int32
	r.fail = func() error {
		if calls.Add(1) == 1 {
			return errors.New("database down")
		}
		return nil
	}
	r.run(t, bus)
	r.waitConnect(t, 2*time.Second)
	waitConnected(t, bus)
	if n := calls.Load(); n != 2 {
		t.Fatalf("onConnect called %d times, want 2 (one failure, one retry)", n)
	}
}

func TestCloseStopsRun(t *testing.T) {
	t.Parallel()
	url := testkit.RedisURL(t)
	bus := openBus(t, url, testkit.RedisPrefix(t, url), nil)
	r := newReplica()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bus.Run(context.Background(), r.onConnect, nil)
	}()
	r.waitConnect(t, 2*time.Second)
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if bus.Connected() {
		t.Error("Connected() after Close")
	}
	if err := bus.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestUnreachableRedis(t *testing.T) {
	t.Parallel()
	logs, log := testkit.NewLogCount(t)
	start := time.Now()
	bus, err := Open(t.Context(), localURL(testkit.FreePort(t)), Options{Log: log})
	if err != nil {
		t.Fatalf("Open must succeed when Redis is down: %v", err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("Open took %v", d)
	}
	if err := bus.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded against a closed port")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		bus.Run(ctx, func(context.Context) error { t.Error("onConnect called"); return nil }, nil)
	}()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(500 * time.Millisecond):
		t.Fatal("Run did not stop when its context was cancelled")
	}
	attempts := 1 + logs.Count("redisbus: reconnect failed")
	if lost := logs.Count("redisbus: revocation subscription lost; retrying"); lost != 1 {
		t.Errorf("loss logged %d times at Warn, want once", lost)
	}
	if attempts < 3 || attempts > 12 {
		t.Errorf("%d attempts in 1.5 s; want a few (backoff), not a spin", attempts)
	}
	if bus.Connected() {
		t.Error("Connected() with Redis down")
	}
}
