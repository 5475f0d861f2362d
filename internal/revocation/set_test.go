package revocation

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func TestSetRevokesBySessionAndToken(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewSet(func() time.Time { return now })
	s.Add(auth.Revocation{Kind: auth.RevokedSession, ID: "s1", ExpiresAt: now.Add(time.Minute)},
		auth.Revocation{Kind: auth.RevokedToken, ID: "j1", ExpiresAt: now.Add(2 * time.Minute)})
	for _, c := range []struct {
		jti, sid string
		want     bool
	}{{"j0", "s1", true}, {"j1", "s0", true}, {"j0", "s0", false}, {"s1", "j1", false}} {
		if got := s.Revoked(c.jti, c.sid); got != c.want {
			t.Errorf("Revoked(%q, %q) = %v", c.jti, c.sid, got)
		}
	}
	now = now.Add(90 * time.Second)
	if n := s.Expire(); n != 1 {
		t.Fatalf("expired %d, want 1", n)
	}
	if sessions, tokens := s.Len(); sessions != 0 || tokens != 1 {
		t.Fatalf("len %d %d", sessions, tokens)
	}
	s.Replace(nil)
	if s.Revoked("j1", "") {
		t.Fatal("Replace kept an entry")
	}
}

// fakeSource is an in-memory Source with a sequence cursor.
type fakeSource struct {
	recs []auth.Revocation
	fail bool
}

func (f *fakeSource) Revocations(context.Context, time.Time) ([]auth.Revocation, int64, error) {
	return append([]auth.Revocation(nil), f.recs...), int64(len(f.recs)), nil
}

func (f *fakeSource) RevocationsSince(_ context.Context, cursor int64) ([]auth.Revocation, int64, error) {
	if f.fail {
		return nil, cursor, fmt.Errorf("database down")
	}
	return f.recs[cursor:], int64(len(f.recs)), nil
}

func TestPollerCatchesUp(t *testing.T) {
	src := &fakeSource{recs: []auth.Revocation{{Kind: auth.RevokedSession, ID: "a", ExpiresAt: time.Now().Add(time.Hour)}}}
	p := &Poller{Set: NewSet(nil), Source: src, Interval: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !p.Set.Revoked("", "a") {
		t.Fatal("Load missed a revocation")
	}
	src.fail = true
	if err := p.Poll(t.Context()); err == nil {
		t.Fatal("a failing source must report its error")
	}
	if !p.Set.Revoked("", "a") {
		t.Fatal("a failed poll must keep the last known state")
	}
	src.fail = false
	src.recs = append(src.recs, auth.Revocation{Kind: auth.RevokedToken, ID: "b", ExpiresAt: time.Now().Add(time.Hour)})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go p.Run(ctx)
	deadline := time.Now().Add(2 * time.Second)
	for !p.Set.Revoked("b", "") {
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up a new revocation")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
