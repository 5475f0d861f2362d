package throttle

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestFailoverWithoutRedis(t *testing.T) {
	t.Parallel()
	logs, log := newLogCount(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens there any more
	c := newClient(t, "redis://127.0.0.1:"+strconv.Itoa(port)+"/0")
	_, clock := fakeClock()
	f := NewFailover(NewRedis(c, "", suitePolicy), NewMemory(suitePolicy, clock), log)
	start := time.Now()
	checkBackoff(t, f, 0) // never an error, and still throttled
	checkPerAddress(t, f, 0)
	if d := time.Since(start); d > 2*redisTimeout {
		t.Errorf("the checks took %v with Redis down", d)
	}
	if n := logs.count(msgDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}
}

func TestFailoverThroughOutage(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	proxy := newProxy(t, c.Options().Addr)
	viaProxy := newClient(t, "redis://"+proxy.addr()+"/0")
	logs, log := newLogCount(t)
	p := Policy{AccountFree: 3, AddressFree: 100, BaseDelay: 10 * time.Second, MaxDelay: time.Minute, Forget: time.Hour}
	f := NewFailover(NewRedis(viaProxy, prefix, p), NewMemory(p, nil), log)
	other := NewRedis(c, prefix, p) // another replica, always connected

	fail(t, f, "alice", "192.0.2.1", 4)
	expectWait(t, other, "alice", "192.0.2.1", 10*time.Second, slack) // counted in Redis

	proxy.cut()
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
	if n := logs.count(msgDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}

	proxy.restore()
	time.Sleep(redisRetry + 100*time.Millisecond)
	fail(t, other, "erin", "192.0.2.1", 4) // only Redis knows of these
	expectWait(t, f, "erin", "192.0.2.1", 10*time.Second, slack)
	if n := logs.count(msgUp); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}

// TestFailoverCallerGone checks that a caller's cancelled context is not
// taken for a Redis outage.
func TestFailoverCallerGone(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	logs, log := newLogCount(t)
	_, clock := fakeClock()
	f := NewFailover(NewRedis(c, prefix, suitePolicy), NewMemory(suitePolicy, clock), log)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Wait(ctx, "alice", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := logs.count(msgDown); n != 0 {
		t.Fatalf("a cancelled caller was logged as an outage")
	}
	fail(t, NewRedis(c, prefix, suitePolicy), "alice", "192.0.2.1", 4) // in Redis only
	expectWait(t, f, "alice", "192.0.2.1", time.Second, slack)
}

const (
	msgDown = "throttle: Redis unreachable; counting failed logins in this process until it answers"
	msgUp   = "throttle: Redis answers again; counting failed logins there"
)

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
	h.t.Log(r.Level.String() + " " + r.Message)
	return nil
}

func (h *logCount) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// tcpProxy forwards to a target until it is cut; then it drops every
// connection and refuses new ones, as a Redis that went away.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, up: true}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		d, err := net.Dial("tcp", p.target)
		if !p.up || err != nil {
			p.mu.Unlock()
			_ = c.Close()
			if d != nil {
				_ = d.Close()
			}
			continue
		}
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(d, c); _ = d.Close() }()
		go func() { _, _ = io.Copy(c, d); _ = c.Close() }()
	}
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() { p.mu.Lock(); p.up = true; p.mu.Unlock() }
