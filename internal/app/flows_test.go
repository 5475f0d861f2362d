package app

import (
	"github.com/gatehouse/gatehouse/internal/auth"
	"strings"
	"testing"
	"time"
)

func TestTutorialFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	r := e.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "secret123"})
	expect(t, r, 200, "")
	body := r.json(t)
	if body["token_type"] != "bearer" || body["expires_in"] != float64(1800) {
		t.Fatalf("login body %s", r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on a token response", cc)
	}
	access, refresh := r.str(t, "access_token"), r.str(t, "refresh_token")
	h, c := segments(t, access)
	if h["alg"] != "ES256" || h["typ"] != "at+jwt" || h["kid"] == "" {
		t.Fatalf("header %v", h)
	}
	for _, k := range []string{"iss", "sub", "exp", "iat", "nbf", "jti", "sid", "type", "username", "role"} {
		if _, ok := c[k]; !ok {
			t.Fatalf("claim %s missing in %v", k, c)
		}
	}
	if c["type"] != "access" || c["username"] != "alice" || c["role"] != "admin" || c["iss"] != testIssuer {
		t.Fatalf("claims %v", c)
	}
	if strings.Count(refresh, ".") != 0 || len(refresh) < 43 {
		t.Fatalf("refresh token %q is not opaque", refresh)
	}

	r = e.do("GET", "/me", access, nil)
	expect(t, r, 200, "")
	if r.str(t, "username") != "alice" || r.str(t, "role") != "admin" || r.str(t, "id") != c["sub"] {
		t.Fatalf("/me %s", r.body)
	}
	r = e.do("GET", "/admin/dashboard", access, nil)
	expect(t, r, 200, "")
	if r.str(t, "message") != "Welcome, alice. Here's the admin dashboard." {
		t.Fatalf("dashboard %s", r.body)
	}
	bob := e.login("bob", "password456")
	expect(t, e.do("GET", "/admin/dashboard", bob.access, nil), 403, "Admin access required")
	r = e.do("GET", "/public", "", nil)
	expect(t, r, 200, "")
	if r.str(t, "message") != "This route requires no authentication" {
		t.Fatalf("public %s", r.body)
	}

	r = e.refresh(refresh)
	expect(t, r, 200, "")
	if r.str(t, "refresh_token") == refresh || r.str(t, "access_token") == access {
		t.Fatal("refresh returned the same tokens")
	}
	next := pair{r.str(t, "access_token"), r.str(t, "refresh_token")}
	expect(t, e.do("GET", "/me", next.access, nil), 200, "")

	expect(t, e.do("POST", "/auth/logout", next.access, nil), 204, "")
	expect401(t, e.do("GET", "/me", next.access, nil), "Could not validate credentials")
	expect401(t, e.do("GET", "/me", access, nil), "Could not validate credentials")
	expect401(t, e.refresh(next.refresh), "Invalid or expired refresh token")
	expect(t, e.do("GET", "/me", bob.access, nil), 200, "") // bob's session is another one
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name   string
		body   any
		status int
		detail string
		bad    bool // a request the API does not allow
	}{
		{"wrong password", map[string]string{"username": "alice", "password": "wrong"}, 401, "Invalid username or password", false},
		{"unknown user", map[string]string{"username": "mallory", "password": "x"}, 401, "Invalid username or password", false},
		{"missing password", map[string]string{"username": "alice"}, 422, "Field required: password", true},
		{"missing username", map[string]string{"password": "x"}, 422, "Field required: username", true},
		{"malformed JSON", `{"username": `, 422, "", true},
		{"no body", "", 422, "Request body is empty: expected a JSON object", true},
		{"not an object", `[1,2]`, 422, "Request body must be a JSON object", true},
		{"wrong type", `{"username": 5, "password": "x"}`, 422, `Field "username" must be a string`, true},
		{"too large", `{"username":"` + strings.Repeat("a", 1<<20) + `","password":"x"}`, 413, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e
			if tc.bad {
				c = e.invalid(tc.name)
			}
			r := c.do("POST", "/auth/login", "", tc.body)
			if tc.status == 401 {
				expect401(t, r, tc.detail)
				return
			}
			expect(t, r, tc.status, tc.detail)
		})
	}
	// Usernames compare case-insensitively after NFKC.
	expect(t, e.do("POST", "/auth/login", "", map[string]string{"username": "ＡＬＩＣＥ", "password": "secret123"}), 200, "")
}

func TestDisabledUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.login("alice", "secret123")
	bob := e.login("bob", "password456")
	id := e.do("GET", "/me", bob.access, nil).str(t, "id")

	r := e.do("PATCH", "/admin/users/"+id, admin.access, map[string]any{"is_active": false})
	expect(t, r, 200, "")
	if r.json(t)["is_active"] != false {
		t.Fatalf("patch %s", r.body)
	}
	expect401(t, e.do("GET", "/me", bob.access, nil), "Could not validate credentials")
	expect401(t, e.refresh(bob.refresh), "Invalid or expired refresh token")
	expect(t, e.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"}), 400, "Inactive user")
	expect401(t, e.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "nope"}), "Invalid username or password")

	expect(t, e.do("PATCH", "/admin/users/"+id, admin.access, map[string]any{"is_active": true}), 200, "")
	e.login("bob", "password456")
}

func TestProtectedRouteFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice", "secret123")
	expect401(t, e.invalid("no credentials").do("GET", "/me", "", nil), "Not authenticated")
	expect401(t, e.invalid("no credentials").do("GET", "/admin/dashboard", "", nil), "Not authenticated")
	expect401(t, e.invalid("Basic, not Bearer").do("GET", "/me", "", nil, "Authorization", "Basic YWxpY2U6c2VjcmV0MTIz"), "Not authenticated")
	expect401(t, e.do("GET", "/me", "", nil, "Authorization", "Bearer"), "Not authenticated")
	expect401(t, e.do("GET", "/me", "not.a.jwt", nil), "Could not validate credentials")
	expect401(t, e.do("GET", "/me", alice.refresh, nil), "Could not validate credentials")
	expect(t, e.do("GET", "/me", "", nil, "Authorization", "bearer "+alice.access), 200, "")
	expect401(t, e.do("POST", "/auth/refresh", alice.access, nil), "Invalid or expired refresh token")
	expect401(t, e.do("POST", "/auth/refresh", "", nil), "Not authenticated")
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.invalid("wrong method").do("GET", "/auth/login", "", nil)
	expect(t, r, 405, "Method Not Allowed")
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	expect(t, e.invalid("unknown path").do("GET", "/nope", "", nil), 404, "Not Found")
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.ReuseInterval = 0
	e := start(t, cfg)
	p := e.login("alice", "secret123")
	r := e.refresh(p.refresh)
	expect(t, r, 200, "")
	second := pair{r.str(t, "access_token"), r.str(t, "refresh_token")}
	r = e.refresh(second.refresh)
	expect(t, r, 200, "")
	third := pair{r.str(t, "access_token"), r.str(t, "refresh_token")}

	// The first token, used up two rotations ago, comes back: theft.
	expect401(t, e.refresh(p.refresh), "Invalid or expired refresh token")
	expect401(t, e.refresh(third.refresh), "Invalid or expired refresh token")
	expect401(t, e.do("GET", "/me", third.access, nil), "Could not validate credentials")
	expect401(t, e.do("GET", "/me", p.access, nil), "Could not validate credentials")

	// The body form works too.
	q := e.login("alice", "secret123")
	expect(t, e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": q.refresh}), 200, "")
	expect(t, e.invalid("refresh_token missing").do("POST", "/auth/refresh", "", map[string]string{}), 422, "Field required: refresh_token")
}

func TestRefreshGraceInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 10s reuse interval
	p := e.login("alice", "secret123")
	a := e.refresh(p.refresh)
	b := e.refresh(p.refresh) // a second tab, a moment later
	expect(t, a, 200, "")
	expect(t, b, 200, "")
	_, ca := segments(t, a.str(t, "access_token"))
	_, cb := segments(t, b.str(t, "access_token"))
	if ca["sid"] != cb["sid"] {
		t.Fatal("grace refresh started another session")
	}
	for _, r := range []resp{a, b} {
		expect(t, e.do("GET", "/me", r.str(t, "access_token"), nil), 200, "")
		expect(t, e.refresh(r.str(t, "refresh_token")), 200, "")
	}
}

func TestConcurrentRefreshOneWinner(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.ReuseInterval = 0
	e := start(t, cfg)
	p := e.login("bob", "password456")
	oneWinner(t, 30, func(int) int { return e.refresh(p.refresh).status })
}

func TestLogoutScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s1, s2, s3 := e.login("bob", "password456"), e.login("bob", "password456"), e.login("bob", "password456")
	expect(t, e.do("POST", "/auth/logout?scope=others", s1.access, nil), 204, "")
	expect(t, e.do("GET", "/me", s1.access, nil), 200, "")
	expect(t, e.refresh(s1.refresh), 200, "")
	for _, s := range []pair{s2, s3} {
		expect401(t, e.do("GET", "/me", s.access, nil), "Could not validate credentials")
		expect401(t, e.refresh(s.refresh), "Invalid or expired refresh token")
	}
	s4, s5 := e.login("bob", "password456"), e.login("bob", "password456")
	expect(t, e.do("POST", "/auth/logout?scope=global", s4.access, nil), 204, "")
	for _, s := range []pair{s4, s5} {
		expect401(t, e.do("GET", "/me", s.access, nil), "Could not validate credentials")
	}
	s6 := e.login("bob", "password456")
	expect(t, e.invalid("unknown scope").do("POST", "/auth/logout?scope=bogus", s6.access, nil), 422, "")
	expect401(t, e.invalid("no credentials").do("POST", "/auth/logout", "", nil), "Not authenticated")
}

func TestRevokeEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := e.login("bob", "password456")
	other := e.login("bob", "password456")
	alice := e.login("alice", "secret123")

	// JSON, access token: that token only.
	expect(t, e.do("POST", "/auth/revoke", bob.access, map[string]string{"token": other.access}), 200, "")
	expect401(t, e.do("GET", "/me", other.access, nil), "Could not validate credentials")
	expect(t, e.refresh(other.refresh), 200, "") // the session lives on

	// Form, refresh token: its whole session.
	r := e.do("POST", "/auth/revoke", bob.access, "token="+bob.refresh, "Content-Type", "application/x-www-form-urlencoded")
	expect(t, r, 200, "")
	expect401(t, e.refresh(bob.refresh), "Invalid or expired refresh token")
	expect401(t, e.do("GET", "/me", bob.access, nil), "Could not validate credentials")

	// Somebody else's token: refused for a user, allowed for an admin.
	carol := e.login("bob", "password456")
	expect(t, e.do("POST", "/auth/revoke", carol.access, map[string]string{"token": alice.access}), 403, "")
	expect(t, e.do("GET", "/me", alice.access, nil), 200, "")
	expect(t, e.do("POST", "/auth/revoke", alice.access, map[string]string{"token": carol.access}), 200, "")
	expect401(t, e.do("GET", "/me", carol.access, nil), "Could not validate credentials")

	// Garbage is not an error (RFC 7009), a missing field is.
	expect(t, e.do("POST", "/auth/revoke", alice.access, map[string]string{"token": "garbage"}), 200, "")
	expect(t, e.invalid("token missing").do("POST", "/auth/revoke", alice.access, map[string]string{}), 422, "Field required: token")
}

func TestRevocationSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	e := start(t, cfg)
	p := e.login("alice", "secret123")
	keep := e.login("bob", "password456")
	expect(t, e.do("POST", "/auth/logout", p.access, nil), 204, "")
	e.stop()

	e2 := start(t, cfg)
	expect401(t, e2.do("GET", "/me", p.access, nil), "Could not validate credentials")
	expect401(t, e2.refresh(p.refresh), "Invalid or expired refresh token")
	expect(t, e2.do("GET", "/me", keep.access, nil), 200, "") // same keys after restart
	expect(t, e2.refresh(keep.refresh), 200, "")
}

func TestRevocationFromAnotherProcess(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	e := start(t, cfg)
	ctx := t.Context()
	go e.app.Poller.Run(ctx)
	bob := e.login("bob", "password456")

	// A second App on the same file stands for the CLI or another process.
	other := start(t, cfg)
	u, err := other.app.Accounts.ByName(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.app.Accounts.Delete(ctx, u.ID, false, auth.Origin{Actor: "cli"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, func() bool { return e.do("GET", "/me", bob.access, nil).status == 401 })
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wrong := map[string]string{"username": "bob", "password": "guess"}
	for range 5 { // the free failures
		expect401(t, e.do("POST", "/auth/login", "", wrong), "Invalid username or password")
	}
	expect401(t, e.do("POST", "/auth/login", "", wrong), "Invalid username or password") // counted, now 1 s
	r := e.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"})
	expect(t, r, 429, "Too many failed logins; try again later")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	e.login("alice", "secret123") // another account is not affected
	time.Sleep(1100 * time.Millisecond)
	e.login("bob", "password456") // the wait is over, and success resets the counter
	expect401(t, e.do("POST", "/auth/login", "", wrong), "Invalid username or password")
}
