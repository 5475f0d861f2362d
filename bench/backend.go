package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse/internal/password"
)

// backendLabel names what a backend runs on.
func backendLabel(b string) string {
	if b == "postgres" {
		return "PostgreSQL + Redis"
	}
	return "SQLite"
}

// backend measures every scenario on one backend, each beside its
// baseline.
func (h *harness) backend(b string) {
	ids := []string{"/start", "/me-one", "/me-10k", "/login", "/refresh", "/mixed", "/flood"}
	for i := range ids {
		ids[i] = b + ids[i]
	}
	ids = append(ids, "baseline/bare@"+b, "baseline/hash@"+b, "baseline/sql@"+b)
	if !slices.ContainsFunc(ids, h.wants) {
		return
	}
	fmt.Printf("\n== Gatehouse on %s ==\n", backendLabel(b))
	t, ready := h.startGatehouse(b)
	defer stopProc(t.cmd)
	time.Sleep(time.Second)
	idle, _ := procMem(t.pid())
	if h.wants(b + "/start") {
		h.add(single(b+"/start", "gatehouse serve on fresh data: spawn to /readyz 200; RSS one second later",
			Measure{Extra: map[string]float64{"start_ms": ms(ready), "idle_rss_mb": mb(idle)}}))
	}
	h.addUser(t)
	one := h.writeLines(b+"-one.tok", []string{mustLogin(t.base, loginBody).Access})
	var many string
	if slices.ContainsFunc([]string{b + "/me-10k", b + "/mixed", b + "/flood"}, h.wants) {
		start := time.Now()
		many = h.writeLines(b+"-many.tok", accessTokens(t.base, h.o.tokens))
		fmt.Printf("  made %d access tokens in %s\n", h.o.tokens, time.Since(start).Round(time.Millisecond))
	}
	me := func(file string) func(int) load {
		return func(int) load {
			return load{script: "me", conns: h.o.conns, env: map[string]string{"BENCH_TOKENS": file}}
		}
	}
	h.bareRun(b, one)
	h.scenario(t, b+"/me-one", "GET /me, one access token reused", me(one))
	h.scenario(t, b+"/me-10k", fmt.Sprintf("GET /me, %d distinct access tokens in turn", h.o.tokens), me(many))
	h.hashBaseline(b)
	h.scenario(t, b+"/login", "POST /auth/login, 4 connections (2 per hashing slot)", func(int) load {
		return load{script: "login", conns: 4, counted: true, env: map[string]string{"BENCH_LOGIN": loginBody}}
	})
	h.sqlBaseline(b)
	h.scenario(t, b+"/refresh", "POST /auth/refresh, each session's tokens chained", func(run int) load {
		f := h.writeLines(fmt.Sprintf("%s-refresh-%d.tok", b, run), refreshTokens(sessions(t.base, h.o.conns)))
		return load{script: "refresh", conns: h.o.conns, counted: true, env: map[string]string{"BENCH_REFRESH": f}}
	})
	h.scenario(t, b+"/mixed", "90% GET /me (distinct tokens), 9% refresh (chained), 1% login", func(run int) load {
		f := h.writeLines(fmt.Sprintf("%s-mixed-%d.tok", b, run), refreshTokens(sessions(t.base, h.o.conns)))
		return load{script: "mixed", conns: h.o.conns, counted: true,
			env: map[string]string{"BENCH_TOKENS": many, "BENCH_REFRESH": f, "BENCH_LOGIN": loginBody}}
	})
	h.floodScenario(t, b, many)
}

// scenario runs a wrk load against t -runs times and adds the result.
func (h *harness) scenario(t *target, id, what string, prep func(run int) load) {
	if !h.wants(id) {
		return
	}
	r := &Result{ID: id, What: what}
	for i := range h.o.runs {
		l := prep(i)
		var profiled func()
		if i == 0 {
			profiled = h.profile(t, id)
		}
		m, err := h.measureWrk(t, l)
		profiled()
		if err != nil {
			fail("%s: %v\n%s", id, err, tail(t.log))
		}
		h.progress(id, i, m)
		r.Runs = append(r.Runs, m)
	}
	h.add(r.finish())
}

