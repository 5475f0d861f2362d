// Package barehttp is the HTTP baseline of the benchmark harness: a plain
// net/http handler that answers every request with a small JSON body of
// the shape and size of GET /me's answer. What it serves is the most any Go
// HTTP server can serve on the machine under the same load.
//
// Dressed is the same handler writing the response headers Gatehouse
// writes on every answer; served with gatehouse serve's timeouts, it is the
// most a handler with those headers and timeouts can serve.
package barehttp

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/httpdate"
)

// Body is the answer to every request: GET /me's fields, for a user
// named like the harness's.
var Body = []byte(`{"id":"01a22e56-b6dc-7d42-9555-d649c98e1706","username":"bench","role":"user","email":"bench@example.com","email_verified":false,"mfa_enabled":false}`)

// Handler answers every request 200 with Body.
func Handler() http.Handler { return handler(nil) }

// SecurityHeaders are the headers Gatehouse sets on every answer (without
// HSTS, which is off on plain HTTP). A test checks them against what
// Gatehouse answers.
var SecurityHeaders = http.Header{
	"Cache-Control":           {"no-store"},
	"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
	"Referrer-Policy":         {"no-referrer"},
	"X-Content-Type-Options":  {"nosniff"},
	"X-Frame-Options":         {"DENY"},
}

// Dressed answers as Handler does, with SecurityHeaders too, set the
// cheapest way: the value slices shared by all answers, and the Date
// header formatted once per tick, as Gatehouse sets it.
func Dressed() http.Handler { return handler(SecurityHeaders) }

func handler(extra http.Header) http.Handler {
	dressed := extra != nil
	size := []string{strconv.Itoa(len(Body))}
	typ := []string{"application/json"}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		for k, v := range extra {
			h[k] = v
		}
		if dressed {
			h["Date"] = httpdate.Value()
		}
		h["Content-Type"] = typ
		h["Content-Length"] = size
		w.Write(Body)
	})
}
