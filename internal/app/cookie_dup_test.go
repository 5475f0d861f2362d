package app

import (
	"net/http"
	"testing"
)

// A sibling host can plant a cookie of the same name (no __Host- prefix
// stops it when GATEHOUSE_COOKIE_DOMAIN is set, or on plain http), and a
// browser then sends both: whichever is read first would win. A request
// carrying a session cookie twice is refused instead, with 401, and no
// cookie is cleared (clearing ours would leave only the planted one).
func TestDuplicatedSessionCookiesAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victimAccess, victimRefresh := e.cookieLogin("alice", "secret123")
	attackerAccess, attackerRefresh := e.cookieLogin("bob", "password456")
	// Each alone works.
	if r := e.do("GET", "/me", "", nil, sameOrigin(e, victimAccess)...); r.status != 200 || r.str(t, "username") != "alice" {
		t.Fatalf("the access cookie alone: %d %s", r.status, r.body)
	}

	for _, order := range [][]*http.Cookie{{attackerAccess, victimAccess}, {victimAccess, attackerAccess}, {victimAccess, victimAccess}} {
		r := e.do("GET", "/me", "", nil, sameOrigin(e, order...)...)
		expect(t, r, 401, "Could not validate credentials")
		if len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("a refused duplicate cleared cookies: %v", r.header.Values("Set-Cookie"))
		}
	}
	// An empty planted cookie counts too.
	empty := &http.Cookie{Name: accessName, Value: ""}
	expect(t, e.do("GET", "/me", "", nil, sameOrigin(e, empty, victimAccess)...), 401, "Could not validate credentials")

	for _, order := range [][]*http.Cookie{{attackerRefresh, victimRefresh}, {victimRefresh, attackerRefresh}} {
		r := e.do("POST", "/auth/refresh", "", nil, sameOrigin(e, order...)...)
		expect(t, r, 401, "Invalid or expired refresh token")
		if len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("a refused duplicate cleared cookies: %v", r.header.Values("Set-Cookie"))
		}
	}
	// Nothing was used up by the refused requests: the victim's refresh
	// cookie still works alone.
	expect(t, e.do("POST", "/auth/refresh", "", nil, sameOrigin(e, victimRefresh)...), 200, "")
}
