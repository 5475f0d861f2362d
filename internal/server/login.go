package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/verify"
)

var errBadRefresh = auth.Errorf(auth.EUnauthenticated, "Invalid or expired refresh token")

type credentials struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

func (c credentials) validate() error {
	return require(field{"username", c.Username}, field{"password", c.Password})
}

func (s *Server) client(r *http.Request) sessions.Client {
	return sessions.Client{UserAgent: r.UserAgent(), IP: s.clientIP(r)}
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
	toks, err := s.cfg.Sessions.Login(r.Context(), *c.Username, *c.Password, s.client(r))
	if err != nil {
		return err
	}
	if wantsCookies(r) {
		s.writeCookieTokens(w, toks)
		return nil
	}
	writeJSON(w, http.StatusOK, toks)
	return nil
}

// refresh: POST /auth/refresh with the refresh token as bearer, in a JSON
// body {"refresh_token"}, or, with neither, in the refresh cookie; a cookie
// refresh answers in cookie mode.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	tok, fromCookie, err := s.refreshTokenOf(r)
	if err != nil {
		return err
	}
	toks, err := s.cfg.Sessions.Refresh(r.Context(), tok, s.client(r))
	if err != nil {
		if fromCookie && auth.ErrorCode(err) == auth.EUnauthenticated {
			s.clearCookies(w) // a dead session's cookies are of no more use
		}
		return err
	}
	if fromCookie {
		s.writeCookieTokens(w, toks)
		return nil
	}
	writeJSON(w, http.StatusOK, toks)
	return nil
}

func (s *Server) refreshTokenOf(r *http.Request) (tok string, fromCookie bool, err error) {
	if r.Header.Get("Authorization") == "" && r.ContentLength == 0 {
		tok, err := cookieValue(r, s.cfg.Browser.RefreshCookie)
		if err != nil {
			return "", false, auth.Wrap(auth.EUnauthenticated, err, errBadRefresh.Message)
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
			return "", errBadRefresh
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

// logout: POST /auth/logout[?scope=global|others] → 204.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	scope, err := sessions.ParseScope(r.URL.Query().Get("scope"))
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.Logout(r.Context(), claimsFrom(r), scope); err != nil {
		return err
	}
	if viaCookie(r) && scope != sessions.ScopeOthers {
		s.clearCookies(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revoke: POST /auth/revoke (RFC 7009), token as form or JSON field.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	tok, err := revokedTokenOf(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.Revoke(r.Context(), claimsFrom(r), tok); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func revokedTokenOf(r *http.Request) (string, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return "", decodeError(err)
		}
		if !r.PostForm.Has("token") {
			return "", require(field{"token", nil})
		}
		return r.PostForm.Get("token"), nil
	}
	var body struct {
		Token *string `json:"token"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return "", err
	}
	if err := require(field{"token", body.Token}); err != nil {
		return "", err
	}
	return *body.Token, nil
}