func (h *harness) progress(id string, run int, m Measure) {
	fmt.Printf("  %-22s run %d: %9.0f/s  p50 %7.2f ms  p99 %7.2f ms  server %7.1f µs/op  rss %5.1f MB  errors %d\n",
		id, run+1, m.RPS, m.P50ms, m.P99ms, m.ServerCPUus, m.PeakRSSMB, m.Errors)
}

// profile starts a CPU profile of t for the length of a run when
// profiling is on and id is a hot scenario; the returned func waits for
// it and writes the profile and its top functions.
func (h *harness) profile(t *target, id string) func() {
	hot := strings.HasSuffix(id, "/me-10k") || strings.HasSuffix(id, "/me-one") || strings.HasSuffix(id, "/refresh") || strings.HasSuffix(id, "/mixed")
	if h.o.profileDir == "" || t.debug == "" || !hot {
		return func() {}
	}
	secs := max(1, int(h.o.duration.Seconds())-1)
	base := filepath.Join(h.o.profileDir, strings.ReplaceAll(id, "/", "-"))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", t.debug, secs))
		if err != nil {
			h.note("profile of %s: %v", id, err)
			return
		}
		defer res.Body.Close()
		os.MkdirAll(h.o.profileDir, 0o755)
		f, err := os.Create(base + ".pprof")
		if err != nil {
			h.note("profile of %s: %v", id, err)
			return
		}
		io.Copy(f, res.Body)
		f.Close()
	}()
	return func() {
		wg.Wait()
		out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=40", h.bin, base+".pprof").CombinedOutput()
		if err == nil {
			err = os.WriteFile(base+".top.txt", out, 0o644)
		}
		if err != nil {
			h.note("pprof -top of %s: %v", id, err)
		}
	}
}

// bareRun measures the bare net/http server with the same script and
// connections as GET /me, just before Gatehouse's GET /me.
func (h *harness) bareRun(b, tokens string) {
	id := "baseline/bare@" + b
	if !h.wants(id) {
		return
	}
	t := &target{name: "bare", base: "http://" + freeAddr(), log: filepath.Join(h.tmp, "bare.log")}
	t.cmd = exec.Command(h.bare, "-addr", strings.TrimPrefix(t.base, "http://"))
	if err := startProc(t.cmd, t.log); err != nil {
		fail("%v", err)
	}
	defer stopProc(t.cmd)
	if _, err := waitReady(t.base+"/", time.Now(), 10*time.Second, t.exited); err != nil {
		fail("bare server: %v", err)
	}
	h.scenario(t, id, "bare net/http handler writing a small JSON body, same wrk script as GET /me", func(int) load {
		return load{script: "me", conns: h.o.conns, env: map[string]string{"BENCH_TOKENS": tokens}}
	})
}

// hashBaseline measures argon2id with Gatehouse's parameters on every
// core, in this process, with nothing else running.
func (h *harness) hashBaseline(b string) {
	id := "baseline/hash@" + b
	if !h.wants(id) {
		return
	}
	p := password.DefaultParams
	r := &Result{ID: id, What: fmt.Sprintf("argon2id m=%d KiB t=%d p=%d, %d goroutines (all cores), no HTTP", p.Memory, p.Time, p.Threads, runtime.GOMAXPROCS(0))}
	for i := range h.o.runs {
		m := hashRate(p, h.o.duration)
		h.progress(id, i, m)
		r.Runs = append(r.Runs, m)
	}
	h.add(r.finish())
}

