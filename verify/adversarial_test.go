package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// attack is one hostile or broken token and the errors it must produce.
type attack struct {
	name  string
	edit  func(*Config) // nil: all algorithms, the fixture's key set
	token string
	want  []error
}

func TestAdversarial(t *testing.T) {
	for _, tt := range allAttacks(loadFixture()) {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.edit)
			claims, err := v.Verify(context.Background(), tt.token)
			if claims != nil {
				t.Errorf("claims returned with error %v", err)
			}
			assertIs(t, err, tt.want...)
			t.Log(err)
		})
	}
}

// allAttacks returns every case of the adversarial suite.
func allAttacks(f *fixture) []attack {
	var cases []attack
	for _, group := range []func(*fixture) []attack{
		noneAttacks, hmacConfusionAttacks, headerAttacks, kidAttacks,
		ecdsaSignatureAttacks, otherSignatureAttacks, forgeryAttacks,
		timeAttacks, claimAttacks, typeAttacks, encodingAttacks,
		sizeAttacks, duplicateAttacks,
	} {
		cases = append(cases, group(f)...)
	}
	return cases
}

func only(algs ...string) func(*Config) {
	return func(c *Config) { c.Algorithms = algs }
}

func noneAttacks(f *fixture) []attack {
	var out []attack
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := with(goodHeader(f.es), "alg", alg)
		unsigned := b64.EncodeToString(mustJSON(h)) + "." + b64.EncodeToString(mustJSON(goodClaims())) + "."
		out = append(out,
			attack{"alg " + alg + " unsigned", nil, unsigned, []error{ErrAlgorithm}},
			attack{"alg " + alg + " with signature", nil, unsigned + b64.EncodeToString([]byte("signature")), []error{ErrAlgorithm}},
			attack{"alg " + alg + " without kid", nil, mintWithSig(with(h, "kid", nil), goodClaims(), nil), []error{ErrAlgorithm}},
		)
	}
	return out
}

// mintWithSig builds a token with any header and signature bytes.
func mintWithSig(header, claims map[string]any, sig []byte) string {
	return b64.EncodeToString(mustJSON(header)) + "." + b64.EncodeToString(mustJSON(claims)) + "." + b64.EncodeToString(sig)
}

// publicKeyForms returns the usual encodings of the trusted public keys,
// each of which an attacker might use as an HMAC secret.
func publicKeyForms(f *fixture) map[string]struct {
	kid    string
	secret []byte
} {
	ec := &f.es.key.(*ecdsa.PrivateKey).PublicKey
	rs := &f.rs.key.(*rsa.PrivateKey).PublicKey
	ed := f.ed.key.(ed25519.PrivateKey).Public().(ed25519.PublicKey)
	spki := func(k any) []byte { b, _ := x509.MarshalPKIXPublicKey(k); return b }
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	point, _ := ec.ECDH()
	jwkEC := mustJSON(ecJWK(ec))
	jwkRSA := mustJSON(map[string]string{"kty": "RSA", "n": b64.EncodeToString(rs.N.Bytes()), "e": "AQAB"})
	type form = struct {
		kid    string
		secret []byte
	}
	return map[string]form{
		"EC PEM SPKI":      {"es-1", pemOf("PUBLIC KEY", spki(ec))},
		"EC DER SPKI":      {"es-1", spki(ec)},
		"EC JWK JSON":      {"es-1", jwkEC},
		"EC raw point":     {"es-1", point.Bytes()},
		"RSA PEM SPKI":     {"rs-1", pemOf("PUBLIC KEY", spki(rs))},
		"RSA PEM PKCS#1":   {"rs-1", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(rs))},
		"RSA JWK JSON":     {"rs-1", jwkRSA},
		"Ed25519 raw":      {"ed-1", []byte(ed)},
		"Ed25519 PEM SPKI": {"ed-1", pemOf("PUBLIC KEY", spki(ed))},
	}
}

