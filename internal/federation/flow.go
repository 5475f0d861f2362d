package federation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/token"
	"golang.org/x/oauth2"
)

// Store is what the flows read and write.
type Store interface {
	auth.IdentityStore
	UserByID(ctx context.Context, id string) (auth.User, error)
	UserByEmail(ctx context.Context, addr string) (auth.User, error)
	IssueSecret(ctx context.Context, s auth.OneTimeSecret, voidOthers bool) error
	LookupSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error)
	ConsumeSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error)
}

// Login continues a sign-in once a provider vouched for the user
// (login.Service): on to a session, or to a second factor.
type Login interface {
	Federated(ctx context.Context, u auth.User, provider string, o auth.Origin) (login.Outcome, error)
}

// Config wires a Service. Providers, Store, Login and CallbackBase are
// required.
type Config struct {
	Providers []ProviderConfig
	Redirects RedirectURIs
	// CallbackBase is Gatehouse's issuer: a provider's callback is
	// CallbackBase + "/auth/oauth/<id>/callback".
	CallbackBase string
	Store        Store
	Login        Login
	SignupOpen   bool
	Audit        *audit.Recorder
	HTTPClient   *http.Client // for the providers (a 10 s timeout by default)
	StateTTL     time.Duration
	CodeTTL      time.Duration
	// LinkWithin is how recent a session's sign-in must be to link a new
	// identity to its account.
	LinkWithin time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

// The defaults.
const (
	StateTTL   = 10 * time.Minute // a sign-in at the provider
	CodeTTL    = 60 * time.Second // the hand-off code (CONTRACT §7)
	LinkWithin = 10 * time.Minute
)

// Service runs the flows. It is safe for concurrent use.
type Service struct {
	c         Config
	providers map[string]*provider
	order     []string
}

// New returns a Service.
func New(c Config) *Service {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.StateTTL <= 0 {
		c.StateTTL = StateTTL
	}
	if c.CodeTTL <= 0 {
		c.CodeTTL = CodeTTL
	}
	if c.LinkWithin <= 0 {
		c.LinkWithin = LinkWithin
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	s := &Service{c: c, providers: map[string]*provider{}}
	for _, pc := range c.Providers {
		s.providers[pc.ID] = &provider{cfg: pc, client: c.HTTPClient, redirect: strings.TrimSuffix(c.CallbackBase, "/") + "/auth/oauth/" + pc.ID + "/callback"}
		s.order = append(s.order, pc.ID)
	}
	return s
}

// Public is what anyone may know of a provider.
type Public struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Providers lists the providers in the file's order.
func (s *Service) Providers() []Public {
	out := make([]Public, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, Public{ID: id, Name: s.providers[id].cfg.Name})
	}
	return out
}

// Discover looks every provider up once (at start), logging those that
// do not answer; they are looked up again when used.
func (s *Service) Discover(ctx context.Context) {
	for _, id := range s.order {
		if _, _, _, err := s.providers[id].discovered(ctx); err != nil {
			s.c.Log.WarnContext(ctx, "identity provider not reachable; retried when used", "provider", id, "err", err)
		}
	}
}

// Errors with the contract's words.
var (
	ErrUnknownProvider = auth.Errorf(auth.ENotFound, "Unknown identity provider")
	ErrRedirectURI     = auth.Reasonf(auth.EBadRequest, "invalid_redirect_uri", "redirect_uri is not one of the configured redirect URIs")
	ErrBadState        = auth.Reasonf(auth.EBadRequest, "invalid_state", "Unknown, used or expired sign-in, or one started in another browser")
	ErrInvalidGrant    = auth.Reasonf(auth.EBadRequest, "invalid_grant", "Unknown, used or expired code, or a code_verifier that does not match")
	ErrReauth          = auth.Reasonf(auth.EForbidden, "reauthentication_required", "Sign in again to link an identity")
	errUnavailable     = auth.Errorf(auth.EUnavailable, "Identity provider unavailable")
)

func invalidRequest(msg string) error {
	return auth.Reasonf(auth.EBadRequest, "invalid_request", "%s", msg)
}

// StartRequest begins a sign-in (or, with LinkUserID, a linking).
type StartRequest struct {
	Provider    string
	RedirectURI string
	// CodeChallenge and ChallengeMethod are the client's PKCE (S256 only),
	// required unless CookieMode.
	CodeChallenge   string
	ChallengeMethod string
	ClientState     string
	CookieMode      bool
	// Binding is the value of the browser's binding cookie, if it has
	// one; Start makes one otherwise.
	Binding    string
	LinkUserID string
}

// Started is where to send the browser, and the binding cookie's value
// to set (the same as the request's when it had a good one).
type Started struct {
	AuthURL string
	Binding string
}

// maxClientState bounds the client's state.
const maxClientState = 512

// Start stores the flow and returns the provider's authorization URL.
// ErrUnknownProvider; ErrRedirectURI; invalid_request; EUnavailable when
// the provider cannot be discovered.
func (s *Service) Start(ctx context.Context, r StartRequest) (Started, error) {
	p, ok := s.providers[r.Provider]
	if !ok {
		return Started{}, ErrUnknownProvider
	}
	if !s.c.Redirects.Match(r.RedirectURI) {
		return Started{}, ErrRedirectURI
	}
	if len(r.ClientState) > maxClientState || !auth.StorableText(r.ClientState) {
		return Started{}, invalidRequest("state must be at most 512 bytes of text")
	}
	switch {
	case r.CookieMode && r.CodeChallenge != "":
		return Started{}, invalidRequest("mode=cookie takes no code_challenge")
	case r.CookieMode || r.LinkUserID != "":
	case r.CodeChallenge == "":
		return Started{}, invalidRequest("code_challenge is required (or mode=cookie)")
	case r.ChallengeMethod != "S256":
		return Started{}, invalidRequest("code_challenge_method must be S256")
	case !validChallenge(r.CodeChallenge):
		return Started{}, invalidRequest("code_challenge must be the base64url SHA-256 of a code_verifier (43 characters)")
	}
	oc, _, _, err := p.discovered(ctx)
	if err != nil {
		s.c.Log.WarnContext(ctx, "identity provider unavailable", "provider", p.cfg.ID, "err", err)
		return Started{}, errUnavailable
	}
	binding := r.Binding
	if !validSecret(binding) {
		binding = newSecret()
	}
	state := newSecret()
	now := s.c.Now()
	err = s.c.Store.IssueOAuthState(ctx, auth.OAuthState{
		Hash: token.HashSecret(state), BindingHash: token.HashSecret(binding), Provider: p.cfg.ID,
		RedirectURI: r.RedirectURI, ClientState: r.ClientState, CodeChallenge: r.CodeChallenge,
		CookieMode: r.CookieMode, LinkUserID: r.LinkUserID, CreatedAt: now, ExpiresAt: now.Add(s.c.StateTTL),
	})
	if err != nil {
		return Started{}, err
	}
	authURL := oc.AuthCodeURL(state,
		oauth2.S256ChallengeOption(derive(binding, "pkce", state)),
		oauth2.SetAuthURLParam("nonce", derive(binding, "nonce", state)))
	return Started{AuthURL: authURL, Binding: binding}, nil
}

// CallbackRequest is the provider's answer, as the browser brings it.
type CallbackRequest struct {
	Provider string
	Code     string
	State    string
	// Error is the provider's error parameter, when it refused.
	Error   string
	Binding string // the browser's binding cookie
}

// Landed is where the callback sends the browser, and, in cookie mode,
// the sign-in's outcome (a session whose cookies to set, or a second
// factor to give).
type Landed struct {
	RedirectTo string
	Outcome    *login.Outcome
}

// The error codes of a callback's redirect (CONTRACT §7).
const (
	codeAccessDenied  = "access_denied"
	codeAccountExists = "account_exists"
	codeSignupClosed  = "signup_closed"
	codeServerError   = "server_error"
	codeIdentityTaken = "identity_taken"
)

// Callback finishes a flow. ErrBadState (answered 400, never redirected)
// when the state is unknown, used, expired, or was started in another
// browser; every other failure is a redirect to the flow's checked
// redirect URI with an error code.
func (s *Service) Callback(ctx context.Context, r CallbackRequest, o auth.Origin) (Landed, error) {
	p, ok := s.providers[r.Provider]
	if !ok {
		return Landed{}, ErrUnknownProvider
	}
	if !validSecret(r.State) || !validSecret(r.Binding) {
		return Landed{}, ErrBadState
	}
	st, err := s.c.Store.ConsumeOAuthState(ctx, token.HashSecret(r.State), token.HashSecret(r.Binding), s.c.Now())
	if auth.ErrorCode(err) == auth.ENotFound || (err == nil && st.Provider != p.cfg.ID) {
		return Landed{}, ErrBadState
	}
	if err != nil {
		return Landed{}, err
	}
	fail := func(code, why string, cause error) (Landed, error) {
		s.c.Log.WarnContext(ctx, "sign-in at identity provider failed", "provider", p.cfg.ID, "reason", why, "err", cause)
		s.c.Audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditFederationFailed, UserID: st.LinkUserID, Detail: "provider=" + p.cfg.ID + " reason=" + why})
		return Landed{RedirectTo: withQuery(st.RedirectURI, "error", code, "state", st.ClientState)}, nil
	}
	if r.Error != "" {
		code := codeServerError
		switch r.Error {
		case "access_denied", "login_required", "consent_required", "interaction_required", "account_selection_required":
			code = codeAccessDenied
		}
		return fail(code, "provider_error:"+clip(r.Error, 64), nil)
	}
	if r.Code == "" || len(r.Code) > 4096 {
		return fail(codeServerError, "no_code", nil)
	}
	who, err := p.exchange(ctx, r.Code, derive(r.Binding, "pkce", r.State), derive(r.Binding, "nonce", r.State))
	if err != nil {
		return fail(codeServerError, "exchange", err)
	}
	if st.LinkUserID != "" {
		return s.link(ctx, p, st, who, o, fail)
	}
	u, code, err := s.resolve(ctx, p, who, o)
	if err != nil {
		return fail(codeServerError, "store", err)
	}
	if code != "" {
		return fail(code, code, nil)
	}
	if !st.CookieMode {
		hand, err := s.handOff(ctx, u, p.cfg.ID, st.CodeChallenge)
		if err != nil {
			return fail(codeServerError, "store", err)
		}
		return Landed{RedirectTo: withQuery(st.RedirectURI, "code", hand, "state", st.ClientState)}, nil
	}
	out, err := s.c.Login.Federated(ctx, u, p.cfg.ID, o)
	switch {
	case errors.Is(err, login.ErrInactive):
		return fail(codeAccessDenied, "inactive", nil)
	case err != nil:
		return fail(codeServerError, "login", err)
	}
	to := withQuery(st.RedirectURI, "state", st.ClientState)
	if out.Pending != nil {
		to = withQuery(st.RedirectURI, "mfa_required", strings.Join(out.Pending.Methods, " "), "state", st.ClientState)
	}
	return Landed{RedirectTo: to, Outcome: &out}, nil
}

