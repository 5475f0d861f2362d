package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

// TestResourceServiceSeesLogout runs the verify package as a resource
// service would, with keys from discovery and the denylist polled from
// /auth/revocations: a logged-out token is refused within a second.
func TestResourceServiceSeesLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.app.RunBackground(ctx)
	before := e.login("bob", "password456")
	expect(t, e.do("POST", "/auth/logout", before.access, nil), 204, "")

	poller := verify.NewRevocationPoller(e.srv.URL, e.srv.Client())
	if err := poller.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	go poller.Run(ctx, 100*time.Millisecond)
	ks := verify.NewRemoteKeySet(e.srv.URL+"/.well-known/jwks.json", e.srv.Client(), nil)
	v, err := verify.New(ctx, verify.Config{Issuer: testIssuer, Algorithms: []string{"ES256"}, KeySet: ks, Revocations: poller})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, before.access); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("a token logged out before the first sync: %v", err)
	}
	p := e.login("bob", "password456")
	if _, err := v.Verify(ctx, p.access); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("POST", "/auth/logout", p.access, nil), 204, "")
	eventually(t, time.Second, func() bool {
		_, err := v.Verify(ctx, p.access)
		return errors.Is(err, verify.ErrRevoked)
	})
	expect(t, e.invalid("cursor not a number").do("GET", "/auth/revocations?cursor=x", "", nil), 422, "")
}