// ecJWK returns the JWK of a P-256 public key.
func ecJWK(k *ecdsa.PublicKey) map[string]any {
	b, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(b[1:33]), "y": b64.EncodeToString(b[33:])}
}

func hmacConfusionAttacks(f *fixture) []attack {
	var out []attack
	for name, form := range publicKeyForms(f) {
		forger := signing{HS256, form.kid, form.secret}
		withKid := mint(forger, with(goodHeader(forger), "kid", form.kid), goodClaims())
		noKid := mint(forger, with(goodHeader(forger), "kid", nil), goodClaims())
		out = append(out,
			attack{"HS256 keyed with " + name + ", HS256 not allowed", only(ES256, EdDSA, RS256), withKid, []error{ErrAlgorithm}},
			attack{"HS256 keyed with " + name + ", no kid, HS256 not allowed", only(ES256, EdDSA, RS256), noKid, []error{ErrAlgorithm}},
			attack{"HS256 keyed with " + name + ", HS256 allowed", nil, withKid, []error{ErrAlgorithm}},
			attack{"HS256 keyed with " + name + ", HS256 allowed, no kid", nil, noKid, []error{ErrSignature}},
		)
	}
	return out
}

func headerAttacks(f *fixture) []attack {
	h := goodHeader(f.es)
	c := goodClaims()
	return []attack{
		{"crit exp", nil, mint(f.es, with(h, "crit", []string{"exp"}, "exp", 1), c), []error{ErrCritical}},
		{"crit b64", nil, mint(f.es, with(h, "crit", []string{"b64"}, "b64", false), c), []error{ErrCritical}},
		{"crit empty", nil, mint(f.es, with(h, "crit", []string{}), c), []error{ErrCritical}},
		{"alg missing", nil, mint(f.es, with(h, "alg", nil), c), []error{ErrAlgorithm}},
		{"alg number", nil, mint(f.es, with(h, "alg", 256), c), []error{ErrAlgorithm}},
		{"alg es256", nil, mint(f.es, with(h, "alg", "es256"), c), []error{ErrAlgorithm}},
		{"alg with space", nil, mint(f.es, with(h, "alg", "ES256 "), c), []error{ErrAlgorithm}},
		{"alg not allowed", only(ES256), good(EdDSA), []error{ErrAlgorithm}},
		{"alg HS384", nil, mint(signing{"HS384", "", f.hs.key}, with(h, "alg", "HS384", "kid", nil), c), []error{ErrAlgorithm}},
		{"alg PS256", nil, mint(signing{"PS256", "rs-1", f.rs.key}, with(h, "alg", "PS256", "kid", "rs-1"), c), []error{ErrAlgorithm}},
		{"alg ES256 with the EdDSA kid", nil, mint(f.es, with(h, "kid", "ed-1"), c), []error{ErrAlgorithm}},
		{"alg EdDSA with the ES256 kid", nil, mint(f.ed, with(goodHeader(f.ed), "kid", "es-1"), c), []error{ErrAlgorithm}},
		{"header is an array", nil, mintRaw(f.es, []byte(`["ES256"]`), mustJSON(c)), []error{ErrMalformed}},
		{"header is not JSON", nil, mintRaw(f.es, []byte(`{"alg":"ES256",`), mustJSON(c)), []error{ErrMalformed}},
	}
}

func kidAttacks(f *fixture) []attack {
	var out []attack
	for _, kid := range []string{"../../etc/passwd", "' OR 1=1 --", "es-1\x00", "ES-1", " es-1", strings.Repeat("k", 4000)} {
		out = append(out, attack{"kid " + truncate(kid, 20), nil,
			mint(f.es, with(goodHeader(f.es), "kid", kid), goodClaims()), []error{ErrUnknownKey}})
	}
	return append(out,
		attack{"kid number", nil, mint(f.es, with(goodHeader(f.es), "kid", 1), goodClaims()), []error{ErrMalformed}},
		attack{"kid null", nil, mint(f.es, with(goodHeader(f.es), "kid", []any{}), goodClaims()), []error{ErrMalformed}},
		attack{"no kid finds the HS256 secret", nil, mint(f.es, with(goodHeader(f.es), "kid", nil), goodClaims()), []error{ErrAlgorithm}},
		attack{"no kid, no HS256 secret", func(c *Config) { c.KeySet = asymmetricKeys(f) },
			mint(f.es, with(goodHeader(f.es), "kid", nil), goodClaims()), []error{ErrUnknownKey}},
	)
}

