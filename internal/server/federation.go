package server

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/federation"
)

// The cookies of a sign-in at an identity provider: the binding of a flow
// to the browser that started it, and, in cookie mode, a login waiting
// for its second factor. Both are HttpOnly and SameSite=Lax, since the
// callback is a top-level navigation from the provider's site.
const (
	bindingCookie = "gatehouse_oauth"
	mfaCookie     = "gatehouse_mfa"
)

// hostCookie is name with the __Host- prefix when cookies are Secure
// (bound to this host and path /, so that no other host can plant one).
func (s *Server) hostCookie(name string) string {
	if s.cfg.Browser.Secure {
		return "__Host-" + name
	}
	return name
}

func (s *Server) setFlowCookie(w http.ResponseWriter, name, value string, ttl time.Duration) {
	c := &http.Cookie{
		Name: s.hostCookie(name), Value: value, Path: "/", HttpOnly: true,
		Secure: s.cfg.Browser.Secure, SameSite: http.SameSiteLaxMode, MaxAge: int(ttl / time.Second),
	}
	if ttl < 0 {
		c.MaxAge, c.Expires = -1, time.Unix(0, 0)
	}
	http.SetCookie(w, c)
}

// flowCookie is the value of one of the flow's cookies ("" for none, or
// for one sent twice: a planted duplicate counts for nothing).
func (s *Server) flowCookie(r *http.Request, name string) string {
	v, err := cookieValue(r, s.hostCookie(name))
	if err != nil {
		return ""
	}
	return v
}

// binding is the browser's binding cookie.
func (s *Server) binding(r *http.Request) string { return s.flowCookie(r, bindingCookie) }

// providers: GET /auth/providers → {"providers":[{"id","name"}]}.
func (s *Server) providers(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, struct {
		Providers []federation.Public `json:"providers"`
	}{s.cfg.Federation.Providers()})
	return nil
}

// oauthStart: GET /auth/oauth/{id}/start?redirect_uri=&code_challenge=
// &code_challenge_method=S256[&state=] or ?redirect_uri=&mode=cookie →
// 302 to the provider, with the binding cookie set. Every refusal is a
// JSON answer: a redirect URI is followed only once it matched the list.
func (s *Server) oauthStart(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			return auth.Reasonf(auth.EBadRequest, "invalid_request", "%s is given more than once", k)
		}
	}
	mode := q.Get("mode")
	if mode != "" && mode != "cookie" {
		return auth.Reasonf(auth.EBadRequest, "invalid_request", "mode must be cookie when given")
	}
	st, err := s.cfg.Federation.Start(r.Context(), federation.StartRequest{
		Provider: r.PathValue("id"), RedirectURI: q.Get("redirect_uri"),
		CodeChallenge: q.Get("code_challenge"), ChallengeMethod: q.Get("code_challenge_method"),
		ClientState: q.Get("state"), CookieMode: mode == "cookie", Binding: s.binding(r),
	})
	if err != nil {
		return err
	}
	s.setFlowCookie(w, bindingCookie, st.Binding, federation.StateTTL)
	http.Redirect(w, r, st.AuthURL, http.StatusFound)
	return nil
}

// oauthCallback: GET /auth/oauth/{id}/callback?code=&state= → 302 to the
// flow's redirect URI (with a one-time code, the session cookies, a
// linked identity, or an error code); 400 JSON for a state that is not
// this browser's usable one.
func (s *Server) oauthCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	landed, err := s.cfg.Federation.Callback(r.Context(), federation.CallbackRequest{
		Provider: r.PathValue("id"), Code: q.Get("code"), State: q.Get("state"),
		Error: q.Get("error"), Binding: s.binding(r),
	}, s.origin(r))
	if err != nil {
		return err
	}
	if out := landed.Outcome; out != nil {
		switch {
		case out.Session != nil:
			s.setSessionCookies(w, *out.Session)
		case out.Pending != nil:
			s.setFlowCookie(w, mfaCookie, out.Pending.Token, out.Pending.ExpiresIn)
		}
	}
	http.Redirect(w, r, landed.RedirectTo, http.StatusFound)
	return nil
}

type grantBody struct {
	GrantType *string `json:"grant_type"`
	Code      *string `json:"code"`
	Verifier  *string `json:"code_verifier"`
}

func (b grantBody) validate() error {
	if err := require(field{"grant_type", b.GrantType}); err != nil {
		return err
	}
	if *b.GrantType != "authorization_code" {
		return auth.Reasonf(auth.EBadRequest, "unsupported_grant_type", "grant_type must be authorization_code")
	}
	return require(field{"code", b.Code}, field{"code_verifier", b.Verifier})
}

// token: POST /auth/token {"grant_type":"authorization_code","code",
// "code_verifier"} → the login answer (cookie mode honoured), or 401
// mfa_required; 400 invalid_grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	var body grantBody
	if err := decodeValid(r, &body); err != nil {
		return err
	}
	out, err := s.cfg.Federation.Exchange(r.Context(), *body.Code, *body.Verifier, s.origin(r))
	if err != nil {
		return err
	}
	s.writeOutcome(w, r, out)
	return nil
}

type identityJSON struct {
	ID        string    `json:"id"`
	Provider  string    `json:"provider"`
	Subject   string    `json:"subject"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// identities: GET /me/identities → {"identities":[…]}.
func (s *Server) identities(w http.ResponseWriter, r *http.Request, c caller) error {
	ids, err := s.cfg.Federation.Identities(r.Context(), c.principal.UserID)
	if err != nil {
		return err
	}
	out := make([]identityJSON, 0, len(ids))
	for _, x := range ids {
		out = append(out, identityJSON{x.ID, x.Provider, x.Subject, x.Email, x.CreatedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, struct {
		Identities []identityJSON `json:"identities"`
	}{out})
	return nil
}

type linkBody struct {
	RedirectURI *string `json:"redirect_uri"`
}

func (b linkBody) validate() error { return require(field{"redirect_uri", b.RedirectURI}) }

// linkIdentity: POST /me/identities/{id} (a provider id) {"redirect_uri"} → 200
// {"authorize_url"}, with the binding cookie set: the browser that asked
// must be the one that consents at the provider.
func (s *Server) linkIdentity(w http.ResponseWriter, r *http.Request, c caller) error {
	var body linkBody
	if err := decodeValid(r, &body); err != nil {
		return err
	}
	st, err := s.cfg.Federation.Link(r.Context(), c.principal, r.PathValue("id"), *body.RedirectURI, s.binding(r))
	if err != nil {
		return err
	}
	s.setFlowCookie(w, bindingCookie, st.Binding, federation.StateTTL)
	writeJSON(w, http.StatusOK, struct {
		AuthorizeURL string `json:"authorize_url"`
	}{st.AuthURL})
	return nil
}

// unlinkIdentity: DELETE /me/identities/{id} → 204; 404; 409
// last_login_method.
func (s *Server) unlinkIdentity(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := s.cfg.Federation.Unlink(r.Context(), c.principal, r.PathValue("id"), c.origin(s, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pendingFromCookie is the mfa_token that a cookie-mode provider sign-in
// left in the browser, for POST /auth/login/mfa without one in the body.
func (s *Server) pendingFromCookie(r *http.Request) string { return s.flowCookie(r, mfaCookie) }
