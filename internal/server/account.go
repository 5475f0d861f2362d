package server

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// meJSON is a user as GET /me, signup and a verified address show them:
// the seed's fields, and the address.
type meJSON struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Role          string  `json:"role"`
	Email         *string `json:"email"`
	EmailVerified bool    `json:"email_verified"`
	MFAEnabled    bool    `json:"mfa_enabled"`
}

func toMeJSON(u auth.User) meJSON {
	return meJSON{u.ID, u.Username, string(u.Role), emailOrNull(u), u.EmailVerified, u.MFAEnabled}
}

// me: GET /me → {"id","username","role","email","email_verified"}, as the
// store knows the caller (at most a second old; see accounts.Current).
func (s *Server) me(w http.ResponseWriter, r *http.Request, c caller) error {
	u, err := s.cfg.Accounts.Current(r.Context(), c.principal.UserID)
	if err != nil {
		if auth.ErrorCode(err) == auth.ENotFound {
			return errBadToken // deleted since the token was resolved
		}
		return err
	}
	writeBody(w, http.StatusOK, s.meBodies.body(u))
	return nil
}

// changePassword: PUT /me/password {"current_password","new_password"} →
// 204, ending every other session of the user.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c caller) error {
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
	if err := s.cfg.Accounts.ChangePassword(r.Context(), c.principal, *body.Current, *body.New, c.origin(s, r)); err != nil {
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
	var c struct {
		credentials
		Email *string `json:"email"`
	}
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	u, err := s.cfg.Accounts.Signup(r.Context(), *c.Username, *c.Password, deref(c.Email), s.origin(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toMeJSON(u))
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
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, c caller) error {
	writeJSON(w, http.StatusOK, message{"Welcome, " + c.principal.Username + ". Here's the admin dashboard."})
	return nil
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
