package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVerifyValid(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			v := newVerifier(t, func(c *Config) { c.Algorithms = []string{alg} })
			got, err := v.Verify(context.Background(), good(alg))
			if err != nil {
				t.Fatal(err)
			}
			want := &Claims{
				Issuer:    testIssuer,
				Subject:   "user-1",
				Audience:  []string{testAudience},
				ExpiresAt: testNow.Add(15 * time.Minute),
				IssuedAt:  testNow.Add(-time.Minute),
				NotBefore: testNow.Add(-time.Minute),
				ID:        "jti-1",
				SessionID: "sid-1",
				Type:      "access",
				Username:  "alice",
				Role:      "admin",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("claims\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestVerifyAccepted lists valid variations of a token.
func TestVerifyAccepted(t *testing.T) {
	f := loadFixture()
	tests := []struct {
		name   string
		edit   func(*Config)
		header map[string]any
		claims map[string]any
	}{
		{"typ upper case", nil, with(goodHeader(f.es), "typ", "AT+JWT"), goodClaims()},
		{"typ media type", nil, with(goodHeader(f.es), "typ", "application/at+jwt"), goodClaims()},
		{"aud array", nil, goodHeader(f.es), with(goodClaims(), "aud", []string{"other", testAudience})},
		{"no aud, none configured", func(c *Config) { c.Audience = "" }, goodHeader(f.es), with(goodClaims(), "aud", nil)},
		{"no iat, no nbf", nil, goodHeader(f.es), with(goodClaims(), "iat", nil, "nbf", nil)},
		{"fractional exp", nil, goodHeader(f.es), with(goodClaims(), "exp", float64(testNow.Unix())+0.5)},
		{"expired within leeway", func(c *Config) { c.Leeway = 30 * time.Second }, goodHeader(f.es),
			with(goodClaims(), "exp", testNow.Add(-20*time.Second).Unix())},
		{"nbf and iat ahead within leeway", func(c *Config) { c.Leeway = time.Minute }, goodHeader(f.es),
			with(goodClaims(), "nbf", testNow.Add(time.Minute).Unix(), "iat", testNow.Add(time.Minute).Unix())},
		{"jwk header ignored", nil, with(goodHeader(f.es), "jwk", map[string]any{"kty": "oct", "k": "AAAA"}), goodClaims()},
		{"unknown claim", nil, goodHeader(f.es), with(goodClaims(), "extra", map[string]any{"role": "x"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.edit)
			if _, err := v.Verify(context.Background(), mint(f.es, tt.header, tt.claims)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	keys := loadFixture().keys
	ok := Config{Issuer: testIssuer, Algorithms: []string{ES256}, KeySet: keys}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no issuer", func(c *Config) { c.Issuer = "" }},
		{"no algorithms", func(c *Config) { c.Algorithms = nil }},
		{"none", func(c *Config) { c.Algorithms = []string{"none"} }},
		{"NONE", func(c *Config) { c.Algorithms = []string{ES256, "NONE"} }},
		{"ES384", func(c *Config) { c.Algorithms = []string{"ES384"} }},
		{"lower case es256", func(c *Config) { c.Algorithms = []string{"es256"} }},
		{"no key set, issuer unreachable", func(c *Config) { c.KeySet = nil; c.Issuer = "http://127.0.0.1:1" }},
		{"leeway too large", func(c *Config) { c.Leeway = MaxLeeway + time.Second }},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			if _, err := New(context.Background(), cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	ok.Leeway = MaxLeeway
	if _, err := New(context.Background(), ok); err != nil {
		t.Fatalf("leeway of MaxLeeway: %v", err)
	}
}

func TestNewStaticKeySetChecksKeys(t *testing.T) {
	f := loadFixture()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name string
		keys []Key
	}{
		{"ES256 on P-384", []Key{{ID: "k", Algorithm: ES256, Key: &p384.PublicKey}}},
		{"ES256 private key", []Key{{ID: "k", Algorithm: ES256, Key: f.es.key}}},
		{"ES256 nil", []Key{{ID: "k", Algorithm: ES256, Key: (*ecdsa.PublicKey)(nil)}}},
		{"EdDSA private key", []Key{{ID: "k", Algorithm: EdDSA, Key: f.ed.key}}},
		{"EdDSA short", []Key{{ID: "k", Algorithm: EdDSA, Key: ed25519.PublicKey(make([]byte, 31))}}},
		{"RS256 1024 bits", []Key{{ID: "k", Algorithm: RS256, Key: &rsa1024.PublicKey}}},
		{"RS256 with EC key", []Key{{ID: "k", Algorithm: RS256, Key: f.es.public().Key}}},
		{"HS256 short", []Key{{Algorithm: HS256, Key: make([]byte, 31)}}},
		{"HS256 string", []Key{{Algorithm: HS256, Key: strings.Repeat("x", 32)}}},
		{"HS256 with public key", []Key{{Algorithm: HS256, Key: f.es.public().Key}}},
		{"asymmetric without kid", []Key{{Algorithm: ES256, Key: f.es.public().Key}}},
		{"none", []Key{{ID: "k", Algorithm: "none", Key: []byte{}}}},
		{"HS512", []Key{{ID: "k", Algorithm: "HS512", Key: make([]byte, 64)}}},
		{"duplicate kid", []Key{f.es.public(), f.es.public()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewStaticKeySet(tt.keys...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestStaticKeySetCopiesSecret(t *testing.T) {
	secret := make([]byte, 32)
	ks, err := NewStaticKeySet(Key{Algorithm: HS256, Key: secret})
	if err != nil {
		t.Fatal(err)
	}
	secret[0] = 1
	k, err := ks.LookupKey(context.Background(), "")
	if err != nil || k.Key.([]byte)[0] != 0 {
		t.Fatalf("key set shares the caller's secret: %v", err)
	}
	if _, err := ks.LookupKey(context.Background(), "nope"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
}

// funcKeySet adapts a function to KeySet.
type funcKeySet func(ctx context.Context, kid string) (Key, error)

func (f funcKeySet) LookupKey(ctx context.Context, kid string) (Key, error) { return f(ctx, kid) }

func TestKeySetErrors(t *testing.T) {
	f := loadFixture()
	tests := []struct {
		name string
		alg  string
		ks   funcKeySet
		want []error
	}{
		{"plain error is an unknown key", ES256, func(context.Context, string) (Key, error) {
			return Key{}, context.DeadlineExceeded
		}, []error{ErrUnknownKey, context.DeadlineExceeded}},
		{"weak secret from a custom set", HS256, func(context.Context, string) (Key, error) {
			return Key{Algorithm: HS256, Key: []byte("short")}, nil
		}, []error{ErrUnknownKey}},
		{"wrong key type for alg", ES256, func(context.Context, string) (Key, error) {
			return Key{ID: "es-1", Algorithm: ES256, Key: f.rs.public().Key}, nil
		}, []error{ErrUnknownKey}},
		{"key bound to another alg", ES256, func(context.Context, string) (Key, error) {
			return Key{ID: "es-1", Algorithm: HS256, Key: make([]byte, 32)}, nil
		}, []error{ErrAlgorithm}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, func(c *Config) { c.KeySet = tt.ks })
			_, err := v.Verify(context.Background(), good(tt.alg))
			assertIs(t, err, tt.want...)
		})
	}
}

func TestKeySetGetsContext(t *testing.T) {
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "here")
	var got any
	ks := funcKeySet(func(ctx context.Context, kid string) (Key, error) {
		got = ctx.Value(ctxKey{})
		return loadFixture().keys.LookupKey(ctx, kid)
	})
	v := newVerifier(t, func(c *Config) { c.KeySet = ks })
	if _, err := v.Verify(ctx, good(EdDSA)); err != nil || got != "here" {
		t.Fatalf("err %v, context value %v", err, got)
	}
}

// revocations is a RevocationChecker that counts its calls.
type revocations struct {
	jti, sid string
	calls    int
}

func (r *revocations) Revoked(jti, sid string) bool {
	r.calls++
	return jti == r.jti || sid == r.sid
}

func TestRevocation(t *testing.T) {
	ctx := context.Background()
	for _, r := range []*revocations{{jti: "jti-1"}, {sid: "sid-1"}} {
		v := newVerifier(t, func(c *Config) { c.Revocations = r })
		_, err := v.Verify(ctx, good(ES256))
		assertIs(t, err, ErrRevoked)
	}
	r := &revocations{jti: "other"}
	v := newVerifier(t, func(c *Config) { c.Revocations = r })
	if _, err := v.Verify(ctx, good(ES256)); err != nil || r.calls != 1 {
		t.Fatalf("err %v, calls %d", err, r.calls)
	}
	f := loadFixture()
	for _, tok := range []string{
		mint(f.es2, goodHeader(f.es2), goodClaims()),                            // bad signature
		mint(f.es, goodHeader(f.es), with(goodClaims(), "exp", testNow.Unix())), // expired
	} {
		if _, err := v.Verify(ctx, tok); err == nil {
			t.Fatal("verified")
		}
	}
	if r.calls != 1 {
		t.Fatalf("revocations consulted for invalid tokens: %d calls", r.calls)
	}
}

func TestDefaultClock(t *testing.T) {
	f := loadFixture()
	v := newVerifier(t, func(c *Config) { c.Now = nil })
	now := time.Now()
	tok := mint(f.ed, goodHeader(f.ed), with(goodClaims(),
		"iat", now.Unix(), "nbf", now.Unix(), "exp", now.Add(time.Minute).Unix()))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(context.Background(), good(EdDSA)) // valid in 2030 only
	assertIs(t, err, ErrNotYetValid)
}

func TestConcurrentVerify(t *testing.T) {
	v := newVerifier(t, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		alg := allAlgs[i%len(allAlgs)]
		tok := good(alg)
		wg.Go(func() {
			for range 20 {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestErrorMessage(t *testing.T) {
	v := newVerifier(t, nil)
	f := loadFixture()
	_, err := v.Verify(context.Background(), mint(f.es, goodHeader(f.es),
		with(goodClaims(), "exp", testNow.Unix(), "iss", "evil")))
	assertIs(t, err, ErrExpired, ErrIssuer)
	if msg := err.Error(); !strings.Contains(msg, "expired") || !strings.Contains(msg, "issuer") {
		t.Errorf("message %q", msg)
	}
}
