package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/password"
)

// startApp runs Gatehouse in this process on a fresh SQLite file, with
// cheap password hashing, and returns its URL and a demo admin's login
// body.
func startApp(t *testing.T) (string, string) {
	t.Helper()
	cfg := config.Defaults()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
	cfg.Issuer = "http://gatehouse.test"
	cfg.KeyPublishDelay = 0
	cheap := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	a, err := app.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{PasswordParams: &cheap})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateDemoUsers(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	for _, d := range app.DemoUsers {
		if d.Role == auth.RoleAdmin {
			return srv.URL, loginJSON(d.Name, d.Password)
		}
	}
	t.Fatal("no demo admin")
	return "", ""
}

// The setup makes, against the real server, a fresh attempt and an unused
// recovery code for each pair: each completes once, and a second time
// every one is refused.
func TestSecondStepsAgainstGatehouse(t *testing.T) {
	t.Parallel()
	base, adminLogin := startApp(t)
	admin := mustLogin(base, adminLogin).Access
	const users = 3
	pairs, err := prepareMFA(base, admin, "mfa-test-", users)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != users*mfaCodesPerUser {
		t.Fatalf("%d pairs, want %d", len(pairs), users*mfaCodesPerUser)
	}
	seen := map[string]bool{}
	for _, p := range pairs {
		if seen[p.token] || seen[p.code] {
			t.Fatalf("pair %+v repeats a token or a code", p)
		}
		seen[p.token], seen[p.code] = true, true
	}
	r := secondSteps(base, pairs, 4)
	if r.ok != int64(len(pairs)) || len(r.statuses) != 0 || len(r.lat) != len(pairs) {
		t.Fatalf("first pass: %d of %d answered 200, others %v", r.ok, len(pairs), r.statuses)
	}
	again := secondSteps(base, pairs, 4)
	if again.ok != 0 || again.statuses[401] != int64(len(pairs)) {
		t.Fatalf("replayed pairs: %d answered 200, others %v; want all 401", again.ok, again.statuses)
	}
}

// The driver sends each pair exactly once, over at most conns
// connections, and counts what is not a 200 by status.
func TestSecondStepsSendsEachPairOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Token string `json:"mfa_token"`
			Code  string `json:"code"`
		}
		if r.URL.Path != "/auth/login/mfa" || json.NewDecoder(r.Body).Decode(&b) != nil {
			w.WriteHeader(404)
			return
		}
		mu.Lock()
		got[b.Token]++
		mu.Unlock()
		if !strings.HasPrefix(b.Code, "good") {
			w.WriteHeader(401)
			return
		}
		w.Write([]byte(`{"access_token":"a","refresh_token":"r"}`))
	}))
	defer srv.Close()
	var pairs []mfaPair
	for i := range 50 {
		code := "good"
		if i%10 == 0 {
			code = "bad"
		}
		pairs = append(pairs, mfaPair{token: strings.Repeat("t", i+1), code: code})
	}
	r := secondSteps(srv.URL, pairs, 8)
	if r.ok != 45 || r.statuses[401] != 5 || len(r.statuses) != 1 || r.elapsed <= 0 {
		t.Errorf("ok %d, others %v, elapsed %s; want 45 and 5 × 401", r.ok, r.statuses, r.elapsed)
	}
	if len(got) != 50 {
		t.Errorf("%d distinct tokens sent, want 50", len(got))
	}
	for tok, n := range got {
		if n != 1 {
			t.Errorf("token of length %d sent %d times", len(tok), n)
		}
	}
}

func TestLoginMFAGoals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rps, cpu float64
		met      [2]bool
	}{
		{1538, 460, [2]bool{true, true}},
		{900, 460, [2]bool{false, true}},
		{1200, 1000, [2]bool{true, false}},
	} {
		r := &Result{ID: "sqlite/login-mfa", Runs: []Measure{{Ops: 1000, RPS: c.rps, ServerCPUus: c.cpu}}}
		var gs []Goal
		for _, g := range goals([]*Result{r.finish()}) {
			if strings.HasPrefix(g.Name, "second login step") {
				gs = append(gs, g)
			}
		}
		if len(gs) != 2 || gs[0].Met != c.met[0] || gs[1].Met != c.met[1] {
			t.Errorf("%.0f/s, %.0f µs: goals %+v, want met %v", c.rps, c.cpu, gs, c.met)
		}
	}
}
