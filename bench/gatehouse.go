package main

import (
	"bufio"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The account the scenarios log in with.
const (
	benchUser     = "bench"
	benchPassword = "bench-password-0123"
	loginBody     = `{"username":"` + benchUser + `","password":"` + benchPassword + `"}`
)

// target is a running server under test.
type target struct {
	name  string
	bin   string // the executable, for gatehouse: the current build or -before's
	base  string // http://host:port
	debug string // the pprof listener, when profiling
	cmd   *exec.Cmd
	log   string
	env   []string
}

func (t *target) pid() int { return t.cmd.Process.Pid }

func (t *target) exited() bool { return t.cmd.ProcessState != nil }

// cleanEnv is the harness's environment without Gatehouse settings, so
// that the servers run with the defaults plus what the harness sets.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") && !strings.HasPrefix(kv, "JWT_SECRET_KEY=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOGC=") {
			env = append(env, kv)
		}
	}
	return env
}

// limitsOff turns off the request limits (the limiter still runs its
// checks): every scenario's load comes from one client address, makes
// many sessions for one user and chains refreshes of 32 sessions at about
// 60/s each, which the defaults (1 200 sign-ins and refreshes a minute per
// address, 60 refreshes a minute per session, 100 sessions per user) would
// refuse instead of measuring; and the email figures send 200 password-reset
// requests a second from that address, for one address, which the defaults
// (20 requests a minute per client, 1 message a minute and 5 an hour per
// address) would refuse or drop. A gatehouse that predates them ignores them.
var limitsOff = []string{
	"GATEHOUSE_SIGNIN_RATE=0",
	"GATEHOUSE_REFRESH_RATE=0",
	"GATEHOUSE_SESSION_REFRESH_RATE=0",
	"GATEHOUSE_REVOKE_RATE=0",
	"GATEHOUSE_MAX_SESSIONS_PER_USER=0",
	"GATEHOUSE_FORGOT_RATE=0",
	"GATEHOUSE_MAIL_PER_ADDRESS_MINUTE=0",
	"GATEHOUSE_MAIL_PER_ADDRESS_HOUR=0",
}

// startGatehouse starts the current `gatehouse serve` on fresh data of the
// backend and returns it once /readyz answers, with the time that took.
func (h *harness) startGatehouse(backend, name string) (*target, time.Duration) {
	return h.startServer(h.bin, backend, name)
}

// startServer starts `bin serve` on fresh data of the backend (for
// SQLite, the file NAME.db in the temporary directory: fresh unless the
// caller made it), with extra settings after the harness's.
func (h *harness) startServer(bin, backend, name string, extra ...string) (*target, time.Duration) {
	addr := freeAddr()
	env := append(cleanEnv(), "GATEHOUSE_ADDR="+addr, "GATEHOUSE_ACCESS_TTL=6h", "GATEHOUSE_LOG_FORMAT=json")
	env = append(env, limitsOff...)
	switch backend {
	case "sqlite":
		env = append(env, "GATEHOUSE_DATABASE_URL=sqlite:"+filepath.Join(h.tmp, name+".db"))
	case "postgres":
		env = append(env, "GATEHOUSE_DATABASE_URL="+h.pgSchema(), "GATEHOUSE_REDIS_URL="+h.o.redis)
	}
	env = append(env, extra...)
	if h.o.gogc != "" {
		env = append(env, "GOGC="+h.o.gogc)
	}
	t := &target{name: backend, bin: bin, base: "http://" + addr, log: filepath.Join(h.tmp, name+".log"), env: env}
	if h.o.profileDir != "" {
		t.debug = freeAddr()
		env = append(env, "GATEHOUSE_DEBUG_ADDR="+t.debug)
	}
	t.cmd = exec.Command(bin, "serve")
	t.cmd.Env = env
	start := time.Now()
	if err := startProc(t.cmd, t.log); err != nil {
		fail("%v", err)
	}
	ready, err := waitReady(t.base+"/readyz", start, 30*time.Second, t.exited)
	if err != nil {
		fail("%s on %s: %v\n%s", filepath.Base(bin), backend, err, tail(t.log))
	}
	return t, ready
}

