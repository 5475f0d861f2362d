package barehttp_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/bench/internal/barehttp"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/password"
)

// TestDressedMatchesGatehouse checks that the dressed baseline writes the
// headers Gatehouse writes on GET /me, with the same values, and that
// the bare body has GET /me's fields.
func TestDressedMatchesGatehouse(t *testing.T) {
	cfg := config.Defaults()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "g.db")
	cfg.Issuer = "http://127.0.0.1"
	cheap := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{PasswordParams: &cheap})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.CreateDemoUsers(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	rec := httptest.NewRecorder()
	login := httptest.NewRequest("POST", "/auth/login", strings.NewReader(`{"username":"bob","password":"password456"}`))
	login.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, login)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	me := httptest.NewRequest("GET", "/me", nil)
	me.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	got := httptest.NewRecorder()
	h.ServeHTTP(got, me)
	if got.Code != 200 {
		t.Fatalf("GET /me: %d %s", got.Code, got.Body)
	}
	bare := httptest.NewRecorder()
	barehttp.Dressed().ServeHTTP(bare, httptest.NewRequest("GET", "/me", nil))

	// Content-Length is Gatehouse's to leave to net/http; Date differs by
	// the tick it was read in.
	want, have := got.Header().Clone(), bare.Header().Clone()
	for _, k := range []string{"Content-Length", "Date"} {
		if have.Get(k) == "" {
			t.Errorf("dressed baseline: no %s header", k)
		}
		want.Del(k)
		have.Del(k)
	}
	if !maps.EqualFunc(want, have, slices.Equal) {
		t.Errorf("dressed baseline's headers differ from Gatehouse's GET /me:\n got  %v\n want %v", have, want)
	}
	for k := range barehttp.SecurityHeaders {
		if got.Header().Get(k) == "" {
			t.Errorf("Gatehouse does not write %s", k)
		}
	}

	var gf, bf map[string]any
	if err := json.Unmarshal(got.Body.Bytes(), &gf); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(barehttp.Body, &bf); err != nil {
		t.Fatal(err)
	}
	if gk, bk := slices.Sorted(maps.Keys(gf)), slices.Sorted(maps.Keys(bf)); !slices.Equal(gk, bk) {
		t.Errorf("bare body fields %v, GET /me's %v", bk, gk)
	}
}
