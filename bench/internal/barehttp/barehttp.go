// Package barehttp is the HTTP baseline of the benchmark harness: a plain
// net/http handler that answers every request with a small JSON body, the
// size of GET /me's answer. What it serves is the most any Go HTTP server
// can serve on the machine under the same load.
package barehttp

import (
	"net/http"
	"strconv"
)

// Body is the answer to every request.
var Body = []byte(`{"id":"01a22e56-b6dc-7d42-9555-d649c98e1706","username":"bench","role":"user"}`)

// Handler answers every request 200 with Body.
func Handler() http.Handler {
	size := strconv.Itoa(len(Body))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", size)
		w.Write(Body)
	})
}
