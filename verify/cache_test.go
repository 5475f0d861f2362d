package verify

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

// TestCacheKeyedBySignature: the cache is keyed by the signature, and a
// token whose signature is a cached one's is taken for it only when the
// rest is the same too: a changed header or payload, a malformed token
// around the signature, or the signature alone is verified afresh.
func TestCacheKeyedBySignature(t *testing.T) {
	v := newVerifier(t, func(c *Config) { c.CacheSize = 16 })
	ctx := t.Context()
	tok := good(ES256)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	rest, sig, _ := splitSignature(tok)
	header, payload, _ := strings.Cut(rest, ".")
	es := loadFixture().byAlg(ES256)
	other := mint(es, goodHeader(es), with(goodClaims(), "username", "mallory"))
	otherRest, _, _ := splitSignature(other)
	if otherRest == rest {
		t.Fatal("the other token has the same header and payload")
	}
	for name, forged := range map[string]string{
		"another payload":            header + "." + strings.SplitN(otherRest, ".", 2)[1] + "." + sig,
		"another header and payload": otherRest + "." + sig,
		"a character added":          header + "." + payload + "A." + sig,
		"a space inside":             header + " ." + payload + "." + sig,
		"the signature alone":        sig,
		"a dot and the signature":    "." + sig,
		"no signature":               rest + ".",
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
		if k != sig {
			t.Fatalf("cache key %q, want the signature", k)
		}
	}
}