func asymmetricKeys(f *fixture) *StaticKeySet {
	ks, err := NewStaticKeySet(f.es.public(), f.ed.public(), f.rs.public())
	if err != nil {
		panic(err)
	}
	return ks
}

// withSig replaces the signature of tok.
func withSig(tok string, sig []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + b64.EncodeToString(sig)
}

func sigOf(tok string) []byte {
	b, err := b64.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil {
		panic(err)
	}
	return b
}

func ecdsaSignatureAttacks(f *fixture) []attack {
	tok := good(ES256)
	sig := sigOf(tok)
	r, s := sig[:32], sig[32:]
	zero := make([]byte, 32)
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	ones := []byte(strings.Repeat("\xff", 32))
	cat := func(a, b []byte) []byte { return slices.Concat(a, b) }
	digest := sha256.Sum256([]byte(tok[:strings.LastIndexByte(tok, '.')]))
	der, _ := ecdsa.SignASN1(rand.Reader, f.es.key.(*ecdsa.PrivateKey), digest[:])
	bad := []error{ErrSignature}
	return []attack{
		{"ECDSA r=0 s=0", nil, withSig(tok, cat(zero, zero)), bad},
		{"ECDSA r=N s=N", nil, withSig(tok, cat(n, n)), bad},
		{"ECDSA r=0", nil, withSig(tok, cat(zero, s)), bad},
		{"ECDSA s=0", nil, withSig(tok, cat(r, zero)), bad},
		{"ECDSA r=N", nil, withSig(tok, cat(n, s)), bad},
		{"ECDSA s=N", nil, withSig(tok, cat(r, n)), bad},
		{"ECDSA r=2^256-1", nil, withSig(tok, cat(ones, s)), bad},
		{"ECDSA 63 bytes", nil, withSig(tok, sig[:63]), bad},
		{"ECDSA 65 bytes", nil, withSig(tok, append(slices.Clone(sig), 0)), bad},
		{"ECDSA leading zero", nil, withSig(tok, append([]byte{0}, sig...)), bad},
		{"ECDSA ASN.1 DER", nil, withSig(tok, der), bad},
		{"ECDSA empty", nil, withSig(tok, nil), bad},
	}
}

func otherSignatureAttacks(f *fixture) []attack {
	ed := sigOf(good(EdDSA))
	// S + L: the same scalar mod L, which a lax Ed25519 verifier accepts.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	sLE := slices.Clone(ed[32:])
	slices.Reverse(sLE)
	sPlusL := new(big.Int).Add(new(big.Int).SetBytes(sLE), l).FillBytes(make([]byte, 32))
	slices.Reverse(sPlusL)
	rs := sigOf(good(RS256))
	bad := []error{ErrSignature}
	return []attack{
		{"Ed25519 S+L", nil, withSig(good(EdDSA), slices.Concat(ed[:32], sPlusL)), bad},
		{"Ed25519 zeros", nil, withSig(good(EdDSA), make([]byte, 64)), bad},
		{"Ed25519 short", nil, withSig(good(EdDSA), ed[:63]), bad},
		{"RSA leading zero", nil, withSig(good(RS256), append([]byte{0}, rs...)), bad},
		{"RSA zeros", nil, withSig(good(RS256), make([]byte, 256)), bad},
		{"RSA short", nil, withSig(good(RS256), rs[1:]), bad},
		{"HMAC truncated", nil, withSig(good(HS256), sigOf(good(HS256))[:16]), bad},
		{"HMAC empty", nil, withSig(good(HS256), nil), bad},
	}
}

