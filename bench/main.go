// Command bench measures Gatehouse over loopback HTTP beside the baselines
// that bound each figure, all in one run, and writes the medians to
// BENCHMARKS.md, bench/results.json and bench/chart.svg.
//
//	go run ./bench                 # everything, about 20 minutes on 2 cores
//	go run ./bench -quick          # one short run of each, no files written
//	go run ./bench -only 'sqlite/(me|refresh)'
//	go run ./bench -before d22c7a0 # also that revision's GET /me, login and refresh, paired (3 minutes more)
//
// Figure ids, for -only: BACKEND/{start,me-one,me-10k,login,refresh,mixed,flood}
// (BACKEND is sqlite or postgres), baseline/{bare,bare-10k,dressed,hash,sql,sql-only}@BACKEND,
// the second login step sqlite/login-mfa, a provider sign-in's server-side
// cost sqlite/provider-signin,
// the email figures BACKEND/{forgot-known,forgot-unknown} and
// sqlite/{outbox-send,me-backlog} with their baselines
// baseline/{raw-smtp,me-no-backlog}@sqlite (measured whenever their
// figure is), micro/{verify-ALG,verify-VerifyCached,revocation-1M},
// the instruction counts instr/{bare,me}-{handler,server}, instr/dressed-server and
// instr/{refresh,mfa}-server, reference/{me,login}; with -before,
// before/BACKEND/{me-one,me-10k,login,refresh}
// are measured whenever the current figure of the same name is.
//
// The instr/ figures count instructions with valgrind --tool=callgrind
// (Debian's valgrind): the same for the same binary and input whatever
// else the machine runs, unlike the timed figures. Each is the difference
// of two runs of one process with the same setup and two numbers of
// requests, divided by the difference of the requests; see instr.go.
// -instr-out DIR keeps the callgrind files for callgrind_annotate.
//
// -gogc N runs the Gatehouse servers and the instruction-count targets
// (all but the bare one) with GOGC=N, to measure what the collector's
// target trades: CPU per request against the heap's growth.
//
// baseline/sql@BACKEND is a refresh's fair baseline: the rotation's SQL
// with its audit row in the same transaction and one ES256 signature,
// run directly at the same concurrency (BenchmarkRawRefreshFair);
// baseline/sql-only@BACKEND is the SQL alone.
//
// sqlite/login-mfa is POST /auth/login/mfa with a recovery code, sent by
// a closed-loop driver in this process (-c connections) for a fixed
// number of calls a run, each a pending attempt of its own: before each
// run, unmeasured, it enrols fresh users through the API (TOTP codes
// computed here) and logs each in with the password once per recovery
// code. Its goals are absolute (completions per second, server CPU per
// call): no baseline of the run does the same work.
//
// The email figures run gatehouse with GATEHOUSE_SMTP_URL at an SMTP sink
// in this process (go-smtp on loopback, counting messages by Message-ID):
// forgot-* send POST /auth/password/forgot at 200/s from an open-loop
// generator here (latency from each request's due time), for
// alice@example.com or a new unknown address each, while the server's
// sender resolves the requests; outbox-send times the sender delivering
// 10 000 notices written into a fresh database, against the same
// messages sent by a plain go-mail loop (raw-smtp); me-backlog is GET /me
// while the outbox drains such a backlog, against a server with an empty
// one (me-no-backlog).
//
// It builds gatehouse and the bare net/http server, starts them with fresh
// data (SQLite in a temporary directory; PostgreSQL in a schema of its own,
// with Redis), drives them with wrk from separate processes, and reads each
// server's CPU time and memory from /proc. It needs wrk (apt-get install
// wrk), PostgreSQL and Redis at -postgres and -redis unless -backends says
// sqlite only, and /usr/bin/python3 with the reference app's Debian
// packages for that baseline (skipped, and said so, without them).
//
// With -before REV it also builds gatehouse from that git revision (in a
// temporary worktree, removed at exit) and runs it beside the current one
// on the same backend: before/BACKEND/{me-one,me-10k,login,refresh}, each
// run alternating with the current figure's, reported as after ÷ before.
//
// Every gatehouse runs with the request limits off (limitsOff): the load
// comes from one client address, chains refreshes of a few sessions of
// one user and asks for resets of one address, which the limits would
// refuse rather than measure.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// options are the command-line settings.
type options struct {
	runs       int
	duration   time.Duration
	conns      int
	threads    int
	tokens     int
	quick      bool
	only       *regexp.Regexp
	backends   []string
	postgres   string
	redis      string
	profileDir string
	instrOut   string
	write      bool
	reference  string
	render     string
	before     string // a git revision to build and measure beside the current tree
	gogc       string // GOGC of the measured Gatehouse processes; "" for Go's default
}

