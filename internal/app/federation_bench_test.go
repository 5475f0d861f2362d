package app

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/federation"
	"github.com/gatehouse/gatehouse/internal/oidctest"
)

// timedTransport adds up the time Gatehouse waits on the provider.
type timedTransport struct{ waited atomic.Int64 }

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		// The body is read by the caller: count until it is closed.
		res.Body = &timedBody{ReadCloser: res.Body, start: start, t: t}
		return res, nil
	}
	t.waited.Add(int64(time.Since(start)))
	return res, err
}

type timedBody struct {
	io.ReadCloser
	start time.Time
	t     *timedTransport
	done  bool
}

func (b *timedBody) Close() error {
	if !b.done {
		b.done = true
		b.t.waited.Add(int64(time.Since(b.start)))
	}
	return b.ReadCloser.Close()
}

// BenchmarkProviderSignIn runs whole provider sign-ins one after another
// (token mode, a returning user: start, the provider's authorization, the
// callback, the exchange at POST /auth/token) on SQLite, and reports
// Gatehouse's own time per sign-in, without the provider's (its
// authorization, and the token call the callback makes to it, timed at
// the client Gatehouse calls it with), and the callback's alone.
//
//	go test -run '^$' -bench ProviderSignIn ./internal/app/
func BenchmarkProviderSignIn(b *testing.B) {
	op := oidctest.New(b)
	cfg := config.Defaults()
	cfg.Issuer = testIssuer
	cfg = withProvider(b, cfg, op, federation.LinkNever)
	cfg.DatabaseURL = "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	cfg.Signup = "open"
	cfg.SignInRate, cfg.RefreshRate, cfg.SessionRefreshRate, cfg.MaxSessionsPerUser = 0, 0, 0, 0
	tr := &timedTransport{}
	a, err := Open(b.Context(), cfg, slog.New(slog.DiscardHandler), Options{PasswordParams: &cheapParams, FederationClient: &http.Client{Transport: tr, Timeout: 10 * time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	// No contract check here: it would cost more than what is measured.
	srv := httptest.NewServer(a.Handler())
	b.Cleanup(srv.Close)
	e := &env{srv: srv}
	op.SetDefaultUser(oidctest.User{Subject: "bench-user", Email: "bench@example.com", EmailVerified: verified(true)})
	exchange := func(ua *userAgent, code, verifier string) {
		body := `{"grant_type":"authorization_code","code":"` + code + `","code_verifier":"` + verifier + `"}`
		res, err := ua.client.Post(testIssuer+"/auth/token", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("exchange: %d %s", res.StatusCode, raw)
		}
	}
	signIn := func() (gatehouse, callback time.Duration) {
		ua := newBrowser(b, e)
		p := newPKCE()
		t0 := time.Now()
		at := ua.follow(startURL(pkceQuery(p, "b")))
		t1 := time.Now()
		cb := ua.follow(at) // the provider's
		t2 := time.Now()
		before := tr.waited.Load()
		to, err := url.Parse(ua.follow(cb))
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		waited := time.Duration(tr.waited.Load() - before)
		exchange(ua, to.Query().Get("code"), p.verifier)
		t4 := time.Now()
		callback = t3.Sub(t2) - waited
		return t1.Sub(t0) + callback + t4.Sub(t3), callback
	}
	signIn() // the first makes the account and fetches the provider's keys
	var total, cb time.Duration
	b.ResetTimer()
	for b.Loop() {
		g, c := signIn()
		total += g
		cb += c
	}
	n := float64(b.N)
	b.ReportMetric(float64(total.Microseconds())/n, "gatehouse-µs/signin")
	b.ReportMetric(float64(cb.Microseconds())/n, "callback-µs")
}
