package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
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
	ids = append(ids, "baseline/bare@"+b, "baseline/bare-10k@"+b, "baseline/dressed@"+b, "baseline/hash@"+b, "baseline/sql@"+b, "baseline/sql-only@"+b)
	if !slices.ContainsFunc(ids, h.wants) {
		return
	}
	fmt.Printf("\n== Gatehouse on %s ==\n", backendLabel(b))
	h.interleave(job{id: b + "/start", what: "gatehouse serve on fresh data (migrations, key generation): spawn to /readyz 200; RSS one second later",
		run: func(run int) (Measure, error) {
			t, ready := h.startGatehouse(b, fmt.Sprintf("%s-start-%d", b, run))
			defer stopProc(t.cmd)
			time.Sleep(time.Second)
			idle, _ := procMem(t.pid())
			return Measure{Extra: map[string]float64{"start_ms": ms(ready), "idle_rss_mb": mb(idle)}}, nil
		}})
	t, _ := h.startGatehouse(b, b)
	defer stopProc(t.cmd)
	h.addUser(t)
	one := h.writeLines(b+"-one.tok", []string{mustLogin(t.base, loginBody).Access})
	var many string
	if slices.ContainsFunc([]string{b + "/me-10k", "baseline/bare-10k@" + b, b + "/mixed", b + "/flood"}, h.wants) {
		start := time.Now()
		many = h.writeLines(b+"-many.tok", accessTokens(t.base, h.o.tokens))
		fmt.Printf("  made %d access tokens in %s\n", h.o.tokens, time.Since(start).Round(time.Millisecond))
	}
	prev := h.startBefore(b)
	var prevOne, prevMany string // -before's token files
	if prev != nil {
		defer stopProc(prev.t.cmd)
		prevOne, prevMany = prev.one, prev.many
	}
	me := func(file string) func(int) load {
		return func(int) load {
			return load{script: "me", conns: h.o.conns, env: map[string]string{"BENCH_TOKENS": file}}
		}
	}
	login := func(int) load {
		return load{script: "login", conns: 4, counted: true, env: map[string]string{"BENCH_LOGIN": loginBody}}
	}
	refresh := func(t *target, name string) func(int) load {
		return func(run int) load {
			f := h.writeLines(fmt.Sprintf("%s-refresh-%d.tok", name, run), refreshTokens(sessions(t.base, h.o.conns)))
			return load{script: "refresh", conns: h.o.conns, counted: true, env: map[string]string{"BENCH_REFRESH": f}}
		}
	}
	const (
		whatMeOne   = "GET /me, one access token reused"
		whatLogin   = "POST /auth/login, 4 connections (2 per hashing slot)"
		whatRefresh = "POST /auth/refresh, each session's tokens chained"
	)
	whatMe10k := fmt.Sprintf("GET /me, %d distinct access tokens in turn", h.o.tokens)
	// Each figure's runs alternate with its baseline's, and with the same
	// figure of -before's gatehouse, so that all see the same drift of a
	// shared machine.
	bare, stopBare := h.startBare(b, false)
	defer stopBare()
	dressed, stopDressed := h.startBare(b, true)
	defer stopDressed()
	bareMany := bare // the bare server, when there are distinct tokens to send it
	if many == "" {
		bareMany = nil
	}
	if slices.ContainsFunc([]string{b + "/me-one", b + "/me-10k", "baseline/bare@" + b, "baseline/bare-10k@" + b, "baseline/dressed@" + b}, h.wants) {
		h.warm(bare, me(one)(0))
		h.warm(dressed, me(one)(0))
		h.warm(bareMany, me(many)(0))
		h.warm(t, me(one)(0))
		if many != "" {
			h.warm(t, me(many)(0))
		}
		if prev != nil {
			h.warm(prev.t, me(prevOne)(0))
			if prevMany != "" {
				h.warm(prev.t, me(prevMany)(0))
			}
		}
	}
	h.interleave(
		h.wrkJob(bare, "baseline/bare@"+b, "bare net/http handler writing a small JSON body, same wrk script and token as GET /me one token", me(one)),
		h.wrkJob(bareMany, "baseline/bare-10k@"+b, fmt.Sprintf("bare net/http handler writing a small JSON body, same wrk script and %d tokens as GET /me distinct tokens", h.o.tokens), me(many)),
		h.wrkJob(dressed, "baseline/dressed@"+b, "the bare handler writing Gatehouse's five security headers too, served with gatehouse serve's timeouts, same wrk script and token as GET /me one token", me(one)),
		h.wrkJob(t, b+"/me-one", whatMeOne, me(one)),
		prev.job(h, b+"/me-one", whatMeOne, me(prevOne)),
		h.wrkJob(t, b+"/me-10k", whatMe10k, me(many)),
		prev.job(h, b+"/me-10k", whatMe10k, me(prevMany)),
	)
	stopBare()
	stopDressed()
	h.interleave(h.hashJob(b), h.wrkJob(t, b+"/login", whatLogin, login), prev.job(h, b+"/login", whatLogin, login))
	h.interleave(h.sqlJob(b), h.sqlOnlyJob(b), h.wrkJob(t, b+"/refresh", whatRefresh, refresh(t, b)), prev.job(h, b+"/refresh", whatRefresh, prev.refresh(refresh)))
	if prev != nil {
		stopProc(prev.t.cmd)
	}
	h.interleave(h.wrkJob(t, b+"/mixed", "90% GET /me (distinct tokens), 9% refresh (chained), 1% login", func(run int) load {
		f := h.writeLines(fmt.Sprintf("%s-mixed-%d.tok", b, run), refreshTokens(sessions(t.base, h.o.conns)))
		return load{script: "mixed", conns: h.o.conns, counted: true,
			env: map[string]string{"BENCH_TOKENS": many, "BENCH_REFRESH": f, "BENCH_LOGIN": loginBody}}
	}))
	h.floodScenario(t, b, many)
}

