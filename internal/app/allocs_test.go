package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps nothing but the status and the
// header map, which it reuses from one request to the next as net/http
// reuses nothing: what a request allocates through it is the handler's.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(p), nil
}

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
	w := &discard{h: http.Header{}}
	get := func() {
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, req)
	}
	for range 10 { // fill the caches
		get()
	}
	if w.status != http.StatusOK {
		t.Fatalf("GET /me: %d", w.status)
	}
	if n := testing.AllocsPerRun(500, get); n != 0 {
		t.Errorf("GET /me allocates %v times a request in the handler, want 0", n)
	}
	if w.status != http.StatusOK || w.h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET /me: %d %v", w.status, w.h)
	}
}
