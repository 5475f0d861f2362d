package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/password"
)

// benchApp opens Gatehouse on a fresh SQLite file for a benchmark.
func benchApp(b testing.TB, params password.Params) (*App, http.Handler) {
	cfg := config.Defaults()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	cfg.Issuer = testIssuer
	// The limits are off, as in go run ./bench: one client chains
	// refreshes of one session far faster than any real one would.
	cfg.SignInRate, cfg.RefreshRate, cfg.SessionRefreshRate, cfg.MaxSessionsPerUser = 0, 0, 0, 0
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := Open(context.Background(), cfg, log, Options{PasswordParams: &params})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	if err := a.CreateDemoUsers(context.Background()); err != nil {
		b.Fatal(err)
	}
	return a, a.Handler()
}

func serve(b testing.TB, h http.Handler, method, path, bearer, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	return w
}

func tokensOf(b testing.TB, w *httptest.ResponseRecorder) (access, refresh string) {
	var t struct{ AccessToken, RefreshToken string }
	var raw map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	t.AccessToken, t.RefreshToken = raw["access_token"], raw["refresh_token"]
	if t.AccessToken == "" {
		b.Fatalf("no tokens in %s", w.Body)
	}
	return t.AccessToken, t.RefreshToken
}

const aliceLogin = `{"username":"alice","password":"secret123"}`

// BenchmarkMe is an authenticated GET /me through the whole handler: bearer
// parsing, ES256 verification, the denylist, JSON.
func BenchmarkMe(b *testing.B) {
	_, h := benchApp(b, cheapParams)
	access, _ := tokensOf(b, serve(b, h, "POST", "/auth/login", "", aliceLogin))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serve(b, h, "GET", "/me", access, "")
		}
	})
}

// BenchmarkRefresh chains refreshes of one session on SQLite.
func BenchmarkRefresh(b *testing.B) {
	_, h := benchApp(b, cheapParams)
	_, refresh := tokensOf(b, serve(b, h, "POST", "/auth/login", "", aliceLogin))
	b.ReportAllocs()
	for b.Loop() {
		_, refresh = tokensOf(b, serve(b, h, "POST", "/auth/refresh", refresh, ""))
	}
}

// BenchmarkLogin logs in with the production argon2id parameters, on all
// cores: compare with the password package's raw hash benchmark.
func BenchmarkLogin(b *testing.B) {
	_, h := benchApp(b, password.DefaultParams)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serve(b, h, "POST", "/auth/login", "", aliceLogin)
		}
	})
}