// before is -before's gatehouse on one backend, on fresh data of its
// own, with its own access tokens made the same way.
type before struct {
	t         *target
	rev       string
	one, many string
}

// startBefore starts -before's gatehouse beside the current one when one
// of its figures is wanted, or returns nil.
func (h *harness) startBefore(b string) *before {
	if h.prev == "" || !slices.ContainsFunc([]string{"/me-one", "/me-10k", "/login", "/refresh"}, func(s string) bool { return h.wants("before/" + b + s) }) {
		return nil
	}
	fmt.Printf("  starting gatehouse %s beside it (fresh data of its own)\n", h.prevRev)
	t, _ := h.startServer(h.prev, b, b+"-before")
	h.addUser(t)
	p := &before{t: t, rev: h.prevRev, one: h.writeLines(b+"-before-one.tok", []string{mustLogin(t.base, loginBody).Access})}
	if h.wants("before/" + b + "/me-10k") {
		start := time.Now()
		p.many = h.writeLines(b+"-before-many.tok", accessTokens(t.base, h.o.tokens))
		fmt.Printf("  made %d access tokens of gatehouse %s in %s\n", h.o.tokens, h.prevRev, time.Since(start).Round(time.Millisecond))
	}
	return p
}

// job is the figure id of -before's gatehouse (before/ID), measured like
// the current one's; nothing when -before is not given.
func (p *before) job(h *harness, id, what string, prep func(int) load) job {
	if p == nil {
		return job{id: "before/" + id}
	}
	return h.wrkJob(p.t, "before/"+id, what+", gatehouse "+p.rev, prep)
}

// refresh is the refresh load made on -before's gatehouse.
func (p *before) refresh(mk func(*target, string) func(int) load) func(int) load {
	if p == nil {
		return nil
	}
	return mk(p.t, p.t.name+"-before")
}

// job is one figure: what one run of it measures, and the extra values
// that its progress lines show beside the rate.
type job struct {
	id, what string
	run      func(run int) (Measure, error)
	show     []string
}

// errSkip, wrapped in a job's error, drops that figure (with a note)
// instead of ending the harness: a baseline the tree cannot measure.
var errSkip = errors.New("not measured")

