package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/bench/internal/barehttp"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// The instruction counts: each case runs in a process of its own under
// valgrind --tool=callgrind twice, with the same setup and two numbers of
// measured requests; the difference of the two totals divided by the
// difference of the requests is the instructions one request costs,
// whatever else the machine runs. Counted are all the target process's
// threads: the handler, net/http, the runtime and the garbage collector.
//
// The target is this program in a mode of its own (instrTargetArg): it
// opens Gatehouse in-process on SQLite (internal/app, as serve does, but
// without the background jobs, whose work depends on the wall clock),
// prepares what the requests need over loopback, then serves the measured
// requests either by calling the handler directly ("handler": no network,
// no HTTP parsing) or through net/http from a client process that is not
// under valgrind ("server").

// instrTargetArg is os.Args[1] of the measured process.
const instrTargetArg = "instr-target"

// instrCase is one instruction-count figure.
type instrCase struct {
	name, mode string // name: bare, dressed, me, refresh, mfa; mode: handler, server
	what       string
	small, big int // measured requests of the two runs
}

var instrCases = []instrCase{
	{"bare", "handler", "bare net/http handler (bench/bare's), called directly", 2000, 6000},
	{"me", "handler", "GET /me through Gatehouse's handler, called directly: one token reused", 2000, 6000},
	{"bare", "server", "bare net/http handler behind net/http's server as bench/bare serves it (no timeouts), one keep-alive connection", 2000, 6000},
	{"dressed", "server", "the bare handler writing Gatehouse's security headers too, behind net/http's server with serve's timeouts, one keep-alive connection", 2000, 6000},
	{"me", "server", "GET /me behind net/http's server, one keep-alive connection", 2000, 6000},
	{"refresh", "server", "POST /auth/refresh behind net/http's server, one session's tokens chained", 200, 600},
	{"mfa", "server", "POST /auth/login/mfa with a recovery code behind net/http's server, each a pending attempt made beforehand", 100, 300},
}

func (c instrCase) id() string { return "instr/" + c.name + "-" + c.mode }

