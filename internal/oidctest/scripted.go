// Package oidctest runs OpenID Connect providers on loopback for tests:
// Scripted, a provider whose users and faults the test decides, which
// speaks the protocol for real (discovery, the authorization code flow
// with PKCE S256, signed ID tokens, JWKS, userinfo). It is imported only
// from tests and test commands.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// User is who the next authorization signs in.
type User struct {
	Subject, Email string
	// EmailVerified is the email_verified claim; nil leaves it out.
	EmailVerified     *bool
	PreferredUsername string
	Name              string
	// EmailOnlyInUserinfo leaves email and email_verified out of the ID
	// token; userinfo gives them.
	EmailOnlyInUserinfo bool
}

// Fault makes the next answer wrong in one way.
type Fault int

// The faults.
const (
	NoFault       Fault = iota
	WrongNonce          // the ID token's nonce is another
	WrongAudience       // aud is another client
	WrongIssuer         // iss is another issuer
	Expired             // exp is in the past
	BadSignature        // signed by a key that is not published, under the published kid
	AlgNone             // an unsigned token, alg none
	TokenError          // the token endpoint answers 500
	Deny                // the authorization answers error=access_denied
	OtherSubjectInUserinfo
)

func (f Fault) String() string {
	return [...]string{"none", "wrong_nonce", "wrong_audience", "wrong_issuer", "expired", "bad_signature", "alg_none", "token_error", "deny", "userinfo_subject"}[f]
}

// Scripted is an OpenID Connect provider on httptest. Safe for concurrent
// use.
type Scripted struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey
	rogue    *rsa.PrivateKey
	clientID string
	secret   string

	mu        sync.Mutex
	redirects []string
	queue     []User
	fallback  User
	fault     Fault
	codes     map[string]*grant
	access    map[string]User
}

type grant struct {
	user                               User
	redirect, nonce, challenge, client string
	fault                              Fault
	used                               bool
}

const kid = "oidctest-1"

// New starts a provider; it stops when the test ends.
func New(t testing.TB) *Scripted {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Scripted{key: k, rogue: rogue, clientID: "gatehouse-test", secret: random(),
		codes: map[string]*grant{}, access: map[string]User{}, fallback: User{Subject: "default-user"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /userinfo", s.userinfo)
	mux.HandleFunc("GET /jwks", s.jwks)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// Issuer is the provider's issuer URL.
func (s *Scripted) Issuer() string { return s.srv.URL }

// ClientID and ClientSecret are the one client's credentials.
func (s *Scripted) ClientID() string     { return s.clientID }
func (s *Scripted) ClientSecret() string { return s.secret }

// SetRedirectURIs sets the redirect URIs the client may use, exactly.
func (s *Scripted) SetRedirectURIs(uris ...string) {
	s.mu.Lock()
	s.redirects = slices.Clone(uris)
	s.mu.Unlock()
}

// Login queues u for the next authorization.
func (s *Scripted) Login(u User) {
	s.mu.Lock()
	s.queue = append(s.queue, u)
	s.mu.Unlock()
}

// SetDefaultUser is who an authorization signs in when none is queued.
func (s *Scripted) SetDefaultUser(u User) {
	s.mu.Lock()
	s.fallback = u
	s.mu.Unlock()
}

// Fault makes the next flow fail as f says (once).
func (s *Scripted) Fault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

func (s *Scripted) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.Issuer()
	writeJSON(w, 200, map[string]any{
		"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
		"userinfo_endpoint": iss + "/userinfo", "jwks_uri": iss + "/jwks",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (s *Scripted) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}})
}

func (s *Scripted) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	redirect := q.Get("redirect_uri")
	allowed := slices.Contains(s.redirects, redirect)
	s.mu.Unlock()
	if q.Get("client_id") != s.clientID || !allowed {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest) // never redirected
		return
	}
	back := func(kv ...string) {
		u, _ := url.Parse(redirect)
		v := u.Query()
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code" || !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		back("error", "invalid_request")
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		back("error", "invalid_request", "error_description", "PKCE S256 is required")
		return
	}
	s.mu.Lock()
	f := s.fault
	s.fault = NoFault
	if f == Deny {
		s.mu.Unlock()
		back("error", "access_denied")
		return
	}
	u := s.fallback
	if len(s.queue) > 0 {
		u, s.queue = s.queue[0], s.queue[1:]
	}
	code := random()
	s.codes[code] = &grant{user: u, redirect: redirect, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), client: s.clientID, fault: f}
	s.mu.Unlock()
	back("code", code)
}

func (s *Scripted) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.clientID || secret != s.secret {
		oauthError(w, 401, "invalid_client")
		return
	}
	s.mu.Lock()
	g := s.codes[r.PostForm.Get("code")]
	valid := g != nil && !g.used && r.PostForm.Get("grant_type") == "authorization_code" &&
		r.PostForm.Get("redirect_uri") == g.redirect && challenge(r.PostForm.Get("code_verifier")) == g.challenge
	if g != nil {
		g.used = true
	}
	var at string
	if valid {
		at = random()
		s.access[at] = g.user
		if g.fault == OtherSubjectInUserinfo {
			u := g.user
			u.Subject += "-other"
			s.access[at] = u
		}
	}
	s.mu.Unlock()
	switch {
	case valid && g.fault == TokenError:
		oauthError(w, 500, "server_error")
		return
	case !valid:
		oauthError(w, 400, "invalid_grant")
		return
	}
	idt, err := s.idToken(g)
	if err != nil {
		oauthError(w, 500, "server_error")
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 300, "id_token": idt})
}

func (s *Scripted) idToken(g *grant) (string, error) {
	now := time.Now()
	c := map[string]any{"iss": s.Issuer(), "sub": g.user.Subject, "aud": g.client, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce}
	if !g.user.EmailOnlyInUserinfo {
		addEmail(c, g.user)
	}
	if g.user.PreferredUsername != "" {
		c["preferred_username"] = g.user.PreferredUsername
	}
	if g.user.Name != "" {
		c["name"] = g.user.Name
	}
	key := s.key
	switch g.fault {
	case WrongNonce:
		c["nonce"] = random()
	case WrongAudience:
		c["aud"] = "another-client"
	case WrongIssuer:
		c["iss"] = "https://another-issuer.example"
	case Expired:
		c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-30*time.Minute).Unix()
	case BadSignature:
		key = s.rogue
	case AlgNone:
		payload, _ := json.Marshal(c)
		return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(payload) + ".", nil
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func (s *Scripted) userinfo(w http.ResponseWriter, r *http.Request) {
	at, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	u, ok := s.access[at]
	s.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, 401, "invalid_token")
		return
	}
	c := map[string]any{"sub": u.Subject}
	addEmail(c, u)
	if u.PreferredUsername != "" {
		c["preferred_username"] = u.PreferredUsername
	}
	writeJSON(w, 200, c)
}

func addEmail(c map[string]any, u User) {
	if u.Email != "" {
		c["email"] = u.Email
	}
	if u.EmailVerified != nil {
		c["email_verified"] = *u.EmailVerified
	}
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return b64(b)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
