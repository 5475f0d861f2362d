package verify

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A cookie planted by a sibling host makes the browser send two of the
// same name; whichever were read would win, so neither is.
func TestCookieMiddlewareRefusesDuplicatedCookie(t *testing.T) {
	v := newVerifier(t, nil)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+ClaimsFrom(r.Context()).Username)
	})
	h, err := v.CookieMiddleware("__Host-gatehouse_access", nil, hello)
	if err != nil {
		t.Fatal(err)
	}
	tok := good(ES256)
	for _, values := range [][]string{{tok, tok}, {"", tok}, {tok, "planted"}} {
		req := httptest.NewRequest("GET", "https://api.example.com/", nil)
		for _, val := range values {
			req.AddCookie(&http.Cookie{Name: "__Host-gatehouse_access", Value: val})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 401 || w.Body.String() != `{"detail":"Could not validate credentials"}` {
			t.Fatalf("cookies %q: got %d %q, want 401", values, w.Code, w.Body)
		}
	}
}
