package server

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// me: GET /me → {"id","username","role"}, straight from the verified token:
// a role change or a deletion revokes the token, so the claims are current.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	c := claimsFrom(r)
	writeJSON(w, http.StatusOK, struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Role     string `json:"role"`
	}{c.Subject, c.Username, c.Role})
	return nil
}

// changePassword: PUT /me/password {"current_password","new_password"} →
// 204, ending every other session of the user.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Current *string `json:"current_password"`
		New     *string `json:"new_password"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := require(field{"current_password", body.Current}, field{"new_password", body.New}); err != nil {
		return err
	}
	c := claimsFrom(r)
	if err := s.cfg.Accounts.ChangePassword(r.Context(), c.Subject, c.SessionID, *body.Current, *body.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var errSignupClosed = auth.Errorf(auth.EForbidden, "Signup is disabled")

// signup: POST /auth/signup {"username","password"} → 201 when
// GATEHOUSE_SIGNUP=open.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.SignupOpen {
		return errSignupClosed
	}
	var c credentials
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	u, err := s.cfg.Accounts.Signup(r.Context(), *c.Username, *c.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Role     string `json:"role"`
	}{u.ID, u.Username, string(u.Role)})
	return nil
}

type message struct {
	Message string `json:"message"`
}

// public: GET /public.
func (s *Server) public(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, message{"This route requires no authentication"})
	return nil
}

// dashboard: GET /admin/dashboard.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, message{"Welcome, " + claimsFrom(r).Username + ". Here's the admin dashboard."})
	return nil
}
