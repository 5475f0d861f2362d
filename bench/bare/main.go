// Command bare is the HTTP baseline of the benchmark harness: a plain
// net/http server that answers every request with a small JSON body, the
// size of GET /me's answer. What it serves per second is the most any Go
// HTTP server can serve on the machine under the same load generator.
//
//	go run ./bench/bare -addr 127.0.0.1:8001
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

var body = []byte(`{"id":"01a22e56-b6dc-7d42-9555-d649c98e1706","username":"bench","role":"user"}`)

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "listen address")
	flag.Parse()
	size := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", size)
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
