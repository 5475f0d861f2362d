package app

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cookies are the Set-Cookie lines of an answer, by name.
func cookies(t *testing.T, r resp) map[string]*http.Cookie {
	t.Helper()
	m := map[string]*http.Cookie{}
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		m[c.Name] = c
	}
	return m
}

const (
	accessName  = "__Host-gatehouse_access"
	refreshName = "__Secure-gatehouse_refresh"
)

// cookieLogin signs in in cookie mode as a same-origin page would.
func (e *env) cookieLogin(user, pw string) (access, refresh *http.Cookie) {
	e.t.Helper()
	r := e.do("POST", "/auth/login", "", map[string]string{"username": user, "password": pw},
		"Gatehouse-Cookie", "1", "Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL)
	expect(e.t, r, 200, "")
	c := cookies(e.t, r)
	return c[accessName], c[refreshName]
}

func sameOrigin(e *env, cookie ...*http.Cookie) []string {
	var parts []string
	for _, c := range cookie {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return []string{"Cookie", strings.Join(parts, "; "), "Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL}
}

func TestCookieLoginSetsHardenedCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "secret123"},
		"Gatehouse-Cookie", "1", "Sec-Fetch-Site", "same-origin")
	expect(t, r, 200, "")
	body := r.json(t)
	if _, ok := body["access_token"]; ok || body["refresh_token"] != nil || body["token_type"] != "cookie" || body["expires_in"] != 1800.0 {
		t.Fatalf("cookie-mode body must hold no token: %s", r.body)
	}
	if strings.Contains(string(r.body), "eyJ") {
		t.Fatalf("a token leaked into the body: %s", r.body)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("Cache-Control %q", got)
	}
	c := cookies(t, r)
	access, refresh := c[accessName], c[refreshName]
	if access == nil || refresh == nil || len(c) != 2 {
		t.Fatalf("cookies %v", r.header.Values("Set-Cookie"))
	}
	for _, k := range []*http.Cookie{access, refresh} {
		if !k.HttpOnly || !k.Secure || k.SameSite != http.SameSiteStrictMode || k.Domain != "" {
			t.Fatalf("cookie %s: HttpOnly=%v Secure=%v SameSite=%v Domain=%q", k.Name, k.HttpOnly, k.Secure, k.SameSite, k.Domain)
		}
	}
	if access.Path != "/" || access.MaxAge != 1800 || strings.Count(access.Value, ".") != 2 {
		t.Fatalf("access cookie %+v", access)
	}
	if refresh.Path != "/auth/refresh" || refresh.MaxAge != int((168*time.Hour)/time.Second) || len(refresh.Value) != 43 {
		t.Fatalf("refresh cookie %+v", refresh)
	}
	// The access cookie authenticates; its token is a normal access token.
	me := e.do("GET", "/me", "", nil, sameOrigin(e, access)...)
	expect(t, me, 200, "")
	if me.str(t, "username") != "alice" {
		t.Fatalf("me %s", me.body)
	}
	expect(t, e.do("GET", "/me", access.Value, nil), 200, "")
	expect401(t, e.do("GET", "/me", "", nil, "Cookie", accessName+"=not-a-token"), "Could not validate credentials")
	expect401(t, e.invalid("only the refresh cookie").do("GET", "/me", "", nil, "Cookie", refreshName+"="+refresh.Value), "Not authenticated")
}

func TestBearerClientsGetNoCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"})
	expect(t, r, 200, "")
	if len(r.header.Values("Set-Cookie")) != 0 || r.str(t, "access_token") == "" || r.str(t, "token_type") != "bearer" {
		t.Fatalf("bearer login changed: %v %s", r.header, r.body)
	}
	refreshed := e.refresh(r.str(t, "refresh_token"))
	expect(t, refreshed, 200, "")
	if len(refreshed.header.Values("Set-Cookie")) != 0 || refreshed.str(t, "access_token") == "" {
		t.Fatalf("bearer refresh changed: %s", refreshed.body)
	}
	// A bearer request is not a cookie request: a browser adds the header
	// only when a page's own script asks, so no origin check applies.
	expect(t, e.do("POST", "/auth/logout", refreshed.str(t, "access_token"), nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"), 204, "")
}

func TestCookieRefreshRotatesAndLogoutClears(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.ReuseInterval = 0
	e := start(t, cfg)
	access, refresh := e.cookieLogin("bob", "password456")
	expect(t, e.do("GET", "/me", "", nil, sameOrigin(e, access)...), 200, "")

	r := e.do("POST", "/auth/refresh", "", nil, sameOrigin(e, refresh)...)
	expect(t, r, 200, "")
	if r.str(t, "token_type") != "cookie" || strings.Contains(string(r.body), refresh.Value) {
		t.Fatalf("refresh body %s", r.body)
	}
	c := cookies(t, r)
	next, nextRefresh := c[accessName], c[refreshName]
	if next == nil || nextRefresh == nil || nextRefresh.Value == refresh.Value || nextRefresh.Path != "/auth/refresh" || !nextRefresh.HttpOnly {
		t.Fatalf("refresh cookies %v", r.header.Values("Set-Cookie"))
	}
	expect(t, e.do("GET", "/me", "", nil, sameOrigin(e, next)...), 200, "")

	// The used-up refresh cookie is reuse: the session ends and the answer
	// clears both cookies.
	reused := e.do("POST", "/auth/refresh", "", nil, sameOrigin(e, refresh)...)
	expect401(t, reused, "")
	c = cookies(t, reused)
	if c[accessName] == nil || c[accessName].MaxAge != -1 || c[refreshName] == nil || c[refreshName].MaxAge != -1 || c[refreshName].Path != "/auth/refresh" {
		t.Fatalf("cookies not cleared: %v", reused.header.Values("Set-Cookie"))
	}
	time.Sleep(10 * time.Millisecond)
	expect401(t, e.do("GET", "/me", "", nil, sameOrigin(e, next)...), "")
	expect401(t, e.do("GET", "/me", "", nil, sameOrigin(e, access)...), "")

	// Logout by cookie ends the session and clears the cookies.
	access, refresh = e.cookieLogin("bob", "password456")
	out := e.do("POST", "/auth/logout", "", nil, sameOrigin(e, access)...)
	expect(t, out, 204, "")
	c = cookies(t, out)
	if c[accessName] == nil || c[accessName].MaxAge != -1 || c[refreshName] == nil || c[refreshName].MaxAge != -1 {
		t.Fatalf("logout left cookies: %v", out.header.Values("Set-Cookie"))
	}
	expect401(t, e.do("GET", "/me", "", nil, sameOrigin(e, access)...), "")
	expect401(t, e.do("POST", "/auth/refresh", "", nil, sameOrigin(e, refresh)...), "")
	expect401(t, e.do("POST", "/auth/refresh", "", nil, "Sec-Fetch-Site", "same-origin"), "Not authenticated")
}

func TestCookieRequestsFromOtherOriginsAreRefused(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Browser.AllowedOrigins = []string{"https://app.example.com"}
	e := start(t, cfg)
	access, refresh := e.cookieLogin("alice", "secret123")
	jar := "Cookie"
	both := accessName + "=" + access.Value + "; " + refreshName + "=" + refresh.Value
	creds := map[string]string{"username": "alice", "password": "secret123"}

	for _, tc := range []struct {
		name, method, path string
		body               any
		hdr                []string
		want               int
	}{
		{"cross-site logout", "POST", "/auth/logout", nil, []string{jar, both, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"same-site other origin logout", "POST", "/auth/logout", nil, []string{jar, both, "Sec-Fetch-Site", "same-site", "Origin", "https://sub.gatehouse.test"}, 403},
		{"cross-site refresh", "POST", "/auth/refresh", nil, []string{jar, both, "Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site login (login CSRF)", "POST", "/auth/login", creds, []string{"Gatehouse-Cookie", "1", "Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site form post", "POST", "/auth/logout", "a=b", []string{jar, both, "Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site", "Origin", "null"}, 403},
		{"old browser: Origin only, foreign", "PUT", "/me/password", map[string]string{"current_password": "secret123", "new_password": "hijacked passphrase"}, []string{jar, both, "Origin", "https://evil.example"}, 403},
		{"cross-site admin change", "DELETE", "/admin/users/anything", nil, []string{jar, both, "Sec-Fetch-Site", "cross-site"}, 403},
		{"allowed origin", "POST", "/auth/refresh", nil, []string{jar, both, "Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.com"}, 200},
		{"cross-site read is safe", "GET", "/me", nil, []string{jar, both, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 200},
		{"no browser headers (not a browser)", "POST", "/auth/login", creds, nil, 200},
	} {
		r := e.do(tc.method, tc.path, "", tc.body, tc.hdr...)
		if r.status != tc.want {
			t.Fatalf("%s: status %d, want %d; %s", tc.name, r.status, tc.want, r.body)
		}
		if tc.want == 403 && r.str(t, "detail") != "Cross-origin request refused" {
			t.Fatalf("%s: %s", tc.name, r.body)
		}
	}
	// None of the refused requests did anything: the session still works.
	expect(t, e.do("GET", "/me", "", nil, sameOrigin(e, access)...), 200, "")
}

func TestCORS(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Browser.AllowedOrigins = []string{"https://app.example.com", "http://localhost:5173"}
	e := start(t, cfg)

	pre := e.invalid("CORS preflight").do("OPTIONS", "/auth/login", "", nil, "Origin", "https://app.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, gatehouse-cookie")
	expect(t, pre, 204, "")
	h := pre.header
	if h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Gatehouse-Cookie") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Fatalf("preflight headers %v", h)
	}
	denied := e.invalid("CORS preflight").do("OPTIONS", "/auth/login", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	expect(t, denied, 403, "Origin not allowed")
	if denied.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("denied preflight allowed: %v", denied.header)
	}

	r := e.do("GET", "/public", "", nil, "Origin", "http://localhost:5173")
	if r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("simple request headers %v", r.header)
	}
	r = e.invalid("no credentials").do("GET", "/me", "", nil, "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("unlisted origin got CORS headers: %v", r.header)
	}
	// Discovery and keys are public documents: any origin may read them,
	// without credentials.
	for _, p := range []string{"/.well-known/jwks.json", "/.well-known/openid-configuration"} {
		r = e.do("GET", p, "", nil, "Origin", "https://any.example")
		if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("%s CORS headers %v", p, r.header)
		}
	}
}

func TestCookieSettings(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Browser.AccessCookie, cfg.Browser.RefreshCookie = "app_at", "app_rt"
	cfg.Browser.CookieDomain = "example.com"
	cfg.Browser.CookieSameSite = "lax"
	e := start(t, cfg)
	r := e.do("POST", "/auth/login", "", map[string]string{"username": "bob", "password": "password456"}, "Gatehouse-Cookie", "true")
	expect(t, r, 200, "")
	c := cookies(t, r)
	at, rt := c["app_at"], c["app_rt"]
	if at == nil || rt == nil || at.Domain != "example.com" || rt.Domain != "example.com" ||
		at.SameSite != http.SameSiteLaxMode || rt.SameSite != http.SameSiteLaxMode || !at.Secure || !at.HttpOnly {
		t.Fatalf("cookies %v", r.header.Values("Set-Cookie"))
	}
	// The document names the default cookies; these are renamed.
	expect(t, e.invalid("renamed access cookie").do("GET", "/me", "", nil, "Cookie", "app_at="+at.Value), 200, "")
	expect(t, e.do("POST", "/auth/refresh", "", nil, "Cookie", "app_rt="+rt.Value), 200, "")
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.login("alice", "secret123")
	for _, r := range []resp{
		e.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "secret123"}),
		e.refresh(p.refresh),
		e.do("GET", "/me", p.access, nil),
		e.invalid("unknown path").do("GET", "/nowhere", "", nil),
		e.invalid("not JSON").do("POST", "/auth/login", "", "{bad"),
	} {
		h := r.header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
			h.Get("Cache-Control") != "no-store" || h.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Strict-Transport-Security") != "" {
			t.Fatalf("headers of a %d: %v", r.status, h)
		}
	}
	cfg := testConfig(t)
	cfg.Issuer = "https://auth.example.com"
	tls := start(t, cfg)
	if got := tls.do("GET", "/healthz", "", nil).header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Fatalf("HSTS %q with an https issuer", got)
	}
}

