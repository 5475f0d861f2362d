package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// cluster starts n replicas on one PostgreSQL schema and one Redis prefix.
func cluster(t *testing.T, n int, withRedis bool) []*env {
	return clusterWith(t, n, withRedis, testConfig(t))
}

// clusterWith is cluster with cfg (its database and Redis are set here).
func clusterWith(t *testing.T, n int, withRedis bool, cfg config.Config) []*env {
	pg, rd := pgtest.URL(t), testkit.RedisURL(t)
	cfg.DatabaseURL = pgtest.Schema(t, pg)
	if withRedis {
		cfg.RedisURL = rd
	}
	cfg.ReuseInterval = 0
	prefix := testkit.RedisPrefix(t, rd)
	var envs []*env
	for i := range n {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		a, err := Open(context.Background(), cfg, log, Options{PasswordParams: &cheapParams, RedisPrefix: prefix})
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		if i == 0 {
			if err := a.CreateDemoUsers(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		a.RunBackground(ctx)
		e := &env{t: t, app: a, srv: newServer(t, a.Handler())}
		t.Cleanup(func() { cancel(); e.stop() })
		envs = append(envs, e)
	}
	for _, e := range envs { // wait for every subscription to be live
		if e.app.Bus != nil {
			eventually(t, 5*time.Second, e.app.Bus.Connected)
		}
	}
	return envs
}

func TestReplicasShareSessionsAndRevocations(t *testing.T) {
	t.Parallel()
	r := cluster(t, 3, true)
	a, b, c := r[0], r[1], r[2]

	// Login on A, refresh on B, verify on C.
	p := a.login("alice", "secret123")
	res := b.refresh(p.refresh)
	expect(t, res, 200, "")
	next := pair{res.str(t, "access_token"), res.str(t, "refresh_token")}
	expect(t, c.do("GET", "/me", next.access, nil), 200, "")

	// Logout on A is seen by B and C within a second.
	start := time.Now()
	expect(t, a.do("POST", "/auth/logout", next.access, nil), 204, "")
	for _, e := range []*env{b, c} {
		eventually(t, time.Second, func() bool { return e.do("GET", "/me", next.access, nil).status == 401 })
	}
	t.Logf("logout on A rejected on B and C after %s", time.Since(start))

	// Reuse detection across replicas: a used-up token on C ends the
	// session whose live token was issued on B.
	q := a.login("bob", "password456")
	res = b.refresh(q.refresh)
	expect(t, res, 200, "")
	live := pair{res.str(t, "access_token"), res.str(t, "refresh_token")}
	expect401(t, c.refresh(q.refresh), "Invalid or expired refresh token")
	expect401(t, a.refresh(live.refresh), "Invalid or expired refresh token")
	eventually(t, time.Second, func() bool { return a.do("GET", "/me", live.access, nil).status == 401 })
}

func TestReplicasConcurrentRefreshOneWinner(t *testing.T) {
	t.Parallel()
	r := cluster(t, 3, true)
	p := r[0].login("bob", "password456")
	oneWinner(t, 50, func(i int) int { return r[i%3].refresh(p.refresh).status })
}

func TestReplicasWithoutRedisUseListenNotify(t *testing.T) {
	t.Parallel()
	r := cluster(t, 2, false)
	a, b := r[0], r[1]
	time.Sleep(200 * time.Millisecond) // let the listeners connect
	p := a.login("alice", "secret123")
	expect(t, b.do("GET", "/me", p.access, nil), 200, "")
	start := time.Now()
	expect(t, a.do("POST", "/auth/logout", p.access, nil), 204, "")
	eventually(t, time.Second, func() bool { return b.do("GET", "/me", p.access, nil).status == 401 })
	t.Logf("logout on A rejected on B after %s (PostgreSQL NOTIFY, no Redis)", time.Since(start))
}
