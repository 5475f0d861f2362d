package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"github.com/gatehouse/gatehouse/internal/totp"
)

// This file starts real `gatehouse serve` processes against one PostgreSQL
// schema and a throwaway Redis that the test starts and stops itself.

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildBinary builds the binary as the README says to build it for
// deployment: CGO_ENABLED=0, one file that needs no C library.
func buildBinary(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "gatehouse")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func pgSchemaURL(t *testing.T) string {
	testkit.RedisURL(t) // skips where the Redis tests are not enabled; the test starts a Redis of its own
	return pgtest.Schema(t, pgtest.URL(t))
}

// redisProc is a throwaway redis-server on a port of its own.
type redisProc struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, addr string) *redisProc {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	_, port, _ := net.SplitHostPort(addr)
	r := &redisProc{t: t, addr: addr, cmd: exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	waitTCP(t, addr)
	return r
}

func (r *redisProc) stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

func waitTCP(t *testing.T, addr string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replica is one `gatehouse serve` process.
type replica struct {
	t    *testing.T
	name string
	base string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func startReplica(t *testing.T, bin, name string, env []string) *replica {
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--demo")
	cmd.Env = append(os.Environ(), append(env, "GATEHOUSE_ADDR="+addr)...)
	r := &replica{t: t, name: name, base: "http://" + addr, cmd: cmd, logs: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, r.logs)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for r.call("GET", "/readyz", "", "").status != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready:\n%s", name, r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

type answer struct {
	status int
	body   map[string]any
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func (r *replica) call(method, path, bearer, body string) answer {
	req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{status: 0}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return answer{res.StatusCode, m}
}

func (r *replica) login(user, pw string) (access, refresh string) {
	a := r.call("POST", "/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw))
	if a.status != 200 {
		r.t.Fatalf("%s login: %d %v", r.name, a.status, a.body)
	}
	return a.str("access_token"), a.str("refresh_token")
}

func within(t *testing.T, d time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func kidOf(t *testing.T, tok string) string {
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	json.Unmarshal(raw, &h)
	return h.Kid
}

func (r *replica) publishes(kid string) bool {
	a := r.call("GET", "/.well-known/jwks.json", "", "")
	keys, _ := a.body["keys"].([]any)
	for _, k := range keys {
		if m, _ := k.(map[string]any); m["kid"] == kid {
			return true
		}
	}
	return false
}

func TestMultiProcessReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root := t // owns what must outlive a subtest
	bin := buildBinary(t)
	redis := startRedis(t, freeAddr(t))
	env := []string{
		"GATEHOUSE_DATABASE_URL=" + pgSchemaURL(t),
		"GATEHOUSE_REDIS_URL=redis://" + redis.addr + "/0",
		"GATEHOUSE_ISSUER=http://gatehouse.test",
		"GATEHOUSE_REFRESH_REUSE_INTERVAL=0s",
		"GATEHOUSE_KEY_PUBLISH_DELAY=4s",
		// The SIGKILL subtest refreshes as fast as it can; the per-session
		// rate would cut it off (and, past it, refuse the refresh that
		// shows the session survived) on a fast machine.
		"GATEHOUSE_SESSION_REFRESH_RATE=0",
	}
	a := startReplica(t, bin, "A", env)
	b := startReplica(t, bin, "B", env)
	c := startReplica(t, bin, "C", env)
	all := []*replica{a, b, c}

	t.Run("login on A, refresh on B, verify on C", func(t *testing.T) {
		_, refresh := a.login("alice", "secret123")
		res := b.call("POST", "/auth/refresh", refresh, "")
		if res.status != 200 {
			t.Fatalf("refresh on B: %d %v", res.status, res.body)
		}
		if me := c.call("GET", "/me", res.str("access_token"), ""); me.status != 200 || me.str("username") != "alice" {
			t.Fatalf("/me on C: %d %v", me.status, me.body)
		}
	})

	t.Run("logout on A is refused on B and C within a second", func(t *testing.T) {
		access, _ := a.login("bob", "password456")
		if a.call("POST", "/auth/logout", access, "").status != 204 {
			t.Fatal("logout failed")
		}
		for _, r := range []*replica{b, c} {
			d := within(t, time.Second, "rejection on "+r.name, func() bool { return r.call("GET", "/me", access, "").status == 401 })
			t.Logf("rejected on %s after %s", r.name, d)
		}
	})

	t.Run("reuse detection across replicas", func(t *testing.T) {
		_, first := a.login("bob", "password456")
		res := b.call("POST", "/auth/refresh", first, "")
		if res.status != 200 {
			t.Fatalf("refresh: %d", res.status)
		}
		if c.call("POST", "/auth/refresh", first, "").status != 401 {
			t.Fatal("a used-up token was accepted on C")
		}
		if a.call("POST", "/auth/refresh", res.str("refresh_token"), "").status != 401 {
			t.Fatal("the session survived reuse of its old token")
		}
		within(t, time.Second, "access token revoked on A", func() bool {
			return a.call("GET", "/me", res.str("access_token"), "").status == 401
		})
	})

	t.Run("50 concurrent refreshes over three replicas, one winner", func(t *testing.T) {
		_, refresh := a.login("bob", "password456")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, others := 0, 0
		gate := make(chan struct{})
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				s := all[i%3].call("POST", "/auth/refresh", refresh, "").status
				mu.Lock()
				defer mu.Unlock()
				if s == 200 {
					wins++
				} else if s != 401 {
					others++
				}
			}()
		}
		close(gate)
		wg.Wait()
		if wins != 1 || others != 0 {
			t.Fatalf("%d successes and %d other answers, want exactly 1 success", wins, others)
		}
	})

	t.Run("a rotated key is published everywhere before it signs", func(t *testing.T) {
		admin, _ := a.login("alice", "secret123")
		old := kidOf(t, admin)
		rot := a.call("POST", "/admin/keys/rotate", admin, "")
		kid := rot.str("kid")
		if rot.status != 200 || kid == "" {
			t.Fatalf("rotate: %d %v", rot.status, rot.body)
		}
		for _, r := range []*replica{b, c} {
			within(t, 3*time.Second, "new key in "+r.name+"'s JWKS", func() bool { return r.publishes(kid) })
			tok, _ := r.login("bob", "password456")
			if got := kidOf(t, tok); got != old {
				t.Fatalf("%s signed with %s before the publish delay ended", r.name, got)
			}
		}
		for _, r := range all {
			within(t, 8*time.Second, r.name+" signs with the new key", func() bool {
				tok, _ := r.login("bob", "password456")
				return kidOf(t, tok) == kid
			})
		}
		if a.call("GET", "/me", admin, "").status != 200 {
			t.Fatal("a token of the retired key no longer verifies")
		}
	})

	t.Run("Redis stopped and started loses no revocation", func(t *testing.T) {
		access, _ := a.login("bob", "password456")
		redis.stop()
		within(t, 5*time.Second, "B notices Redis is down", func() bool { return b.call("GET", "/readyz", "", "").status == 503 })
		if b.call("GET", "/me", access, "").status != 200 {
			t.Fatal("authenticated requests must keep working while Redis is down")
		}
		if a.call("POST", "/auth/logout", access, "").status != 204 {
			t.Fatal("logout while Redis is down failed")
		}
		for _, r := range []*replica{b, c} {
			within(t, 2*time.Second, "rejection on "+r.name+" without Redis", func() bool { return r.call("GET", "/me", access, "").status == 401 })
		}
		redis = startRedis(root, redis.addr)
		for _, r := range all {
			within(t, 5*time.Second, r.name+" ready again", func() bool { return r.call("GET", "/readyz", "", "").status == 200 })
		}
		again, _ := a.login("bob", "password456")
		a.call("POST", "/auth/logout", again, "")
		for _, r := range []*replica{b, c} {
			within(t, time.Second, "rejection on "+r.name+" after Redis returned", func() bool { return r.call("GET", "/me", again, "").status == 401 })
		}
		if b.call("GET", "/me", access, "").status != 401 {
			t.Fatal("a revocation made while Redis was down was lost")
		}
	})

	t.Run("a replica killed during refreshes loses no session", func(t *testing.T) {
		// D keeps the default reuse interval, as clients that retry need.
		d := startReplica(root, bin, "D", append(env, "GATEHOUSE_REFRESH_REUSE_INTERVAL=10s"))
		e := startReplica(root, bin, "E", append(env, "GATEHOUSE_REFRESH_REUSE_INTERVAL=10s"))
		const n = 8
		latest := make([]string, n)
		for i := range latest {
			_, latest[i] = a.login("bob", "password456")
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					res := d.call("POST", "/auth/refresh", latest[i], "")
					if res.status != 200 {
						return
					}
					latest[i] = res.str("refresh_token")
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		d.cmd.Process.Kill() // SIGKILL
		d.cmd.Wait()
		cancel()
		wg.Wait()
		// Every session goes on on replica E: a refresh lost with D is
		// retried within the reuse interval and gets a pair of the same
		// session; no rotation family is corrupted.
		for i, tok := range latest {
			res := e.call("POST", "/auth/refresh", tok, "")
			if res.status != 200 {
				t.Fatalf("session %d lost after SIGKILL: %d %v", i, res.status, res.body)
			}
			if e.call("GET", "/me", res.str("access_token"), "").status != 200 {
				t.Fatalf("session %d: new access token refused", i)
			}
		}
	})
	t.Run("a TOTP code sent to two replicas at once logs in once; wrong codes count across replicas", func(t *testing.T) {
		admin, _ := a.login("alice", "secret123")
		if res := a.call("POST", "/admin/users", admin, `{"username":"carol","password":"carols-passphrase"}`); res.status != 201 {
			t.Fatalf("create carol: %d %v", res.status, res.body)
		}
		access, _ := a.login("carol", "carols-passphrase")
		res := a.call("POST", "/me/mfa/totp", access, `{"current_password":"carols-passphrase"}`)
		secret, err := totp.Decode(res.str("secret"))
		if err != nil {
			t.Fatalf("enrol: %d %v", res.status, res.body)
		}
		step := totp.StepAt(time.Now())
		if res := b.call("POST", "/me/mfa/totp/confirm", access, fmt.Sprintf(`{"code":%q}`, totp.Code(secret, step))); res.status != 200 {
			t.Fatalf("confirm on B: %d %v", res.status, res.body)
		}
		attempt := func(r *replica) string {
			res := r.call("POST", "/auth/login", "", `{"username":"carol","password":"carols-passphrase"}`)
			if res.status != 401 || res.str("code") != "mfa_required" {
				t.Fatalf("login on %s: %d %v", r.name, res.status, res.body)
			}
			return res.str("mfa_token")
		}
		code := totp.Code(secret, step+1)
		onA, onB := attempt(a), attempt(b)
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i, x := range []struct {
			r   *replica
			tok string
		}{{a, onA}, {b, onB}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = x.r.call("POST", "/auth/login/mfa", "", fmt.Sprintf(`{"mfa_token":%q,"code":%q}`, x.tok, code)).status
			}()
		}
		wg.Wait()
		if slices.Sort(statuses); statuses[0] != 200 || statuses[1] != 401 {
			t.Fatalf("the same code on A and B at once: %v, want one 200 and one 401", statuses)
		}
		// Ten more wrong codes (the race's loser was one), spread over A, B
		// and C; past them, the next anywhere waits. The wait past the free
		// failures is one second, so C's attempt (a password hash) is made
		// before them, not between the last and the check.
		onC := attempt(c)
		for i := range 10 {
			r := all[i%3]
			if res := r.call("POST", "/auth/login/mfa", "", fmt.Sprintf(`{"mfa_token":%q,"code":"000000"}`, attempt(r))); res.status != 401 {
				t.Fatalf("wrong code %d on %s: %d %v", i, r.name, res.status, res.body)
			}
		}
		if res := c.call("POST", "/auth/login/mfa", "", fmt.Sprintf(`{"mfa_token":%q,"code":"000000"}`, onC)); res.status != 429 {
			t.Fatalf("the 11th wrong code, on C: %d %v, want 429", res.status, res.body)
		}
	})
}
