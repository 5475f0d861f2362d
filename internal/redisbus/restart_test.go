//go:build unix

package redisbus

import (
	"context"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// TestRedisRestart kills the Redis a Run is subscribed to and starts it
// again on the same port: the bus must notice, fail fast meanwhile, then
// resubscribe and reload.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	bin := redisServer(t)
	port := testkit.FreePort(t)
	url := localURL(port)
	srv := startRedis(t, bin, port)
	bus := openBus(t, url, "", nil)
	r := newReplica()
	r.run(t, bus)
	r.waitConnect(t, 2*time.Second)
	waitConnected(t, bus)

	srv.stop()
	waitFor(t, 2*time.Second, "Connected() false after Redis died", func() bool { return !bus.Connected() })
	checkDown(t, bus)
	time.Sleep(time.Second) // down long enough for the backoff to grow

	start := time.Now()
	startRedis(t, bin, port)
	r.waitConnect(t, 3*time.Second)
	t.Logf("resubscribed and reloaded %v after the restart", time.Since(start))
	waitConnected(t, bus)
	want := []auth.Revocation{rev(auth.RevokedToken, "after-restart", time.Hour)}
	if err := openBus(t, url, "", nil).Publish(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	r.waitRecs(t, time.Second)
}

// TestRedisFrozen stops the Redis process without closing its connections,
// as a network partition would: only the health check can notice.
func TestRedisFrozen(t *testing.T) {
	t.Parallel()
	srv := startRedis(t, redisServer(t), testkit.FreePort(t))
	bus := openBus(t, srv.url, "", nil)
	r := newReplica()
	r.run(t, bus)
	r.waitConnect(t, 2*time.Second)
	waitConnected(t, bus)

	srv.signal(t, syscall.SIGSTOP)
	start := time.Now()
	waitFor(t, 3*time.Second, "Connected() false with Redis frozen", func() bool { return !bus.Connected() })
	t.Logf("frozen Redis noticed after %v", time.Since(start))
	srv.signal(t, syscall.SIGCONT)
	r.waitConnect(t, 5*time.Second)
}

func redisServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH: skipping the tests that stop Redis")
	}
	return bin
}

// checkDown checks that Ping and Publish fail, within their context.
func checkDown(t *testing.T, bus *Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	if err := bus.Ping(ctx); err == nil {
		t.Error("Ping succeeded with Redis down")
	}
	err := bus.Publish(ctx, []auth.Revocation{rev(auth.RevokedToken, "lost", time.Hour)})
	if err == nil {
		t.Error("Publish succeeded with Redis down")
	}
	t.Logf("Ping and Publish failed in %v: %v", time.Since(start), err)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Ping and Publish took %v with a 1 s context", d)
	}
}

type redisProc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startRedis runs a throwaway redis-server until stop or the test's end.
func startRedis(t *testing.T, bin string, port int) *redisProc {
	t.Helper()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &redisProc{cmd: cmd, url: localURL(port), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	raw := testkit.RedisClient(t, p.url)
	waitFor(t, 3*time.Second, "redis-server up", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		return raw.Ping(ctx).Err() == nil
	})
	return p
}

func (p *redisProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// stop kills the server and waits for it to exit; it may be called twice.
func (p *redisProc) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
