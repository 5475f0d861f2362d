package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/password"
)

// cheapParams keep argon2id fast in tests; one test uses the defaults.
var cheapParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testIssuer = "http://gatehouse.test"

// testConfig is the default configuration on a fresh SQLite file.
func testConfig(t *testing.T) config.Config {
	cfg := config.Defaults()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
	cfg.Issuer = testIssuer
	cfg.KeyPublishDelay = 0
	return cfg
}

// env is a running Gatehouse over a real SQLite file.
type env struct {
	t   *testing.T
	app *App
	srv *httptest.Server
	// invalidReason, when set, marks the request as deliberately invalid
	// (see e.invalid).
	invalidReason string
}

func start(t *testing.T, cfg config.Config) *env {
	t.Helper()
	return startWith(t, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

// startWith is start with options (cheap passwords are set) and a logger,
// after adjust (if not nil) has changed the App before it serves.
func startWith(t *testing.T, cfg config.Config, opt Options, log *slog.Logger, adjust func(*App)) *env {
	t.Helper()
	opt.PasswordParams = &cheapParams
	a, err := Open(context.Background(), cfg, log, opt)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := a.CreateDemoUsers(context.Background()); err != nil {
		t.Fatalf("demo users: %v", err)
	}
	if adjust != nil {
		adjust(a)
	}
	srv := newServer(t, a.Handler())
	e := &env{t: t, app: a, srv: srv}
	t.Cleanup(e.stop)
	return e
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.app.Close()
		e.srv = nil
	}
}

func newEnv(t *testing.T) *env { return start(t, testConfig(t)) }

// resp is an answer, its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (r resp) str(t *testing.T, key string) string {
	t.Helper()
	v, _ := r.json(t)[key].(string)
	return v
}

// do sends a request; body may be a string (sent as is) or a value (JSON).
func (e *env) do(method, path, bearer string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if e.invalidReason != "" {
		req.Header.Set(invalidHeader, e.invalidReason)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, raw}
}

type pair struct{ access, refresh string }

func (e *env) login(user, pw string) pair {
	e.t.Helper()
	r := e.do("POST", "/auth/login", "", map[string]string{"username": user, "password": pw})
	if r.status != 200 {
		e.t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
	return pair{r.str(e.t, "access_token"), r.str(e.t, "refresh_token")}
}

func (e *env) refresh(refresh string) resp {
	e.t.Helper()
	return e.do("POST", "/auth/refresh", refresh, nil)
}

// expect checks status and, when detail is not empty, the detail message.
func expect(t *testing.T, r resp, status int, detail string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if detail != "" {
		if got := r.str(t, "detail"); got != detail {
			t.Fatalf("detail %q, want %q", got, detail)
		}
	}
}

// expect401 checks a 401 with the bearer challenge.
func expect401(t *testing.T, r resp, detail string) {
	t.Helper()
	expect(t, r, 401, detail)
	if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
		t.Fatalf("WWW-Authenticate %q, want Bearer", got)
	}
}

// segments decodes a JWT's header and claims without verifying.
func segments(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	dec := func(s string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

// eventually retries check until it passes or the deadline passes.
func eventually(t *testing.T, within time.Duration, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oneWinner sends n refreshes of one token at the same instant, the i-th
// through refresh(i), and fails unless exactly one succeeds and the others
// get 401.
func oneWinner(t *testing.T, n int, refresh func(i int) int) {
	t.Helper()
	statuses := atOnce(n, refresh)
	wins := 0
	for _, s := range statuses {
		switch s {
		case 200:
			wins++
		case 401:
		default:
			t.Fatalf("status %d among %v", s, statuses)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent refreshes succeeded, want exactly 1: %v", wins, n, statuses)
	}
}

// atOnce calls f(0) … f(n-1) in n goroutines released at the same
// instant, and returns what each returned.
func atOnce(n int, f func(i int) int) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			out[i] = f(i)
		}()
	}
	close(gate)
	wg.Wait()
	return out
}
