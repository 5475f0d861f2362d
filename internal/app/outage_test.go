package app

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.Schema(t, pgtest.URL(t)))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testkit.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg := testConfig(t)
	cfg.DatabaseURL = u.String()
	e := start(t, cfg)
	bob := e.login("bob", "password456")
	alice := e.login("alice", "secret123")
	expect(t, e.do("GET", "/me", bob.access, nil), 200, "")

	proxy.Cut()
	time.Sleep(accounts.DefaultProfileTTL + 100*time.Millisecond) // what /me read is now old
	// The token is still trusted without the database, and /me answers
	// with the user as last read; one never read gets 503.
	expect(t, e.do("GET", "/me", bob.access, nil), 200, "")
	expect(t, e.do("GET", "/me", alice.access, nil), 503, "Database unavailable")
	r := e.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "secret123"})
	expect(t, r, 503, "Database unavailable")
	expect(t, e.refresh(bob.refresh), 503, "Database unavailable")
	admin := e.do("GET", "/admin/users", bob.access, nil)
	if admin.status != 403 { // bob is no admin: refused before any database work
		t.Fatalf("admin as bob during outage: %d", admin.status)
	}
	r = e.do("GET", "/readyz", "", nil)
	expect(t, r, 503, "")
	if !strings.Contains(r.str(t, "detail"), "database") {
		t.Fatalf("readyz %s", r.body)
	}

	proxy.Restore()
	eventually(t, 5*time.Second, func() bool { return e.do("GET", "/readyz", "", nil).status == 200 })
	e.login("alice", "secret123")
	expect(t, e.refresh(bob.refresh), 200, "")
}
