package app

import (
	"fmt"
	"strings"
	"testing"
)

func TestSignup(t *testing.T) {
	t.Parallel()
	closed := newEnv(t)
	expect(t, closed.do("POST", "/auth/signup", "", map[string]string{"username": "carol", "password": "long enough pw"}), 403, "Signup is disabled")

	cfg := testConfig(t)
	cfg.Signup = "open"
	e := start(t, cfg)
	r := e.do("POST", "/auth/signup", "", map[string]string{"username": "carol", "password": "long enough pw"})
	expect(t, r, 201, "")
	if r.str(t, "username") != "carol" || r.str(t, "role") != "user" || r.str(t, "id") == "" {
		t.Fatalf("signup %s", r.body)
	}
	e.login("carol", "long enough pw")
	expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "CAROL", "password": "long enough pw"}), 409, "")
	expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "ｃａｒｏｌ", "password": "long enough pw"}), 409, "")
	expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "dave", "password": "short"}), 422, "")
	for _, common := range []string{"password123", "Qwerty123456", "iloveyou"} {
		expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "dave", "password": common}), 422,
			"password is too common: choose one that is not on lists of often-used passwords")
	}
	long := strings.Repeat("a long passphrase with spaces ", 4) // 120 characters
	expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "dave", "password": long}), 201, "")
	e.login("dave", long)
	for _, bad := range []string{"", "has space", "semi;colon", string(make([]byte, 65))} {
		expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": bad, "password": "long enough pw"}), 422, "")
	}
	expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "d.o_t-s@x", "password": "long enough pw"}), 201, "")
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	here, elsewhere := e.login("bob", "password456"), e.login("bob", "password456")
	expect401(t, e.do("PUT", "/me/password", here.access, map[string]string{"current_password": "wrong", "new_password": "a new passphrase"}), "Current password is incorrect")
	expect(t, e.do("PUT", "/me/password", here.access, map[string]string{"current_password": "password456", "new_password": "short"}), 422, "")
	expect(t, e.do("PUT", "/me/password", here.access, map[string]string{"current_password": "password456", "new_password": "letmein123"}), 422, "")
	expect(t, e.invalid("new_password missing").do("PUT", "/me/password", here.access, map[string]string{"current_password": "password456"}), 422, "Field required: new_password")
	expect(t, e.do("PUT", "/me/password", here.access, map[string]string{"current_password": "password456", "new_password": "a new passphrase"}), 204, "")

	expect(t, e.do("GET", "/me", here.access, nil), 200, "")
	expect401(t, e.do("GET", "/me", elsewhere.access, nil), "Could not validate credentials")
	expect401(t, e.refresh(elsewhere.refresh), "Invalid or expired refresh token")
	expect401(t, e.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"}), "Invalid username or password")
	e.login("bob", "a new passphrase")
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.login("alice", "secret123")
	bob := e.login("bob", "password456")
	expect(t, e.do("GET", "/admin/users", bob.access, nil), 403, "Admin access required")
	expect401(t, e.invalid("no credentials").do("GET", "/admin/users", "", nil), "Not authenticated")

	for i := range 5 {
		r := e.do("POST", "/admin/users", admin.access, map[string]any{"username": fmt.Sprintf("user%d", i), "password": "password-" + fmt.Sprint(i), "role": "user", "is_active": true})
		expect(t, r, 201, "")
		m := r.json(t)
		if m["is_active"] != true || m["created_at"] == nil || m["role"] != "user" {
			t.Fatalf("created %s", r.body)
		}
	}
	expect(t, e.do("POST", "/admin/users", admin.access, map[string]any{"username": "User0", "password": "password-x"}), 409, "")
	expect(t, e.do("POST", "/admin/users", admin.access, map[string]any{"username": "eve", "password": "password-x", "role": "Bad Role"}), 422, "")

	// Paging through 7 users, 3 at a time.
	seen, cursor := 0, ""
	for page := 0; ; page++ {
		r := e.do("GET", "/admin/users?limit=3&cursor="+cursor, admin.access, nil)
		expect(t, r, 200, "")
		m := r.json(t)
		seen += len(m["users"].([]any))
		next, ok := m["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = next
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if seen != 7 {
		t.Fatalf("paged through %d users, want 7", seen)
	}
	expect(t, e.invalid("limit below 1").do("GET", "/admin/users?limit=0", admin.access, nil), 422, "")

	bobID := e.do("GET", "/me", bob.access, nil).str(t, "id")
	r := e.do("GET", "/admin/users/"+bobID, admin.access, nil)
	expect(t, r, 200, "")
	if r.str(t, "username") != "bob" {
		t.Fatalf("get %s", r.body)
	}
	expect(t, e.do("GET", "/admin/users/nope", admin.access, nil), 404, "")
	expect(t, e.do("PATCH", "/admin/users/nope", admin.access, map[string]any{"role": "admin"}), 404, "")

	// Sessions of bob, then end one.
	r = e.do("GET", "/admin/users/"+bobID+"/sessions", admin.access, nil)
	expect(t, r, 200, "")
	list := r.json(t)["sessions"].([]any)
	if len(list) != 1 {
		t.Fatalf("sessions %s", r.body)
	}
	s := list[0].(map[string]any)
	for _, k := range []string{"id", "created_at", "refreshed_at", "expires_at", "user_agent", "ip"} {
		if _, ok := s[k]; !ok {
			t.Fatalf("session lacks %s: %v", k, s)
		}
	}
	expect(t, e.do("DELETE", "/admin/sessions/"+s["id"].(string), admin.access, nil), 204, "")
	expect401(t, e.do("GET", "/me", bob.access, nil), "Could not validate credentials")
	expect(t, e.do("DELETE", "/admin/sessions/nope", admin.access, nil), 404, "")

	// A role change ends the sessions: the old token must not keep its role.
	bob = e.login("bob", "password456")
	r = e.do("PATCH", "/admin/users/"+bobID, admin.access, map[string]any{"role": "admin"})
	expect(t, r, 200, "")
	if r.str(t, "role") != "admin" {
		t.Fatalf("patch %s", r.body)
	}
	expect401(t, e.do("GET", "/me", bob.access, nil), "Could not validate credentials")
	bob = e.login("bob", "password456")
	expect(t, e.do("GET", "/admin/dashboard", bob.access, nil), 200, "")

	// A password set by the admin ends the sessions too.
	expect(t, e.do("PATCH", "/admin/users/"+bobID, admin.access, map[string]any{"password": "reset by admin"}), 200, "")
	expect401(t, e.do("GET", "/me", bob.access, nil), "Could not validate credentials")
	bob = e.login("bob", "reset by admin")

	// Deletion: 204, tokens dead, 404 after.
	expect(t, e.do("DELETE", "/admin/users/"+bobID, admin.access, nil), 204, "")
	expect401(t, e.do("GET", "/me", bob.access, nil), "Could not validate credentials")
	expect401(t, e.refresh(bob.refresh), "Invalid or expired refresh token")
	expect(t, e.do("GET", "/admin/users/"+bobID, admin.access, nil), 404, "")
	expect(t, e.do("DELETE", "/admin/users/"+bobID, admin.access, nil), 404, "")
}
