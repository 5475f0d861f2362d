package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func TestOpenRejects(t *testing.T) {
	for _, url := range []string{
		"",
		"mysql://root:hunter2@localhost/db",
		"sqlite:",
		"sqlite::memory:",
		"sqlite:file:x.db",
		"sqlite:x.db?mode=ro",
		"postgres://u@localhost/db?pool_max_conns=0",
		"postgres://u@localhost/db?pool_max_conns=x",
		"postgres://u@localhost/db?pool_min_conns=2",
		"postgres://u@localhost/db?pool_max_conn_lifetime=soon",
	} {
		s, err := Open(context.Background(), url, Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", url)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): the error shows the password: %v", url, err)
		}
	}
}

func TestOpenPoolParams(t *testing.T) {
	s, err := Open(context.Background(),
		"postgres://u@127.0.0.1:1/db?pool_max_conns=3&pool_max_conn_idle_time=1m&search_path=x", Options{MaxConns: 9})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if n := s.w.Stats().MaxOpenConnections; n != 3 {
		t.Fatalf("MaxOpenConnections = %d, want 3 from pool_max_conns", n)
	}
	s2 := closeAtEnd(t, mustOpen(t, sqliteURL(t), Options{MaxConns: 7}))
	if r, w := s2.r.Stats().MaxOpenConnections, s2.w.Stats().MaxOpenConnections; r != 7 || w != 1 {
		t.Fatalf("SQLite pools: %d readers, %d writers; want 7 and 1", r, w)
	}
}

func mustOpen(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestUnavailable checks that a database that cannot be reached gives
// EUnavailable, not an internal error.
func TestUnavailable(t *testing.T) {
	for _, url := range []string{
		"sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "gatehouse.db"),
		"postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2",
	} {
		s := closeAtEnd(t, mustOpen(t, url, Options{}))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.Ping(ctx)
		wantUnavailable(t, err, url+": Ping")
		_, err = s.UserByID(ctx, "x")
		wantUnavailable(t, err, url+": UserByID")
		_, err = s.RotateRefreshToken(ctx, auth.Rotation{PresentedHash: "x", NewHash: "y", Now: time.Now()})
		wantUnavailable(t, err, url+": RotateRefreshToken")
		wantUnavailable(t, s.Migrate(ctx), url+": Migrate")
	}
}

func wantUnavailable(t *testing.T, err error, what string) {
	t.Helper()
	if auth.ErrorCode(err) != auth.EUnavailable || auth.ErrorMessage(err) != errUnavailable {
		t.Fatalf("%s: got %v, want EUnavailable %q", what, err, errUnavailable)
	}
}

// TestErrorsKeepCause checks that a mapped error still carries the driver
// error and that an unknown failure names the operation.
func TestErrorsKeepCause(t *testing.T) {
	s := closeAtEnd(t, newSQLite(t))
	u := auth.User{Username: "a", Role: auth.RoleUser, PasswordHash: "h"}
	if err := s.CreateUser(context.Background(), &u, auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	u2 := u
	err := s.CreateUser(context.Background(), &u2, auth.Effects{})
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.EConflict || ae.Message != "Username already exists" || ae.Err == nil {
		t.Fatalf("duplicate user: %#v", err)
	}
	if u2.ID != u.ID {
		t.Fatal("a failed CreateUser changed its argument")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.UserByID(ctx, u.ID)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "sqlstore: user by id: ") {
		t.Fatalf("canceled query: %v", err)
	}
}

// TestConcurrentStoresSQLite rotates one token from two stores on one file,
// as a server and a CLI would: their writers wait for each other through
// the busy timeout, and exactly one rotation wins.
func TestConcurrentStoresSQLite(t *testing.T) {
	url := sqliteURL(t)
	a := closeAtEnd(t, openMigrated(t, url))
	b := closeAtEnd(t, mustOpen(t, url, Options{}))
	ctx := context.Background()
	u := auth.User{Username: "x", Role: auth.RoleUser, Active: true, PasswordHash: "h"}
	if err := a.CreateUser(ctx, &u, auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := a.CreateSession(ctx, auth.Session{ID: "s", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, "h0", auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range 20 {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			res, err := s.RotateRefreshToken(ctx, auth.Rotation{PresentedHash: "h0", NewHash: randomHex(), Now: now, SessionTTL: time.Hour})
			key := res.Outcome.String()
			if err != nil {
				key = string(auth.ErrorCode(err))
			}
			mu.Lock()
			outcomes[key]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if outcomes["rotated"] != 1 || outcomes["rotated"]+outcomes["reused"]+outcomes["unauthenticated"] != 20 {
		t.Fatalf("outcomes %v: want one rotated, the rest reused or unauthenticated", outcomes)
	}
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
