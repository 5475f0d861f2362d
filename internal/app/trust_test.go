package app

import (
	"testing"

	"github.com/google/uuid"
)

// TestStoreTrust: Gatehouse's own endpoints believe a correctly signed
// token only as far as the store does. Each token below is signed with the
// server's own key (an attacker who holds it, or an HS256 secret, can mint
// any claims), and names a user or session the store does not stand
// behind: every protected endpoint answers 401, as for a revoked token,
// and nothing changes. The admin check takes the role from the store.
func TestStoreTrust(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newForge(t, e)
	alice := e.login("alice", "secret123")
	_, aliceClaims := segments(t, alice.access)
	header := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": f.kid}
	sign := func(changes map[string]any) string { return f.signES256(header, f.with(changes), f.server) }

	ghost := uuid.NewString()
	untrusted := map[string]string{
		"no such user or session":           sign(map[string]any{"sub": ghost, "sid": "AAAAAAAAAAAAAAAAAAAAAA", "username": "ghost", "role": "admin"}),
		"bob with a made-up session":        sign(map[string]any{"sid": "BBBBBBBBBBBBBBBBBBBBBB"}),
		"bob naming alice's session":        sign(map[string]any{"sid": aliceClaims["sid"]}),
		"a made-up user in alice's session": sign(map[string]any{"sub": ghost, "sid": aliceClaims["sid"], "role": "admin"}),
	}
	before := len(e.do("GET", "/admin/users?limit=200", alice.access, nil).json(t)["users"].([]any))
	for name, tok := range untrusted {
		for _, rq := range []struct{ method, path string }{
			{"GET", "/me"}, {"GET", "/admin/dashboard"}, {"GET", "/admin/users"},
			{"POST", "/auth/logout"}, {"PUT", "/me/password"},
		} {
			expect401(t, e.do(rq.method, rq.path, tok, map[string]any{"current_password": "x", "new_password": "y-long-enough"}), "Could not validate credentials")
		}
		// The review's attack: an administrator created with a minted token.
		r := e.do("POST", "/admin/users", tok, map[string]any{"username": "mallory", "password": "mallory-pass-1", "role": "admin"})
		expect401(t, r, "Could not validate credentials")
		expect401(t, e.do("POST", "/auth/revoke", tok, map[string]any{"token": alice.access}), "Could not validate credentials")
		t.Logf("%s: refused", name)
	}
	if after := len(e.do("GET", "/admin/users?limit=200", alice.access, nil).json(t)["users"].([]any)); after != before {
		t.Fatalf("users went from %d to %d", before, after)
	}
	expect(t, e.do("GET", "/me", alice.access, nil), 200, "") // alice's session was not ended by the attempts

	// bob's real session, with the role claim changed: the store's role
	// wins, for the admin check and for what /me shows.
	promoted := sign(map[string]any{"role": "admin", "username": "root"})
	expect(t, e.do("GET", "/admin/dashboard", promoted, nil), 403, "Admin access required")
	me := e.do("GET", "/me", promoted, nil)
	expect(t, me, 200, "")
	if me.str(t, "role") != "user" || me.str(t, "username") != "bob" {
		t.Fatalf("/me with a forged role: %s", me.body)
	}
}