func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.runs, "runs", 3, "runs of each scenario; the median is reported")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each run")
	fs.IntVar(&o.conns, "c", 32, "concurrent connections of the load generator (16 per core on 2 cores)")
	fs.IntVar(&o.threads, "t", 2, "load generator threads")
	fs.IntVar(&o.tokens, "tokens", 10_000, "distinct access tokens of the me-10k and mixed scenarios")
	fs.BoolVar(&o.quick, "quick", false, "one 2-second run of each scenario and 2 000 tokens; writes no files unless -write")
	only := fs.String("only", "", "run only the figures whose id matches this regexp (e.g. 'sqlite/me|baseline/bare'); writes no files unless -write")
	backends := fs.String("backends", "sqlite,postgres", "comma-separated: sqlite, postgres (PostgreSQL and Redis)")
	fs.StringVar(&o.postgres, "postgres", envOr("GATEHOUSE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL; a fresh schema is created in it and dropped at exit")
	fs.StringVar(&o.redis, "redis", envOr("GATEHOUSE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL")
	fs.StringVar(&o.profileDir, "profile", "", "save CPU profiles of the hot scenarios (pprof on the debug listener) to this directory")
	fs.StringVar(&o.instrOut, "instr-out", "", "keep the callgrind output files of the instr/ figures in this directory (callgrind_annotate reads them)")
	fs.StringVar(&o.reference, "reference", "../shared/reference", "directory of the tutorial's reference app (run.sh)")
	fs.StringVar(&o.render, "render", "", "measure nothing: check the goals of a results `file` again and rewrite BENCHMARKS.md and bench/chart.svg from it")
	fs.StringVar(&o.before, "before", "", "also build gatehouse from this git `revision` and measure its GET /me, login and refresh beside the current tree's, paired run by run")
	fs.StringVar(&o.gogc, "gogc", "", "GOGC of the Gatehouse servers and of every instruction-count target but the bare one (default: Go's, 100): what the collector's target trades between CPU and memory; writes no files unless -write")
	write := fs.Bool("write", false, "write BENCHMARKS.md, results.json and chart.svg even with -quick or -only")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		return o, fmt.Errorf("-only: %w", err)
	}
	o.only = re
	o.backends = strings.Split(*backends, ",")
	for _, b := range o.backends {
		if b != "sqlite" && b != "postgres" {
			return o, fmt.Errorf("-backends: unknown backend %q", b)
		}
	}
	if o.quick {
		o.runs, o.duration, o.tokens = 1, 2*time.Second, 2_000
	}
	if o.gogc != "" && o.gogc != "off" {
		if n, err := strconv.Atoi(o.gogc); err != nil || n <= 0 {
			return o, fmt.Errorf("-gogc: want a positive percentage or off, not %q", o.gogc)
		}
	}
	o.write = *write || (!o.quick && *only == "" && o.gogc == "")
	if o.runs < 1 || o.duration < time.Second || o.conns < o.threads || o.threads < 1 {
		return o, fmt.Errorf("need -runs ≥ 1, -duration ≥ 1s and -c ≥ -t ≥ 1")
	}
	return o, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// cleanups run once, in reverse order, however the harness ends.
var cleanups struct {
	sync.Mutex
	fns  []func()
	done bool
}

func atExit(fn func()) {
	cleanups.Lock()
	defer cleanups.Unlock()
	cleanups.fns = append(cleanups.fns, fn)
}

func runCleanups() {
	cleanups.Lock()
	defer cleanups.Unlock()
	if cleanups.done {
		return
	}
	cleanups.done = true
	stopAll()
	for i := len(cleanups.fns) - 1; i >= 0; i-- {
		cleanups.fns[i]()
	}
}

// failing is set by the first fail; later ones (other goroutines seeing
// the servers go away) wait for its exit instead of adding noise.
var failing atomic.Bool

// fail stops everything, removes the temporary data and exits.
func fail(format string, args ...any) {
	if !failing.CompareAndSwap(false, true) {
		select {}
	}
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	runCleanups()
	os.Exit(1)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == instrTargetArg {
		if err := instrTarget(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	o, err := parseOptions(os.Args[1:])
	if err == flagHelp() {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping servers and removing temporary data\n", s)
		runCleanups()
		os.Exit(130)
	}()
	defer func() {
		if v := recover(); v != nil {
			runCleanups()
			panic(v)
		}
	}()
	h := newHarness(o)
	if o.render != "" {
		h.rerender()
		return
	}
	h.run()
	runCleanups()
}

// flagHelp is the error the flag package returns for -h.
func flagHelp() error { return flag.ErrHelp }

// harness holds the state of one benchmark run.
type harness struct {
	o       options
	root    string // the module's directory
	tmp     string
	bin     string // gatehouse
	bare    string // the bare net/http server
	commit  string // the revision of the tree measured, as git describe names it
	prev    string // gatehouse built from -before, or ""
	prevRev string // -before's commit, abbreviated
	tests   map[string]string
	results []*Result
	notes   []string
	started time.Time
}

func newHarness(o options) *harness {
	h := &harness{o: o, started: time.Now(), tests: map[string]string{}}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		fail("run me from the Gatehouse module: go run ./bench")
	}
	h.root = filepath.Dir(strings.TrimSpace(string(out)))
	h.tmp, err = os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		fail("%v", err)
	}
	atExit(func() { os.RemoveAll(h.tmp) })
	return h
}

// wants reports whether a figure with this id is to be measured.
func (h *harness) wants(id string) bool { return h.o.wants(id) }

// A figure of -before's gatehouse (before/ID) is wanted with its current
// figure ID.
func (o options) wants(id string) bool {
	if cur, ok := strings.CutPrefix(id, "before/"); ok {
		return o.before != "" && o.only.MatchString(cur)
	}
	if fig, ok := boundFigure(id); ok && o.only.MatchString(fig) {
		return true
	}
	return o.only.MatchString(id)
}

// boundFigure names the figure that a baseline of the email figures
// bounds (baseline/raw-smtp@B: B/outbox-send; baseline/me-no-backlog@B:
// B/me-backlog). Such a baseline is measured whenever its figure is, since
// its figure is reported only as a ratio to it.
func boundFigure(id string) (string, bool) {
	for prefix, fig := range map[string]string{"baseline/raw-smtp@": "/outbox-send", "baseline/me-no-backlog@": "/me-backlog"} {
		if b, ok := strings.CutPrefix(id, prefix); ok {
			return b + fig, true
		}
	}
	return "", false
}

func (h *harness) run() {
	h.preflight()
	h.build()
	for _, b := range h.o.backends {
		h.backend(b)
		h.loginMFA(b)
		h.providerSignIn(b)
		h.mail(b)
	}
	h.micro()
	h.instr()
	h.referenceApp()
	rep := h.report()
	printSummary(os.Stdout, rep)
	if h.o.write {
		if err := writeOutputs(h.root, rep); err != nil {
			fail("%v", err)
		}
		fmt.Printf("\nwrote BENCHMARKS.md, bench/results.json, bench/chart.svg (%s)\n", time.Since(h.started).Round(time.Second))
	} else {
		fmt.Printf("\nno files written (-quick or -only; add -write to write them) (%s)\n", time.Since(h.started).Round(time.Second))
	}
}

// preflight fails early, saying what is missing.
func (h *harness) preflight() {
	if runtime.GOOS != "linux" {
		fail("the harness reads /proc: it runs on Linux only")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		fail("wrk is not installed: apt-get update && apt-get install -y wrk")
	}
	for _, b := range h.o.backends {
		if b != "postgres" || !h.wants("postgres/") {
			continue
		}
		if err := pingPostgres(h.o.postgres); err != nil {
			fail("PostgreSQL at %s: %v\n  start it, set -postgres or GATEHOUSE_TEST_POSTGRES_URL, or use -backends sqlite", redact(h.o.postgres), err)
		}
		if err := pingRedis(h.o.redis); err != nil {
			fail("Redis at %s: %v\n  start it, set -redis or GATEHOUSE_TEST_REDIS_URL, or use -backends sqlite", h.o.redis, err)
		}
	}
}

func pingPostgres(url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// build compiles gatehouse, the bare server and the test binaries whose
// benchmarks are baselines.
func (h *harness) build() {
	fmt.Println("building gatehouse, the bare net/http server and the benchmark test binaries…")
	h.commit = gitRevision()
	h.bin = filepath.Join(h.tmp, "gatehouse")
	h.bare = filepath.Join(h.tmp, "bare")
	h.mustRun(staticBuild(h.root, h.bin, "./cmd/gatehouse"))
	h.mustRun(staticBuild(h.root, h.bare, "./bench/bare"))
	for name, pkg := range testPackages {
		h.tests[name] = filepath.Join(h.tmp, name+".test")
		h.goCmd("test", "-c", "-o", h.tests[name], pkg)
	}
	if h.o.before != "" {
		h.buildBefore()
	}
}

// buildBefore builds gatehouse from -before's revision in a temporary
// worktree of the module's repository, removed at exit.
func (h *harness) buildBefore() {
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", h.root}, args...)...).CombinedOutput()
		if err != nil {
			fail("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	h.prevRev = git("rev-parse", "--short", h.o.before+"^{commit}")
	fmt.Printf("building gatehouse from %s (%s) in a temporary worktree…\n", h.o.before, h.prevRev)
	dir := filepath.Join(h.tmp, "before-src")
	git("worktree", "add", "--detach", dir, h.prevRev)
	atExit(func() {
		if out, err := exec.Command("git", "-C", h.root, "worktree", "remove", "--force", dir).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: git worktree remove %s: %v\n%s", dir, err, out)
		}
		exec.Command("git", "-C", h.root, "worktree", "prune").Run()
	})
	h.prev = filepath.Join(h.tmp, "gatehouse-before")
	cmd := staticBuild(dir, h.prev, "./cmd/gatehouse")
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("go build ./cmd/gatehouse at %s: %v\n%s", h.o.before, err, out)
	}
}

// staticBuild is the go build of pkg in dir to out as the README builds
// the binary for deployment: static (CGO_ENABLED=0), with -trimpath. The
// servers measured are the ones deployed.
func staticBuild(dir, out, pkg string) *exec.Cmd {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd
}

// mustRun runs a go command, and stops the harness if it fails.
func (h *harness) mustRun(cmd *exec.Cmd) {
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}

// testPackages are the test binaries whose benchmarks the harness runs,
// by name.
var testPackages = map[string]string{"sqlstore": "./internal/sqlstore", "verify": "./verify", "revocation": "./internal/revocation", "app": "./internal/app"}

func (h *harness) goCmd(args ...string) {
	cmd := exec.Command("go", args...)
	cmd.Dir = h.root
	h.mustRun(cmd)
}

func (h *harness) add(r *Result) {
	if r != nil {
		h.results = append(h.results, r)
	}
}

func (h *harness) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	fmt.Println("note:", s)
	h.notes = append(h.notes, s)
}

// rerender rewrites the outputs from a results file, goals checked again.
func (h *harness) rerender() {
	b, err := os.ReadFile(h.o.render)
	if err != nil {
		fail("%v", err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		fail("%s: %v", h.o.render, err)
	}
	rep.Goals, rep.Ratios = goals(rep.Results), ratios(rep.Results)
	printSummary(os.Stdout, &rep)
	if err := writeOutputs(h.root, &rep); err != nil {
		fail("%v", err)
	}
}
