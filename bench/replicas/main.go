// Command replicas measures Gatehouse as three replicas on PostgreSQL and
// Redis: refreshes per second with every client chaining its own session
// across the replicas, and the time from a logout on one replica to its
// rejection on the others.
//
//	GATEHOUSE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	GATEHOUSE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go run ./bench/replicas
//
// The baseline for the refresh rate is the same SQL run directly, at the
// same concurrency (32): go test -run '^$' -bench 'RawRefreshSQL/postgres/parallel' ./internal/sqlstore/
package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func main() {
	clients := flag.Int("clients", 32, "concurrent refresh chains")
	dur := flag.Duration("duration", 10*time.Second, "length of the refresh run")
	revocations := flag.Int("revocations", 200, "logouts to time")
	flag.Parse()
	pg, rd := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL"), os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if pg == "" || rd == "" {
		log.Fatal("set GATEHOUSE_TEST_POSTGRES_URL and GATEHOUSE_TEST_REDIS_URL")
	}
	dir, _ := os.MkdirTemp("", "gh-bench")
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse").CombinedOutput(); err != nil {
		log.Fatalf("build: %v\n%s", err, out)
	}
	dbURL, drop := schema(pg)
	defer drop()
	env := append(os.Environ(), "GATEHOUSE_DATABASE_URL="+dbURL, "GATEHOUSE_REDIS_URL="+rd,
		"GATEHOUSE_ISSUER=http://gatehouse.bench", "GATEHOUSE_LOG_FORMAT=json")
	var bases []string
	for range 3 {
		base, stop := start(bin, env)
		defer stop()
		bases = append(bases, base)
	}
	rate := refreshRate(bases, *clients, *dur)
	fmt.Printf("refresh: %d clients over 3 replicas for %s: %.0f refreshes/s\n", *clients, *dur, rate)
	lat := propagation(bases, *revocations)
	fmt.Printf("revocation propagation over %d logouts: p50 %s, p99 %s, max %s\n", len(lat),
		lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}

func schema(base string) (string, func()) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		log.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "gh_bench_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), func() { db.Exec("DROP SCHEMA " + name + " CASCADE"); db.Close() }
}

func start(bin string, env []string) (string, func()) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--demo")
	cmd.Env = append(env, "GATEHOUSE_ADDR="+addr)
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	base := "http://" + addr
	for i := 0; ; i++ {
		if res, err := client.Get(base + "/readyz"); err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if i > 300 {
			log.Fatalf("%s not ready", base)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
}

func post(base, path, bearer, body string) (int, map[string]string) {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]string
	json.Unmarshal(raw, &m)
	return res.StatusCode, m
}

func login(base string) (string, string) {
	code, m := post(base, "/auth/login", "", `{"username":"bob","password":"password456"}`)
	if code != 200 {
		log.Fatalf("login: %d", code)
	}
	return m["access_token"], m["refresh_token"]
}

func refreshRate(bases []string, clients int, d time.Duration) float64 {
	tokens := make([]string, clients)
	for i := range tokens {
		_, tokens[i] = login(bases[i%3])
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := i; time.Now().Before(deadline); k++ {
				code, m := post(bases[k%3], "/auth/refresh", tokens[i], "")
				if code != 200 {
					log.Fatalf("refresh: %d", code)
				}
				tokens[i] = m["refresh_token"]
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

func status(base, bearer string) int {
	req, _ := http.NewRequest("GET", base+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// propagation logs out on one replica and times until both others refuse
// the token.
func propagation(bases []string, n int) []time.Duration {
	var lat []time.Duration
	for i := range n {
		a, others := bases[i%3], []string{bases[(i+1)%3], bases[(i+2)%3]}
		access, _ := login(a)
		t0 := time.Now() // the logout's own round trip is counted
		if code, _ := post(a, "/auth/logout", access, ""); code != 204 {
			log.Fatalf("logout: %d", code)
		}
		for _, o := range others {
			for status(o, access) != 401 {
				if time.Since(t0) > 5*time.Second {
					log.Fatal("revocation not seen within 5 s")
				}
			}
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat
}
