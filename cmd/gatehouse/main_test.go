package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs the command line against one SQLite file.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, env: map[string]string{
		"GATEHOUSE_DATABASE_URL":      "sqlite:" + filepath.Join(t.TempDir(), "cli.db"),
		"GATEHOUSE_KEY_PUBLISH_DELAY": "0s",
	}}
}

func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	e := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("gatehouse %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestHelp(t *testing.T) {
	c := newCLI(t)
	if code, out, _ := c.run("", "help"); code != 0 || !strings.Contains(out, "serve") {
		t.Fatalf("help: %d %q", code, out)
	}
	for _, args := range [][]string{
		{"serve", "--help"}, {"migrate", "--help"}, {"user", "add", "--help"}, {"user", "list", "--help"},
		{"user", "set-role", "--help"}, {"user", "disable", "--help"}, {"user", "enable", "--help"}, {"user", "delete", "--help"},
		{"keys", "list", "--help"}, {"keys", "rotate", "--help"}, {"keys", "reseal", "--help"}, {"token", "decode", "--help"}, {"token", "verify", "--help"},
		{"version", "--help"}, {"user", "--help"}, {"keys", "--help"}, {"token", "--help"}, {"audit", "--help"},
		{"user", "set-email", "--help"}, {"mail", "--help"}, {"mail", "list", "--help"}, {"user", "mfa-reset", "--help"},
	} {
		code, _, errs := c.run("", args...)
		if code != 0 || !strings.Contains(errs, "Usage: gatehouse") {
			t.Errorf("%v: exit %d, usage %q", args, code, errs)
		}
	}
	if code, _, _ := c.run("", "frobnicate"); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
	if code, _, _ := c.run("", "user", "add"); code != 2 {
		t.Fatalf("missing argument exit %d, want 2", code)
	}
}

func TestUserAdministration(t *testing.T) {
	c := newCLI(t)
	c.ok("", "migrate")
	out := c.ok("correct horse battery\n", "user", "add", "carol", "--role", "admin", "--password-stdin")
	if !strings.Contains(out, "created user carol") || !strings.Contains(out, "role admin") {
		t.Fatalf("add: %q", out)
	}
	if code, _, errs := c.run("another pass\n", "user", "add", "CAROL", "--password-stdin"); code != 1 || !strings.Contains(errs, "conflict") {
		t.Fatalf("duplicate add: %d %q", code, errs)
	}
	if code, _, errs := c.run("short\n", "user", "add", "dave", "--password-stdin"); code != 1 || !strings.Contains(errs, "at least 8") {
		t.Fatalf("short password: %d %q", code, errs)
	}
	if code, _, errs := c.run("", "user", "add", "dave"); code != 1 || !strings.Contains(errs, "--password-stdin") {
		t.Fatalf("no terminal: %d %q", code, errs)
	}
	c.ok("long enough pw\n", "user", "add", "dave", "--password-stdin")
	out = c.ok("", "user", "list")
	if !strings.Contains(out, "carol") || !strings.Contains(out, "dave") || !strings.Contains(out, "USERNAME") {
		t.Fatalf("list: %q", out)
	}
	if out = c.ok("", "user", "set-role", "dave", "admin"); !strings.Contains(out, "role admin") {
		t.Fatalf("set-role: %q", out)
	}
	if out = c.ok("", "user", "disable", "dave"); !strings.Contains(out, "active false") {
		t.Fatalf("disable: %q", out)
	}
	if out = c.ok("", "user", "enable", "dave"); !strings.Contains(out, "active true") {
		t.Fatalf("enable: %q", out)
	}
	c.ok("", "user", "delete", "dave")
	if code, _, _ := c.run("", "user", "delete", "dave"); code != 1 {
		t.Fatalf("deleting twice: exit %d", code)
	}
}

// Addresses from the command line count as verified: an administrator
// vouches for them. Taken and malformed ones are refused; "" removes one.
func TestUserEmail(t *testing.T) {
	c := newCLI(t)
	out := c.ok("erin's passphrase\n", "user", "add", "erin", "--email", "Erin@Example.com", "--password-stdin")
	if !strings.Contains(out, "address Erin@Example.com, verified") {
		t.Fatalf("add: %q", out)
	}
	if code, _, errs := c.run("frank's passphrase\n", "user", "add", "frank", "--email", "erin@example.com", "--password-stdin"); code != 1 || !strings.Contains(errs, "already in use") {
		t.Fatalf("taken address: %d %q", code, errs)
	}
	if code, _, errs := c.run("frank's passphrase\n", "user", "add", "frank", "--email", "not-an-address", "--password-stdin"); code != 1 || !strings.Contains(errs, "email must be") {
		t.Fatalf("malformed address: %d %q", code, errs)
	}
	if out = c.ok("", "user", "set-email", "erin", "erin@new.example"); !strings.Contains(out, "address erin@new.example, verified") {
		t.Fatalf("set-email: %q", out)
	}
	if out = c.ok("", "user", "list"); !strings.Contains(out, "erin@new.example") || !strings.Contains(out, "EMAIL") {
		t.Fatalf("list: %q", out)
	}
	// The old verified address is told of the change, through the outbox.
	if out = c.ok("", "mail", "list"); !strings.Contains(out, "notice") || !strings.Contains(out, "E***@Example.com") {
		t.Fatalf("mail list: %q", out)
	}
	if out = c.ok("", "user", "set-email", "erin", ""); !strings.Contains(out, "address removed") {
		t.Fatalf("remove: %q", out)
	}
	if code, _, _ := c.run("", "user", "set-email", "nobody", "x@example.com"); code != 1 {
		t.Fatalf("unknown user: exit %d", code)
	}
}