// pgSchema creates a schema for this run, dropped at exit, and returns the
// database URL whose search_path is that schema.
func (h *harness) pgSchema() string {
	db, err := sql.Open("pgx", h.o.postgres)
	if err != nil {
		fail("%v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "gh_bench_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		fail("create schema: %v", err)
	}
	atExit(func() {
		if _, err := db.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop schema %s: %v\n", name, err)
		}
		db.Close()
	})
	u, err := url.Parse(h.o.postgres)
	if err != nil {
		fail("-postgres: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// addUser creates the benchmark account with the command line.
func (h *harness) addUser(t *target) { h.addAccount(t, benchUser, benchPassword, "") }

// addAccount creates an account with the command line, with a verified
// address unless email is "", and further flags of user add (--role R).
func (h *harness) addAccount(t *target, name, password, email string, flags ...string) {
	args := append([]string{"user", "add", name, "--password-stdin"}, flags...)
	if email != "" {
		args = append(args, "--email", email)
	}
	cmd := exec.Command(t.bin, args...)
	cmd.Env = t.env
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("gatehouse user add: %v\n%s", err, out)
	}
}

var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0},
}

type tokenPair struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// post sends a POST with a JSON body or a bearer token and decodes a pair.
func post(base, path, bearer, body string) (int, tokenPair, error) {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, tokenPair{}, err
	}
	defer res.Body.Close()
	var p tokenPair
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode == 200 {
		err = json.Unmarshal(raw, &p)
	}
	return res.StatusCode, p, err
}

func mustLogin(base, body string) tokenPair {
	for try := 0; ; try++ {
		code, p, err := post(base, "/auth/login", "", body)
		if err == nil && code == 200 {
			return p
		}
		if try == 20 {
			fail("login at %s: %d %v", base, code, err)
		}
		time.Sleep(100 * time.Millisecond) // a slot was busy
	}
}

// sessions logs in n times (two at a time, as many as there are hashing
// slots) and returns the pairs.
func sessions(base string, n int) []tokenPair {
	out := make([]tokenPair, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			out[i] = mustLogin(base, loginBody)
			<-sem
		}()
	}
	wg.Wait()
	return out
}

// accessTokens returns n distinct valid access tokens: a few sessions,
// each refreshed until the tokens are enough.
func accessTokens(base string, n int) []string {
	chains := sessions(base, min(n, 16))
	var mu sync.Mutex
	var toks []string
	var left atomic.Int64
	left.Store(int64(n - len(chains)))
	for _, p := range chains {
		toks = append(toks, p.Access)
	}
	var wg sync.WaitGroup
	for _, p := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refresh := p.Refresh
			for left.Add(-1) >= 0 {
				code, np, err := post(base, "/auth/refresh", refresh, "")
				if err != nil || code != 200 {
					fail("refresh while making tokens: %d %v", code, err)
				}
				refresh = np.Refresh
				mu.Lock()
				toks = append(toks, np.Access)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return toks
}

// writeLines writes one item a line to a file in the temporary directory.
func (h *harness) writeLines(name string, lines []string) string {
	p := filepath.Join(h.tmp, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		fail("%v", err)
	}
	return p
}

func refreshTokens(ps []tokenPair) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Refresh
	}
	return out
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// pingRedis sends PING to the Redis server of a redis:// URL.
func pingRedis(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "6379")
	}
	c, err := net.DialTimeout("tcp", host, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(c)
	if pw, ok := u.User.Password(); ok {
		fmt.Fprintf(c, "AUTH %s\r\n", pw)
		if _, err := r.ReadString('\n'); err != nil {
			return err
		}
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// redact hides a URL's password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
