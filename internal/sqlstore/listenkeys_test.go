package sqlstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func TestListenKeysWakesOnCommittedKeyChanges(t *testing.T) {
	t.Parallel()
	url := newSchema(t, postgresURL(t))
	a := closeAtEnd(t, openMigrated(t, url))
	b := closeAtEnd(t, openMigrated(t, url))
	var connects, notes atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.ListenKeys(ctx, func(context.Context) error { connects.Add(1); return nil }, func(context.Context) { notes.Add(1) })
	waitFor(t, func() bool { return connects.Load() == 1 })

	quiet := func(what string, want int32) {
		t.Helper()
		time.Sleep(200 * time.Millisecond)
		if n := notes.Load(); n != want {
			t.Fatalf("%s: %d key notifications, want %d", what, n, want)
		}
	}
	if _, err := a.RevokeToken(ctx, "jti-1", time.Now().Add(time.Hour), auth.Effects{}); err != nil {
		t.Fatal(err)
	}
	quiet("a revocation", 0)

	// Channels belong to the whole database: a deployment in another schema
	// of it has channels of its own and wakes nobody here.
	other := closeAtEnd(t, openMigrated(t, newSchema(t, postgresURL(t))))
	if stored, err := other.InitSigningKey(ctx, auth.SigningKey{ID: "kid-other", Algorithm: "ES256", PrivateKey: []byte{9}, CreatedAt: time.Now(), ActivatesAt: time.Now()}); err != nil || !stored {
		t.Fatalf("InitSigningKey in another schema = %t, %v", stored, err)
	}
	quiet("a key stored in another schema", 0)

	now := time.Now().UTC().Truncate(time.Millisecond)
	k1 := auth.SigningKey{ID: "kid-1", Algorithm: "ES256", PrivateKey: []byte{1}, CreatedAt: now, ActivatesAt: now}
	if stored, err := a.InitSigningKey(ctx, k1); err != nil || !stored {
		t.Fatalf("InitSigningKey = %t, %v", stored, err)
	}
	waitFor(t, func() bool { return notes.Load() == 1 })
	if stored, _ := a.InitSigningKey(ctx, auth.SigningKey{ID: "kid-x", Algorithm: "ES256", PrivateKey: []byte{2}, CreatedAt: now, ActivatesAt: now}); stored {
		t.Fatal("a second unexpired ES256 key was stored")
	}
	quiet("an InitSigningKey that stored nothing", 1)

	// A rotation that fails (its kid is taken) notifies nobody.
	if err := a.RotateSigningKey(ctx, k1, now.Add(time.Hour)); err == nil {
		t.Fatal("a rotation to a taken kid succeeded")
	}
	quiet("a failed rotation", 1)
	k2 := auth.SigningKey{ID: "kid-2", Algorithm: "ES256", PrivateKey: []byte{3}, CreatedAt: now, ActivatesAt: now.Add(time.Minute)}
	if err := a.RotateSigningKey(ctx, k2, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return notes.Load() == 2 })
}
