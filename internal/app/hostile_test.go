package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/federation"
	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// errorCount is a slog handler that counts records at ERROR or above.
type errorCount struct {
	t *testing.T
	n atomic.Int64
}

func (h *errorCount) Enabled(context.Context, slog.Level) bool { return true }
func (h *errorCount) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *errorCount) WithGroup(string) slog.Handler            { return h }
func (h *errorCount) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.n.Add(1)
		msg := r.Message
		r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
		h.t.Log("ERROR " + msg)
	}
	return nil
}

// The routes the hostile-input test sends to. TestHostileRoutesCovered
// checks that this is every route of internal/server's table.
var hostileRoutes = []string{
	"POST /auth/login", "POST /auth/refresh", "POST /auth/revoke", "POST /auth/signup",
	"GET /auth/revocations", "GET /me", "PUT /me/password", "GET /public", "GET /openapi.json",
	"POST /auth/email/verify/request", "POST /auth/email/verify", "POST /auth/password/forgot",
	"POST /auth/password/reset", "PUT /me/email", "POST /auth/login/mfa", "GET /me/mfa", "POST /me/mfa/totp",
	"POST /me/mfa/totp/confirm", "POST /me/mfa/recovery-codes", "POST /me/mfa/disable", "DELETE /admin/users/{id}/mfa",
	"GET /admin/dashboard", "GET /admin/users", "POST /admin/users", "GET /admin/users/{id}",
	"PATCH /admin/users/{id}", "DELETE /admin/users/{id}", "GET /admin/users/{id}/sessions",
	"DELETE /admin/sessions/{id}", "POST /admin/keys/rotate", "GET /admin/audit",
	"GET /.well-known/jwks.json", "GET /.well-known/openid-configuration",
	"GET /healthz", "GET /readyz", "GET /metrics",
	"GET /auth/providers", "GET /auth/oauth/{id}/start", "GET /auth/oauth/{id}/callback", "POST /auth/token",
	"GET /me/identities", "POST /me/identities/{id}", "DELETE /me/identities/{id}",
	"POST /auth/logout", // last: without a hostile scope it ends the session
}

