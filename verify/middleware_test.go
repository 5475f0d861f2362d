package verify

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/testkit"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddleware(t *testing.T) {
	v := newVerifier(t, nil)
	f := loadFixture()
	admin := good(ES256)
	user := mint(f.es, goodHeader(f.es), with(goodClaims(), "role", "user"))
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+ClaimsFrom(r.Context()).Username)
	})
	h := v.Middleware(hello)
	adminOnly := v.Middleware(RequireRole("admin", hello))

	cases := []struct {
		name    string
		handler http.Handler
		header  string
		status  int
		body    string
	}{
		{"valid", h, "Bearer " + admin, 200, "hello alice"},
		{"no header", h, "", 401, `{"detail":"Not authenticated"}`},
		{"basic scheme", h, "Basic YWxpY2U6eA==", 401, `{"detail":"Not authenticated"}`},
		{"garbage", h, "Bearer not.a.jwt", 401, `{"detail":"Could not validate credentials"}`},
		{"tampered", h, "Bearer " + testkit.Tamper(admin), 401, `{"detail":"Could not validate credentials"}`},
		{"role ok", adminOnly, "Bearer " + admin, 200, "hello alice"},
		{"role missing", adminOnly, "Bearer " + user, 403, `{"detail":"Insufficient role: admin required"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			tc.handler.ServeHTTP(w, req)
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Fatal("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	// A token in the query string or a cookie is never read.
	req := httptest.NewRequest("GET", "/?access_token="+admin, nil)
	req.AddCookie(&http.Cookie{Name: "access_token", Value: admin})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 401 {
		t.Fatalf("token outside the Authorization header accepted: %d", w.Code)
	}
	if ClaimsFrom(req.Context()) != nil {
		t.Fatal("ClaimsFrom outside Middleware must be nil")
	}
}

func TestCookieMiddleware(t *testing.T) {
	v := newVerifier(t, nil)
	admin := good(ES256)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+ClaimsFrom(r.Context()).Username)
	})
	h, err := v.CookieMiddleware("__Host-gatehouse_access", []string{"https://app.example.com"}, hello)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, cookie, bearer string
		hdr                          map[string]string
		status                       int
		body                         string
	}{
		{"cookie", "GET", admin, "", nil, 200, "hello alice"},
		{"cookie, same-origin POST", "POST", admin, "", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200, "hello alice"},
		{"cookie, cross-site GET", "GET", admin, "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, "hello alice"},
		{"cookie, cross-site POST", "POST", admin, "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, `{"detail":"Cross-origin request refused"}`},
		{"cookie, foreign Origin only", "DELETE", admin, "", map[string]string{"Origin": "https://evil.example"}, 403, `{"detail":"Cross-origin request refused"}`},
		{"cookie, trusted origin", "POST", admin, "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example.com"}, 200, "hello alice"},
		{"bad cookie", "GET", "not.a.jwt", "", nil, 401, `{"detail":"Could not validate credentials"}`},
		{"no cookie", "GET", "", "", nil, 401, `{"detail":"Not authenticated"}`},
		{"bearer wins over cookie", "GET", "not.a.jwt", admin, nil, 200, "hello alice"},
		{"bad bearer is not rescued by a cookie", "GET", admin, "not.a.jwt", nil, 401, `{"detail":"Could not validate credentials"}`},
		{"bearer, cross-site POST", "POST", "", admin, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, "hello alice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "https://api.example.com/", nil)
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "__Host-gatehouse_access", Value: tc.cookie})
			}
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
		})
	}
	if _, err := v.CookieMiddleware("", nil, hello); err == nil {
		t.Fatal("no cookie name accepted")
	}
	if _, err := v.CookieMiddleware("c", []string{"not an origin"}, hello); err == nil {
		t.Fatal("a malformed origin accepted")
	}
}

// RequireMFA answers a token without "mfa" in its amr with RFC 9470's
// challenge, and lets one with it through.
func TestRequireMFA(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	for _, tc := range []struct {
		amr  []string
		want int
	}{{nil, 401}, {[]string{"pwd"}, 401}, {[]string{"fed"}, 401}, {[]string{"pwd", "otp", "mfa"}, 204}, {[]string{"pwd", "mfa", "rec"}, 204}} {
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(context.WithValue(r.Context(), claimsKey{}, &Claims{AMR: tc.amr}))
		w := httptest.NewRecorder()
		RequireMFA(ok).ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("amr %v: %d, want %d", tc.amr, w.Code, tc.want)
		}
		if tc.want == 401 && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="insufficient_user_authentication"`) {
			t.Errorf("amr %v: WWW-Authenticate %q", tc.amr, w.Header().Get("WWW-Authenticate"))
		}
	}
	w := httptest.NewRecorder()
	RequireMFA(ok).ServeHTTP(w, httptest.NewRequest("GET", "/", nil)) // outside Middleware
	if w.Code != 401 {
		t.Fatalf("no claims: %d", w.Code)
	}
}
