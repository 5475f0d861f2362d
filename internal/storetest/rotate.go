package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

const (
	ttl   = 7 * 24 * time.Hour
	grace = 10 * time.Second
)

// rotation presents hash at now and asks for a fresh token.
func rotation(hash string, now time.Time, interval time.Duration) auth.Rotation {
	return auth.Rotation{
		PresentedHash: hash, NewHash: token(), Now: now, SessionTTL: ttl,
		ReuseInterval: interval, RevokeUntil: now.Add(30 * time.Minute),
	}
}

// rotate runs r and fails the test unless its outcome is want.
func rotate(t *testing.T, s auth.Store, r auth.Rotation, want auth.RotateOutcome) auth.RotationResult {
	t.Helper()
	res, err := s.RotateRefreshToken(waitCtx(t), r)
	must(t, err, "RotateRefreshToken")
	if res.Outcome != want {
		t.Fatalf("outcome %v, want %v", res.Outcome, want)
	}
	return res
}

// rotateFails fails the test unless r is refused with EUnauthenticated.
func rotateFails(t *testing.T, s auth.Store, r auth.Rotation, what string) {
	t.Helper()
	res, err := s.RotateRefreshToken(waitCtx(t), r)
	wantCode(t, err, auth.EUnauthenticated, what)
	if res.Outcome != 0 {
		t.Fatalf("%s: an error with outcome %v", what, res.Outcome)
	}
}

// start returns a user's fresh session, created at t0, and its token.
func start(t *testing.T, s auth.Store, name string) (auth.User, auth.Session, string, time.Time) {
	u := addUser(t, s, name)
	t0 := present()
	sess, h := addSession(t, s, u, t0, t0.Add(time.Hour))
	return u, sess, h, t0
}

func testRotated(t *testing.T, s auth.Store) {
	u, sess, h0, t0 := start(t, s, "quinn")
	t1 := t0.Add(10 * time.Minute)
	r1 := rotation(h0, t1, grace)
	res := rotate(t, s, r1, auth.Rotated)
	want := sess
	want.RefreshedAt, want.ExpiresAt = t1, t1.Add(ttl)
	sameSession(t, res.Session, want)
	if res.User.ID != u.ID || res.User.Username != u.Username || len(res.Revocations) != 0 {
		t.Fatalf("result %+v", res)
	}
	t2 := t1.Add(time.Hour)
	res = rotate(t, s, rotation(r1.NewHash, t2, grace), auth.Rotated)
	if !res.Session.ExpiresAt.Equal(t2.Add(ttl)) {
		t.Fatalf("ExpiresAt %v, want %v", res.Session.ExpiresAt, t2.Add(ttl))
	}
	got, err := s.SessionByRefreshHash(t.Context(), h0)
	must(t, err, "SessionByRefreshHash of a used-up token")
	if got.ID != sess.ID {
		t.Fatalf("used-up token belongs to %s, want %s", got.ID, sess.ID)
	}
}

func testGrace(t *testing.T, s auth.Store) {
	_, sess, h0, t0 := start(t, s, "rita")
	r1 := rotation(h0, t0.Add(time.Minute), grace)
	rotate(t, s, r1, auth.Rotated)
	// Another tab presents h0 again, within the interval (and at its end).
	for _, d := range []time.Duration{time.Second, grace} {
		r := rotation(h0, r1.Now.Add(d), grace)
		res := rotate(t, s, r, auth.Grace)
		if res.Session.ID != sess.ID || !res.Session.ExpiresAt.Equal(r.Now.Add(ttl)) || len(res.Revocations) != 0 {
			t.Fatalf("grace result %+v", res)
		}
		// The token issued in grace is live, and so is the first successor.
		rotate(t, s, rotation(r.NewHash, r.Now, grace), auth.Rotated)
	}
	rotate(t, s, rotation(r1.NewHash, r1.Now.Add(grace), grace), auth.Rotated)
	if sessionRevoked(t, s, sess.ID) {
		t.Fatal("a grace rotation revoked the session")
	}
}

