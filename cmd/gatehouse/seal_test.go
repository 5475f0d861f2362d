package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/seal"
)

func hexKey() string {
	k := make([]byte, 32)
	rand.Read(k)
	return hex.EncodeToString(k)
}

// storedKeys reads the private_key column of a SQLite database raw.
func storedKeys(t *testing.T, dbURL string) map[string][]byte {
	db, err := sql.Open("sqlite", strings.TrimPrefix(dbURL, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, private_key FROM signing_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var pk []byte
		if err := rows.Scan(&id, &pk); err != nil {
			t.Fatal(err)
		}
		out[id] = pk
	}
	return out
}

func TestEncryptionKeyLifecycle(t *testing.T) {
	c := newCLI(t)
	c.ok("", "keys", "list") // a key stored before sealing was on
	if code, _, errs := c.run("", "keys", "reseal"); code != 1 || !strings.Contains(errs, "GATEHOUSE_ENCRYPTION_KEY is not set") {
		t.Fatalf("reseal without a key: %d %q", code, errs)
	}
	for kid, pk := range storedKeys(t, c.env["GATEHOUSE_DATABASE_URL"]) {
		if _, err := x509.ParsePKCS8PrivateKey(pk); err != nil {
			t.Fatalf("key %s was not stored in the clear before a key was set: %v", kid, err)
		}
	}

	first := hexKey()
	c.env["GATEHOUSE_ENCRYPTION_KEY"] = first
	c.ok("", "keys", "list") // a clear key still loads
	if out := c.ok("", "keys", "reseal"); !strings.Contains(out, "resealed 1 signing keys") || !strings.Contains(out, "resealed 0 TOTP secrets") {
		t.Fatalf("reseal: %q", out)
	}
	if out := c.ok("", "keys", "reseal"); !strings.Contains(out, "resealed 0 signing keys") || !strings.Contains(out, "1 already") {
		t.Fatalf("second reseal: %q", out)
	}
	c.ok("", "keys", "rotate") // sealed on creation
	stored := storedKeys(t, c.env["GATEHOUSE_DATABASE_URL"])
	if len(stored) != 2 {
		t.Fatalf("%d keys stored, want 2", len(stored))
	}
	for kid, pk := range stored {
		if !seal.IsSealed(pk) || bytes.Contains(pk, []byte{0x02, 0x01, 0x00, 0x30}) {
			t.Fatalf("key %s holds key material at rest", kid)
		}
		if _, err := x509.ParsePKCS8PrivateKey(pk); err == nil {
			t.Fatalf("key %s is PKCS #8 at rest", kid)
		}
	}

	// Without the key, or with another, every command that loads keys
	// stops with a line that says what to set.
	delete(c.env, "GATEHOUSE_ENCRYPTION_KEY")
	if code, _, errs := c.run("", "keys", "list"); code != 1 || !strings.Contains(errs, "GATEHOUSE_ENCRYPTION_KEY is not set") {
		t.Fatalf("keys list without the key: %d %q", code, errs)
	}
	second := hexKey()
	c.env["GATEHOUSE_ENCRYPTION_KEY"] = second
	if code, _, errs := c.run("", "keys", "list"); code != 1 || !strings.Contains(errs, "GATEHOUSE_ENCRYPTION_KEY_OLD") {
		t.Fatalf("keys list with another key: %d %q", code, errs)
	}
	if code, errs := serveFails(t, c); code == 0 || !strings.Contains(errs, "sealed with another encryption key") {
		t.Fatalf("serve with another key: exit %d %q", code, errs)
	}

	// Key rotation: the old key opens, reseal moves to the new one.
	c.env["GATEHOUSE_ENCRYPTION_KEY_OLD"] = first
	if out := c.ok("", "keys", "reseal"); !strings.Contains(out, "resealed 2 signing keys") {
		t.Fatalf("reseal to the new key: %q", out)
	}
	delete(c.env, "GATEHOUSE_ENCRYPTION_KEY_OLD")
	c.ok("", "keys", "list")

	c.env["GATEHOUSE_ENCRYPTION_KEY"] = strings.Repeat("ab", 32)
	if code, _, errs := c.run("", "keys", "list"); code != 1 || !strings.Contains(errs, "GATEHOUSE_ENCRYPTION_KEY") || !strings.Contains(errs, "openssl rand -hex 32") {
		t.Fatalf("a visibly non-random key: %d %q", code, errs)
	}
}

// serveFails runs serve, which must stop on its own at start.
func serveFails(t *testing.T, c *cli) (int, string) {
	var errb bytes.Buffer
	e := &cliEnv{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, e, []string{"serve"})
	if ctx.Err() != nil {
		t.Fatal("serve started instead of stopping at start")
	}
	return code, errb.String()
}

func TestServeWarnsOnceWithoutAnEncryptionKey(t *testing.T) {
	for _, tc := range []struct {
		args []string
		key  string
		want int
	}{
		{[]string{"serve"}, "", 1},
		{[]string{"serve", "--demo"}, "", 0},
		{[]string{"serve"}, hexKey(), 0},
	} {
		c := newCLI(t)
		c.env["GATEHOUSE_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "w.db")
		if tc.key != "" {
			c.env["GATEHOUSE_ENCRYPTION_KEY"] = tc.key
		}
		logs := serveBriefly(t, c, tc.args...)
		if n := strings.Count(logs, "GATEHOUSE_ENCRYPTION_KEY is not set"); n != tc.want {
			t.Errorf("%v (key set: %t): warned %d times, want %d\n%s", tc.args, tc.key != "", n, tc.want, logs)
		}
	}
}

// serveBriefly starts serve, waits until it answers, stops it and returns
// its logs.
func serveBriefly(t *testing.T, c *cli, args ...string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c.env["GATEHOUSE_ADDR"] = addr
	var errb bytes.Buffer
	e := &cliEnv{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, e, args) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("serve did not come up:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1200 * time.Millisecond) // past a key poll: the warning is not repeated
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, errb.String())
	}
	return errb.String()
}
