package storetest

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func testReplacePrivateKey(t *testing.T, s auth.Store) {
	now := present()
	old := newKey("ES256", now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	_, err := s.InitSigningKey(t.Context(), old)
	must(t, err, "InitSigningKey")
	k := newKey("ES256", now, now)
	must(t, s.RotateSigningKey(t.Context(), k, now.Add(-time.Hour)), "RotateSigningKey") // old has expired
	old.ExpiresAt = now.Add(-time.Hour)

	sealed := bytes.Repeat([]byte{0xa5}, 180)
	ok, err := s.ReplacePrivateKey(t.Context(), k.ID, k.PrivateKey, sealed)
	must(t, err, "ReplacePrivateKey")
	if !ok {
		t.Fatal("ReplacePrivateKey with the stored bytes replaced nothing")
	}
	wrongFrom := make([]byte, len(sealed))
	rand.Read(wrongFrom)
	if ok, err := s.ReplacePrivateKey(t.Context(), k.ID, wrongFrom, k.PrivateKey); err != nil || ok {
		t.Fatalf("ReplacePrivateKey with stale bytes = %t, %v; want false", ok, err)
	}
	if ok, err := s.ReplacePrivateKey(t.Context(), "no-such-kid", k.PrivateKey, sealed); err != nil || ok {
		t.Fatalf("ReplacePrivateKey of an unknown key = %t, %v; want false", ok, err)
	}
	k.PrivateKey = sealed
	wantKeys(t, s, now, k) // nothing else changed

	// The zero time lists expired keys too, so that they can be resealed.
	wantKeys(t, s, time.Time{}, old, k)
	ok, err = s.ReplacePrivateKey(t.Context(), old.ID, old.PrivateKey, sealed)
	if err != nil || !ok {
		t.Fatalf("ReplacePrivateKey of an expired key = %t, %v", ok, err)
	}
}

func testReplacePrivateKeyConcurrent(t *testing.T, s auth.Store) {
	now := present()
	k := newKey("EdDSA", now, now)
	_, err := s.InitSigningKey(t.Context(), k)
	must(t, err, "InitSigningKey")
	const n = 8
	oks := make([]bool, n)
	errs := make([]error, n)
	c := waitCtx(t)
	var wg sync.WaitGroup
	for i := range n {
		to := bytes.Repeat([]byte{byte(i + 1)}, 64)
		wg.Go(func() { oks[i], errs[i] = s.ReplacePrivateKey(c, k.ID, k.PrivateKey, to) })
	}
	wg.Wait()
	won := 0
	for i := range n {
		must(t, errs[i], "ReplacePrivateKey")
		if oks[i] {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent replacements of the same bytes succeeded, want 1", won, n)
	}
}
