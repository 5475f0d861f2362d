package app

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/config"
)

// limitsConfig trusts the test client's address as a proxy, so that each
// request may name its client in X-Forwarded-For.
func limitsConfig(t *testing.T) config.Config {
	cfg := testConfig(t)
	cfg.TrustedProxies, _ = config.ParseTrustedProxies("127.0.0.1")
	return cfg
}

func from(addr string) []string { return []string{"X-Forwarded-For", addr} }

// TestSignInRatePerAddress: sign-in attempts are counted per address
// whatever their outcome; past the rate the address gets 429 with
// Retry-After, and another address is not affected.
func TestSignInRatePerAddress(t *testing.T) {
	t.Parallel()
	cfg := limitsConfig(t)
	cfg.SignInRate = 4
	e := start(t, cfg)
	right := map[string]string{"username": "bob", "password": "password456"}
	for range 4 {
		expect(t, e.do("POST", "/auth/login", "", right, from("198.51.100.1")...), 200, "")
	}
	r := e.do("POST", "/auth/login", "", right, from("198.51.100.1")...)
	expect(t, r, 429, "Too many sign-in attempts from this address; try again later")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	expect(t, e.do("POST", "/auth/login", "", right, from("198.51.100.2")...), 200, "")
}

// TestSessionsPerUserCap: a user holds at most the cap of live sessions;
// a new login ends the oldest, which is audited and refused from then on.
func TestSessionsPerUserCap(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MaxSessionsPerUser = 3
	e := start(t, cfg)
	var pairs []pair
	for range 5 {
		pairs = append(pairs, e.login("bob", "password456"))
	}
	for i, p := range pairs {
		want := 200
		if i < 2 {
			want = 401
		}
		if got := e.do("GET", "/me", p.access, nil).status; got != want {
			t.Errorf("session %d: /me %d, want %d", i, got, want)
		}
		if got := e.refresh(p.refresh).status; got != want {
			t.Errorf("session %d: refresh %d, want %d", i, got, want)
		}
	}
	events, err := e.app.Store.AuditEvents(context.Background(), auth.AuditFilter{Event: auth.AuditSessionEnded, Limit: 10})
	if err != nil || len(events) != 2 || events[0].Detail != "cap=3 sessions_ended=1" {
		t.Fatalf("session.ended events: %+v, %v", events, err)
	}
}

// TestRefreshRates: refreshes are limited per session (by the rotation:
// the refused token stays usable) and per address.
func TestRefreshRates(t *testing.T) {
	t.Parallel()
	cfg := limitsConfig(t)
	cfg.SessionRefreshRate = 3
	cfg.RefreshRate = 5
	e := start(t, cfg)
	p := e.login("bob", "password456")
	tok := p.refresh
	for range 3 {
		r := e.do("POST", "/auth/refresh", tok, nil, from("203.0.113.1")...)
		expect(t, r, 200, "")
		tok = r.str(t, "refresh_token")
	}
	r := e.do("POST", "/auth/refresh", tok, nil, from("203.0.113.1")...)
	expect(t, r, 429, "Too many refreshes of this session; try again later")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The session is not revoked and the token not used up: the access
	// token still works, and the session shows in the admin list.
	expect(t, e.do("GET", "/me", p.access, nil), 200, "")

	// Per address: a fifth and sixth refresh of other sessions from the
	// same address.
	q := e.login("alice", "secret123")
	expect(t, e.do("POST", "/auth/refresh", q.refresh, nil, from("203.0.113.1")...), 200, "")
	r = e.do("POST", "/auth/refresh", e.login("alice", "secret123").refresh, nil, from("203.0.113.1")...)
	expect(t, r, 429, "Too many refreshes from this address; try again later")
}

// TestRevokeRatePerSession: revocations are limited per caller's session.
func TestRevokeRatePerSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.login("bob", "password456")
	got429 := false
	for i := range 70 {
		r := e.do("POST", "/auth/revoke", p.access, map[string]string{"token": fmt.Sprintf("not-a-token-%d", i)})
		if r.status == 429 {
			got429 = i == 60
			break
		}
		expect(t, r, 200, "")
	}
	if !got429 {
		t.Fatal("the 61st revocation in a minute was not refused with 429")
	}
}

// TestLastAdmin: the only active administrator cannot disable, demote or
// delete themselves (409 last_admin); with a second administrator they
// can.
func TestLastAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice", "secret123")
	id := e.do("GET", "/me", alice.access, nil).str(t, "id")
	for _, rq := range []struct {
		method string
		body   any
	}{
		{"PATCH", map[string]any{"is_active": false}},
		{"PATCH", map[string]any{"role": "user"}},
		{"DELETE", nil},
	} {
		r := e.do(rq.method, "/admin/users/"+id, alice.access, rq.body)
		expect(t, r, 409, "The last active administrator cannot be disabled, demoted or deleted")
		if r.str(t, "code") != "last_admin" {
			t.Fatalf("code %q", r.str(t, "code"))
		}
	}
	r := e.do("POST", "/admin/users", alice.access, map[string]any{"username": "carol", "password": "carol-pass-1", "role": "admin"})
	expect(t, r, 201, "")
	expect(t, e.do("PATCH", "/admin/users/"+id, alice.access, map[string]any{"role": "user"}), 200, "")
}

// TestPasswordChangeGuessesThrottled: wrong current passwords count as
// failed logins of the account from that address: past the free ones the
// caller gets 429 with Retry-After, even with the right password, and
// every wrong guess is audited.
func TestPasswordChangeGuessesThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := e.login("bob", "password456")
	guess := func(pw string) resp {
		return e.do("PUT", "/me/password", bob.access, map[string]any{"current_password": pw, "new_password": "a-new-long-password"})
	}
	for range 6 { // five free failures, and the one that starts the wait
		expect(t, guess("wrong-guess"), 401, "Current password is incorrect")
	}
	r := guess("password456")
	expect(t, r, 429, "Too many wrong passwords; try again later")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	events, err := e.app.Store.AuditEvents(context.Background(), auth.AuditFilter{Event: auth.AuditPasswordCheckFailed, Limit: 20})
	if err != nil || len(events) != 7 || events[0].Detail != auth.AuditReasonThrottled || events[1].Detail != auth.AuditReasonWrongPassword {
		t.Fatalf("password check events: %d %v", len(events), err)
	}
}