// interleave runs the wanted jobs -runs times, one run of each in turn,
// and adds their results.
func (h *harness) interleave(jobs ...job) {
	jobs = slices.DeleteFunc(jobs, func(j job) bool { return j.run == nil || !h.wants(j.id) })
	rs := make([]*Result, len(jobs))
	for k, j := range jobs {
		rs[k] = &Result{ID: j.id, What: j.what}
	}
	for i := range h.o.runs {
		for k, j := range jobs {
			if rs[k] == nil {
				continue
			}
			m, err := j.run(i)
			if errors.Is(err, errSkip) {
				h.note("%s %v", j.id, err)
				rs[k] = nil
				continue
			}
			if err != nil {
				fail("%s: %v", j.id, err)
			}
			h.progress(j.id, i, m, j.show...)
			rs[k].Runs = append(rs[k].Runs, m)
		}
	}
	for _, r := range rs {
		if r != nil {
			h.add(r.finish())
		}
	}
}

// wrkJob measures t under a wrk load; t nil means not available.
func (h *harness) wrkJob(t *target, id, what string, prep func(run int) load) job {
	if t == nil {
		return job{id: id}
	}
	return job{id: id, what: what, run: func(i int) (Measure, error) {
		l := prep(i)
		profiled := func() {}
		if i == 0 {
			profiled = h.profile(t, id)
		}
		m, err := h.measureWrk(t, l)
		profiled()
		if err != nil {
			return m, fmt.Errorf("%v\n%s", err, tail(t.log))
		}
		return m, nil
	}}
}

// progress prints one run's figures: the rate and latency, or without a
// rate every extra value; and the extra values named by show.
func (h *harness) progress(id string, run int, m Measure, show ...string) {
	line := fmt.Sprintf("  %-22s run %d:", id, run+1)
	if m.RPS > 0 {
		line += fmt.Sprintf(" %9.0f/s", m.RPS)
	}
	if m.P99ms > 0 {
		line += fmt.Sprintf("  p50 %7.2f ms  p99 %7.2f ms", m.P50ms, m.P99ms)
	}
	if m.ServerCPUus > 0 {
		line += fmt.Sprintf("  cpu %8.1f µs/op", m.ServerCPUus)
	}
	if m.PeakRSSMB > 0 {
		line += fmt.Sprintf("  rss %5.1f MB  errors %d", m.PeakRSSMB, m.Errors)
	}
	if m.RPS == 0 {
		show = slices.Sorted(maps.Keys(m.Extra))
	}
	for _, k := range show {
		if v, ok := m.Extra[k]; ok {
			line += fmt.Sprintf("  %s %.1f", k, v)
		}
	}
	fmt.Println(line)
}

// profile starts a CPU profile of t for the length of a run when
// profiling is on and id is a hot scenario; the returned func waits for
// it and writes the profile and its top functions.
func (h *harness) profile(t *target, id string) func() {
	hot := strings.HasSuffix(id, "/me-10k") || strings.HasSuffix(id, "/me-one") || strings.HasSuffix(id, "/login") || strings.HasSuffix(id, "/refresh") || strings.HasSuffix(id, "/mixed")
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
		// What the run left live, and (debug=1) the runtime's memory
		// statistics: what the heap still holds from the run's peak.
		for suffix, query := range map[string]string{".heap.pprof": "", ".heap.txt": "?debug=1"} {
			if res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/heap%s", t.debug, query)); err == nil {
				if f, err := os.Create(base + suffix); err == nil {
					io.Copy(f, res.Body)
					f.Close()
				}
				res.Body.Close()
			}
		}
		out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=40", t.bin, base+".pprof").CombinedOutput()
		if err == nil {
			err = os.WriteFile(base+".top.txt", out, 0o644)
		}
		if err != nil {
			h.note("pprof -top of %s: %v", id, err)
		}
	}
}

// startBare starts the bare net/http server when its figure is wanted;
// dressed, the one with Gatehouse's headers and timeouts.
func (h *harness) startBare(b string, dressed bool) (*target, func()) {
	name, args := "bare", []string{}
	if dressed {
		name, args = "dressed", []string{"-dressed"}
		if !h.wants("baseline/dressed@" + b) {
			return nil, func() {}
		}
	} else if !h.wants("baseline/bare@"+b) && !h.wants("baseline/bare-10k@"+b) {
		return nil, func() {}
	}
	t := &target{name: name, base: "http://" + freeAddr(), log: filepath.Join(h.tmp, name+".log")}
	t.cmd = exec.Command(h.bare, append(args, "-addr", strings.TrimPrefix(t.base, "http://"))...)
	if err := startProc(t.cmd, t.log); err != nil {
		fail("%v", err)
	}
	if _, err := waitReady(t.base+"/", time.Now(), 10*time.Second, t.exited); err != nil {
		fail("%s server: %v", name, err)
	}
	var once sync.Once
	return t, func() { once.Do(func() { stopProc(t.cmd) }) }
}

