package redisbus

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func openBus(tb testing.TB, url, prefix string, log *slog.Logger) *Bus {
	tb.Helper()
	b, err := Open(tb.Context(), url, Options{Prefix: prefix, Log: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

// replica runs a Bus and records what its callbacks saw.
type replica struct {
	connects chan struct{}
	recs     chan []auth.Revocation
	fail     func() error // onConnect's result; nil succeeds
}

func newReplica() *replica {
	return &replica{connects: make(chan struct{}, 16), recs: make(chan []auth.Revocation, 16)}
}

// run starts b.Run; the test's cleanup cancels it and checks it returns.
func (r *replica) run(t *testing.T, b *Bus) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx, r.onConnect, func(recs []auth.Revocation) { r.recs <- recs })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
}

func (r *replica) onConnect(context.Context) error {
	if r.fail != nil {
		if err := r.fail(); err != nil {
			return err
		}
	}
	r.connects <- struct{}{}
	return nil
}

func (r *replica) waitConnect(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-r.connects:
	case <-time.After(within):
		t.Fatalf("onConnect not called within %v", within)
	}
}

// waitConnected waits for Connected, which turns true once onConnect has
// returned.
func waitConnected(t *testing.T, b *Bus) {
	t.Helper()
	waitFor(t, time.Second, "Connected() true after onConnect", b.Connected)
}

func (r *replica) waitRecs(t *testing.T, within time.Duration) []auth.Revocation {
	t.Helper()
	select {
	case recs := <-r.recs:
		return recs
	case <-time.After(within):
		t.Fatalf("no revocations received within %v", within)
		return nil
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func localURL(port int) string {
	return "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"
}

func rev(kind auth.RevocationKind, id string, ttl time.Duration) auth.Revocation {
	return auth.Revocation{Kind: kind, ID: id, ExpiresAt: time.Now().Add(ttl).Truncate(time.Second)}
}