func forgeryAttacks(f *fixture) []attack {
	var out []attack
	for _, other := range []signing{f.es2, f.ed2, f.rs2, f.hs2} {
		out = append(out, attack{other.alg + " other key, same kid", nil,
			mint(other, goodHeader(other), goodClaims()), []error{ErrSignature}})
	}
	tok := good(ES256)
	parts := strings.Split(tok, ".")
	tamperedPayload := parts[0] + "." + b64.EncodeToString(mustJSON(with(goodClaims(), "role", "superadmin"))) + "." + parts[2]
	tamperedHeader := b64.EncodeToString(mustJSON(with(goodHeader(f.es), "typ", "AT+JWT"))) + "." + parts[1] + "." + parts[2]
	other := mint(f.hs, goodHeader(f.hs), with(goodClaims(), "sub", "user-2"))
	swapped := parts[0] + "." + strings.Split(other, ".")[1] + "." + parts[2]
	return append(out,
		attack{"payload tampered", nil, tamperedPayload, []error{ErrSignature}},
		attack{"header tampered", nil, tamperedHeader, []error{ErrSignature}},
		attack{"payload of another token", nil, swapped, []error{ErrSignature}},
	)
}

func timeAttacks(f *fixture) []attack {
	c := goodClaims()
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	leeway := func(c *Config) { c.Leeway = 30 * time.Second }
	return []attack{
		{"expired", nil, mint(f.es, goodHeader(f.es), with(c, "exp", at(-time.Second))), []error{ErrExpired}},
		{"expires now", nil, mint(f.es, goodHeader(f.es), with(c, "exp", at(0))), []error{ErrExpired}},
		{"expired beyond leeway", leeway, mint(f.es, goodHeader(f.es), with(c, "exp", at(-31*time.Second))), []error{ErrExpired}},
		{"nbf in the future", nil, mint(f.es, goodHeader(f.es), with(c, "nbf", at(time.Second))), []error{ErrNotYetValid}},
		{"nbf beyond leeway", leeway, mint(f.es, goodHeader(f.es), with(c, "nbf", at(31*time.Second))), []error{ErrNotYetValid}},
		{"iat in the future", nil, mint(f.es, goodHeader(f.es), with(c, "iat", at(time.Second))), []error{ErrNotYetValid}},
		{"iat beyond leeway", leeway, mint(f.es, goodHeader(f.es), with(c, "iat", at(31*time.Second))), []error{ErrNotYetValid}},
		{"exp missing", nil, mint(f.es, goodHeader(f.es), with(c, "exp", nil)), []error{ErrMalformed}},
		{"exp null", nil, mint(f.es, goodHeader(f.es), with(c, "exp", []any(nil))), []error{ErrMalformed}},
		{"exp string", nil, mint(f.es, goodHeader(f.es), with(c, "exp", "2030-01-02")), []error{ErrMalformed}},
		{"exp numeric string", nil, mint(f.es, goodHeader(f.es), with(c, "exp", "1999999999")), []error{ErrMalformed}},
		{"exp negative", nil, mint(f.es, goodHeader(f.es), with(c, "exp", -1)), []error{ErrMalformed}},
		{"exp 1e300", nil, mint(f.es, goodHeader(f.es), with(c, "exp", 1e300)), []error{ErrMalformed}},
		{"exp year 10000", nil, mint(f.es, goodHeader(f.es), with(c, "exp", int64(253402300800))), []error{ErrMalformed}},
		{"nbf bool", nil, mint(f.es, goodHeader(f.es), with(c, "nbf", true)), []error{ErrMalformed}},
	}
}

