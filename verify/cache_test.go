package verify

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

type revokeAll struct{ on atomic.Bool }

func (r *revokeAll) Revoked(string, string) bool { return r.on.Load() }

// countingKeys counts key lookups: one per signature check.
type countingKeys struct {
	KeySet
	n atomic.Int32
}

func (c *countingKeys) LookupKey(ctx context.Context, kid string) (Key, error) {
	c.n.Add(1)
	return c.KeySet.LookupKey(ctx, kid)
}

func TestVerifiedTokenCache(t *testing.T) {
	f := loadFixture()
	now := testNow
	keys := &countingKeys{KeySet: f.keys}
	rev := &revokeAll{}
	v, err := New(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, Algorithms: allAlgs,
		KeySet: keys, Now: func() time.Time { return now }, Revocations: rev, CacheSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := good(ES256)
	for range 10 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := keys.n.Load(); n != 1 {
		t.Fatalf("%d signature checks for one token sent 10 times, want 1", n)
	}
	// A token that fails is never cached.
	bad := testkit.Tamper(tok)
	for range 2 {
		if _, err := v.Verify(ctx, bad); err == nil {
			t.Fatal("tampered token accepted")
		}
	}
	// Revocation is checked on every hit.
	rev.on.Store(true)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("cached revoked token: %v", err)
	}
	rev.on.Store(false)
	// Expiry is checked on every hit.
	now = now.Add(16 * time.Minute)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached expired token: %v", err)
	}
	// The cache stays bounded.
	now = testNow
	for i := range 20 {
		v.Verify(ctx, mint(f.es, goodHeader(f.es), with(goodClaims(), "jti", fmt.Sprint("j", i))))
	}
	if n := len(v.cache.m); n > 4 {
		t.Fatalf("cache holds %d tokens, bound is 4", n)
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	f := loadFixture()
	v, err := New(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, Algorithms: allAlgs, KeySet: f.keys, Now: fakeNow})
	if err != nil {
		b.Fatal(err)
	}
	tok := good(ES256)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCacheKeyedBySignature: the cache is keyed by the end of the
// signature, and a token whose signature ends as a cached one's is taken
// for it only when it is the same string: a changed header, payload or
// start of the signature, a malformed token around the signature, or the
// signature alone is verified afresh.
func TestCacheKeyedBySignature(t *testing.T) {
	v := newVerifier(t, func(c *Config) { c.CacheSize = 16 })
	ctx := t.Context()
	tok := good(ES256)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	dot := strings.LastIndexByte(tok, '.')
	rest, sig := tok[:dot], tok[dot+1:]
	header, payload, _ := strings.Cut(rest, ".")
	es := loadFixture().byAlg(ES256)
	other := mint(es, goodHeader(es), with(goodClaims(), "username", "mallory"))
	otherRest := other[:strings.LastIndexByte(other, '.')]
	if otherRest == rest {
		t.Fatal("the other token has the same header and payload")
	}
	other1 := func(c byte) string { // another base64url character
		if c == 'A' {
			return "B"
		}
		return "A"
	}
	for name, forged := range map[string]string{
		"another payload":               header + "." + strings.SplitN(otherRest, ".", 2)[1] + "." + sig,
		"another header and payload":    otherRest + "." + sig,
		"a character added":             header + "." + payload + "A." + sig,
		"a space inside":                header + " ." + payload + "." + sig,
		"the signature alone":           sig,
		"a dot and the signature":       "." + sig,
		"no signature":                  rest + ".",
		"the signature's start changed": rest + "." + other1(sig[0]) + sig[1:],
		"a character before the end":    rest + "." + sig[:len(sig)-sigKeyLen-1] + other1(sig[len(sig)-sigKeyLen-1]) + sig[len(sig)-sigKeyLen:],
	} {
		c, err := v.Verify(ctx, forged)
		if err == nil {
			t.Fatalf("%s: accepted (%+v)", name, c)
		}
		if _, err := v.VerifyBearer(ctx, "Bearer "+forged); err == nil {
			t.Fatalf("%s: accepted by VerifyBearer", name)
		}
	}
	if _, err := v.VerifyBearer(ctx, "Bearer "+tok); err != nil {
		t.Fatalf("the verified token: %v", err)
	}
	if n := len(v.cache.m); n != 1 {
		t.Fatalf("%d cache entries, want 1", n)
	}
	for k := range v.cache.m {
		if string(k[:]) != sig[len(sig)-sigKeyLen:] {
			t.Fatalf("cache key %q, want the end of the signature", k[:])
		}
	}
}

// TestCachedTokenSize: a cached token costs its claims and its entry, and
// the claim values that repeat from token to token are shared. 10 000
// tokens of a hundred users, shaped like Gatehouse's, cost 448 bytes
// each (629 when every claim had a copy of its own and the cache kept
// each signature's string).
func TestCachedTokenSize(t *testing.T) {
	es := loadFixture().byAlg(ES256)
	v := newVerifier(t, func(c *Config) { c.CacheSize = 20_000 })
	const n = 10_000
	toks := make([]string, n)
	for i := range toks {
		toks[i] = mint(es, goodHeader(es), with(goodClaims(),
			"sub", fmt.Sprintf("0193c1a2-7b4e-7c3d-9e1f-%012d", i%100),
			"sid", fmt.Sprintf("0193c1a2-7b4e-7c3d-9e1f-%012d", i),
			"jti", fmt.Sprintf("Zk3mQ9xYw2Lp8Rt5Vb%04d", i),
			"username", fmt.Sprintf("user%d", i%100),
			"role", "user", "amr", []string{"pwd"}, "auth_time", testNow.Unix(),
		))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, tok := range toks {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes per cached token", per)
	if per > 520 {
		t.Errorf("a cached token costs %d bytes of heap, want at most 520", per)
	}
	runtime.KeepAlive(toks)
	runtime.KeepAlive(v)
}