func testReused(t *testing.T, s auth.Store) {
	_, sess, h0, t0 := start(t, s, "sam")
	r1 := rotation(h0, t0.Add(time.Minute), grace)
	rotate(t, s, r1, auth.Rotated)
	thief := rotation(h0, r1.Now.Add(grace+time.Millisecond), grace)
	res := rotate(t, s, thief, auth.Reused)
	wantRevocations(t, res.Revocations, thief.RevokeUntil, sess.ID)
	if res.Session.ID != sess.ID || res.Session.RevokedAt.IsZero() {
		t.Fatalf("reused result %+v", res)
	}
	if !listed(t, s, thief.Now, auth.RevokedSession, sess.ID) || !sessionRevoked(t, s, sess.ID) {
		t.Fatal("reuse did not revoke the session")
	}
	rotateFails(t, s, rotation(r1.NewHash, thief.Now.Add(time.Second), grace), "the live token after reuse")
	rotateFails(t, s, rotation(h0, thief.Now.Add(time.Second), grace), "the reused token again")
	rotateFails(t, s, rotation(thief.NewHash, thief.Now.Add(time.Second), grace), "the thief's new token")
}

func testReusedNoInterval(t *testing.T, s auth.Store) {
	_, sess, h0, t0 := start(t, s, "tess")
	r1 := rotation(h0, t0, 0)
	rotate(t, s, r1, auth.Rotated)
	res := rotate(t, s, rotation(h0, t0, 0), auth.Reused)
	wantRevocations(t, res.Revocations, t0.Add(30*time.Minute), sess.ID)
	rotateFails(t, s, rotation(r1.NewHash, t0, 0), "the live token after reuse")
}

func testRotateUnknown(t *testing.T, s auth.Store) {
	start(t, s, "uma")
	rotateFails(t, s, rotation(token(), present(), grace), "an unknown token")
}

func testRotateExpired(t *testing.T, s auth.Store) {
	_, sess, h0, t0 := start(t, s, "vic")
	late := sess.ExpiresAt // expiry is exclusive: the session is dead at ExpiresAt
	rotateFails(t, s, rotation(h0, late, grace), "a token of an expired session")
	r1 := rotation(h0, t0.Add(time.Minute), grace)
	rotate(t, s, r1, auth.Rotated)
	end := r1.Now.Add(ttl)
	rotateFails(t, s, rotation(r1.NewHash, end.Add(time.Millisecond), grace), "after the renewed expiry")
	rotateFails(t, s, rotation(h0, end.Add(time.Hour), grace), "a used-up token of an expired session")
	if sessionRevoked(t, s, sess.ID) {
		t.Fatal("an expired session's used-up token revoked it")
	}
}

func testRotateRevoked(t *testing.T, s auth.Store) {
	_, sess, h0, t0 := start(t, s, "walt")
	r1 := rotation(h0, t0.Add(time.Second), grace)
	rotate(t, s, r1, auth.Rotated)
	_, err := s.RevokeSessions(t.Context(), auth.SessionFilter{SessionID: sess.ID}, t0.Add(time.Hour), auth.Effects{})
	must(t, err, "RevokeSessions")
	at := r1.Now.Add(time.Second)
	rotateFails(t, s, rotation(r1.NewHash, at, grace), "the live token of a revoked session")
	rotateFails(t, s, rotation(h0, at, grace), "a token in grace, of a revoked session")
	rotateFails(t, s, rotation(h0, at.Add(time.Hour), grace), "a used-up token of a revoked session")
}

// testRotateConcurrent presents one token 30 times at once, without a
// reuse interval: exactly one rotation wins. The losers see a used-up
// token (Reused, which revokes the session, at most once) or, once the
// session is revoked, EUnauthenticated.
func testRotateConcurrent(t *testing.T, s auth.Store) {
	_, sess, h0, t0 := start(t, s, "xena")
	const n = 30
	var wg sync.WaitGroup
	results := make([]auth.RotationResult, n)
	errs := make([]error, n)
	c := waitCtx(t)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.RotateRefreshToken(c, rotation(h0, t0.Add(time.Second), 0))
		})
	}
	wg.Wait()
	counts := map[auth.RotateOutcome]int{}
	for i := range n {
		if errs[i] != nil {
			wantCode(t, errs[i], auth.EUnauthenticated, "a losing rotation")
			continue
		}
		counts[results[i].Outcome]++
	}
	if counts[auth.Rotated] != 1 || counts[auth.Grace] != 0 || counts[auth.Reused] > 1 {
		t.Fatalf("outcomes %v: want exactly one rotated, no grace, at most one reused", counts)
	}
	if counts[auth.Reused] == 1 && !sessionRevoked(t, s, sess.ID) {
		t.Fatal("a reused outcome left the session live")
	}
}
