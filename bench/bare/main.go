// Command bare is the HTTP baseline of the benchmark harness: a plain
// net/http server answering every request with a small JSON body, the size
// of GET /me's answer (package barehttp). With -dressed it writes the
// response headers Gatehouse writes and serves with gatehouse serve's
// timeouts.
//
//	go run ./bench/bare -addr 127.0.0.1:8001 [-dressed]
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gatehouse/gatehouse/bench/internal/barehttp"
	"github.com/gatehouse/gatehouse/internal/app"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "listen address")
	dressed := flag.Bool("dressed", false, "write Gatehouse's security headers and serve with gatehouse serve's timeouts")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: barehttp.Handler()}
	if *dressed {
		srv = app.HTTPServer(barehttp.Dressed(), app.ServeTimeouts)
		srv.Addr = *addr
	}
	log.Fatal(srv.ListenAndServe())
}
