package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func testCreateAndGetUser(t *testing.T, s auth.Store) {
	before := present()
	u := auth.User{Username: "Ｃａｒｏｌ", Role: auth.RoleAdmin, Active: true, PasswordHash: "h1"}
	must(t, s.CreateUser(t.Context(), &u, auth.Effects{}), "CreateUser")
	if u.ID == "" || u.CreatedAt.Before(before) || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("CreateUser did not fill ID and times: %+v", u)
	}
	if u.Username != "Carol" {
		t.Errorf("Username = %q, want the NFKC form %q", u.Username, "Carol")
	}
	got, err := s.UserByID(t.Context(), u.ID)
	must(t, err, "UserByID")
	sameUser(t, got, u)
	for _, name := range []string{"carol", "CAROL", "Ｃａｒｏｌ", "ｃａｒｏｌ"} {
		got, err := s.UserByName(t.Context(), name)
		must(t, err, "UserByName "+name)
		sameUser(t, got, u)
	}
	_, err = s.UserByID(t.Context(), "0190a5c4-0000-7000-8000-000000000000")
	wantCode(t, err, auth.ENotFound, "UserByID unknown")
	_, err = s.UserByName(t.Context(), "dave")
	wantCode(t, err, auth.ENotFound, "UserByName unknown")
}

func sameUser(t *testing.T, got, want auth.User) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.Role != want.Role ||
		got.Active != want.Active || got.PasswordHash != want.PasswordHash ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("user:\n got %+v\nwant %+v", got, want)
	}
}

func testDuplicateNames(t *testing.T, s auth.Store) {
	for _, pair := range [][2]string{
		{"Alice", "alice"},
		{"bob", "ｂｏｂ"},        // fullwidth, the same after NFKC
		{"Straße", "STRASSE"}, // the same after case folding
		{"ﬁona", "fiona"},     // a ligature, the same after NFKC
	} {
		addUser(t, s, pair[0])
		u := auth.User{Username: pair[1], Role: auth.RoleUser, Active: true, PasswordHash: "h"}
		wantCode(t, s.CreateUser(t.Context(), &u, auth.Effects{}), auth.EConflict, "CreateUser "+pair[1]+" after "+pair[0])
	}
	users, err := s.ListUsers(t.Context(), "", 100)
	must(t, err, "ListUsers")
	if len(users) != 4 {
		t.Fatalf("ListUsers: %d users, want 4", len(users))
	}
}

func testListUsers(t *testing.T, s auth.Store) {
	var want []string
	for _, name := range []string{"u1", "u2", "u3", "u4", "u5"} {
		want = append(want, addUser(t, s, name).ID)
	}
	var got []string
	after := ""
	for page := 0; ; page++ {
		users, err := s.ListUsers(t.Context(), after, 2)
		must(t, err, "ListUsers")
		if len(users) > 2 || page > 3 {
			t.Fatalf("page %d has %d users", page, len(users))
		}
		if len(users) == 0 {
			break
		}
		for _, u := range users {
			got = append(got, u.ID)
		}
		after = users[len(users)-1].ID
	}
	if len(got) != len(want) {
		t.Fatalf("paged through %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("paged through %v, want creation order %v", got, want)
		}
	}
}

func testUpdateUserRevokes(t *testing.T, s auth.Store) {
	u := addUser(t, s, "erin")
	s1, _ := liveSession(t, s, u)
	s2, _ := liveSession(t, s, u)
	keep, _ := liveSession(t, s, u)
	other, _ := liveSession(t, s, addUser(t, s, "frank"))
	until := present().Add(30 * time.Minute)
	role := auth.RoleAdmin
	got, revs, err := s.UpdateUser(t.Context(), u.ID, auth.UserUpdate{Role: &role}, auth.EndSessions{All: true, Except: keep.ID}, until, auth.Effects{})
	must(t, err, "UpdateUser")
	if got.Role != auth.RoleAdmin || got.PasswordHash != u.PasswordHash || !got.Active {
		t.Fatalf("UpdateUser returned %+v", got)
	}
	wantRevocations(t, revs, until, s1.ID, s2.ID)
	for _, id := range []string{s1.ID, s2.ID} {
		if !sessionRevoked(t, s, id) || !listed(t, s, present(), auth.RevokedSession, id) {
			t.Errorf("session %s not revoked", id)
		}
	}
	if sessionRevoked(t, s, keep.ID) || sessionRevoked(t, s, other.ID) {
		t.Fatal("UpdateUser revoked the excepted session or another user's")
	}
	active, hash := false, "h2"
	got, revs, err = s.UpdateUser(t.Context(), u.ID, auth.UserUpdate{Active: &active, PasswordHash: &hash}, auth.EndSessions{All: true}, until, auth.Effects{})
	must(t, err, "UpdateUser")
	if got.Active || got.PasswordHash != "h2" || got.Role != auth.RoleAdmin {
		t.Fatalf("UpdateUser returned %+v", got)
	}
	wantRevocations(t, revs, until, keep.ID)
}

