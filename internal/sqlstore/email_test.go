package sqlstore

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// eachStore runs fn, in parallel, on a new migrated SQLite store and, when
// it is configured, on a new migrated PostgreSQL store.
func eachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, closeAtEnd(t, newSQLite(t)))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, closeAtEnd(t, newPostgres(t, postgresURL(t))))
	})
}

func ok(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err error, code auth.Code, msg, what string) {
	t.Helper()
	if auth.ErrorCode(err) != code || msg != "" && auth.ErrorMessage(err) != msg {
		t.Fatalf("%s: got %v, want %s %q", what, err, code, msg)
	}
}

// wantEmailTaken wants auth.ErrEmailTaken that still carries the
// driver's error.
func wantEmailTaken(t *testing.T, s *Store, err error, what string) {
	t.Helper()
	if !errors.Is(err, auth.ErrEmailTaken) || auth.ErrorReason(err) != "email_taken" ||
		auth.ErrorCode(err) != auth.EConflict || !s.d.conflictOn(err, emailKeyIndex) {
		t.Fatalf("%s: got %v, want ErrEmailTaken with its cause", what, err)
	}
}

// createUser stores a user named name with the address email ("" for none).
func createUser(t *testing.T, s *Store, name, email string, verified bool) auth.User {
	t.Helper()
	u := auth.User{Username: name, Role: auth.RoleUser, Active: true, PasswordHash: "h", Email: email, EmailVerified: verified}
	ok(t, s.CreateUser(t.Context(), &u, auth.Effects{}), "CreateUser "+name)
	return u
}

func wantEmail(t *testing.T, u auth.User, email string, verified bool, what string) {
	t.Helper()
	if u.Email != email || u.EmailVerified != verified {
		t.Fatalf("%s: email %q verified %v, want %q %v", what, u.Email, u.EmailVerified, email, verified)
	}
}

// update applies u to the user id and returns the user as stored after.
func update(t *testing.T, s *Store, id string, u auth.UserUpdate) auth.User {
	t.Helper()
	got, _, err := s.UpdateUser(t.Context(), id, u, auth.EndSessions{}, time.Now(), auth.Effects{})
	ok(t, err, "UpdateUser")
	stored, err := s.UserByID(t.Context(), id)
	ok(t, err, "UserByID")
	if got.Email != stored.Email || got.EmailVerified != stored.EmailVerified || !got.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Fatalf("UpdateUser returned %+v, the store holds %+v", got, stored)
	}
	return stored
}

func TestEmailStored(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		a := createUser(t, s, "alice", "Alice@Example.com", true)
		wantEmail(t, a, "Alice@Example.com", true, "CreateUser's user")
		for _, addr := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", " Alice@Example.com "} {
			got, err := s.UserByEmail(ctx, addr)
			ok(t, err, "UserByEmail "+addr)
			if got.ID != a.ID {
				t.Fatalf("UserByEmail %q: %s, want alice", addr, got.ID)
			}
			wantEmail(t, got, "Alice@Example.com", true, "UserByEmail")
		}
		byName, err := s.UserByName(ctx, "alice")
		ok(t, err, "UserByName")
		wantEmail(t, byName, "Alice@Example.com", true, "UserByName")

		b := createUser(t, s, "bob", "", true) // no address is never verified
		wantEmail(t, b, "", false, "CreateUser without an address")
		createUser(t, s, "carol", "", false) // NULLs do not collide
		sess := auth.Session{ID: "s1", UserID: b.ID, ExpiresAt: time.Now().Add(time.Hour)}
		ok(t, s.CreateSession(ctx, sess, "r1", auth.Effects{}), "CreateSession")
		_, withUser, err := s.SessionWithUser(ctx, "s1")
		ok(t, err, "SessionWithUser")
		wantEmail(t, withUser, "", false, "SessionWithUser")
		users, err := s.ListUsers(ctx, "", 10)
		ok(t, err, "ListUsers")
		if len(users) != 3 || users[0].Email != "Alice@Example.com" || users[1].Email != "" {
			t.Fatalf("ListUsers: %+v", users)
		}

		for _, addr := range []string{"", " ", "nobody@example.com", "alice@example.com\x00", "\xff@example.com"} {
			_, err := s.UserByEmail(ctx, addr)
			wantErr(t, err, auth.ENotFound, "User not found", "UserByEmail "+addr)
		}
		bad := auth.User{Username: "dave", Role: auth.RoleUser, PasswordHash: "h", Email: "d\x00@example.com"}
		wantErr(t, s.CreateUser(ctx, &bad, auth.Effects{}), auth.EInvalid, "", "CreateUser with a NUL in the address")
	})
}

