package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpdate"
)

func TestDateHeader(t *testing.T) {
	s := &Server{}
	h := s.secureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		got, err := http.ParseTime(rec.Header().Get("Date"))
		if err != nil {
			t.Fatalf("Date %q: %v", rec.Header().Get("Date"), err)
		}
		if d := time.Since(got); d < -time.Second || d > time.Second+httpdate.Tick {
			t.Fatalf("Date %s is %s away from the clock", got, d)
		}
		time.Sleep(600 * time.Millisecond)
	}
}
