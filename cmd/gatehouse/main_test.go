package main

import (
	"bytes"
	"context"
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
		{"keys", "list", "--help"}, {"keys", "rotate", "--help"}, {"token", "decode", "--help"}, {"token", "verify", "--help"},
		{"version", "--help"}, {"user", "--help"}, {"keys", "--help"}, {"token", "--help"},
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
	if code, out, _ := c.run("", "token", "verify", tok[:len(tok)-4]+"AAAA"); code != 1 || !strings.HasPrefix(out, "invalid: ") {
		t.Fatalf("verify tampered: %d %q", code, out)
	}
	c.ok("", "user", "disable", "alice")
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
