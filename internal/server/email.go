package server

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// The answers of the email flows. The one to a forgotten password is the
// same whether or not an account uses the address.
const (
	detailVerificationSent = "A verification link has been sent to the account's address"
	detailForgotAccepted   = "If an account uses that address, a reset link has been sent to it"
	detailChangeSent       = "A link has been sent to the new address; the address changes when it is used"
)

type detailJSON struct {
	Detail string `json:"detail"`
}

// requestVerification: POST /auth/email/verify/request (authenticated) →
// 202, a link to the caller's unverified address.
func (s *Server) requestVerification(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Accounts.RequestVerification(r.Context(), principalOf(r), s.origin(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, detailJSON{detailVerificationSent})
	return nil
}

// verifyEmail: POST /auth/email/verify {"token"} → 200 the user object.
func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Token *string `json:"token"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := require(field{"token", body.Token}); err != nil {
		return err
	}
	u, err := s.cfg.Accounts.VerifyEmail(r.Context(), *body.Token, s.origin(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMeJSON(u))
	return nil
}

// forgotPassword: POST /auth/password/forgot {"email"} → 202, the same
// answer, after the same work, whether or not an account uses the address.
// Only the client's own rate answers otherwise (429).
func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email *string `json:"email"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := require(field{"email", body.Email}); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ForgotPassword(r.Context(), *body.Email, s.origin(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, detailJSON{detailForgotAccepted})
	return nil
}

// resetPassword: POST /auth/password/reset {"token","new_password"} → 204;
// every session of the user ends. Not a login.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Token *string `json:"token"`
		New   *string `json:"new_password"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := require(field{"token", body.Token}, field{"new_password", body.New}); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ResetPassword(r.Context(), *body.Token, *body.New, s.origin(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changeEmail: PUT /me/email {"email","current_password"} → 202: a link to
// the new address, a notice to the old one.
func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email   *string `json:"email"`
		Current *string `json:"current_password"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := require(field{"email", body.Email}, field{"current_password", body.Current}); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ChangeEmail(r.Context(), principalOf(r), *body.Email, *body.Current, s.origin(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, detailJSON{detailChangeSent})
	return nil
}

// emailOrNull is how the user object shows an address: null for none.
func emailOrNull(u auth.User) *string {
	if u.Email == "" {
		return nil
	}
	return &u.Email
}