func TestHostileRoutesCovered(t *testing.T) {
	src, err := os.ReadFile("../server/server.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?:handle|mux\.Handle)\("([A-Z]+ /[^"]*)"`).FindAllSubmatch(src, -1) {
		route := string(m[1])
		if route == "GET /{$}" || route == "GET /assets/" || route == "GET /verify-email" || route == "GET /reset-password" { // the web page, off here
			continue
		}
		if !strings.Contains(strings.Join(hostileRoutes, "\n")+"\n", route+"\n") {
			t.Errorf("route %q is not in hostileRoutes", route)
		}
	}
}

// hostileValues are strings a client may send: a NUL byte, invalid UTF-8,
// control characters, a lone surrogate, names over 64 characters, ids in
// the wrong form, 1 MiB.
var hostileValues = []string{
	"x\x00", "\x00", "abc\xff\xfe", "\xc3", "a\x01\x1f\x7f", "\u0085", "\xed\xa0\x80",
	strings.Repeat("a", 65), strings.Repeat("é", 100), "аlice", "ALİCE",
	"0190a5c4-0000-7000-8000-000000000000\x00", "../../etc/passwd", "' OR 1=1 --",
	strings.Repeat("a", 1<<20-200),
}

// hostileBodies are JSON bodies: every field a route reads set to one
// hostile value, and bodies of the wrong shape.
func hostileBodies() []string {
	fields := []string{"username", "password", "refresh_token", "token", "current_password", "new_password", "role", "email", "code", "mfa_token",
		"grant_type", "code_verifier", "redirect_uri"}
	var bodies []string
	for _, v := range hostileValues {
		q := jsonString(v)
		fs := fields
		if len(v) > 1<<16 {
			fs = fields[:1] // 1 MiB in one field, not in each
		}
		for _, f := range fs {
			bodies = append(bodies, fmt.Sprintf(`{%q:%s,"password":"a-fine-password-1"}`, f, q))
		}
		all := make([]string, len(fields))
		for i, f := range fields {
			all[i] = fmt.Sprintf("%q:%s", f, q)
		}
		bodies = append(bodies, "{"+strings.Join(all, ",")+"}")
	}
	return append(bodies,
		`{"username":"x\u0000","password":"p"}`, `{"username":"\ud800\udfff\u0000"}`,
		"{\"username\":\"\xff\xfe\",\"password\":\"\xc3\"}", // raw invalid UTF-8
		`{"username":1,"password":[1]}`, `{"username":{},"password":null}`, `{"is_active":"yes","role":7}`,
		`[]`, `"x"`, `null`, `{"username":"a"`, "\x00", "{}", `{"username":"a","username":"b"}`,
		strings.Repeat("[", 100000)+strings.Repeat("]", 100000),
		`{"a":`+strings.Repeat(`{"a":`, 20000)+`1`+strings.Repeat("}", 20001),
	)
}

// jsonString writes s as a JSON string that keeps its bytes as they are:
// NUL and control characters as \u escapes, invalid UTF-8 raw.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, c)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hostilePathValues are ids for {id}, escaped for a path.
func hostilePathValues() []string {
	out := []string{"abc", "%00", "abc%00", "%FF%FE", "%01%1F", strings.Repeat("a", 300), "%C3",
		"0190a5c4-0000-7000-8000-000000000000%00", "AAECAwQFBgcICQoLDA0OD%00", "%E2%80%AE"}
	for _, v := range hostileValues[:8] {
		out = append(out, url.PathEscape(v))
	}
	return out
}

// unknownID is a well-formed id for the {id} of path that names nothing.
func unknownID(path string) string {
	if strings.HasPrefix(path, "/auth/oauth/") {
		return "acme" // the configured provider, so that its flow reads the hostile query
	}
	if strings.HasPrefix(path, "/admin/sessions/") {
		return "AAECAwQFBgcICQoLDA0ODw"
	}
	return "0190a5c4-0000-7000-8000-000000000000"
}

// hostileQueries are query strings: every parameter a route reads set to
// one hostile value.
func hostileQueries() []string {
	var out []string
	for _, v := range append(hostileValues, "%") {
		e := url.QueryEscape(v)
		out = append(out, "user="+e, "cursor="+e, "limit="+e, "event="+e, "since="+e, "until="+e, "scope="+e,
			"user="+e+"&cursor="+e+"&event="+e,
			"redirect_uri="+e+"&code_challenge="+e+"&code_challenge_method="+e+"&state="+e+"&mode="+e,
			"code="+e+"&state="+e+"&error="+e)
	}
	return append(out, "user=%00", "user=%FF", "cursor=%00", "scope=%00", "limit=-1", "limit=99999999999999999999")
}

// TestHostileInput sends hostile input to every route, on SQLite and (when
// GATEHOUSE_TEST_POSTGRES_URL is set) on PostgreSQL: never a 5xx, never an
// ERROR in the log. Before the fix, a NUL byte in a login's username or in
// an admin path was a 500 with an ERROR line on PostgreSQL.
func TestHostileInput(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		hostileInput(t, testConfig(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig(t)
		cfg.DatabaseURL = pgtest.Schema(t, pgtest.URL(t))
		hostileInput(t, cfg)
	})
}

func hostileInput(t *testing.T, cfg config.Config) {
	cfg = withProvider(t, cfg, oidctest.New(t), federation.LinkNever)
	cfg.Signup = "open"
	cfg.LoginAccountFailures, cfg.LoginAddressFailures = 1000, 1000000
	errs := &errorCount{t: t}
	e := startWith(t, cfg, Options{}, slog.New(errs), nil)
	admin := e.login("alice", "secret123").access
	sent := 0
	check := func(method, path, body string, hdr ...string) {
		t.Helper()
		var b any
		if body != "" {
			b = body
		}
		r := e.hostile().do(method, path, admin, b, hdr...)
		sent++
		if r.status >= 500 {
			t.Errorf("%s %.120q body %.120q: %d %s", method, path, body, r.status, r.body)
		}
	}
	bodies, ids, queries := hostileBodies(), hostilePathValues(), hostileQueries()
	for _, route := range hostileRoutes {
		method, path, _ := strings.Cut(route, " ")
		if strings.Contains(path, "{id}") {
			// A malformed id is refused before the body is read; the
			// bodies go to an id of the right form that names nothing.
			for _, id := range ids {
				check(method, strings.ReplaceAll(path, "{id}", id), "")
			}
			path = strings.ReplaceAll(path, "{id}", unknownID(path))
		}
		logout := route == "POST /auth/logout"
		for _, q := range queries { // the routes that read a query
			flowQuery := strings.HasPrefix(q, "redirect_uri=") || strings.HasPrefix(q, "code=")
			if flowQuery != strings.HasPrefix(path, "/auth/oauth/") {
				continue // a provider flow's parameters go to its routes only
			}
			if method == "GET" || logout && strings.Contains(q, "scope=") {
				check(method, path+"?"+q, "")
			}
		}
		if method == "GET" || logout {
			continue
		}
		for _, body := range bodies {
			check(method, path, body)
		}
	}
	// A user agent cut inside a character, invalid UTF-8 and NUL-free
	// control bytes the client allows.
	for _, ua := range []string{strings.Repeat("a", 255) + "é", "agent \xff\xfe", strings.Repeat("é", 300)} {
		r := e.hostile().do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"}, "User-Agent", ua)
		sent++
		if r.status != 200 {
			t.Errorf("login with user agent %.40q: %d %s", ua, r.status, r.body)
		}
	}
	// A look-alike of a taken name is refused as a taken name; one that
	// mixes scripts is refused for that first.
	expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "аlice", "password": "a-fine-password-1"}), 422, "")
	expect(t, e.do("POST", "/auth/signup", "", map[string]string{"username": "app", "password": "a-fine-password-1"}), 201, "")
	for _, name := range []string{"alıce", "ALİCE", "арр"} { // the last is all Cyrillic
		r := e.do("POST", "/auth/signup", "", map[string]string{"username": name, "password": "a-fine-password-1"})
		expect(t, r, 409, "")
	}
	if n := errs.n.Load(); n > 0 {
		t.Errorf("%d ERROR log lines for %d hostile requests", n, sent)
	}
	t.Logf("%d hostile requests", sent)
}