func claimAttacks(f *fixture) []attack {
	c := goodClaims()
	m := func(claims map[string]any) string { return mint(f.es, goodHeader(f.es), claims) }
	return []attack{
		{"wrong iss", nil, m(with(c, "iss", "https://evil.example.com")), []error{ErrIssuer}},
		{"iss other case", nil, m(with(c, "iss", strings.ToUpper(testIssuer))), []error{ErrIssuer}},
		{"iss missing", nil, m(with(c, "iss", nil)), []error{ErrIssuer}},
		{"iss array", nil, m(with(c, "iss", []string{testIssuer})), []error{ErrMalformed}},
		{"wrong aud", nil, m(with(c, "aud", "other")), []error{ErrAudience}},
		{"aud missing", nil, m(with(c, "aud", nil)), []error{ErrAudience}},
		{"aud empty array", nil, m(with(c, "aud", []string{})), []error{ErrAudience}},
		{"aud number", nil, m(with(c, "aud", 1)), []error{ErrMalformed}},
		{"aud array of numbers", nil, m(with(c, "aud", []int{1})), []error{ErrMalformed}},
		{"aud object", nil, m(with(c, "aud", map[string]any{"api": true})), []error{ErrMalformed}},
		{"sub missing", nil, m(with(c, "sub", nil)), []error{ErrMalformed}},
		{"sub empty", nil, m(with(c, "sub", "")), []error{ErrMalformed}},
		{"sub number", nil, m(with(c, "sub", 1)), []error{ErrMalformed}},
		{"jti missing", nil, m(with(c, "jti", nil)), []error{ErrMalformed}},
		{"sid missing", nil, m(with(c, "sid", nil)), []error{ErrMalformed}},
		{"role object", nil, m(with(c, "role", map[string]any{"admin": true})), []error{ErrMalformed}},
		{"payload null", nil, mintRaw(f.es, mustJSON(goodHeader(f.es)), []byte("null")), []error{ErrMalformed}},
		{"payload array", nil, mintRaw(f.es, mustJSON(goodHeader(f.es)), []byte(`[1]`)), []error{ErrMalformed}},
		{"payload not JSON", nil, mintRaw(f.es, mustJSON(goodHeader(f.es)), []byte(`{"iss":`)), []error{ErrMalformed}},
		{"several failures", nil, m(with(c, "iss", "x", "aud", "y", "exp", testNow.Unix(), "type", "refresh")),
			[]error{ErrIssuer, ErrAudience, ErrExpired, ErrTokenType}},
	}
}

func typeAttacks(f *fixture) []attack {
	c := goodClaims()
	h := goodHeader(f.es)
	return []attack{
		{"type refresh", nil, mint(f.es, h, with(c, "type", "refresh")), []error{ErrTokenType}},
		{"type missing", nil, mint(f.es, h, with(c, "type", nil)), []error{ErrTokenType}},
		{"type ACCESS", nil, mint(f.es, h, with(c, "type", "ACCESS")), []error{ErrTokenType}},
		{"type id", nil, mint(f.es, h, with(c, "type", "id")), []error{ErrTokenType}},
		{"typ JWT", nil, mint(f.es, with(h, "typ", "JWT"), c), []error{ErrTokenType}},
		{"typ missing", nil, mint(f.es, with(h, "typ", nil), c), []error{ErrTokenType}},
		{"typ number", nil, mint(f.es, with(h, "typ", 1), c), []error{ErrTokenType}},
		{"typ at+jwt with space", nil, mint(f.es, with(h, "typ", "at+jwt "), c), []error{ErrTokenType}},
		{"typ JWT and type refresh", nil, mint(f.es, with(h, "typ", "JWT"), with(c, "type", "refresh")), []error{ErrTokenType}},
		{"refresh token", nil, "x4Lh0Bf4XCmYc6XGd6W6p8N_8q9qvI7m0yO4lY8zR2k", []error{ErrMalformed}},
		{"empty", nil, "", []error{ErrNoToken}},
	}
}