func testUpdateUserNoOp(t *testing.T, s auth.Store) {
	u := addUser(t, s, "gina")
	sess, _ := liveSession(t, s, u)
	role, active, hash := u.Role, u.Active, u.PasswordHash
	for _, up := range []auth.UserUpdate{
		{},
		{Role: &role},
		{Role: &role, Active: &active, PasswordHash: &hash},
	} {
		got, revs, err := s.UpdateUser(t.Context(), u.ID, up, auth.EndSessions{}, present().Add(time.Hour), auth.Effects{})
		must(t, err, "UpdateUser")
		if len(revs) != 0 {
			t.Fatalf("no-op UpdateUser %+v revoked %+v", up, revs)
		}
		sameUser(t, got, u)
	}
	if sessionRevoked(t, s, sess.ID) {
		t.Fatal("no-op UpdateUser revoked the session")
	}
}

func testUpdateUnknownUser(t *testing.T, s auth.Store) {
	role := auth.RoleAdmin
	for _, up := range []auth.UserUpdate{{}, {Role: &role}} {
		_, _, err := s.UpdateUser(t.Context(), "no-such-user", up, auth.EndSessions{}, present(), auth.Effects{})
		wantCode(t, err, auth.ENotFound, "UpdateUser unknown")
	}
}

func testSetPasswordHash(t *testing.T, s auth.Store) {
	u := addUser(t, s, "hank")
	sess, _ := liveSession(t, s, u)
	must(t, s.SetPasswordHash(t.Context(), u.ID, "upgraded"), "SetPasswordHash")
	got, err := s.UserByID(t.Context(), u.ID)
	must(t, err, "UserByID")
	if got.PasswordHash != "upgraded" {
		t.Fatalf("PasswordHash = %q", got.PasswordHash)
	}
	if sessionRevoked(t, s, sess.ID) {
		t.Fatal("SetPasswordHash revoked a session")
	}
	wantCode(t, s.SetPasswordHash(t.Context(), "no-such-user", "x"), auth.ENotFound, "SetPasswordHash unknown")
}

func testDeleteUser(t *testing.T, s auth.Store) {
	u := addUser(t, s, "Ivy")
	now := present()
	live, h := liveSession(t, s, u)
	addSession(t, s, u, now.Add(-2*time.Hour), now.Add(-time.Hour)) // expired
	ended, _ := liveSession(t, s, u)
	_, err := s.RevokeSessions(t.Context(), auth.SessionFilter{SessionID: ended.ID}, now.Add(time.Hour), auth.Effects{})
	must(t, err, "RevokeSessions")
	until := now.Add(30 * time.Minute)
	revs, err := s.DeleteUser(t.Context(), u.ID, until, false, auth.Effects{})
	must(t, err, "DeleteUser")
	wantRevocations(t, revs, until, live.ID)
	_, err = s.UserByID(t.Context(), u.ID)
	wantCode(t, err, auth.ENotFound, "UserByID after delete")
	_, err = s.SessionByID(t.Context(), live.ID)
	wantCode(t, err, auth.ENotFound, "SessionByID after delete")
	_, err = s.SessionByRefreshHash(t.Context(), h)
	wantCode(t, err, auth.ENotFound, "SessionByRefreshHash after delete")
	if !listed(t, s, now, auth.RevokedSession, live.ID) {
		t.Fatal("the deleted user's session is not listed as revoked")
	}
	_, err = s.DeleteUser(t.Context(), u.ID, until, false, auth.Effects{})
	wantCode(t, err, auth.ENotFound, "DeleteUser twice")
	addUser(t, s, "ivy") // the name is free again
}