// hashJob measures argon2id with Gatehouse's parameters on every core, in
// this process, with nothing else running.
func (h *harness) hashJob(b string) job {
	p := password.DefaultParams
	return job{id: "baseline/hash@" + b,
		what: fmt.Sprintf("argon2id m=%d KiB t=%d p=%d, %d goroutines (all cores), no HTTP", p.Memory, p.Time, p.Threads, runtime.GOMAXPROCS(0)),
		run:  func(int) (Measure, error) { return hashRate(p, h.o.duration), nil }}
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

// sqlJob is a refresh's fair baseline, run directly at the same
// concurrency with the store package's benchmark: the rotation's prepared
// statements with its audit row in the same transaction, and one ES256
// signature of an access token's size (BenchmarkRawRefreshFair): what
// any refresh must do. It runs 16 goroutines per core: 32 on 2 cores, as
// many as the default -c.
func (h *harness) sqlJob(b string) job {
	return h.storeBench("baseline/sql@"+b, "BenchmarkRawRefreshFair/"+b+"/parallel",
		"a refresh's fair baseline: its SQL, prepared, with the audit row, one transaction each, plus one ES256 signature")
}

// sqlOnlyJob is the refresh's SQL alone (BenchmarkRawRefreshSQL), shown
// beside the fair baseline.
func (h *harness) sqlOnlyJob(b string) job {
	return h.storeBench("baseline/sql-only@"+b, "BenchmarkRawRefreshSQL/"+b+"/parallel",
		"the refresh's SQL alone, prepared, one transaction each, no audit row and no signature")
}

func (h *harness) storeBench(id, name, what string) job {
	return job{id: id,
		what: fmt.Sprintf("%s, %d goroutines (%s)", what, 16*runtime.GOMAXPROCS(0), strings.TrimPrefix(name, "Benchmark")),
		run: func(int) (Measure, error) {
			lines, err := h.runBench("sqlstore", name+"$", name+"/shared-pool", h.o.duration, 1, "GATEHOUSE_TEST_POSTGRES_URL="+h.o.postgres)
			if err != nil {
				return Measure{}, fmt.Errorf("%w: go test -bench %s failed: %s", errSkip, name, firstFailure(err.Error()))
			}
			for _, l := range lines {
				if l.name == name {
					return Measure{Ops: l.n, RPS: 1e9 / l.metrics["ns/op"]}, nil
				}
			}
			return Measure{}, fmt.Errorf("go test -bench %s printed no result", name)
		}}
}

// goBench runs benchmarks of a test binary built by build and returns the
// result lines.
func (h *harness) goBench(test, pattern, skip string, benchtime time.Duration, count int, env ...string) []benchLine {
	lines, err := h.runBench(test, pattern, skip, benchtime, count, env...)
	if err != nil {
		fail("%v", err)
	}
	return lines
}

// runBench is goBench returning the failure.
func (h *harness) runBench(test, pattern, skip string, benchtime time.Duration, count int, env ...string) ([]benchLine, error) {
	bt := benchtime.String()
	if benchtime == 0 {
		bt = "1x"
	}
	if skip == "" {
		skip = "^$"
	}
	cmd := exec.Command(h.tests[test], "-test.run", "^$", "-test.bench", pattern, "-test.skip", skip, "-test.benchmem",
		"-test.benchtime", bt, "-test.count", fmt.Sprint(count))
	cmd.Dir = filepath.Join(h.root, testPackages[test])
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s (%s): %v\n%s", pattern, test, err, out)
	}
	return parseBench(string(out)), nil
}

// firstFailure returns the first line of go test's output that says why
// a test failed (file.go:N: message), or the first line.
func firstFailure(out string) string {
	for l := range strings.Lines(out) {
		if f := strings.TrimSpace(l); strings.Contains(f, "_test.go:") {
			return f
		}
	}
	return lastLine(strings.SplitN(out, "\n", 2)[0])
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
