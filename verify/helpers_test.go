package verify

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
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testNow is the fake clock of every test.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fakeNow() time.Time { return testNow }

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "api"
)

// signing is a private key, its kid and its alg.
type signing struct {
	alg string
	kid string
	key any // private key, or []byte for HS256
}

// public returns the verification key of s.
func (s signing) public() Key {
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		return Key{ID: s.kid, Algorithm: s.alg, Key: &k.PublicKey}
	case ed25519.PrivateKey:
		return Key{ID: s.kid, Algorithm: s.alg, Key: k.Public()}
	case *rsa.PrivateKey:
		return Key{ID: s.kid, Algorithm: s.alg, Key: &k.PublicKey}
	}
	return Key{ID: s.kid, Algorithm: s.alg, Key: s.key}
}

// fixture holds the server's keys (trusted) and an attacker's (not).
type fixture struct {
	es, ed, rs, hs     signing // trusted, in the key set
	es2, ed2, rs2, hs2 signing // same alg and kid, another key
	keys               *StaticKeySet
}

var allAlgs = []string{ES256, EdDSA, RS256, HS256}

var loadFixture = sync.OnceValue(func() *fixture {
	ec := func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }
	ed := func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }
	rs := func() *rsa.PrivateKey { k, _ := rsa.GenerateKey(rand.Reader, 2048); return k }
	hs := func() []byte { b := make([]byte, 32); _, _ = rand.Read(b); return b }
	f := &fixture{
		es: signing{ES256, "es-1", ec()}, es2: signing{ES256, "es-1", ec()},
		ed: signing{EdDSA, "ed-1", ed()}, ed2: signing{EdDSA, "ed-1", ed()},
		rs: signing{RS256, "rs-1", rs()}, rs2: signing{RS256, "rs-1", rs()},
		hs: signing{HS256, "", hs()}, hs2: signing{HS256, "", hs()},
	}
	var err error
	f.keys, err = NewStaticKeySet(f.es.public(), f.ed.public(), f.rs.public(), f.hs.public())
	if err != nil {
		panic(err)
	}
	return f
})

// byAlg returns the trusted signing key of alg.
func (f *fixture) byAlg(alg string) signing {
	return map[string]signing{ES256: f.es, EdDSA: f.ed, RS256: f.rs, HS256: f.hs}[alg]
}

// newVerifier returns a verifier over the fixture's keys; edit changes the
// default config (all algorithms, audience set, no leeway, fake clock).
func newVerifier(tb testing.TB, edit func(*Config)) *Verifier {
	tb.Helper()
	cfg := Config{
		Issuer:     testIssuer,
		Audience:   testAudience,
		Algorithms: allAlgs,
		KeySet:     loadFixture().keys,
		Now:        fakeNow,
		CacheSize:  -1, // every call checks the signature; cache_test.go covers the cache
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// goodClaims returns valid claims at testNow.
func goodClaims() map[string]any {
	return map[string]any{
		"iss":      testIssuer,
		"sub":      "user-1",
		"aud":      testAudience,
		"exp":      testNow.Add(15 * time.Minute).Unix(),
		"iat":      testNow.Add(-time.Minute).Unix(),
		"nbf":      testNow.Add(-time.Minute).Unix(),
		"jti":      "jti-1",
		"sid":      "sid-1",
		"type":     "access",
		"username": "alice",
		"role":     "admin",
	}
}

// goodHeader returns the header Gatehouse writes for s.
func goodHeader(s signing) map[string]any {
	h := map[string]any{"alg": s.alg, "typ": "at+jwt"}
	if s.kid != "" {
		h["kid"] = s.kid
	}
	return h
}

// with returns a copy of m with the changes applied; a nil value deletes.
func with(m map[string]any, kv ...any) map[string]any {
	m = maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var b64 = base64.RawURLEncoding

// mint signs header and claims with s.
func mint(s signing, header, claims map[string]any) string {
	return mintRaw(s, mustJSON(header), mustJSON(claims))
}

// mintRaw signs raw header and payload bytes with s's key, using
// alg as the signing method (whatever the header says).
func mintRaw(s signing, header, payload []byte) string {
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sig, err := jwt.GetSigningMethod(s.alg).Sign(input, s.key)
	if err != nil {
		panic(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// good returns a valid token signed by the trusted key of alg.
func good(alg string) string {
	s := loadFixture().byAlg(alg)
	return mint(s, goodHeader(s), goodClaims())
}

// assertIs fails unless err matches every one of want.
func assertIs(tb testing.TB, err error, want ...error) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want %v", want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			tb.Errorf("error %q does not match %q", err, w)
		}
	}
}