func TestKeysAndTokens(t *testing.T) {
	c := newCLI(t)
	out := c.ok("", "keys", "list")
	if !strings.Contains(out, "ES256") || !strings.Contains(out, "current") {
		t.Fatalf("keys list: %q", out)
	}
	if out = c.ok("", "keys", "rotate"); !strings.Contains(out, "published") {
		t.Fatalf("rotate: %q", out)
	}
	if out = c.ok("", "keys", "list"); !strings.Contains(out, "retired") {
		t.Fatalf("keys list after rotate: %q", out)
	}

	// A real token from a running server, then decode and verify it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c.env["GATEHOUSE_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		e := &cliEnv{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string { return c.env[k] }}
		done <- run(ctx, e, []string{"serve", "--demo"})
	}()
	tok := loginWhenUp(t, "http://"+addr)
	if out = c.ok("", "token", "decode", tok); !strings.Contains(out, "UNVERIFIED") || !strings.Contains(out, `"username": "alice"`) {
		t.Fatalf("decode: %q", out)
	}
	if out = c.ok("", "token", "verify", tok); !strings.HasPrefix(out, "valid: ") {
		t.Fatalf("verify: %q", out)
	}
	if code, out, _ := c.run("", "token", "verify", testkit.Tamper(tok)); code != 1 || !strings.HasPrefix(out, "invalid: ") {
		t.Fatalf("verify tampered: %d %q", code, out)
	}
	// alice is the only administrator: disabling her needs --force.
	if code, _, errOut := c.run("", "user", "disable", "alice"); code != 1 || !strings.Contains(errOut, "last active administrator") {
		t.Fatalf("disable the last admin: %d %q", code, errOut)
	}
	c.ok("", "user", "disable", "--force", "alice")
	if code, out, _ := c.run("", "token", "verify", tok); code != 1 || !strings.Contains(out, "revoked") {
		t.Fatalf("verify after disable: %d %q", code, out)
	}
	// The running server learns of the CLI's revocation within a second.
	deadline := time.Now().Add(3 * time.Second)
	for status(t, "http://"+addr+"/me", tok) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts a disabled user's token")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d after SIGTERM-like cancel", code)
	}
}

func loginWhenUp(t *testing.T, base string) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Post(base+"/auth/login", "application/json", strings.NewReader(`{"username":"alice","password":"secret123"}`))
		if err == nil {
			defer res.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(res.Body)
			body := buf.String()
			i := strings.Index(body, `"access_token":"`)
			if res.StatusCode != 200 || i < 0 {
				t.Fatalf("login: %d %s", res.StatusCode, body)
			}
			rest := body[i+len(`"access_token":"`):]
			return rest[:strings.IndexByte(rest, '"')]
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func status(t *testing.T, url, bearer string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestAudit(t *testing.T) {
	c := newCLI(t)
	c.ok("long enough pw\n", "user", "add", "dave", "--password-stdin")
	c.ok("", "user", "disable", "dave")
	c.ok("", "keys", "rotate")
	c.ok("", "user", "delete", "dave")

	out := c.ok("", "audit")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[0], "DETAIL") {
		t.Fatalf("audit table:\n%s", out)
	}
	for i, want := range []string{"user.deleted", "key.rotated", "user.updated", "user.created"} {
		if f := strings.Fields(lines[i+1]); len(f) < 6 || f[1] != want || f[4] != "cli" {
			t.Errorf("row %d %q: want event %s by cli", i+1, lines[i+1], want)
		}
	}
	if !strings.Contains(lines[3], "active=false") || !strings.Contains(lines[2], "kid=") {
		t.Errorf("details missing:\n%s", out)
	}

	out = c.ok("", "audit", "--json", "--user", "DAVE", "--limit", "2")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("--limit 2 printed %d lines:\n%s", len(lines), out)
	}
	var ev struct {
		Event, Username, Actor string
		UserAgent              string `json:"user_agent"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil || ev.Event != "user.deleted" || ev.Username != "dave" ||
		ev.Actor != "cli" || !strings.HasPrefix(ev.UserAgent, "gatehouse-cli/") {
		t.Fatalf("first JSON line %q: %+v, %v", lines[0], ev, err)
	}
	out = c.ok("", "audit", "--json", "--event", "key.rotated", "--since", "1h")
	if n := strings.Count(out, "\n"); n != 1 || !strings.Contains(out, `"event":"key.rotated"`) {
		t.Fatalf("--event key.rotated --since 1h:\n%s", out)
	}
	if out = c.ok("", "audit", "--since", "2999-01-01T00:00:00Z"); strings.Count(out, "\n") != 1 {
		t.Fatalf("--since in the future printed events:\n%s", out)
	}
	for _, args := range [][]string{
		{"audit", "--event", "nope"}, {"audit", "--since", "yesterday"}, {"audit", "--limit", "-1"},
	} {
		if code, _, errs := c.run("", args...); code != 1 || !strings.Contains(errs, args[1]) {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	if code, _, _ := c.run("", "audit", "extra"); code != 2 {
		t.Errorf("audit with an argument: exit %d, want 2", code)
	}
}

// user mfa-reset turns a second factor off from the command line; a user
// without one is an error.
func TestUserMFAReset(t *testing.T) {
	c := newCLI(t)
	c.ok("grace's passphrase\n", "user", "add", "grace", "--password-stdin")
	if code, _, errs := c.run("", "user", "mfa-reset", "grace"); code != 1 || !strings.Contains(errs, "not set up") {
		t.Fatalf("no second factor: %d %q", code, errs)
	}
	if code, _, _ := c.run("", "user", "mfa-reset", "nobody"); code != 1 {
		t.Fatalf("unknown user: exit %d", code)
	}
}
