// Command testop serves zitadel/oidc's example OpenID Provider for the
// browser test (webtest/run.sh): it prints one JSON line with the issuer,
// the client's credentials and the user's, and serves until stopped.
//
//	go run ./internal/oidctest/cmd/testop -addr 127.0.0.1:0 -redirect http://127.0.0.1:8000/auth/oauth/test/callback
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/oidctest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen `host:port`")
	redirect := flag.String("redirect", "", "the relying party's callback `URI`")
	flag.Parse()
	if *redirect == "" {
		fmt.Fprintln(os.Stderr, "testop: -redirect is required")
		os.Exit(2)
	}
	z, err := oidctest.ServeZitadel(*addr, *redirect)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testop:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{
		"issuer": z.Issuer, "client_id": z.ClientID, "client_secret": oidctest.ZitadelClientSecret,
		"username": z.Username, "password": oidctest.ZitadelPassword,
	})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	_ = z.Close()
}
