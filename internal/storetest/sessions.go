package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func testCreateAndGetSession(t *testing.T, s auth.Store) {
	u := addUser(t, s, "jack")
	now := present()
	sess, h := addSession(t, s, u, now, now.Add(7*24*time.Hour))
	got, err := s.SessionByID(t.Context(), sess.ID)
	must(t, err, "SessionByID")
	sameSession(t, got, sess)
	got, err = s.SessionByRefreshHash(t.Context(), h)
	must(t, err, "SessionByRefreshHash")
	sameSession(t, got, sess)
	_, err = s.SessionByID(t.Context(), "no-such-session")
	wantCode(t, err, auth.ENotFound, "SessionByID unknown")
	_, err = s.SessionByRefreshHash(t.Context(), token())
	wantCode(t, err, auth.ENotFound, "SessionByRefreshHash unknown")
}

func testSessionUnknownUser(t *testing.T, s auth.Store) {
	now := present()
	sess := auth.Session{ID: newID(), UserID: "no-such-user", CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(time.Hour)}
	wantCode(t, s.CreateSession(t.Context(), sess, token(), auth.Effects{}), auth.ENotFound, "CreateSession for an unknown user")
	_, err := s.SessionByID(t.Context(), sess.ID)
	wantCode(t, err, auth.ENotFound, "SessionByID after a failed CreateSession")
}

func testListSessions(t *testing.T, s auth.Store) {
	u := addUser(t, s, "kim")
	now := present()
	older, _ := addSession(t, s, u, now.Add(-3*time.Hour), now.Add(time.Hour))
	newer, _ := addSession(t, s, u, now.Add(-time.Hour), now.Add(time.Hour))
	addSession(t, s, u, now.Add(-2*time.Hour), now.Add(-time.Minute)) // expired
	revoked, _ := addSession(t, s, u, now.Add(-2*time.Hour), now.Add(time.Hour))
	_, err := s.RevokeSessions(t.Context(), auth.SessionFilter{SessionID: revoked.ID}, now.Add(time.Hour), auth.Effects{})
	must(t, err, "RevokeSessions")
	liveSession(t, s, addUser(t, s, "lee")) // another user's
	got, err := s.ListSessions(t.Context(), u.ID, now)
	must(t, err, "ListSessions")
	if len(got) != 2 {
		t.Fatalf("ListSessions: %d sessions %+v, want 2", len(got), got)
	}
	sameSession(t, got[0], newer)
	sameSession(t, got[1], older)
	got, err = s.ListSessions(t.Context(), u.ID, now.Add(2*time.Hour))
	must(t, err, "ListSessions later")
	if len(got) != 0 {
		t.Fatalf("ListSessions after every expiry: %+v", got)
	}
}

func testRevokeSession(t *testing.T, s auth.Store) {
	u := addUser(t, s, "max")
	sess, _ := liveSession(t, s, u)
	other, _ := liveSession(t, s, u)
	stranger := addUser(t, s, "nia")
	until := present().Add(time.Hour)
	revs, err := s.RevokeSessions(t.Context(), auth.SessionFilter{UserID: stranger.ID, SessionID: sess.ID}, until, auth.Effects{})
	must(t, err, "RevokeSessions of another user's session")
	if len(revs) != 0 || sessionRevoked(t, s, sess.ID) {
		t.Fatalf("a filter on user %s revoked a session of user %s: %+v", stranger.ID, u.ID, revs)
	}
	revs, err = s.RevokeSessions(t.Context(), auth.SessionFilter{UserID: u.ID, SessionID: sess.ID}, until, auth.Effects{})
	must(t, err, "RevokeSessions")
	wantRevocations(t, revs, until, sess.ID)
	got, err := s.SessionByID(t.Context(), sess.ID)
	must(t, err, "SessionByID")
	if got.RevokedAt.IsZero() || got.Live(present()) {
		t.Fatalf("revoked session %+v", got)
	}
	revs, err = s.RevokeSessions(t.Context(), auth.SessionFilter{SessionID: sess.ID}, until, auth.Effects{})
	must(t, err, "RevokeSessions again")
	if len(revs) != 0 {
		t.Fatalf("revoking an ended session again returned %+v", revs)
	}
	if sessionRevoked(t, s, other.ID) {
		t.Fatal("RevokeSessions revoked another session")
	}
	if !listed(t, s, present(), auth.RevokedSession, sess.ID) {
		t.Fatal("the revoked session is not listed")
	}
}

