package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testkit"
)

// TestCachedMeAllocatesNothing: GET /me with a token already verified, a
// session the store-trust cache holds and an answer prepared for the user
// allocates nothing in Gatehouse's handler: every allocation there costs
// the collector work in proportion, on the path the bare server is
// compared on. The rate limiter, the security headers and the metrics are
// all on.
func TestCachedMeAllocatesNothing(t *testing.T) {
	_, h := benchApp(t, cheapParams)
	access, _ := tokensOf(t, serve(t, h, "POST", "/auth/login", "", aliceLogin))
	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	w := &testkit.Recorder{} // reused: what a request allocates is the handler's
	get := func() {
		w.Reset()
		h.ServeHTTP(w, req)
	}
	for range 10 { // fill the caches
		get()
	}
	if w.Code != http.StatusOK {
		t.Fatalf("GET /me: %d %s", w.Code, w.Body)
	}
	if n := testing.AllocsPerRun(500, get); n != 0 {
		t.Errorf("GET /me allocates %v times a request in the handler, want 0", n)
	}
	if w.Code != http.StatusOK || w.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(string(w.Body), `"username":"alice"`) {
		t.Errorf("GET /me: %d %v %s", w.Code, w.Header(), w.Body)
	}
}
