package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
)

// slowServer is Gatehouse's HTTP server with short timeouts, over SQLite.
func slowServer(t *testing.T, to app.Timeouts) string {
	t.Helper()
	cfg := config.Defaults()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "g.db")
	cfg.Issuer = "http://gatehouse.test"
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := app.HTTPServer(a.Handler(), to)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); a.Close() })
	return ln.Addr().String()
}

// closedAfter writes what, then waits for the server to close the
// connection and says how long that took.
func closedAfter(t *testing.T, addr, what string, limit time.Duration) (time.Duration, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, what); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(limit))
	got, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still held the connection after %s", limit)
	}
	return time.Since(start), string(got)
}

func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	to := app.Timeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: time.Second, Idle: 500 * time.Millisecond}
	addr := slowServer(t, to)

	// Headers that never end (slowloris).
	took, _ := closedAfter(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 3*time.Second)
	if took < to.ReadHeader-50*time.Millisecond || took > to.ReadHeader+time.Second {
		t.Fatalf("a stalled header was cut after %s; read-header timeout %s", took, to.ReadHeader)
	}

	// A body that never arrives.
	took, answer := closedAfter(t, addr, "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user", 3*time.Second)
	if took > to.Read+time.Second {
		t.Fatalf("a stalled body held the connection %s; read timeout %s", took, to.Read)
	}
	if answer != "" && !strings.HasPrefix(answer, "HTTP/1.1 4") {
		t.Fatalf("answer to a stalled body: %q", answer)
	}

	// An idle keep-alive connection.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	io.Copy(io.Discard, res.Body)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v", err)
	}
	if took := time.Since(start); took > to.Idle+time.Second {
		t.Fatalf("an idle connection was kept %s; idle timeout %s", took, to.Idle)
	}
}

func TestSlowClientsDoNotStarveOthers(t *testing.T) {
	t.Parallel()
	to := app.Timeouts{ReadHeader: 2 * time.Second, Read: 4 * time.Second, Write: 5 * time.Second, Idle: 5 * time.Second}
	addr := slowServer(t, to)
	var wg sync.WaitGroup
	conns := make(chan net.Conn, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err == nil {
				fmt.Fprint(c, "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
				conns <- c
			}
		}()
	}
	wg.Wait()
	close(conns)
	defer func() {
		for c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz beside 200 stalled clients: %v %v", res, err)
	}
	res.Body.Close()
	if took := time.Since(start); took > time.Second {
		t.Fatalf("healthz took %s beside 200 stalled clients", took)
	}
}

func TestOversizedHeadersAndBodies(t *testing.T) {
	t.Parallel()
	addr := slowServer(t, app.ServeTimeouts)
	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", app.MaxHeaderBytes+4096))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized headers: %d", res.StatusCode)
	}
	res, err = http.Post("http://"+addr+"/auth/login", "application/json", strings.NewReader(`{"username":"`+strings.Repeat("a", 2<<20)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d %s", res.StatusCode, body)
	}
}
