package redisbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// testURL returns the Redis of the tests, or skips.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if u == "" {
		tb.Skip("GATEHOUSE_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0): skipping Redis tests")
	}
	return u
}

// newPrefix returns a key prefix of its own for one test, and deletes its
// keys at the end.
func newPrefix(tb testing.TB, url string) string {
	tb.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "gatehouse-test:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() { deleteKeys(tb, url, prefix) })
	return prefix
}

func deleteKeys(tb testing.TB, url, prefix string) {
	c := rawClient(tb, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

// rawClient is a plain go-redis client, to look at what the Bus did.
func rawClient(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

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

// logCount is a slog handler that counts records by message and forwards
// them to the test log.
type logCount struct {
	t  *testing.T
	mu sync.Mutex
	n  map[string]int
}

func newLogCount(t *testing.T) (*logCount, *slog.Logger) {
	h := &logCount{t: t, n: map[string]int{}}
	return h, slog.New(h)
}

func (h *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCount) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logCount) WithGroup(string) slog.Handler            { return h }

func (h *logCount) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.n[r.Message]++
	h.mu.Unlock()
	msg := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	h.t.Log(msg)
	return nil
}

func (h *logCount) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// freePort returns a TCP port that nothing listens on (any more).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

func localURL(port int) string {
	return "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"
}

func rev(kind auth.RevocationKind, id string, ttl time.Duration) auth.Revocation {
	return auth.Revocation{Kind: kind, ID: id, ExpiresAt: time.Now().Add(ttl).Truncate(time.Second)}
}
