package app

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestGoOIDCVerifiesTokens checks that coreos/go-oidc, finding the keys
// through discovery like any OIDC client, accepts Gatehouse's tokens.
func TestGoOIDCVerifiesTokens(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewUnstartedServer(nil)
			cfg := testConfig(t)
			cfg.SigningAlg = alg
			cfg.Issuer = "http://" + srv.Listener.Addr().String()
			a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{PasswordParams: &cheapParams})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.CreateDemoUsers(context.Background()); err != nil {
				t.Fatal(err)
			}
			srv.Config.Handler = validated(t, a.Handler())
			srv.Start()
			e := &env{t: t, app: a, srv: srv}
			t.Cleanup(e.stop)

			ctx := context.Background()
			provider, err := oidc.NewProvider(ctx, cfg.Issuer)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			v := provider.Verifier(&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{alg}})
			tok := e.login("alice", "secret123").access
			idt, err := v.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("go-oidc refused a Gatehouse %s token: %v", alg, err)
			}
			var claims struct {
				Username string `json:"username"`
				Role     string `json:"role"`
			}
			if err := idt.Claims(&claims); err != nil || claims.Username != "alice" || claims.Role != "admin" {
				t.Fatalf("claims %+v, %v", claims, err)
			}
			if _, err := v.Verify(ctx, testkit.Tamper(tok)); err == nil {
				t.Fatal("go-oidc accepted a tampered token")
			}
		})
	}
}