// handOff issues the one-time code that the client exchanges, with its
// PKCE verifier, at POST /auth/token.
func (s *Service) handOff(ctx context.Context, u auth.User, provider, challenge string) (string, error) {
	code := newSecret()
	data, _ := json.Marshal(handOffData{Challenge: challenge, Provider: provider}) // cannot fail
	now := s.c.Now()
	err := s.c.Store.IssueSecret(ctx, auth.OneTimeSecret{
		Hash: token.HashSecret(code), Purpose: auth.PurposeOAuthCode, OwnerID: u.ID, Data: string(data),
		CreatedAt: now, ExpiresAt: now.Add(s.c.CodeTTL), AttemptsLeft: 1,
	}, false)
	return code, err
}

type handOffData struct {
	Challenge string `json:"code_challenge"`
	Provider  string `json:"provider"`
}

// Exchange trades a hand-off code and the client's PKCE verifier for the
// sign-in's outcome. ErrInvalidGrant for an unknown, used or expired code
// and for a verifier that does not match (which uses the code up: a
// stolen code is worth one guess).
func (s *Service) Exchange(ctx context.Context, code, verifier string, o auth.Origin) (login.Outcome, error) {
	if !validSecret(code) {
		return login.Outcome{}, ErrInvalidGrant
	}
	hash := token.HashSecret(code)
	sec, err := s.c.Store.ConsumeSecret(ctx, auth.PurposeOAuthCode, hash, s.c.Now())
	if auth.ErrorCode(err) == auth.ENotFound {
		return login.Outcome{}, ErrInvalidGrant
	}
	if err != nil {
		return login.Outcome{}, err
	}
	var d handOffData
	if err := json.Unmarshal([]byte(sec.Data), &d); err != nil {
		return login.Outcome{}, err
	}
	if !validVerifier(verifier) || subtle.ConstantTimeCompare([]byte(oauth2.S256ChallengeFromVerifier(verifier)), []byte(d.Challenge)) != 1 {
		return login.Outcome{}, ErrInvalidGrant
	}
	u, err := s.c.Store.UserByID(ctx, sec.OwnerID)
	if auth.ErrorCode(err) == auth.ENotFound {
		return login.Outcome{}, ErrInvalidGrant
	}
	if err != nil {
		return login.Outcome{}, err
	}
	return s.c.Login.Federated(ctx, u, d.Provider, o)
}

