package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// testLookalikeNames: a name whose auth.UsernameSkeleton is taken is a
// conflict, as a taken name is, and the look-alike is not created.
func testLookalikeNames(t *testing.T, s auth.Store) {
	alice := addUser(t, s, "alice")
	for _, name := range []string{"аlice", "alıce", "ALİCE", "a1ice", "ａlice"} {
		u := auth.User{Username: name, Role: auth.RoleUser, Active: true, PasswordHash: "h"}
		wantCode(t, s.CreateUser(t.Context(), &u, auth.Effects{}), auth.EConflict, "CreateUser "+name+" beside alice")
	}
	addUser(t, s, "alicia") // a different name still goes in
	got, err := s.UserByName(t.Context(), "alice")
	must(t, err, "UserByName alice")
	sameUser(t, got, alice)
	users, err := s.ListUsers(t.Context(), "", 100)
	must(t, err, "ListUsers")
	if len(users) != 2 {
		t.Fatalf("ListUsers: %d users, want alice and alicia", len(users))
	}
}

// hostileText is text that PostgreSQL refuses and SQLite would keep.
var hostileText = []string{"x\x00", "\x00", "a\xffb", "\xc3", "\xed\xa0\x80"}

// testHostileLookups: a lookup by a key that no store can hold finds
// nothing, the same on every backend, and never fails otherwise.
func testHostileLookups(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := addUser(t, s, "hostile")
	sess, _ := addSession(t, s, u, present(), present().Add(time.Hour))
	for _, bad := range hostileText {
		_, err := s.UserByID(ctx, bad)
		wantCode(t, err, auth.ENotFound, "UserByID")
		_, err = s.UserByName(ctx, bad)
		wantCode(t, err, auth.ENotFound, "UserByName")
		_, err = s.UserByName(ctx, "hostile"+bad)
		wantCode(t, err, auth.ENotFound, "UserByName")
		_, _, err = s.UpdateUser(ctx, bad, auth.UserUpdate{}, auth.EndSessions{}, present(), auth.Effects{})
		wantCode(t, err, auth.ENotFound, "UpdateUser")
		wantCode(t, s.SetPasswordHash(ctx, bad, "h"), auth.ENotFound, "SetPasswordHash")
		_, err = s.DeleteUser(ctx, bad, present(), false, auth.Effects{})
		wantCode(t, err, auth.ENotFound, "DeleteUser")
		_, err = s.SessionByID(ctx, bad)
		wantCode(t, err, auth.ENotFound, "SessionByID")
		_, err = s.SessionByRefreshHash(ctx, bad)
		wantCode(t, err, auth.ENotFound, "SessionByRefreshHash")
		list, err := s.ListSessions(ctx, bad, present())
		must(t, err, "ListSessions")
		revs, err := s.RevokeSessions(ctx, auth.SessionFilter{SessionID: bad}, present(), auth.Effects{})
		must(t, err, "RevokeSessions")
		events, err := s.AuditEvents(ctx, auth.AuditFilter{User: bad, Limit: 10})
		must(t, err, "AuditEvents")
		if len(list)+len(revs)+len(events) != 0 {
			t.Fatalf("lookups by %q found something: %v %v %v", bad, list, revs, events)
		}
	}
	live, err := s.SessionByID(ctx, sess.ID)
	must(t, err, "SessionByID")
	if !live.RevokedAt.IsZero() {
		t.Fatal("a hostile revocation ended a real session")
	}
}

// testHostileWrites: a write of text that no store can hold is EInvalid,
// the same on every backend, and stores nothing.
func testHostileWrites(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := addUser(t, s, "writer")
	for _, bad := range hostileText {
		nu := auth.User{Username: "new" + bad, Role: auth.RoleUser, Active: true, PasswordHash: "h"}
		wantCode(t, s.CreateUser(ctx, &nu, auth.Effects{}), auth.EInvalid, "CreateUser")
		sess := auth.Session{ID: newID(), UserID: u.ID, ExpiresAt: present().Add(time.Hour), UserAgent: "ua" + bad}
		wantCode(t, s.CreateSession(ctx, sess, token(), auth.Effects{}), auth.EInvalid, "CreateSession")
		_, err := s.RevokeToken(ctx, bad, present().Add(time.Hour), auth.Effects{})
		wantCode(t, err, auth.EInvalid, "RevokeToken")
		e := auth.AuditEvent{Event: auth.AuditLoginFailed, Username: bad}
		wantCode(t, s.RecordAudit(ctx, &e), auth.EInvalid, "RecordAudit")
		_, err = s.ListUsers(ctx, bad, 10)
		wantCode(t, err, auth.EInvalid, "ListUsers")
	}
	users, err := s.ListUsers(ctx, "", 100)
	must(t, err, "ListUsers")
	sessions, err := s.ListSessions(ctx, u.ID, present())
	must(t, err, "ListSessions")
	if len(users) != 1 || len(sessions) != 0 {
		t.Fatalf("hostile writes stored %d users, %d sessions", len(users)-1, len(sessions))
	}
}