func testRevokeUserSessions(t *testing.T, s auth.Store) {
	u := addUser(t, s, "olga")
	now := present()
	a, _ := liveSession(t, s, u)
	b, _ := liveSession(t, s, u)
	keep, _ := liveSession(t, s, u)
	addSession(t, s, u, now.Add(-2*time.Hour), now.Add(-time.Hour)) // expired: left alone
	other, _ := liveSession(t, s, addUser(t, s, "pat"))
	until := now.Add(time.Hour)
	revs, err := s.RevokeSessions(t.Context(), auth.SessionFilter{UserID: u.ID, ExceptSessionID: keep.ID}, until, auth.Effects{})
	must(t, err, "RevokeSessions")
	wantRevocations(t, revs, until, a.ID, b.ID)
	if sessionRevoked(t, s, keep.ID) || sessionRevoked(t, s, other.ID) {
		t.Fatal("RevokeSessions revoked the excepted session or another user's")
	}
	revs, err = s.RevokeSessions(t.Context(), auth.SessionFilter{UserID: u.ID}, until, auth.Effects{})
	must(t, err, "RevokeSessions all")
	wantRevocations(t, revs, until, keep.ID)
}

// testSessionCap: with KeepNewest, only the user's sessions beyond the
// newest N end, and the effects are written only when one does.
func testSessionCap(t *testing.T, s auth.Store) {
	u, other := addUser(t, s, "capri"), addUser(t, s, "otto")
	now := present()
	var ids []string
	for i := range 5 {
		sess, _ := addSession(t, s, u, now.Add(time.Duration(i)*time.Second), now.Add(time.Hour))
		ids = append(ids, sess.ID)
	}
	theirs, _ := liveSession(t, s, other)
	events := 0
	fx := auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditSessionEnded, Detail: "cap"}}}
	count := func() {
		got, err := s.AuditEvents(t.Context(), auth.AuditFilter{Event: auth.AuditSessionEnded, Limit: 10})
		must(t, err, "AuditEvents")
		events = len(got)
	}
	revs, err := s.RevokeSessions(t.Context(), auth.SessionFilter{UserID: u.ID, KeepNewest: 3}, now.Add(time.Hour), fx)
	must(t, err, "RevokeSessions KeepNewest")
	wantRevocations(t, revs, now.Add(time.Hour), ids[0], ids[1])
	count()
	if events != 1 {
		t.Fatalf("%d session.ended events, want 1", events)
	}
	revs, err = s.RevokeSessions(t.Context(), auth.SessionFilter{UserID: u.ID, KeepNewest: 3}, now.Add(time.Hour), fx)
	must(t, err, "RevokeSessions KeepNewest again")
	count()
	if len(revs) != 0 || events != 1 {
		t.Fatalf("under the cap: %d revocations, %d events", len(revs), events)
	}
	for _, id := range append(ids[2:], theirs.ID) {
		if sessionRevoked(t, s, id) {
			t.Fatalf("session %s ended", id)
		}
	}
}

// testSessionRate: past its rate a session's rotation is refused with
// ETooMany and the presented token stays usable; once the window has
// passed the same token rotates.
func testSessionRate(t *testing.T, s auth.Store) {
	u := addUser(t, s, "rita")
	now := present()
	sess, h := addSession(t, s, u, now, now.Add(time.Hour))
	rate := auth.Rate{Max: 3, Window: time.Minute}
	rotate := func(from string, at time.Time) (string, error) {
		next := token()
		_, err := s.RotateRefreshToken(t.Context(), auth.Rotation{PresentedHash: from, NewHash: next, Now: at,
			SessionTTL: time.Hour, RevokeUntil: at.Add(time.Hour), SessionRate: rate})
		return next, err
	}
	for i := range 3 {
		next, err := rotate(h, now.Add(time.Duration(i)*time.Second))
		must(t, err, "rotation within the rate")
		h = next
	}
	_, err := rotate(h, now.Add(3*time.Second))
	wantCode(t, err, auth.ETooMany, "rotation past the rate")
	var ae *auth.Error
	if errors.As(err, &ae) && (ae.RetryAfter < 50*time.Second || ae.RetryAfter > time.Minute) {
		t.Fatalf("RetryAfter %v, want about 57s", ae.RetryAfter)
	}
	if sessionRevoked(t, s, sess.ID) {
		t.Fatal("a session over its rate was revoked")
	}
	_, err = rotate(h, now.Add(61*time.Second))
	must(t, err, "the refused token after the window")
}
