package storetest

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// newKey returns a key of alg with random bytes standing for its DER.
func newKey(alg string, created, activates time.Time) auth.SigningKey {
	der := make([]byte, 138)
	rand.Read(der)
	return auth.SigningKey{ID: newID(), Algorithm: alg, PrivateKey: der, CreatedAt: created, ActivatesAt: activates}
}

// wantKeys checks that SigningKeys(now) returns want, in order.
func wantKeys(t *testing.T, s auth.Store, now time.Time, want ...auth.SigningKey) {
	t.Helper()
	got, err := s.SigningKeys(t.Context(), now)
	must(t, err, "SigningKeys")
	if len(got) != len(want) {
		t.Fatalf("SigningKeys(%v): %d keys, want %d", now, len(got), len(want))
	}
	for i, k := range want {
		g := got[i]
		if g.ID != k.ID || g.Algorithm != k.Algorithm || !bytes.Equal(g.PrivateKey, k.PrivateKey) ||
			!g.CreatedAt.Equal(k.CreatedAt) || !g.ActivatesAt.Equal(k.ActivatesAt) || !g.ExpiresAt.Equal(k.ExpiresAt) {
			t.Fatalf("SigningKeys(%v)[%d]:\n got %+v\nwant %+v", now, i, g, k)
		}
	}
}

func testInitSigningKey(t *testing.T, s auth.Store) {
	now := present()
	wantKeys(t, s, now)
	k1 := newKey("ES256", now, now)
	stored, err := s.InitSigningKey(t.Context(), k1)
	must(t, err, "InitSigningKey")
	if !stored {
		t.Fatal("InitSigningKey on an empty store stored nothing")
	}
	stored, err = s.InitSigningKey(t.Context(), newKey("ES256", now, now))
	must(t, err, "InitSigningKey again")
	if stored {
		t.Fatal("InitSigningKey stored a second ES256 key")
	}
	k2 := newKey("EdDSA", now, now.Add(time.Second))
	stored, err = s.InitSigningKey(t.Context(), k2)
	must(t, err, "InitSigningKey EdDSA")
	if !stored {
		t.Fatal("InitSigningKey did not store a key of another algorithm")
	}
	wantKeys(t, s, now, k1, k2)
}

func testInitSigningKeyConcurrent(t *testing.T, s auth.Store) {
	now := present()
	const n = 10
	keys := make([]auth.SigningKey, n)
	stored := make([]bool, n)
	errs := make([]error, n)
	c := waitCtx(t)
	var wg sync.WaitGroup
	for i := range n {
		keys[i] = newKey("RS256", now, now)
		wg.Go(func() { stored[i], errs[i] = s.InitSigningKey(c, keys[i]) })
	}
	wg.Wait()
	var winner []auth.SigningKey
	for i := range n {
		must(t, errs[i], "InitSigningKey")
		if stored[i] {
			winner = append(winner, keys[i])
		}
	}
	if len(winner) != 1 {
		t.Fatalf("%d of %d concurrent InitSigningKey stored their key, want 1", len(winner), n)
	}
	wantKeys(t, s, now, winner[0])
}

func testRotateSigningKey(t *testing.T, s auth.Store) {
	now := present()
	k1 := newKey("ES256", now.Add(-time.Hour), now.Add(-time.Hour))
	_, err := s.InitSigningKey(t.Context(), k1)
	must(t, err, "InitSigningKey")
	k2 := newKey("ES256", now, now.Add(time.Hour))
	retire := now.Add(2 * time.Hour)
	must(t, s.RotateSigningKey(t.Context(), k2, retire), "RotateSigningKey")
	k1.ExpiresAt = retire
	wantKeys(t, s, now, k1, k2)
	wantKeys(t, s, retire.Add(-time.Millisecond), k1, k2)
	wantKeys(t, s, retire, k2)
	stored, err := s.InitSigningKey(t.Context(), newKey("ES256", now, now))
	must(t, err, "InitSigningKey after a rotation")
	if stored {
		t.Fatal("InitSigningKey stored a key next to the rotated one")
	}
	k3 := newKey("ES256", now, now.Add(3*time.Hour))
	must(t, s.RotateSigningKey(t.Context(), k3, now.Add(4*time.Hour)), "RotateSigningKey again")
	k2.ExpiresAt = now.Add(4 * time.Hour)
	wantKeys(t, s, now, k1, k2, k3) // k1 keeps its earlier expiry
	if err := s.RotateSigningKey(t.Context(), k3, now); err == nil {
		t.Fatal("RotateSigningKey stored a key whose id exists")
	}
	wantKeys(t, s, now, k1, k2, k3)
}

func testSigningKeyOrder(t *testing.T, s auth.Store) {
	now := present()
	late := newKey("ES256", now, now.Add(time.Hour))
	_, err := s.InitSigningKey(t.Context(), late)
	must(t, err, "InitSigningKey")
	early := newKey("EdDSA", now, now.Add(-time.Hour))
	_, err = s.InitSigningKey(t.Context(), early)
	must(t, err, "InitSigningKey")
	wantKeys(t, s, now, early, late)
}
