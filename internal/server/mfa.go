package server

import (
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// The bodies of the second-factor calls; each validate names a missing
// field. current_password is optional where a user without a password
// (signed in through an identity provider) gives none.
type (
	passwordBody struct {
		Current *string `json:"current_password"`
	}
	codeBody struct {
		Code *string `json:"code"`
	}
	disableBody struct {
		Current *string `json:"current_password"`
		Code    *string `json:"code"`
	}
	loginMFABody struct {
		MFAToken *string `json:"mfa_token"`
		Code     *string `json:"code"`
	}
)

func (b codeBody) validate() error     { return require(field{"code", b.Code}) }
func (b disableBody) validate() error  { return require(field{"code", b.Code}) }
func (b loginMFABody) validate() error { return require(field{"code", b.Code}) }

type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// loginMFA: POST /auth/login/mfa {"mfa_token","code"} → the login answer
// (cookie mode honoured). Without mfa_token, the attempt is the one a
// cookie-mode provider sign-in left in the mfa cookie, and the answer is
// in cookie mode.
func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) error {
	var body loginMFABody
	if err := decodeValid(r, &body); err != nil {
		return err
	}
	attempt, fromCookie := deref(body.MFAToken), false
	if body.MFAToken == nil {
		// A cookie-mode sign-in at an identity provider left it in a cookie.
		if attempt = s.pendingFromCookie(r); attempt == "" {
			return require(field{"mfa_token", body.MFAToken})
		}
		fromCookie = true
	}
	out, err := s.cfg.Login.SecondFactor(r.Context(), attempt, *body.Code, s.origin(r))
	if err != nil {
		return err
	}
	if fromCookie {
		s.setFlowCookie(w, mfaCookie, "", -1)
	}
	s.writeOutcomeIn(w, out, fromCookie || wantsCookies(r))
	return nil
}

// enrollTOTP: POST /me/mfa/totp {"current_password"} → 200
// {"secret","otpauth_uri","qr_svg"}, pending until confirmed.
func (s *Server) enrollTOTP(w http.ResponseWriter, r *http.Request, c caller) error {
	var body passwordBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	e, err := s.cfg.MFA.Enroll(r.Context(), c.principal, deref(body.Current), c.origin(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Secret string `json:"secret"`
		URI    string `json:"otpauth_uri"`
		QRSVG  string `json:"qr_svg"`
	}{e.Secret, e.URI, e.QRSVG})
	return nil
}

// confirmTOTP: POST /me/mfa/totp/confirm {"code"} → 200
// {"recovery_codes"}: on; every other session of the user ends.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, c caller) error {
	var body codeBody
	if err := decodeValid(r, &body); err != nil {
		return err
	}
	codes, err := s.cfg.MFA.Confirm(r.Context(), c.principal, *body.Code, c.origin(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, recoveryCodesJSON{codes})
	return nil
}

// mfaStatus: GET /me/mfa → {"totp","recovery_codes_left"}.
func (s *Server) mfaStatus(w http.ResponseWriter, r *http.Request, c caller) error {
	st, err := s.cfg.MFA.StatusOf(r.Context(), c.principal.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		TOTP bool `json:"totp"`
		Left int  `json:"recovery_codes_left"`
	}{st.TOTP, st.RecoveryCodes})
	return nil
}

// newRecoveryCodes: POST /me/mfa/recovery-codes {"code"} (a TOTP code) →
// 200 {"recovery_codes"}, replacing the old set.
func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request, c caller) error {
	var body codeBody
	if err := decodeValid(r, &body); err != nil {
		return err
	}
	codes, err := s.cfg.MFA.RegenerateCodes(r.Context(), c.principal, *body.Code, c.origin(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, recoveryCodesJSON{codes})
	return nil
}

// disableMFA: POST /me/mfa/disable {"current_password","code"} → 204.
func (s *Server) disableMFA(w http.ResponseWriter, r *http.Request, c caller) error {
	var body disableBody
	if err := decodeValid(r, &body); err != nil {
		return err
	}
	if err := s.cfg.MFA.Disable(r.Context(), c.principal, deref(body.Current), *body.Code, c.origin(s, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetMFA: DELETE /admin/users/{id}/mfa → 204: off, the user's sessions
// end.
func (s *Server) resetMFA(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := userIDParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.MFA.Reset(r.Context(), id, c.origin(s, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var errMFAEnrollmentRequired = auth.Reasonf(auth.EForbidden, "mfa_enrollment_required",
	"Your role requires a second factor: turn one on and log in again with it")

// mfaRequired refuses, for a role in MFARequiredRoles, a session whose
// authentication lacks a second factor.
func (s *Server) mfaRequired(p auth.Principal) error {
	if slices.Contains(s.cfg.MFARequiredRoles, string(p.Role)) && !(auth.Authentication{AMR: p.AMR}).HasMethod(auth.AMRMFA) {
		return errMFAEnrollmentRequired
	}
	return nil
}
