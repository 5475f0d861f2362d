package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

var now = time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)

// key is a signing key and its verification key.
type key struct {
	alg, kid  string
	priv, pub any
}

var testKeys = sync.OnceValue(func() []key {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return []key{
		{alg: verify.ES256, kid: "es", priv: ec, pub: &ec.PublicKey},
		{alg: verify.EdDSA, kid: "ed", priv: edPriv, pub: edPub},
		{alg: verify.RS256, kid: "rs", priv: rs, pub: &rs.PublicKey},
		{alg: verify.HS256, kid: "", priv: secret, pub: secret},
	}
})

func claims() AccessClaims {
	return AccessClaims{
		Issuer: "https://auth.example.com", Subject: "42", Audience: "api",
		SessionID: "sess-1", Username: "alice", Role: "admin",
		IssuedAt: now, TTL: 30 * time.Minute,
	}
}

func verifier(t testing.TB, k key, audience string) *verify.Verifier {
	t.Helper()
	ks, err := verify.NewStaticKeySet(verify.Key{ID: k.kid, Algorithm: k.alg, Key: k.pub})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(context.Background(), verify.Config{
		Issuer: "https://auth.example.com", Audience: audience,
		Algorithms: []string{k.alg}, KeySet: ks,
		Now: func() time.Time { return now.Add(time.Minute) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignVerifies(t *testing.T) {
	for _, k := range testKeys() {
		t.Run(k.alg, func(t *testing.T) {
			s, err := NewSigner(k.alg, k.kid, k.priv)
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != k.alg || s.KeyID() != k.kid {
				t.Fatalf("Algorithm %q KeyID %q", s.Algorithm(), s.KeyID())
			}
			tok, jti, exp, err := s.Sign(claims())
			if err != nil {
				t.Fatal(err)
			}
			got, err := verifier(t, k, "api").Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			iat := now.Truncate(time.Second)
			if got.ID != jti || !got.ExpiresAt.Equal(exp) || !exp.Equal(iat.Add(30*time.Minute)) ||
				!got.IssuedAt.Equal(iat) || !got.NotBefore.Equal(iat) ||
				got.Subject != "42" || got.SessionID != "sess-1" || got.Username != "alice" ||
				got.Role != "admin" || got.Type != "access" || len(got.Audience) != 1 || got.Audience[0] != "api" {
				t.Fatalf("claims %+v, jti %q, exp %v", got, jti, exp)
			}
		})
	}
}

func TestSignWithoutAudience(t *testing.T) {
	k := testKeys()[0]
	s, _ := NewSigner(k.alg, k.kid, k.priv)
	c := claims()
	c.Audience = ""
	tok, _, _, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(segment(t, tok, 1)), `"aud"`) {
		t.Error("aud present")
	}
	if _, err := verifier(t, k, "").Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	_, err = verifier(t, k, "api").Verify(context.Background(), tok)
	if !errors.Is(err, verify.ErrAudience) {
		t.Fatalf("verified without the configured audience: %v", err)
	}
}

func segment(t *testing.T, tok string, i int) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeaderAndClaimNames(t *testing.T) {
	for _, k := range testKeys() {
		s, _ := NewSigner(k.alg, k.kid, k.priv)
		tok, _, _, _ := s.Sign(claims())
		var h map[string]any
		if err := json.Unmarshal(segment(t, tok, 0), &h); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"alg": k.alg, "typ": "at+jwt"}
		if k.kid != "" {
			want["kid"] = k.kid
		}
		if len(h) != len(want) || h["alg"] != want["alg"] || h["typ"] != want["typ"] || h["kid"] != want["kid"] {
			t.Errorf("%s header %v", k.alg, h)
		}
		var c map[string]any
		if err := json.Unmarshal(segment(t, tok, 1), &c); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "type", "username", "role"} {
			if _, ok := c[name]; !ok {
				t.Errorf("%s: no %s claim", k.alg, name)
			}
		}
		if len(c) != 11 {
			t.Errorf("%s: claims %v", k.alg, c)
		}
	}
}

func TestJTIUnique(t *testing.T) {
	k := testKeys()[3]
	s, _ := NewSigner(k.alg, k.kid, k.priv)
	seen := map[string]bool{}
	for range 1000 {
		_, jti, _, err := s.Sign(claims())
		if err != nil {
			t.Fatal(err)
		}
		if b, err := base64.RawURLEncoding.DecodeString(jti); err != nil || len(b) != 16 || seen[jti] {
			t.Fatalf("jti %q: %v", jti, err)
		}
		seen[jti] = true
	}
}

func TestNewSignerRejects(t *testing.T) {
	ks := testKeys()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name     string
		alg, kid string
		key      any
	}{
		{"none", "none", "k", []byte{}},
		{"HS512", "HS512", "", make([]byte, 64)},
		{"es256 lower case", "es256", "k", ks[0].priv},
		{"ES256 without kid", verify.ES256, "", ks[0].priv},
		{"ES256 public key", verify.ES256, "k", ks[0].pub},
		{"ES256 P-384", verify.ES256, "k", p384},
		{"ES256 with RSA key", verify.ES256, "k", ks[2].priv},
		{"EdDSA public key", verify.EdDSA, "k", ks[1].pub},
		{"RS256 1024 bits", verify.RS256, "k", rsa1024},
		{"RS256 nil", verify.RS256, "k", (*rsa.PrivateKey)(nil)},
		{"HS256 short secret", verify.HS256, "", make([]byte, 31)},
		{"HS256 string", verify.HS256, "", strings.Repeat("x", 32)},
		{"HS256 EC key", verify.HS256, "", ks[0].priv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSigner(tt.alg, tt.kid, tt.key); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSignRejectsIncompleteClaims(t *testing.T) {
	k := testKeys()[3]
	s, _ := NewSigner(k.alg, k.kid, k.priv)
	for name, edit := range map[string]func(*AccessClaims){
		"no issuer":    func(c *AccessClaims) { c.Issuer = "" },
		"no subject":   func(c *AccessClaims) { c.Subject = "" },
		"no session":   func(c *AccessClaims) { c.SessionID = "" },
		"no iat":       func(c *AccessClaims) { c.IssuedAt = time.Time{} },
		"no ttl":       func(c *AccessClaims) { c.TTL = 0 },
		"sub-second":   func(c *AccessClaims) { c.TTL = time.Millisecond },
		"negative ttl": func(c *AccessClaims) { c.TTL = -time.Minute },
	} {
		c := claims()
		edit(&c)
		if _, _, _, err := s.Sign(c); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestSignerCopiesSecret(t *testing.T) {
	secret := make([]byte, 32)
	s, err := NewSigner(verify.HS256, "", secret)
	if err != nil {
		t.Fatal(err)
	}
	tok1, _, _, _ := s.Sign(claims())
	secret[0] = 1
	k := key{alg: verify.HS256, pub: make([]byte, 32)}
	if _, err := verifier(t, k, "api").Verify(context.Background(), tok1); err != nil {
		t.Fatal(err)
	}
	tok2, _, _, _ := s.Sign(claims())
	if _, err := verifier(t, k, "api").Verify(context.Background(), tok2); err != nil {
		t.Fatalf("signer shares the caller's secret: %v", err)
	}
}

func TestRefreshToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, err := NewRefreshToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != RefreshTokenLen || seen[tok] || !LooksLikeRefreshToken(tok) {
			t.Fatalf("refresh token %q", tok)
		}
		if b, err := base64.RawURLEncoding.Strict().DecodeString(tok); err != nil || len(b) != 32 {
			t.Fatalf("refresh token %q: %v", tok, err)
		}
		seen[tok] = true
	}
}

func TestRefreshTokenIsNotAnAccessToken(t *testing.T) {
	for _, k := range testKeys() {
		tok, _ := NewRefreshToken()
		_, err := verifier(t, k, "api").Verify(context.Background(), tok)
		if !errors.Is(err, verify.ErrMalformed) {
			t.Fatalf("%s: refresh token as access token: %v", k.alg, err)
		}
		s, _ := NewSigner(k.alg, k.kid, k.priv)
		access, _, _, _ := s.Sign(claims())
		if LooksLikeRefreshToken(access) {
			t.Fatalf("%s: an access token looks like a refresh token", k.alg)
		}
	}
}

func TestHashRefreshToken(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashRefreshToken("abc"); got != want {
		t.Fatalf("HashRefreshToken(abc) = %s", got)
	}
	tok, _ := NewRefreshToken()
	if HashRefreshToken(tok) != HashRefreshToken(strings.Clone(tok)) || HashRefreshToken(tok) == HashRefreshToken(tok+"x") {
		t.Fatal("hash not stable or not distinct")
	}
}

func TestLooksLikeRefreshToken(t *testing.T) {
	tok, _ := NewRefreshToken()
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", tok[42])
	spare := tok[:42] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	for _, s := range []string{"", tok[:42], tok + "A", tok[:42] + "=", tok[:41] + "+A", tok[:41] + ".A", spare,
		strings.Repeat("A", 42) + "\n", "Bearer " + tok} {
		if LooksLikeRefreshToken(s) {
			t.Errorf("%q looks like a refresh token", s)
		}
	}
	if !LooksLikeRefreshToken(strings.Repeat("A", 43)) || !LooksLikeRefreshToken(strings.Repeat("_", 42)+"w") {
		t.Error("valid shapes refused")
	}
}

func BenchmarkSign(b *testing.B) {
	for _, k := range testKeys() {
		b.Run(k.alg, func(b *testing.B) {
			s, err := NewSigner(k.alg, k.kid, k.priv)
			if err != nil {
				b.Fatal(err)
			}
			c := claims()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := s.Sign(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNewRefreshToken(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tok, _ := NewRefreshToken()
		_ = HashRefreshToken(tok)
	}
}