// instr measures the instruction counts.
func (h *harness) instr() {
	var cases []instrCase
	for _, c := range instrCases {
		if h.wants(c.id()) {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return
	}
	fmt.Println("\n== instructions per request (valgrind --tool=callgrind, SQLite) ==")
	if _, err := exec.LookPath("valgrind"); err != nil {
		h.note("instr/* not measured: valgrind is not installed (apt-get install valgrind)")
		return
	}
	self, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	for _, c := range cases {
		start := time.Now()
		small, err := h.callgrind(self, c, c.small)
		if err == nil {
			var big uint64
			big, err = h.callgrind(self, c, c.big)
			if err == nil && big <= small {
				err = fmt.Errorf("%d instructions for %d requests, %d for %d", big, c.big, small, c.small)
			}
			if err == nil {
				per := float64(big-small) / float64(c.big-c.small)
				m := Measure{Ops: int64(c.big - c.small), Extra: map[string]float64{"instructions_per_op": per}}
				fmt.Printf("  %-22s %10.0f instructions per request (%d − %d requests, %s)\n", c.id(), per, c.big, c.small, time.Since(start).Round(time.Second))
				r := &Result{ID: c.id(), What: c.what, Runs: []Measure{m}}
				h.add(r.finish())
				continue
			}
		}
		h.note("%s not measured: %v", c.id(), err)
	}
}

// callgrind runs the target of c with n measured requests under callgrind
// and returns the total instructions it executed. A server case's client
// is this process (not a child of the target: callgrind fails on the
// signal of a child's exit): the target writes its address and the work
// into its directory once it is ready, and ends when its standard input
// is closed.
func (h *harness) callgrind(self string, c instrCase, n int) (uint64, error) {
	dir, err := os.MkdirTemp(h.tmp, "instr-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "callgrind.out")
	cmd := exec.Command("valgrind", "--tool=callgrind", "--callgrind-out-file="+out,
		self, instrTargetArg, "-case", c.name, "-mode", c.mode, "-n", strconv.Itoa(n), "-setup", strconv.Itoa(c.big), "-dir", dir)
	// Valgrind runs one thread at a time: with more than one P, threads
	// that spin for work (or for a lock held by a thread not running)
	// count instructions by the wall clock. One P, and no asynchronous
	// preemption signals (they come by the wall clock too), leave the
	// count to the work.
	cmd.Env = append(cleanEnv(), "GODEBUG=asyncpreemptoff=1", "GOMAXPROCS=1")
	if h.o.gogc != "" && c.name != "bare" {
		cmd.Env = append(cmd.Env, "GOGC="+h.o.gogc) // the bare server runs as deployed
	}
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	failed := func(err error) (uint64, error) {
		return 0, fmt.Errorf("valgrind %s -n %d: %v\n%s", c.id(), n, err, lastLines(log.String(), 15))
	}
	if c.mode == "server" {
		work, err := waitWork(filepath.Join(dir, "work.json"), exited)
		if err != nil {
			cmd.Process.Kill()
			return failed(err)
		}
		if err := instrClient(work); err != nil {
			cmd.Process.Kill()
			<-exited
			return failed(err)
		}
	}
	stdin.Close()
	if err := <-exited; err != nil {
		return failed(err)
	}
	if h.o.instrOut != "" {
		if err := os.MkdirAll(h.o.instrOut, 0o755); err != nil {
			return 0, err
		}
		keep := filepath.Join(h.o.instrOut, fmt.Sprintf("callgrind.%s-%s.%d", c.name, c.mode, n))
		if err := os.Rename(out, keep); err != nil {
			return 0, err
		}
		out = keep
	}
	return callgrindTotal(out)
}

// waitWork waits for the target to write its work file.
func waitWork(path string, exited <-chan error) (instrWork, error) {
	var w instrWork
	deadline := time.Now().Add(10 * time.Minute)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			return w, json.Unmarshal(b, &w)
		}
		select {
		case err := <-exited:
			return w, fmt.Errorf("the target ended before it was ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return w, fmt.Errorf("the target was not ready in 10 minutes")
		}
	}
}

// callgrindTotal reads the total instruction count of a callgrind output
// file (its "summary:" or "totals:" line).
func callgrindTotal(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		for _, p := range []string{"summary: ", "totals: "} {
			if v, ok := strings.CutPrefix(l, p); ok {
				return strconv.ParseUint(strings.Fields(v)[0], 10, 64)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no summary line", path)
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// instrWork is what the client of a server case sends.
type instrWork struct {
	Base    string    `json:"base"`
	Case    string    `json:"case"`
	N       int       `json:"n"`
	Access  string    `json:"access,omitempty"`
	Refresh string    `json:"refresh,omitempty"`
	MFA     []mfaWire `json:"mfa,omitempty"`
}

type mfaWire struct{ Token, Code string }

// instrTarget is the measured process: os.Args[1] is instrTargetArg.
func instrTarget(args []string) error {
	fs := flag.NewFlagSet(instrTargetArg, flag.ContinueOnError)
	name := fs.String("case", "me", "bare, dressed, me, refresh or mfa")
	mode := fs.String("mode", "handler", "handler or server")
	n := fs.Int("n", 1000, "measured requests")
	setup := fs.Int("setup", 1000, "requests prepared for (the same in both runs of a case)")
	dir := fs.String("dir", "", "directory for the database")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n > *setup {
		return fmt.Errorf("-n %d > -setup %d", *n, *setup)
	}
	// The bare case opens Gatehouse too, and sends its access token: the
	// same process, heap and requests, only the handler differs.
	a, err := openInstrApp(*dir)
	if err != nil {
		return err
	}
	defer a.Close()
	// The server is gatehouse serve's, but for the bare case, which
	// bench/bare serves on a server without timeouts.
	h, srv := a.Handler(), app.HTTPServer
	switch *name {
	case "bare":
		h, srv = barehttp.Handler(), func(h http.Handler, _ app.Timeouts) *http.Server { return &http.Server{Handler: h} }
	case "dressed":
		h = barehttp.Dressed()
	}
	// Setup goes through a server of its own, closed before the measured
	// one starts.
	setupBase, stopSetup, err := instrServe(app.HTTPServer(a.Handler(), app.ServeTimeouts))
	if err != nil {
		return err
	}
	work, err := prepareInstr(setupBase, *name, *setup)
	stopSetup()
	if err != nil {
		return err
	}
	base, stop, err := instrServe(srv(h, app.ServeTimeouts))
	if err != nil {
		return err
	}
	defer stop()
	work.N, work.Base = *n, base
	if *mode == "server" {
		f := filepath.Join(*dir, "work.json")
		b, _ := json.Marshal(work)
		if err := os.WriteFile(f+".new", b, 0o600); err != nil {
			return err
		}
		if err := os.Rename(f+".new", f); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, os.Stdin) // until the harness's client is done
		return err
	}
	if err := handlerLoop(h, work); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// instrServe runs srv on loopback.
func instrServe(srv *http.Server) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// openInstrApp opens Gatehouse on a fresh SQLite database with the
// harness's settings: request limits off, argon2id cheap (no login is
// measured; the setup's are many under valgrind).
func openInstrApp(dir string) (*app.App, error) {
	cfg := config.Defaults()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "gatehouse.db")
	cfg.Issuer = "http://127.0.0.1"
	cfg.SignInRate, cfg.RefreshRate, cfg.SessionRefreshRate, cfg.RevokeRate, cfg.MaxSessionsPerUser = 0, 0, 0, 0, 0
	cheap := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{PasswordParams: &cheap})
	if err != nil {
		return nil, err
	}
	if err := a.CreateDemoUsers(context.Background()); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// prepareInstr makes what setup requests of the case need, over HTTP.
func prepareInstr(base, name string, setup int) (instrWork, error) {
	w := instrWork{Case: name}
	const admin = "alice" // a demo user, an administrator
	code, p, err := post(base, "/auth/login", "", loginJSON(admin, "secret123"))
	if err != nil || code != 200 {
		return w, fmt.Errorf("login: %d %v", code, err)
	}
	w.Access, w.Refresh = p.Access, p.Refresh
	if name == "mfa" {
		users := (setup + mfaCodesPerUser - 1) / mfaCodesPerUser
		for i := range users {
			ps, err := enrolAndPend(base, w.Access, fmt.Sprintf("instr-%d", i))
			if err != nil {
				return w, err
			}
			for _, p := range ps {
				w.MFA = append(w.MFA, mfaWire{p.token, p.code})
			}
		}
	}
	return w, nil
}

// instrRequest makes request i of the work; prev is the answer to the
// one before (a refresh chains its tokens).
func instrRequest(base string, w *instrWork, i int, prev []byte) (*http.Request, error) {
	var r *http.Request
	switch w.Case {
	case "bare", "dressed", "me":
		r, _ = http.NewRequest("GET", base+"/me", nil)
		r.Header.Set("Authorization", "Bearer "+w.Access)
	case "refresh":
		if prev != nil {
			var p tokenPair
			if err := json.Unmarshal(prev, &p); err != nil || p.Refresh == "" {
				return nil, fmt.Errorf("refresh %d: no refresh token in %s", i, prev)
			}
			w.Refresh = p.Refresh
		}
		r, _ = http.NewRequest("POST", base+"/auth/refresh", strings.NewReader(`{"refresh_token":"`+w.Refresh+`"}`))
		r.Header.Set("Content-Type", "application/json")
	case "mfa":
		b, _ := json.Marshal(map[string]string{"mfa_token": w.MFA[i].Token, "code": w.MFA[i].Code})
		r, _ = http.NewRequest("POST", base+"/auth/login/mfa", strings.NewReader(string(b)))
		r.Header.Set("Content-Type", "application/json")
	default:
		return nil, fmt.Errorf("unknown case %q", w.Case)
	}
	return r, nil
}

// handlerLoop calls h directly for each request. GET requests reuse one
// request (a shallow copy each time, as the mux records its match on it).
func handlerLoop(h http.Handler, w instrWork) error {
	var get *http.Request
	if w.Case == "bare" || w.Case == "dressed" || w.Case == "me" {
		g, err := instrRequest("", &w, 0, nil)
		if err != nil {
			return err
		}
		get = httptest.NewRequest(g.Method, "/me", nil)
		get.Header, get.RemoteAddr = g.Header, "127.0.0.1:40000"
	}
	var prev []byte
	rec := &testkit.Recorder{} // reused, so that the loop adds almost nothing to the count
	for i := range w.N {
		r := get
		if r != nil {
			c := *get
			r = &c
		} else {
			var err error
			if r, err = instrRequest("http://127.0.0.1", &w, i, prev); err != nil {
				return err
			}
			r.RemoteAddr, r.RequestURI = "127.0.0.1:40000", r.URL.RequestURI()
		}
		rec.Reset() // prev, its body, is read: instrRequest has run
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("request %d: %d %s", i, rec.Code, rec.Body)
		}
		prev = rec.Body
	}
	return nil
}

// instrClient sends the work over one keep-alive connection and checks
// every answer.
func instrClient(w instrWork) error {
	tr := &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: 5 * time.Minute, Transport: tr}
	var prev []byte
	for i := range w.N {
		r, err := instrRequest(w.Base, &w, i, prev)
		if err != nil {
			return err
		}
		res, err := c.Do(r)
		if err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		prev, err = io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("request %d: %d %s", i, res.StatusCode, prev)
		}
	}
	return nil
}
