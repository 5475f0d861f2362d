// Package storetest is the conformance suite of auth.Store: every backend
// runs Run in its tests, so that all of them honour the contract written
// in the interface docs of internal/auth (the errors each method returns,
// the single winner of concurrent rotations, the revocation cursor, the
// audit trail's filters and paging, the single consumer of a one-time
// secret).
//
// The tests pass explicit times instead of sleeping. Methods that take no
// time (UpdateUser, DeleteUser, RevokeSessions) use the store's clock, so
// the sessions they touch are built around the real present.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Run runs the suite. Each subtest runs in parallel with the others and
// calls open for a store of its own, empty and migrated; Run closes it when
// the subtest ends, before the cleanups that open registered run.
func Run(t *testing.T, open func(t *testing.T) auth.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s auth.Store)
	}{
		{"Ping", testPing},
		{"Users/CreateAndGet", testCreateAndGetUser},
		{"Users/DuplicateNames", testDuplicateNames},
		{"Users/LookalikeNames", testLookalikeNames},
		{"Input/HostileLookups", testHostileLookups},
		{"Input/HostileWrites", testHostileWrites},
		{"Users/ListPaging", testListUsers},
		{"Users/UpdateRevokes", testUpdateUserRevokes},
		{"Users/UpdateNoOp", testUpdateUserNoOp},
		{"Users/UpdateUnknown", testUpdateUnknownUser},
		{"Users/UpdateEndsOnlyWhatItIsTold", testUpdateUserEndsOnlyWhatItIsTold},
		{"Users/SetPasswordHash", testSetPasswordHash},
		{"Users/Delete", testDeleteUser},
		{"Sessions/CreateAndGet", testCreateAndGetSession},
		{"Sessions/UnknownUser", testSessionUnknownUser},
		{"Sessions/List", testListSessions},
		{"Sessions/RevokeOne", testRevokeSession},
		{"Sessions/RevokeAllButOne", testRevokeUserSessions},
		{"Sessions/Authentication", testSessionAuthentication},
		{"Sessions/Cap", testSessionCap},
		{"Sessions/Rate", testSessionRate},
		{"Rotate/Rotated", testRotated},
		{"Rotate/Grace", testGrace},
		{"Rotate/Reused", testReused},
		{"Rotate/ReusedNoInterval", testReusedNoInterval},
		{"Rotate/UnknownToken", testRotateUnknown},
		{"Rotate/ExpiredSession", testRotateExpired},
		{"Rotate/RevokedSession", testRotateRevoked},
		{"Rotate/Concurrent", testRotateConcurrent},
		{"Revocations/Cursor", testRevocationCursor},
		{"Revocations/Page", testRevocationsPage},
		{"Revocations/Duplicates", testDuplicateRevocations},
		{"Revocations/Prune", testPrune},
		{"Keys/Init", testInitSigningKey},
		{"Keys/InitConcurrent", testInitSigningKeyConcurrent},
		{"Keys/Rotate", testRotateSigningKey},
		{"Keys/Ordering", testSigningKeyOrder},
		{"Keys/ReplacePrivate", testReplacePrivateKey},
		{"Keys/ReplacePrivateConcurrent", testReplacePrivateKeyConcurrent},
		{"Audit/Record", testRecordAudit},
		{"Audit/Filters", testAuditFilters},
		{"Audit/Paging", testAuditPaging},
		{"Audit/Prune", testPruneAudit},
		{"Secrets/Lifecycle", testSecretLifecycle},
		{"Secrets/Attempts", testSecretAttempts},
		{"Secrets/Void", testSecretVoid},
		{"Secrets/Concurrent", testSecretConcurrent},
		{"Identities/Lifecycle", testIdentityLifecycle},
		{"Identities/UnlinkConcurrent", testUnlinkConcurrent},
		{"Identities/OAuthState", testOAuthState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

func testPing(t *testing.T, s auth.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// present is the real time at millisecond precision (what stores keep).
func present() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code auth.Code, what string) {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("%s: got error %v, want code %s", what, err, code)
	}
}

// must fails the test on an error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// token returns a fresh SHA-256 hex hash, as a refresh token is stored.
func token() string {
	b := make([]byte, 32)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// newID returns a random id for a session or a token.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// addUser creates a user with the given name, role "user", active.
func addUser(t *testing.T, s auth.Store, name string) auth.User {
	t.Helper()
	u := auth.User{Username: name, Role: auth.RoleUser, Active: true, PasswordHash: "$argon2id$v=19$x"}
	must(t, s.CreateUser(t.Context(), &u, auth.Effects{}), "CreateUser "+name)
	return u
}

// addSession creates a session of u, created at created and expiring at
// expires, and returns it with the hash of its first refresh token.
func addSession(t *testing.T, s auth.Store, u auth.User, created, expires time.Time) (auth.Session, string) {
	t.Helper()
	sess := auth.Session{
		ID: newID(), UserID: u.ID, CreatedAt: created, RefreshedAt: created, ExpiresAt: expires,
		UserAgent: "storetest/1.0", IP: "192.0.2.7",
	}
	h := token()
	must(t, s.CreateSession(t.Context(), sess, h, auth.Effects{}), "CreateSession")
	return sess, h
}

// liveSession creates a session of u that is live now by the real clock.
func liveSession(t *testing.T, s auth.Store, u auth.User) (auth.Session, string) {
	t.Helper()
	now := present()
	return addSession(t, s, u, now, now.Add(time.Hour))
}

// sameSession fails unless got has want's fields (times compared by Equal).
func sameSession(t *testing.T, got, want auth.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.UserAgent != want.UserAgent ||
		got.IP != want.IP || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.RefreshedAt.Equal(want.RefreshedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.RevokedAt.Equal(want.RevokedAt) {
		t.Fatalf("session:\n got %+v\nwant %+v", got, want)
	}
}

// sessionRevoked reports whether the stored session has been revoked.
func sessionRevoked(t *testing.T, s auth.Store, id string) bool {
	t.Helper()
	sess, err := s.SessionByID(t.Context(), id)
	must(t, err, "SessionByID")
	return !sess.RevokedAt.IsZero()
}

// wantRevocations fails unless revs revoke exactly the sessions ids, each
// until until.
func wantRevocations(t *testing.T, revs []auth.Revocation, until time.Time, ids ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, r := range revs {
		if r.Kind != auth.RevokedSession || !r.ExpiresAt.Equal(until) {
			t.Errorf("revocation %+v: want kind session, expiry %v", r, until)
		}
		got[r.ID] = true
	}
	if len(revs) != len(ids) {
		t.Fatalf("got %d revocations %+v, want sessions %v", len(revs), revs, ids)
	}
	for _, id := range ids {
		if !got[id] {
			t.Fatalf("revocations %+v lack session %s", revs, id)
		}
	}
}

// listed reports whether the store's current revocations name id.
func listed(t *testing.T, s auth.Store, now time.Time, kind auth.RevocationKind, id string) bool {
	t.Helper()
	revs, _, err := s.Revocations(t.Context(), now)
	must(t, err, "Revocations")
	for _, r := range revs {
		if r.Kind == kind && r.ID == id {
			return true
		}
	}
	return false
}

// waitCtx returns a context for work that may wait for locks.
func waitCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}
