package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func testRevocationCursor(t *testing.T, s auth.Store) {
	now := present()
	revs, c0, err := s.Revocations(t.Context(), now)
	must(t, err, "Revocations")
	if len(revs) != 0 {
		t.Fatalf("a new store has revocations %+v", revs)
	}
	since, c, err := s.RevocationsSince(t.Context(), c0)
	must(t, err, "RevocationsSince")
	if len(since) != 0 || c != c0 {
		t.Fatalf("RevocationsSince(%d) = %+v, %d on a new store", c0, since, c)
	}
	r1, err := s.RevokeToken(t.Context(), "jti-1", now.Add(time.Hour), auth.Effects{})
	must(t, err, "RevokeToken")
	if r1.Kind != auth.RevokedToken || r1.ID != "jti-1" || !r1.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("RevokeToken returned %+v", r1)
	}
	c1 := wantSince(t, s, c0, r1)
	r2, err := s.RevokeToken(t.Context(), "jti-2", now.Add(time.Minute), auth.Effects{})
	must(t, err, "RevokeToken")
	sess, _ := liveSession(t, s, addUser(t, s, "yves"))
	r3, err := s.RevokeSessions(t.Context(), auth.SessionFilter{SessionID: sess.ID}, now.Add(time.Hour), auth.Effects{})
	must(t, err, "RevokeSessions")
	c3 := wantSince(t, s, c1, r2, r3[0])
	wantSince(t, s, c3)
	wantSince(t, s, c0, r1, r2, r3[0])
	all, cursor, err := s.Revocations(t.Context(), now)
	must(t, err, "Revocations")
	if cursor != c3 || !sameRevocations(all, []auth.Revocation{r1, r2, r3[0]}) {
		t.Fatalf("Revocations = %+v, %d; want 3 and cursor %d", all, cursor, c3)
	}
	later, _, err := s.Revocations(t.Context(), now.Add(2*time.Minute))
	must(t, err, "Revocations later")
	if !sameRevocations(later, []auth.Revocation{r1, r3[0]}) {
		t.Fatalf("Revocations after jti-2 expired = %+v", later)
	}
}

// wantSince checks that RevocationsSince(cursor) returns want, in order,
// and a cursor past it; it returns that cursor.
func wantSince(t *testing.T, s auth.Store, cursor int64, want ...auth.Revocation) int64 {
	t.Helper()
	got, next, err := s.RevocationsSince(t.Context(), cursor)
	must(t, err, "RevocationsSince")
	if !sameRevocations(got, want) {
		t.Fatalf("RevocationsSince(%d) = %+v, want %+v", cursor, got, want)
	}
	if len(want) == 0 && next != cursor || len(want) > 0 && next <= cursor {
		t.Fatalf("RevocationsSince(%d) moved the cursor to %d after %d revocations", cursor, next, len(want))
	}
	return next
}

func sameRevocations(got, want []auth.Revocation) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || got[i].ID != want[i].ID || !got[i].ExpiresAt.Equal(want[i].ExpiresAt) {
			return false
		}
	}
	return true
}

func testDuplicateRevocations(t *testing.T, s auth.Store) {
	now := present()
	for range 3 {
		_, err := s.RevokeToken(t.Context(), "jti-dup", now.Add(time.Hour), auth.Effects{})
		must(t, err, "RevokeToken again")
	}
	revs, _, err := s.Revocations(t.Context(), now)
	must(t, err, "Revocations")
	if len(revs) == 0 {
		t.Fatal("a revocation recorded three times is not listed")
	}
	for _, r := range revs {
		if r.Kind != auth.RevokedToken || r.ID != "jti-dup" {
			t.Fatalf("unexpected revocation %+v", r)
		}
	}
}

func testPrune(t *testing.T, s auth.Store) {
	u := addUser(t, s, "zoe")
	now := present()
	live, liveHash := addSession(t, s, u, now, now.Add(30*24*time.Hour))
	_, expiredHash := addSession(t, s, u, now.Add(-2*time.Hour), now.Add(-time.Hour))
	revoked, revokedHash := liveSession(t, s, u)
	_, err := s.RevokeSessions(t.Context(), auth.SessionFilter{SessionID: revoked.ID}, now.Add(time.Hour), auth.Effects{})
	must(t, err, "RevokeSessions")
	_, err = s.RevokeToken(t.Context(), "short", now.Add(time.Minute), auth.Effects{})
	must(t, err, "RevokeToken")
	_, err = s.RevokeToken(t.Context(), "long", now.Add(30*24*time.Hour), auth.Effects{})
	must(t, err, "RevokeToken")

	later := now.Add(3 * 24 * time.Hour)
	n, err := s.Prune(t.Context(), later)
	must(t, err, "Prune")
	// Two revocations and two sessions at least (stores may count tokens).
	if n < 4 {
		t.Fatalf("Prune removed %d rows, want at least 4", n)
	}
	for _, h := range []string{expiredHash, revokedHash} {
		_, err := s.SessionByRefreshHash(t.Context(), h)
		wantCode(t, err, auth.ENotFound, "an ended session after Prune")
	}
	got, err := s.SessionByRefreshHash(t.Context(), liveHash)
	must(t, err, "the live session after Prune")
	sameSession(t, got, live)
	revs, _, err := s.Revocations(t.Context(), later)
	must(t, err, "Revocations")
	if len(revs) != 1 || revs[0].ID != "long" {
		t.Fatalf("after Prune, Revocations = %+v, want only the long one", revs)
	}
	n, err = s.Prune(t.Context(), later)
	must(t, err, "Prune again")
	if n != 0 {
		t.Fatalf("a second Prune removed %d rows", n)
	}
}