func TestWebPage(t *testing.T) {
	t.Parallel()
	off := newEnv(t)
	expect(t, off.do("GET", "/", "", nil), 404, "Not Found")
	expect(t, off.do("GET", "/assets/page.js", "", nil), 404, "")

	cfg := testConfig(t)
	cfg.Browser.Page = true
	e := start(t, cfg)
	page := e.do("GET", "/", "", nil)
	expect(t, page, 200, "")
	csp := page.header.Get("Content-Security-Policy")
	if !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") || !strings.Contains(csp, "script-src 'self'") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("page headers %v", page.header)
	}
	html := string(page.body)
	// No inline script or style, no inline handlers: the CSP would block
	// them, and the page must not need them.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(html) || strings.Contains(html, "<style") ||
		regexp.MustCompile(`\son[a-z]+=`).MatchString(html) || strings.Contains(html, "style=") {
		t.Fatal("the page has inline code")
	}
	for _, asset := range []struct{ path, ctype string }{
		{"/assets/page.js", "text/javascript"}, {"/assets/page.css", "text/css"}, {"/assets/icon.svg", "image/svg+xml"},
	} {
		r := e.do("GET", asset.path, "", nil)
		expect(t, r, 200, "")
		if !strings.HasPrefix(r.header.Get("Content-Type"), asset.ctype) || r.header.Get("Content-Security-Policy") != page.header.Get("Content-Security-Policy") {
			t.Fatalf("%s headers %v", asset.path, r.header)
		}
	}
	js := string(e.do("GET", "/assets/page.js", "", nil).body)
	if strings.Contains(js, "localStorage") || strings.Contains(js, "sessionStorage") || !strings.Contains(js, `"Gatehouse-Cookie"`) {
		t.Fatal("the page's script must use cookie mode and no web storage")
	}
	expect(t, e.invalid("no file named").do("GET", "/assets/", "", nil), 404, "")
	expect(t, e.invalid("not a clean path").do("GET", "/assets/../index.html", "", nil), 404, "")
}
