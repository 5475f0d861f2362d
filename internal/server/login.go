package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/verify"
)

// tokensJSON is the answer to a login or a refresh (the seed's shape).
type tokensJSON struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// mfaRequiredJSON is the answer to a right first factor of a user with a
// second factor: no token, an attempt to continue.
type mfaRequiredJSON struct {
	Detail    string   `json:"detail"`
	Code      string   `json:"code"`
	MFAToken  string   `json:"mfa_token"`
	Methods   []string `json:"methods"`
	ExpiresIn int      `json:"expires_in"`
}

type credentials struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

func (c credentials) validate() error {
	return require(field{"username", c.Username}, field{"password", c.Password})
}

// login: POST /auth/login {"username","password"}.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var c credentials
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	out, err := s.cfg.Login.Password(r.Context(), *c.Username, *c.Password, s.origin(r))
	if err != nil {
		return err
	}
	s.writeOutcome(w, r, out)
	return nil
}

// writeOutcome answers a login step: the session's tokens (in cookies
// when the client asked for cookie mode), or 401 mfa_required.
func (s *Server) writeOutcome(w http.ResponseWriter, r *http.Request, out login.Outcome) {
	s.writeOutcomeIn(w, out, wantsCookies(r))
}

// writeOutcomeIn is writeOutcome with the mode given.
func (s *Server) writeOutcomeIn(w http.ResponseWriter, out login.Outcome, cookies bool) {
	switch {
	case out.Pending != nil:
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, mfaRequiredJSON{
			Detail: "Second factor required", Code: "mfa_required", MFAToken: out.Pending.Token,
			Methods: out.Pending.Methods, ExpiresIn: int(out.Pending.ExpiresIn / time.Second),
		})
	case cookies:
		s.writeCookieTokens(w, *out.Session)
	default:
		writeTokens(w, *out.Session)
	}
}

func writeTokens(w http.ResponseWriter, iss sessions.Issued) {
	writeJSON(w, http.StatusOK, tokensJSON{
		AccessToken: iss.AccessToken, RefreshToken: iss.RefreshToken, TokenType: "bearer",
		ExpiresIn: int(iss.ExpiresIn / time.Second),
	})
}

// refresh: POST /auth/refresh with the refresh token as bearer, in a JSON
// body {"refresh_token"}, or, with neither, in the refresh cookie; a cookie
// refresh answers in cookie mode.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	tok, fromCookie, err := s.refreshTokenOf(r)
	if err != nil {
		return err
	}
	iss, err := s.cfg.Sessions.Refresh(r.Context(), tok, s.origin(r))
	if err != nil {
		if fromCookie && auth.ErrorCode(err) == auth.EUnauthenticated {
			s.clearCookies(w) // a dead session's cookies are of no more use
		}
		return err
	}
	if fromCookie {
		s.writeCookieTokens(w, iss)
		return nil
	}
	writeTokens(w, iss)
	return nil
}

func (s *Server) refreshTokenOf(r *http.Request) (tok string, fromCookie bool, err error) {
	if r.Header.Get("Authorization") == "" && r.ContentLength == 0 {
		tok, err := cookieValue(r, s.cfg.Browser.RefreshCookie)
		if err != nil {
			return "", false, auth.Wrap(auth.EUnauthenticated, err, sessions.ErrBadRefresh.Message)
		}
		if tok != "" {
			return tok, true, nil
		}
	}
	tok, err = refreshTokenFromRequest(r)
	return tok, false, err
}

func refreshTokenFromRequest(r *http.Request) (string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, err := verify.BearerToken(h)
		switch {
		case errors.Is(err, verify.ErrNoToken):
			return "", errNoToken
		case err != nil:
			return "", sessions.ErrBadRefresh
		}
		return tok, nil
	}
	if r.ContentLength == 0 {
		return "", errNoToken
	}
	var body struct {
		RefreshToken *string `json:"refresh_token"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return "", err
	}
	if err := require(field{"refresh_token", body.RefreshToken}); err != nil {
		return "", err
	}
	return *body.RefreshToken, nil
}
