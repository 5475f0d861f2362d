package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// provider is a configured identity provider, discovered on first use
// (and again after a failure, at most every rediscoverAfter), so that a
// provider down when Gatehouse starts does not keep it from starting.
// Its keys are go-oidc's remote key set: fetched on first use and again
// when a token names a key it has not seen.
type provider struct {
	cfg    ProviderConfig
	client *http.Client
	// redirect is Gatehouse's callback for this provider.
	redirect string

	mu       sync.Mutex
	oidc     *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	failedAt time.Time
	lastErr  error
}

// rediscoverAfter spaces the discovery attempts of a failing provider.
const rediscoverAfter = 5 * time.Second

// errProviderDown is the answer when a provider's discovery fails.
var errProviderDown = errors.New("identity provider unavailable")

// discovered returns the provider's OAuth 2 configuration and ID token
// verifier, discovering them if need be.
func (p *provider) discovered(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, *oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oidc != nil {
		return &p.oauth, p.verifier, p.oidc, nil
	}
	if !p.failedAt.IsZero() && time.Since(p.failedAt) < rediscoverAfter {
		return nil, nil, nil, p.lastErr
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), p.client), 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
	if err != nil {
		p.failedAt, p.lastErr = time.Now(), fmt.Errorf("%w: %s: discovery: %v", errProviderDown, p.cfg.ID, err)
		return nil, nil, nil, p.lastErr
	}
	var doc struct {
		JWKS string   `json:"jwks_uri"`
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	_ = op.Claims(&doc) // go-oidc decoded the document already
	// The key set must outlive this call's context: it fetches keys later.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.client), doc.JWKS)
	p.oidc = op
	p.verifier = oidc.NewVerifier(p.cfg.Issuer, keys, &oidc.Config{ClientID: p.cfg.ClientID, SupportedSigningAlgs: signingAlgs(doc.Algs)})
	p.oauth = oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint: op.Endpoint(), RedirectURL: p.redirect, Scopes: p.cfg.Scopes,
	}
	return &p.oauth, p.verifier, p.oidc, nil
}

// signingAlgs are the asymmetric algorithms the provider says it signs
// ID tokens with (RS256 when it says nothing). go-oidc refuses "none"
// and every HMAC algorithm whatever the list says: an ID token is never
// verified with the client secret.
func signingAlgs(algs []string) []string {
	var out []string
	for _, a := range algs {
		switch a {
		case oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA:
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []string{oidc.RS256}
	}
	return out
}

// claims is what Gatehouse reads of an ID token or of the userinfo
// answer. email_verified is kept raw: absent, null, false or anything
// but true (or the string "true", as some providers send) is false,
// never the zero-value trap of decoding into a bool.
type claims struct {
	Subject           string          `json:"sub"`
	Email             string          `json:"email"`
	EmailVerified     json.RawMessage `json:"email_verified"`
	PreferredUsername string          `json:"preferred_username"`
	Name              string          `json:"name"`
}

func (c claims) emailVerified() bool {
	switch string(c.EmailVerified) {
	case "true", `"true"`:
		return true
	}
	return false
}

// signedIn is what a provider vouched for.
type signedIn struct {
	Subject, Email, PreferredUsername, Name string
	EmailVerified                           bool
}

// exchange trades the provider's code for its tokens, checks the ID token
// (signature, iss, aud, exp by go-oidc; the nonce here) and returns who
// signed in. The email comes from the ID token, or from userinfo when the
// ID token has none, and then only if userinfo names the same subject.
// The provider's tokens are dropped here.
func (p *provider) exchange(ctx context.Context, code, verifier, nonce string) (signedIn, error) {
	oc, v, op, err := p.discovered(ctx)
	if err != nil {
		return signedIn{}, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return signedIn{}, fmt.Errorf("token exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return signedIn{}, errors.New("the token answer has no id_token")
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return signedIn{}, fmt.Errorf("id token: %w", err)
	}
	if !equalSecret(idt.Nonce, nonce) {
		return signedIn{}, errors.New("id token: nonce does not match")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return signedIn{}, fmt.Errorf("id token claims: %w", err)
	}
	if c.Subject == "" || len(c.Subject) > 255 {
		return signedIn{}, errors.New("id token: sub is missing or over 255 bytes")
	}
	if c.Email == "" && op.UserInfoEndpoint() != "" {
		ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return signedIn{}, fmt.Errorf("userinfo: %w", err)
		}
		var uc claims
		if err := ui.Claims(&uc); err != nil {
			return signedIn{}, fmt.Errorf("userinfo claims: %w", err)
		}
		if uc.Subject != c.Subject {
			return signedIn{}, errors.New("userinfo names another subject than the id token")
		}
		c.Email, c.EmailVerified = uc.Email, uc.EmailVerified
		if c.PreferredUsername == "" {
			c.PreferredUsername = uc.PreferredUsername
		}
		if c.Name == "" {
			c.Name = uc.Name
		}
	}
	return signedIn{Subject: c.Subject, Email: c.Email, EmailVerified: c.Email != "" && c.emailVerified(),
		PreferredUsername: c.PreferredUsername, Name: c.Name}, nil
}