func encodingAttacks(f *fixture) []attack {
	tok := good(ES256)
	parts := strings.Split(tok, ".")
	// An ES256 signature is 86 characters: the last one carries 4 spare
	// bits, which a lax decoder ignores.
	last := parts[2][len(parts[2])-1]
	idx := strings.IndexByte(base64Alphabet, last)
	spare := parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + string(base64Alphabet[idx|1])
	payload := mustJSON(goodClaims())
	for len(payload)%3 == 0 {
		payload = append(payload, ' ')
	}
	raw := mintRaw(f.es, mustJSON(goodHeader(f.es)), payload)
	rp := strings.Split(raw, ".")
	padded := rp[0] + "." + rp[1] + strings.Repeat("=", (4-len(rp[1])%4)%4) + "." + rp[2]
	std := base64.StdEncoding.EncodeToString(sigOf(tok))
	mal := []error{ErrMalformed}
	return []attack{
		{"spare bits set in signature", nil, spare, mal},
		{"padding on signature", nil, tok + "=", mal},
		{"padding on payload", nil, padded, mal},
		{"padding on header", nil, parts[0] + "=." + parts[1] + "." + parts[2], mal},
		{"newline in signature", nil, tok[:len(tok)-10] + "\n" + tok[len(tok)-10:], mal},
		{"CR LF at the end", nil, tok + "\r\n", mal},
		{"space at the end", nil, tok + " ", mal},
		{"standard alphabet signature", nil, parts[0] + "." + parts[1] + "." + std, mal},
		{"two segments", nil, parts[0] + "." + parts[1], mal},
		{"four segments", nil, tok + "." + parts[2], mal},
		{"dots only", nil, "..", mal},
		{"NUL byte", nil, tok + "\x00", mal},
		{"non-ASCII", nil, tok + "é", mal},
		{"JWE-like five segments", nil, "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", mal},
	}
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func sizeAttacks(f *fixture) []attack {
	big := mint(f.es, goodHeader(f.es), with(goodClaims(), "pad", strings.Repeat("a", 9<<10)))
	deepRole := `{"iss":"` + testIssuer + `","sub":"u","aud":"api","exp":1999999999,"jti":"j","sid":"s","type":"access","role":` +
		strings.Repeat("[", 2500) + strings.Repeat("]", 2500) + `}`
	deepAll := strings.Repeat("[", 3000) + strings.Repeat("]", 3000)
	deepHeader := `{"alg":"ES256","kid":"es-1","typ":"at+jwt","x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`
	return []attack{
		{"9 KiB", nil, big, []error{ErrTooLarge}},
		{"9 KiB of garbage", nil, strings.Repeat("\xff", 9<<10), []error{ErrTooLarge}},
		{"deeply nested role", nil, mintRaw(f.es, mustJSON(goodHeader(f.es)), []byte(deepRole)), []error{ErrMalformed}},
		{"deeply nested payload", nil, mintRaw(f.es, mustJSON(goodHeader(f.es)), []byte(deepAll)), []error{ErrMalformed}},
		{"deeply nested header, bad signature", nil, mintRaw(f.es2, []byte(deepHeader), mustJSON(goodClaims())), []error{ErrSignature}},
	}
}

func duplicateAttacks(f *fixture) []attack {
	base := strings.TrimSuffix(string(mustJSON(goodClaims())), "}")
	m := func(extra string) string {
		return mintRaw(f.es, mustJSON(goodHeader(f.es)), []byte(base+extra+"}"))
	}
	mal := []error{ErrMalformed}
	return []attack{
		{"duplicate role", nil, m(`,"role":"superadmin"`), mal},
		{"duplicate role, other case", nil, m(`,"ROLE":"superadmin"`), mal},
		{"duplicate role, escaped", nil, m(`,"r\u006fle":"superadmin"`), mal},
		{"duplicate role, escaped upper", nil, m(`,"\u0052OLE":"superadmin"`), mal},
		{"duplicate sub, long s", nil, m(`,"ſub":"admin-user"`), mal},
		{"duplicate type", nil, m(`,"type":"access"`), mal},
		{"duplicate unknown member", nil, m(`,"x":1,"x":2`), mal},
		{"duplicate exp", nil, m(`,"exp":4102444800`), mal},
	}
}

// TestDuplicateNestedIsFine: only top-level members are checked; nested
// objects are never read by the verifier.
func TestDuplicateNestedIsFine(t *testing.T) {
	f := loadFixture()
	base := strings.TrimSuffix(string(mustJSON(goodClaims())), "}")
	tok := mintRaw(f.es, mustJSON(goodHeader(f.es)), []byte(base+`,"ext":{"a":1,"a":2,"role":"x"},"s":"\"role\":"}`))
	if _, err := newVerifier(t, nil).Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

// TestECDSAMalleability documents that (r, N-s) verifies like (r, s), as in
// every ECDSA JWS implementation. Both carry the same claims and jti;
// nothing may use the token text as an identifier.
func TestECDSAMalleability(t *testing.T) {
	tok := good(ES256)
	sig := sigOf(tok)
	n := elliptic.P256().Params().N
	s := new(big.Int).SetBytes(sig[32:])
	flipped := slices.Concat(sig[:32], new(big.Int).Sub(n, s).FillBytes(make([]byte, 32)))
	v := newVerifier(t, nil)
	a, err1 := v.Verify(context.Background(), tok)
	b, err2 := v.Verify(context.Background(), withSig(tok, flipped))
	if err1 != nil || err2 != nil || a.ID != b.ID {
		t.Fatalf("errors %v, %v", err1, err2)
	}
}

func TestMaxTokenSizeBoundary(t *testing.T) {
	f := loadFixture()
	v := newVerifier(t, nil)
	var atLimit, overLimit string
	for n := 5000; n < 6500 && (atLimit == "" || overLimit == ""); n++ {
		tok := mint(f.es, goodHeader(f.es), with(goodClaims(), "pad", strings.Repeat("a", n)))
		switch {
		case len(tok) <= MaxTokenSize && len(tok) > MaxTokenSize-4:
			atLimit = tok
		case len(tok) > MaxTokenSize && len(tok) <= MaxTokenSize+4:
			overLimit = tok
		}
	}
	if atLimit == "" || overLimit == "" {
		t.Fatal("no token of the right length")
	}
	if _, err := v.Verify(context.Background(), atLimit); err != nil {
		t.Errorf("%d bytes: %v", len(atLimit), err)
	}
	_, err := v.Verify(context.Background(), overLimit)
	assertIs(t, err, ErrTooLarge)
}

// TestGolangJWTDefaultIsLax shows why the verifier adds its own checks:
// without WithStrictDecoding, golang-jwt accepts spare bits, and Go's
// base64 decoder skips newlines.
func TestGolangJWTDefaultIsLax(t *testing.T) {
	f := loadFixture()
	tok := good(ES256)
	idx := strings.IndexByte(base64Alphabet, tok[len(tok)-1])
	spare := tok[:len(tok)-1] + string(base64Alphabet[idx|1])
	newline := tok[:len(tok)-10] + "\n" + tok[len(tok)-10:]
	keyFunc := func(*jwt.Token) (any, error) { return f.es.public().Key, nil }
	for _, lax := range []string{spare, newline} {
		if _, err := jwt.Parse(lax, keyFunc, jwt.WithTimeFunc(fakeNow)); err != nil {
			t.Errorf("golang-jwt default rejects %q: %v (test premise changed)", lax[len(lax)-12:], err)
		}
	}
	if _, err := jwt.Parse(spare, keyFunc, jwt.WithTimeFunc(fakeNow), jwt.WithStrictDecoding()); err == nil {
		t.Error("golang-jwt strict decoding accepts spare bits")
	}
}
