package verify

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/testkit"
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
