package oidctest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// The example OP's confidential web client's secret, and the user its
// login form accepts (the example's own; the username's host is the
// issuer's).
const (
	ZitadelClientSecret = "gatehouse-web-secret"
	ZitadelPassword     = "verysecure"
	ZitadelEmail        = "test-user@zitadel.ch" // verified, sub "id1"
)

// Zitadel is zitadel/oidc's example OpenID Provider, served in this
// process: a real provider with a login page (form fields username and
// password), the code flow with PKCE, and signed ID tokens.
type Zitadel struct {
	Issuer   string // http://127.0.0.1:PORT, no trailing slash
	ClientID string // the web client's, one per provider (the example's client list is global)
	Username string // test-user@127.0.0.1
	srv      *http.Server
}

// ServeZitadel starts the example OP on addr (127.0.0.1:0 for any port),
// with its web client allowed to redirect to redirectURIs.
func ServeZitadel(addr string, redirectURIs ...string) (*Zitadel, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	issuer := "http://" + ln.Addr().String()
	clientID := "gatehouse-" + ln.Addr().String()
	storage.RegisterClients(storage.WebClient(clientID, ZitadelClientSecret, redirectURIs...))
	users := storage.NewUserStore(issuer)
	router := exampleop.SetupServer(issuer, storage.NewStorage(users), nil, false)
	z := &Zitadel{Issuer: issuer, ClientID: clientID, Username: "test-user@" + strings.Split(ln.Addr().String(), ":")[0],
		srv: &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = z.srv.Serve(ln) }()
	return z, nil
}

// Close stops it.
func (z *Zitadel) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return z.srv.Shutdown(ctx)
}
