package server

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/sessions"
)

// logout: POST /auth/logout[?scope=global|others] → 204.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, c caller) error {
	scope, err := sessions.ParseScope(r.URL.Query().Get("scope"))
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.Logout(r.Context(), c.principal, scope, c.origin(s, r)); err != nil {
		return err
	}
	if c.viaCookie && scope != sessions.ScopeOthers {
		s.clearCookies(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revoke: POST /auth/revoke (RFC 7009), token as form or JSON field.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request, c caller) error {
	tok, err := revokedTokenOf(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.Revoke(r.Context(), c.principal, tok, c.origin(s, r)); err != nil {
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
