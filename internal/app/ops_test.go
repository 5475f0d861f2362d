package app

import (
	"strings"
	"testing"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/.well-known/openid-configuration", "", nil)
	expect(t, r, 200, "")
	d := r.json(t)
	if d["issuer"] != testIssuer || d["jwks_uri"] != testIssuer+"/.well-known/jwks.json" {
		t.Fatalf("discovery %s", r.body)
	}
	if algs := d["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "ES256" {
		t.Fatalf("algs %v", algs)
	}

	r = e.do("GET", "/.well-known/jwks.json", "", nil)
	expect(t, r, 200, "")
	if !strings.Contains(r.header.Get("Cache-Control"), "max-age=") || r.header.Get("ETag") == "" {
		t.Fatalf("cache headers %v", r.header)
	}
	keys := r.json(t)["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks %s", r.body)
	}
	k := keys[0].(map[string]any)
	if k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" || k["kid"] == "" || k["d"] != nil {
		t.Fatalf("jwk %v", k)
	}
	h, _ := segments(t, e.login("bob", "password456").access)
	if h["kid"] != k["kid"] {
		t.Fatalf("token kid %v, published %v", h["kid"], k["kid"])
	}
	expect(t, e.do("GET", "/.well-known/jwks.json", "", nil, "If-None-Match", r.header.Get("ETag")), 304, "")
}

func TestKeyRotationKeepsTokensValid(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // publish delay 0: the new key signs at once
	admin := e.login("alice", "secret123")
	before, _ := segments(t, admin.access)
	r := e.do("POST", "/admin/keys/rotate", admin.access, nil)
	expect(t, r, 200, "")
	kid := r.str(t, "kid")
	if kid == "" || kid == before["kid"] {
		t.Fatalf("rotate %s", r.body)
	}
	keys := e.do("GET", "/.well-known/jwks.json", "", nil).json(t)["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("after rotation the JWKS has %d keys, want old and new", len(keys))
	}
	expect(t, e.do("GET", "/me", admin.access, nil), 200, "") // signed by the retired key
	after, _ := segments(t, e.login("bob", "password456").access)
	if after["kid"] != kid {
		t.Fatalf("new tokens signed by %v, want %v", after["kid"], kid)
	}
	bob := e.login("bob", "password456")
	expect(t, e.do("POST", "/admin/keys/rotate", bob.access, nil), 403, "")
}

func TestHS256Mode(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.SigningAlg = "HS256"
	cfg.JWTSecret = "8f3a9c1e5b7d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d"
	e := start(t, cfg)
	p := e.login("alice", "secret123")
	h, _ := segments(t, p.access)
	if h["alg"] != "HS256" {
		t.Fatalf("header %v", h)
	}
	expect(t, e.do("GET", "/me", p.access, nil), 200, "")
	r := e.do("GET", "/.well-known/jwks.json", "", nil)
	if string(r.body) != `{"keys":[]}` {
		t.Fatalf("HS256 JWKS publishes %s", r.body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expect(t, e.do("GET", "/healthz", "", nil), 200, "")
	r := e.do("GET", "/readyz", "", nil)
	expect(t, r, 200, "")
	e.login("bob", "password456")
	r = e.do("GET", "/metrics", "", nil)
	expect(t, r, 200, "")
	if !strings.Contains(string(r.body), `gatehouse_http_requests_total{code="200",route="POST /auth/login"} 1`) {
		t.Fatalf("metrics lack the login:\n%s", r.body)
	}
	e.app.Store.Close()
	r = e.do("GET", "/readyz", "", nil)
	expect(t, r, 503, "")
	if !strings.Contains(r.str(t, "detail"), "database") {
		t.Fatalf("readyz %s", r.body)
	}
}
