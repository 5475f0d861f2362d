package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
)

// Every command that opens the database makes it owner-only, whatever the
// umask, and refuses one that others can read unless told to accept it.
func TestDatabaseFileIsOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022) // not parallel: the umask is the process's
	t.Cleanup(func() { syscall.Umask(old) })
	for _, first := range [][]string{{"migrate"}, {"user", "add", "erin", "--password-stdin"}, {"keys", "list"}} {
		c := newCLI(t)
		path := strings.TrimPrefix(c.env["GATEHOUSE_DATABASE_URL"], "sqlite:")
		c.ok("long enough password\n", first...)
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("after %v: mode %v, %v; want 0600", first, fi.Mode(), err)
		}
	}

	c := newCLI(t)
	path := strings.TrimPrefix(c.env["GATEHOUSE_DATABASE_URL"], "sqlite:")
	c.ok("", "migrate")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"migrate"}, {"user", "list"}, {"serve", "--addr", "127.0.0.1:0"}} {
		code, _, errs := c.run("", args...)
		if code != 1 || !strings.Contains(errs, "chmod 600") || !strings.Contains(errs, "GATEHOUSE_SQLITE_ALLOW_SHARED_FILE=true") || strings.Count(errs, "\n") != 1 {
			t.Fatalf("%v on a 0644 database: exit %d, %q; want one line with the fix", args, code, errs)
		}
	}
	c.ok("", "user", "list", "--sqlite-allow-shared-file")
	c.env["GATEHOUSE_SQLITE_ALLOW_SHARED_FILE"] = "true"
	c.ok("", "user", "list")
}

// serve with GATEHOUSE_METRICS_ADDR answers /metrics there, and 404 on the
// API's listener.
func TestServeMetricsListener(t *testing.T) {
	c := newCLI(t)
	addr, maddr := freeAddr(t), freeAddr(t)
	c.env["GATEHOUSE_ADDR"], c.env["GATEHOUSE_METRICS_ADDR"] = addr, maddr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		e := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return c.env[k] }}
		done <- run(ctx, e, []string{"serve", "--demo"})
	}()
	loginWhenUp(t, "http://"+addr)
	if got := status(t, "http://"+addr+"/metrics", ""); got != 404 {
		t.Errorf("/metrics on the API: %d, want 404", got)
	}
	res, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `route="POST /auth/login"`) || !strings.Contains(string(body), "\ngo_goroutines ") {
		t.Errorf("metrics listener: %d\n%s", res.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}