func TestEmailUnique(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		a := createUser(t, s, "alice", "alice@example.com", false)
		dup := auth.User{Username: "alicia", Role: auth.RoleUser, PasswordHash: "h", Email: "ALICE@Example.COM"}
		wantEmailTaken(t, s, s.CreateUser(ctx, &dup, auth.Effects{}), "CreateUser with alice's address in capitals")
		if _, err := s.UserByName(ctx, "alicia"); auth.ErrorCode(err) != auth.ENotFound {
			t.Fatalf("the refused user was stored: %v", err)
		}
		// A taken name is the old conflict, not a taken address.
		for _, name := range []string{"ALICE", "аlice"} { // the second in Cyrillic: a look-alike
			same := auth.User{Username: name, Role: auth.RoleUser, PasswordHash: "h", Email: "other@example.com"}
			err := s.CreateUser(ctx, &same, auth.Effects{})
			wantErr(t, err, auth.EConflict, "Username already exists", "CreateUser "+name)
			if errors.Is(err, auth.ErrEmailTaken) || auth.ErrorReason(err) != string(auth.EConflict) {
				t.Fatalf("a taken username reads as a taken address: %v", err)
			}
		}

		b := createUser(t, s, "bob", "bob@example.com", true)
		_, _, err := s.UpdateUser(ctx, b.ID, auth.UserUpdate{Email: new("Alice@EXAMPLE.com")}, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantEmailTaken(t, s, err, "UpdateUser to alice's address")
		got, err := s.UserByID(ctx, b.ID)
		ok(t, err, "UserByID")
		wantEmail(t, got, "bob@example.com", true, "bob after the refused change")

		// Once alice lets her address go, bob can take it.
		update(t, s, a.ID, auth.UserUpdate{Email: new("")})
		wantEmail(t, update(t, s, b.ID, auth.UserUpdate{Email: new("Alice@example.com")}), "Alice@example.com", false, "bob")
	})
}

func TestUpdateUserEmail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "user", "", false)
		id := u.ID
		wantEmail(t, update(t, s, id, auth.UserUpdate{EmailVerified: new(true)}), "", false, "verified without an address")
		wantEmail(t, update(t, s, id, auth.UserUpdate{Email: new("a@example.com")}), "a@example.com", false, "a first address")
		wantEmail(t, update(t, s, id, auth.UserUpdate{EmailVerified: new(true)}), "a@example.com", true, "verified alone")
		wantEmail(t, update(t, s, id, auth.UserUpdate{Email: new("A@Example.com")}), "A@Example.com", true, "the same key in other case")
		wantEmail(t, update(t, s, id, auth.UserUpdate{Email: new("a@example.com"), EmailVerified: new(false)}),
			"a@example.com", false, "the same key, unverified")
		update(t, s, id, auth.UserUpdate{EmailVerified: new(true)})
		wantEmail(t, update(t, s, id, auth.UserUpdate{Email: new("b@example.com")}), "b@example.com", false, "another address")
		wantEmail(t, update(t, s, id, auth.UserUpdate{Email: new("c@example.com"), EmailVerified: new(true)}),
			"c@example.com", true, "another address, vouched for")
		wantEmail(t, update(t, s, id, auth.UserUpdate{Email: new(""), EmailVerified: new(true)}), "", false, "no address")
		if _, err := s.UserByEmail(ctx, "c@example.com"); auth.ErrorCode(err) != auth.ENotFound {
			t.Fatalf("UserByEmail of a removed address: %v", err)
		}

		// A change to nothing new leaves updated_at alone.
		before := update(t, s, id, auth.UserUpdate{Email: new("d@example.com"), EmailVerified: new(true)})
		time.Sleep(2 * time.Millisecond)
		after := update(t, s, id, auth.UserUpdate{Email: new("d@example.com"), EmailVerified: new(true)})
		if !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("a no-op moved updated_at from %v to %v", before.UpdatedAt, after.UpdatedAt)
		}

		_, _, err := s.UpdateUser(ctx, id, auth.UserUpdate{Email: new("x\x00@example.com")}, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantErr(t, err, auth.EInvalid, "", "UpdateUser to a NUL address")
		_, _, err = s.UpdateUser(ctx, id, auth.UserUpdate{EmailVerified: new(false), EmailWas: new("d\x00@example.com")}, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantErr(t, err, auth.ENotFound, "User not found", "UpdateUser guarded by a NUL address")
	})
}

