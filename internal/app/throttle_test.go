package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

var (
	bobWrong = map[string]string{"username": "bob", "password": "guess"}
	bobRight = map[string]string{"username": "bob", "password": "password456"}
)

// guess sends n wrong passwords for bob, each answered 401.
func (e *env) guess(n int, hdr ...string) {
	e.t.Helper()
	for range n {
		expect401(e.t, e.do("POST", "/auth/login", "", bobWrong, hdr...), "Invalid username or password")
	}
}

// expect429 checks a throttled answer with a Retry-After of want seconds.
func expect429(t *testing.T, r resp, want int) {
	t.Helper()
	expect(t, r, 429, "Too many failed logins; try again later")
	if got := r.header.Get("Retry-After"); got != strconv.Itoa(want) {
		t.Fatalf("Retry-After %q, want %d", got, want)
	}
}

// TestLoginThrottlingAcrossReplicas guesses on one replica and is refused
// on the other: the counters live in the shared Redis.
func TestLoginThrottlingAcrossReplicas(t *testing.T) {
	t.Parallel()
	r := cluster(t, 2, true)
	a, b := r[0], r[1]
	a.guess(5) // the free failures
	b.guess(1) // counted with A's: now 1 s
	expect429(t, a.do("POST", "/auth/login", "", bobRight), 1)
	expect429(t, b.do("POST", "/auth/login", "", bobRight), 1)
	b.login("alice", "secret123") // another account is not affected
	time.Sleep(1100 * time.Millisecond)
	a.guess(1) // the 7th: 2 s
	expect429(t, b.do("POST", "/auth/login", "", bobRight), 2)
}

// TestLoginThrottlingRedisOutage cuts Redis under a running server: logins
// go on, still throttled by this process's counters, and the outage is
// logged once.
func TestLoginThrottlingRedisOutage(t *testing.T) {
	t.Parallel()
	rd := testkit.RedisURL(t)
	proxy := testkit.NewProxy(t, redisAddr(t, rd))
	cfg := testConfig(t)
	cfg.RedisURL = "redis://" + proxy.Addr() + "/0"
	// While Redis is down, one call a second still tries it for up to half
	// a second; a first wait of 5 s instead of 1 s keeps that, on a loaded
	// host, from using up the wait before the request that checks it.
	cfg.LoginBackoff = 5 * time.Second
	logs, log := testkit.NewLogCount(t)
	prefix := testkit.RedisPrefix(t, rd)
	e := startWith(t, cfg, Options{RedisPrefix: prefix}, log, nil)
	raw := testkit.RedisClient(t, rd)
	e.guess(3)
	key := addressKey(prefix, "127.0.0.1")
	if n := raw.Exists(context.Background(), key).Val(); n != 1 {
		t.Fatal("failures are not counted in Redis")
	}
	// Every key but the revocation keys is under gatehouse:.
	ks, err := testkit.RedisKeys(context.Background(), raw, prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if !strings.HasPrefix(k, prefix+"gatehouse:ratelimit:") && !strings.HasPrefix(k, prefix+"revoked") {
			t.Errorf("key %q is not under %sgatehouse:", k, prefix)
		}
	}

	proxy.Cut()
	e.login("alice", "secret123")
	e.guess(3) // with the 3 before the outage, known to this process too: now 5 s
	r := e.do("POST", "/auth/login", "", bobRight)
	expect(t, r, 429, "Too many failed logins; try again later")
	if got, _ := strconv.Atoi(r.header.Get("Retry-After")); got < 3 || got > 5 {
		t.Fatalf("Retry-After %q, want 5, or a little less on a slow host", r.header.Get("Retry-After"))
	}
	e.login("alice", "secret123")
	if n := logs.Count(msgRedisDown); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}

	proxy.Restore()
	carol := map[string]string{"username": "carol", "password": "x"}
	eventually(t, 5*time.Second, func() bool {
		e.do("POST", "/auth/login", "", carol) // Redis is tried again once a second
		return logs.Count(msgRedisUp) == 1
	})
	before, _ := raw.Get(context.Background(), key).Int()
	expect401(t, e.do("POST", "/auth/login", "", carol), "Invalid username or password")
	if after, _ := raw.Get(context.Background(), key).Int(); after != before+1 {
		t.Fatalf("after Redis came back: %s went from %d to %d, want one more", key, before, after)
	}
	e.login("alice", "secret123")
}

