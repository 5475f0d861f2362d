package server

import (
	"fmt"
	"net/http"
)

// jwks: GET /.well-known/jwks.json, with an ETag and a cache lifetime no
// longer than the publish delay of new keys.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	body, etag := s.cfg.Keys.JWKS()
	h := w.Header()
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.cfg.Keys.CacheMaxAge().Seconds())))
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	_, err := w.Write(body)
	return err
}

type discoveryDoc struct {
	Issuer                string   `json:"issuer"`
	JWKSURI               string   `json:"jwks_uri"`
	TokenEndpoint         string   `json:"token_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypes         []string `json:"response_types_supported"`
	SubjectTypes          []string `json:"subject_types_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
	ClaimsSupported       []string `json:"claims_supported"`
	RevocationAuthMethods []string `json:"revocation_endpoint_auth_methods_supported"`
}

// discovery: GET /.well-known/openid-configuration.
func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) error {
	iss := s.cfg.Issuer
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, discoveryDoc{
		Issuer: iss, JWKSURI: iss + "/.well-known/jwks.json", TokenEndpoint: iss + "/auth/login",
		RevocationEndpoint: iss + "/auth/revoke", UserinfoEndpoint: iss + "/me",
		SigningAlgs:   s.cfg.Keys.Algorithms()[:1],
		ResponseTypes: []string{"token"}, SubjectTypes: []string{"public"},
		GrantTypes:            []string{"password", "refresh_token"},
		ClaimsSupported:       []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "type", "username", "role"},
		RevocationAuthMethods: []string{"bearer"},
	})
	return nil
}
