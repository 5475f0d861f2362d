package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var b64 = base64.RawURLEncoding

func encodeJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(raw)
}

// forge holds what an attacker can see, plus the server's own key for the
// cases that need a correctly signed token with one thing wrong.
type forge struct {
	t      *testing.T
	e      *env
	kid    string
	server *ecdsa.PrivateKey
	claims map[string]any // bob's real claims
}

func newForge(t *testing.T, e *env) *forge {
	keys, err := e.app.Store.SigningKeys(t.Context(), time.Now())
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v", err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(keys[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	_, claims := segments(t, e.login("bob", "password456").access)
	return &forge{t: t, e: e, kid: keys[0].ID, server: priv.(*ecdsa.PrivateKey), claims: claims}
}

func (f *forge) with(changes map[string]any) map[string]any {
	c := map[string]any{}
	for k, v := range f.claims {
		c[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// signES256 signs header and claims with key, as golang-jwt would.
func (f *forge) signES256(header, claims map[string]any, key *ecdsa.PrivateKey) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims(claims))
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *forge) hs256(header, claims map[string]any, secret []byte) string {
	in := encodeJSON(f.t, header) + "." + encodeJSON(f.t, claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64.EncodeToString(m.Sum(nil))
}

func TestForgedTokensAreRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newForge(t, e)
	now := time.Now().Unix()
	goodHeader := map[string]any{"kid": f.kid, "typ": "at+jwt"}
	admin := f.with(map[string]any{"role": "admin", "jti": "forged-1"})

	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var fetched atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer evil.Close()

	pub := &f.server.PublicKey
	spki, _ := x509.MarshalPKIXPublicKey(pub)
	pemSPKI := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	raw, _ := pub.Bytes()
	jwks := e.do("GET", "/.well-known/jwks.json", "", nil).body
	var set struct{ Keys []json.RawMessage }
	json.Unmarshal(jwks, &set)

	cases := map[string]string{}
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := map[string]any{"alg": alg, "typ": "at+jwt", "kid": f.kid}
		cases["alg "+alg] = encodeJSON(t, h) + "." + encodeJSON(t, admin) + "."
		cases["alg "+alg+" with signature"] = encodeJSON(t, h) + "." + encodeJSON(t, admin) + ".c2ln"
	}
	for name, secret := range map[string][]byte{"PEM SPKI": pemSPKI, "DER": spki, "raw point": raw, "JWK JSON": set.Keys[0], "JWKS": jwks} {
		cases["HS256 keyed with public key as "+name] = f.hs256(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": f.kid}, admin, secret)
	}
	cases["embedded jwk"] = f.signES256(map[string]any{"kid": f.kid, "typ": "at+jwt", "jwk": map[string]any{"kty": "EC", "crv": "P-256"}}, admin, attacker)
	cases["jku elsewhere"] = f.signES256(map[string]any{"kid": "evil", "typ": "at+jwt", "jku": evil.URL}, admin, attacker)
	cases["x5u elsewhere"] = f.signES256(map[string]any{"kid": "evil", "typ": "at+jwt", "x5u": evil.URL}, admin, attacker)
	cases["embedded x5c"] = f.signES256(map[string]any{"kid": f.kid, "typ": "at+jwt", "x5c": []string{"MIIBszCCAVmgAwIBAgIUQ"}}, admin, attacker)
	sigParts := strings.Split(f.signES256(goodHeader, admin, f.server), ".")
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	zero := make([]byte, 32)
	for name, sig := range map[string][]byte{
		"ECDSA r=0 s=0": append(append([]byte{}, zero...), zero...),
		"ECDSA r=N s=N": append(append([]byte{}, n...), n...),
		"ECDSA r=0":     append(append([]byte{}, zero...), mustB64(t, sigParts[2])[32:]...),
		"ECDSA s=N":     append(mustB64(t, sigParts[2])[:32], n...),
	} {
		cases[name] = sigParts[0] + "." + sigParts[1] + "." + b64.EncodeToString(sig)
	}
	cases["kid path traversal"] = f.signES256(map[string]any{"kid": "../../../../etc/passwd", "typ": "at+jwt"}, admin, attacker)
	cases["kid SQL injection"] = f.signES256(map[string]any{"kid": "' OR '1'='1' --", "typ": "at+jwt"}, admin, attacker)
	cases["another key, our kid"] = f.signES256(goodHeader, admin, attacker)
	cases["unknown crit"] = f.signES256(map[string]any{"kid": f.kid, "typ": "at+jwt", "crit": []string{"exp-ext"}, "exp-ext": true}, f.claims, f.server)
	cases["expired"] = f.signES256(goodHeader, f.with(map[string]any{"exp": now - 120, "iat": now - 900, "nbf": now - 900}), f.server)
	cases["not yet valid"] = f.signES256(goodHeader, f.with(map[string]any{"nbf": now + 600, "iat": now + 600}), f.server)
	cases["other issuer"] = f.signES256(goodHeader, f.with(map[string]any{"iss": "http://evil.test"}), f.server)
	cases["no exp"] = f.signES256(goodHeader, f.with(map[string]any{"exp": nil}), f.server)
	cases["refresh type"] = f.signES256(goodHeader, f.with(map[string]any{"type": "refresh"}), f.server)
	cases["typ JWT"] = f.signES256(map[string]any{"kid": f.kid, "typ": "JWT"}, f.claims, f.server)
	real := e.login("bob", "password456").access
	parts := strings.Split(real, ".")
	cases["tampered payload"] = parts[0] + "." + encodeJSON(t, admin) + "." + parts[2]
	cases["duplicate role claim"] = parts[0] + "." + b64.EncodeToString([]byte(strings.Replace(mustDecode(t, parts[1]), `"role":"user"`, `"role":"user","role":"admin"`, 1))) + "." + parts[2]
	cases["padded base64"] = parts[0] + "." + parts[1] + "=." + parts[2]
	cases["huge"] = parts[0] + "." + strings.Repeat("A", 100_000) + "." + parts[2]
	cases["nested"] = f.signES256(goodHeader, f.with(map[string]any{"x": nested(5000)}), f.server)
	cases["empty segments"] = ".."
	cases["four segments"] = real + ".x"

	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", "/me", tok, nil)
			expect401(t, r, "Could not validate credentials")
		})
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the server fetched a URL named by a token %d times", n)
	}
	expect(t, e.do("GET", "/me", real, nil), 200, "")
}

func mustB64(t *testing.T, s string) []byte {
	raw, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustDecode(t *testing.T, s string) string { return string(mustB64(t, s)) }

func nested(depth int) any {
	var v any = 1
	for range depth {
		v = []any{v}
	}
	return v
}

func TestAudience(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Audience = "api://orders"
	e := start(t, cfg)
	p := e.login("bob", "password456")
	_, c := segments(t, p.access)
	if c["aud"] != "api://orders" {
		t.Fatalf("aud %v", c["aud"])
	}
	expect(t, e.do("GET", "/me", p.access, nil), 200, "")
	f := newForge(t, e)
	for name, aud := range map[string]any{"wrong": "api://other", "missing": nil, "list without": []string{"a", "b"}} {
		tok := f.signES256(map[string]any{"kid": f.kid, "typ": "at+jwt"}, f.with(map[string]any{"aud": aud}), f.server)
		t.Run(name, func(t *testing.T) { expect401(t, e.do("GET", "/me", tok, nil), "Could not validate credentials") })
	}
}