// Link starts linking a provider to the signed-in user's account. The
// session's sign-in must be recent (LinkWithin): a stolen access token
// must not be able to add a way into the account that outlives it.
func (s *Service) Link(ctx context.Context, p auth.Principal, provider, redirectURI, binding string) (Started, error) {
	if _, ok := s.providers[provider]; !ok {
		return Started{}, ErrUnknownProvider
	}
	if p.AuthTime.IsZero() || s.c.Now().Sub(p.AuthTime) > s.c.LinkWithin {
		return Started{}, ErrReauth
	}
	return s.Start(ctx, StartRequest{Provider: provider, RedirectURI: redirectURI, Binding: binding, LinkUserID: p.UserID})
}

// newSecret returns 256 random bits, base64url (43 characters).
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// derive is a value for the provider that only the holder of the
// binding secret can compute for this state: the PKCE verifier, the
// nonce. 43 base64url characters, a valid PKCE verifier (RFC 7636 §4.1).
func derive(binding, label, state string) string {
	m := hmac.New(sha256.New, []byte(binding))
	m.Write([]byte("gatehouse oidc " + label + "\x00" + state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validSecret reports whether s has the shape of a secret made by
// newSecret (43 base64url characters).
func validSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// validChallenge: a base64url SHA-256, 43 characters.
func validChallenge(s string) bool { return validSecret(s) }

// validVerifier: RFC 7636 §4.1, 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range []byte(v) {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// withQuery adds pairs (key, value; empty values left out) to uri's query.
func withQuery(uri string, kv ...string) string {
	u, err := url.Parse(uri)
	if err != nil { // checked at start
		return uri
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
