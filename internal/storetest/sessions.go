package storetest

import (
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
