// Command bare is the HTTP baseline of the benchmark harness: a plain
// net/http server answering every request with a small JSON body, the size
// of GET /me's answer (package barehttp).
//
//	go run ./bench/bare -addr 127.0.0.1:8001
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gatehouse/gatehouse/bench/internal/barehttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "listen address")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, barehttp.Handler()))
}
