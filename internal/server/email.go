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

// The bodies of the email flows; each validate names a missing field.
type (
	tokenBody struct {
		Token *string `json:"token"`
	}
	resetBody struct {
		Token *string `json:"token"`
		New   *string `json:"new_password"`
	}
	forgotBody struct {
		Email *string `json:"email"`
	}
	changeEmailBody struct {
		Email   *string `json:"email"`
		Current *string `json:"current_password"`
	}
)

func (b tokenBody) validate() error  { return require(field{"token", b.Token}) }
func (b forgotBody) validate() error { return require(field{"email", b.Email}) }
func (b resetBody) validate() error {
	return require(field{"token", b.Token}, field{"new_password", b.New})
}
func (b changeEmailBody) validate() error {
	return require(field{"email", b.Email}, field{"current_password", b.Current})
}

// requestVerification: POST /auth/email/verify/request (authenticated) →
// 202, a link to the caller's unverified address.
func (s *Server) requestVerification(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := s.cfg.Accounts.RequestVerification(r.Context(), c.principal, c.origin(s, r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, detailJSON{detailVerificationSent})
	return nil
}

// verifyEmail: POST /auth/email/verify {"token"} → 200 the user object.
func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var body tokenBody
	if err := decodeValid(r, &body); err != nil {
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
	var body forgotBody
	if err := decodeValid(r, &body); err != nil {
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
	var body resetBody
	if err := decodeValid(r, &body); err != nil {
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
func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request, c caller) error {
	var body changeEmailBody
	if err := decodeValid(r, &body); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ChangeEmail(r.Context(), c.principal, *body.Email, *body.Current, c.origin(s, r)); err != nil {
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
