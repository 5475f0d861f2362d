package verify

import (
	"io"
	"net/http"
	"net/http/httptest"
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
		{"tampered", h, "Bearer " + admin[:len(admin)-2] + "AA", 401, `{"detail":"Could not validate credentials"}`},
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