// TestLoginThrottlingRedisNeverUp starts with Redis on a port where
// nothing listens: logins work and are throttled in this process.
func TestLoginThrottlingRedisNeverUp(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.RedisURL = "redis://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)) + "/0"
	e := start(t, cfg)
	e.login("alice", "secret123")
	e.guess(6)
	expect429(t, e.do("POST", "/auth/login", "", bobRight), 1)
	e.login("alice", "secret123")
}

// TestLoginThrottlingBehindProxy keys the counters by the forwarded
// address when the peer is a trusted proxy, and by the peer otherwise.
func TestLoginThrottlingBehindProxy(t *testing.T) {
	t.Parallel()
	t.Run("trusted", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.TrustedProxies, _ = config.ParseTrustedProxies("127.0.0.1") // the test client's address
		e := start(t, cfg)
		attacker := []string{"X-Forwarded-For", "198.51.100.66, 203.0.113.7"} // the left one is forged
		e.guess(6, attacker...)
		expect429(t, e.do("POST", "/auth/login", "", bobRight, attacker...), 1)
		// Forging another left-most entry changes nothing.
		expect429(t, e.do("POST", "/auth/login", "", bobRight, "X-Forwarded-For", "192.0.2.99, 203.0.113.7"), 1)
		// The real user, elsewhere, logs in.
		r := e.do("POST", "/auth/login", "", bobRight, "X-Forwarded-For", "198.51.100.20")
		expect(t, r, 200, "")
		admin := e.login("alice", "secret123")
		sessions := e.do("GET", "/admin/users/"+e.userID("bob")+"/sessions", admin.access, nil)
		expect(t, sessions, 200, "")
		list := sessions.json(t)["sessions"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["ip"] != "198.51.100.20" {
			t.Fatalf("sessions %s: want one from 198.51.100.20", sessions.body)
		}
	})
	t.Run("not trusted", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t) // no trusted proxies: the header is the client's word
		e.guess(6, "X-Forwarded-For", "203.0.113.7")
		expect429(t, e.do("POST", "/auth/login", "", bobRight, "X-Forwarded-For", "198.51.100.20"), 1)
	})
}

func (e *env) userID(name string) string {
	e.t.Helper()
	u, err := e.app.Accounts.ByName(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

func redisAddr(t *testing.T, url string) string {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return opt.Addr
}

const (
	msgRedisDown = ratelimit.MsgRedisDown
	msgRedisUp   = ratelimit.MsgRedisUp
)

// addressKey is the Redis key of the login throttle's counter for addr.
func addressKey(prefix, addr string) string {
	return ratelimit.NewRedis(nil, prefix+OwnKeys).Name(ratelimit.Limit{Name: "login-address"}.Key(addr))
}

// TestLoginAccountWide guesses bob's password from 20 addresses, 5 each
// (all 401), then once more from another: from then on an address that
// never logged in as bob waits, while the real user's address logs in.
func TestLoginAccountWide(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.TrustedProxies, _ = config.ParseTrustedProxies("127.0.0.1") // the test client's address
	e := start(t, cfg)
	home := []string{"X-Forwarded-For", "198.51.100.20"}
	expect(t, e.do("POST", "/auth/login", "", bobRight, home...), 200, "")
	for i := range 20 {
		addr := fmt.Sprintf("203.0.113.%d", i+1)
		if i >= 10 {
			addr = fmt.Sprintf("2001:db8:0:%x::1", i)
		}
		e.guess(5, "X-Forwarded-For", addr)
	}
	e.guess(1, "X-Forwarded-For", "192.0.2.1") // the 101st
	expect429(t, e.do("POST", "/auth/login", "", bobRight, "X-Forwarded-For", "192.0.2.2"), 1)
	expect429(t, e.do("POST", "/auth/login", "", bobRight, "X-Forwarded-For", "2001:db8:ffff::1"), 1)
	expect(t, e.do("POST", "/auth/login", "", bobRight, home...), 200, "")
	e.login("alice", "secret123") // another account is not affected
}