func hashRate(p password.Params, d time.Duration) Measure {
	var n atomic.Int64
	var wg sync.WaitGroup
	cpu0, mach0 := selfCPU(), machineCPU()
	start := time.Now()
	deadline := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			salt := make([]byte, p.SaltLen)
			for time.Now().Before(deadline) {
				argon2.IDKey([]byte(benchPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	ops := n.Load()
	return Measure{Ops: ops, RPS: float64(ops) / el.Seconds(), ServerCPUus: us(selfCPU()-cpu0) / float64(ops),
		MachineCPUus: us(machineCPU()-mach0) / float64(ops)}
}

// sqlBaseline runs the statements of a refresh directly, at the same
// concurrency, with the store package's benchmark.
func (h *harness) sqlBaseline(b string) {
	id := "baseline/sql@" + b
	if !h.wants(id) {
		return
	}
	// The store benchmark runs 16 goroutines per core: 32 on 2 cores, as
	// many as the default -c.
	r := &Result{ID: id, What: fmt.Sprintf("the refresh's SQL, prepared, one transaction each, %d goroutines (BenchmarkRawRefreshSQL/%s/parallel)", 16*runtime.GOMAXPROCS(0), b)}
	name := "BenchmarkRawRefreshSQL/" + b + "/parallel"
	lines := h.goBench("sqlstore", name+"$", name+"/shared-pool", h.o.duration, h.o.runs,
		"GATEHOUSE_TEST_POSTGRES_URL="+h.o.postgres)
	lines = slices.DeleteFunc(lines, func(l benchLine) bool { return l.name != name })
	for i, l := range lines {
		m := Measure{Ops: l.n, RPS: 1e9 / l.metrics["ns/op"]}
		h.progress(id, i, m)
		r.Runs = append(r.Runs, m)
	}
	if len(r.Runs) == 0 {
		fail("%s: the benchmark printed no result", id)
	}
	h.add(r.finish())
}

// goBench runs benchmarks of a test binary built by build and returns the
// result lines.
func (h *harness) goBench(test, pattern, skip string, benchtime time.Duration, count int, env ...string) []benchLine {
	bt := benchtime.String()
	if benchtime == 0 {
		bt = "1x"
	}
	if skip == "" {
		skip = "^$"
	}
	cmd := exec.Command(h.tests[test], "-test.run", "^$", "-test.bench", pattern, "-test.skip", skip, "-test.benchmem",
		"-test.benchtime", bt, "-test.count", fmt.Sprint(count))
	cmd.Dir = filepath.Join(h.root, map[string]string{"sqlstore": "internal/sqlstore", "verify": "verify", "revocation": "internal/revocation"}[test])
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		fail("go test -bench %s (%s): %v\n%s", pattern, test, err, out)
	}
	return parseBench(string(out))
}

// micro runs the verify and revocation micro-benchmarks.
func (h *harness) micro() {
	if h.wants("micro/verify") {
		fmt.Println("\n== verify micro-benchmarks (go test -bench 'Ratio|VerifyCached' ./verify/) ==")
		byName := map[string]*Result{}
		var order []string
		for _, l := range h.goBench("verify", "^(BenchmarkRatio|BenchmarkVerifyCached)$", "", time.Second, h.o.runs) {
			name := strings.TrimPrefix(strings.TrimPrefix(l.name, "BenchmarkRatio/"), "Benchmark")
			r, ok := byName[name]
			if !ok {
				what := "Verify ÷ raw primitive (base64, JSON, signature check), same token, alternating blocks"
				if name == "VerifyCached" {
					what = "Verify of an ES256 token seen before (cache hit)"
				}
				r = &Result{ID: "micro/verify-" + name, What: what}
				byName[name] = r
				order = append(order, name)
			}
			m := Measure{Ops: l.n, Extra: map[string]float64{"ns_per_op": l.metrics["ns/op"], "allocs_per_op": l.metrics["allocs/op"]}}
			if v, ok := l.metrics["verify/raw"]; ok {
				m.Extra = map[string]float64{"ratio": v, "verify_ns": l.metrics["verify-ns/op"], "raw_ns": l.metrics["raw-ns/op"]}
			}
			fmt.Printf("  %-22s %v\n", r.ID, m.Extra)
			r.Runs = append(r.Runs, m)
		}
		for _, n := range order {
			h.add(byName[n].finish())
		}
	}
	if h.wants("micro/revocation") {
		fmt.Println("\n== 1 000 000 revoked token ids (go test -bench MillionRevoked ./internal/revocation/) ==")
		r := &Result{ID: "micro/revocation-1M", What: "heap held by 1 000 000 revoked token ids in the in-memory denylist"}
		for _, l := range h.goBench("revocation", "^BenchmarkMillionRevoked$", "", 0, 1) {
			m := Measure{Extra: map[string]float64{"mib_held": l.metrics["MiB-held"], "bytes_per_id": l.metrics["B/id"]}}
			fmt.Printf("  %-22s %v\n", r.ID, m.Extra)
			r.Runs = append(r.Runs, m)
		}
		h.add(r.finish())
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