// TestUpdateUserEmailWas: an update guarded by the address applies only
// while the account still has it (by key), no-op or not, and a stale guard
// changes and ends nothing.
func TestUpdateUserEmailWas(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := createUser(t, s, "user", "old@example.com", false)
		sess := auth.Session{ID: "s1", UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
		ok(t, s.CreateSession(ctx, sess, "r1", auth.Effects{}), "CreateSession")
		end := auth.EndSessions{All: true}
		audit := auth.Effects{Audit: []auth.AuditEvent{{Event: auth.AuditEmailVerified}}}
		for _, tc := range []struct {
			name string
			u    auth.UserUpdate
		}{
			{"a change", auth.UserUpdate{EmailVerified: new(true), EmailWas: new("other@example.com")}},
			{"a no-op", auth.UserUpdate{EmailVerified: new(false), EmailWas: new("other@example.com")}},
			{"an empty update", auth.UserUpdate{EmailWas: new("other@example.com")}},
			{"no address", auth.UserUpdate{EmailVerified: new(true), EmailWas: new("")}},
		} {
			_, revs, err := s.UpdateUser(ctx, u.ID, tc.u, end, time.Now().Add(time.Hour), audit)
			wantErr(t, err, auth.ENotFound, "User not found", tc.name+" with a stale guard")
			if len(revs) != 0 {
				t.Fatalf("%s with a stale guard revoked %v", tc.name, revs)
			}
		}
		got, err := s.SessionByID(ctx, "s1")
		ok(t, err, "SessionByID")
		events, err := s.AuditEvents(ctx, auth.AuditFilter{Limit: 10})
		ok(t, err, "AuditEvents")
		if !got.RevokedAt.IsZero() || len(events) != 0 {
			t.Fatalf("stale guards ended the session (%v) or wrote events %v", got.RevokedAt, events)
		}
		wantEmail(t, update(t, s, u.ID, auth.UserUpdate{EmailVerified: new(false), EmailWas: new("OLD@example.com")}),
			"old@example.com", false, "a no-op under a good guard")
		user, revs, err := s.UpdateUser(ctx, u.ID, auth.UserUpdate{EmailVerified: new(true), EmailWas: new("Old@Example.com")},
			end, time.Now().Add(time.Hour), audit)
		ok(t, err, "UpdateUser under a good guard")
		wantEmail(t, user, "old@example.com", true, "under a good guard")
		if len(revs) != 1 {
			t.Fatalf("revocations %v, want the one session", revs)
		}
		// The guard reads the address before the change: moving the
		// account to a new address under the old one's guard works once.
		move := auth.UserUpdate{Email: new("new@example.com"), EmailVerified: new(true), EmailWas: new("old@example.com")}
		wantEmail(t, update(t, s, u.ID, move), "new@example.com", true, "moved")
		_, _, err = s.UpdateUser(ctx, u.ID, move, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantErr(t, err, auth.ENotFound, "User not found", "the same move again")
		_, _, err = s.UpdateUser(ctx, "no-such-user", auth.UserUpdate{EmailWas: new("new@example.com")}, auth.EndSessions{}, time.Now(), auth.Effects{})
		wantErr(t, err, auth.ENotFound, "User not found", "an unknown user")
	})
}
