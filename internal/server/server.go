// Package server is Gatehouse's HTTP API: one routes table on the standard
// ServeMux, handlers that return errors, and one place that turns those
// errors into status codes and JSON bodies.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/federation"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/trust"
	"github.com/gatehouse/gatehouse/verify"
)

// Check is a readiness probe of one dependency.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// Config wires a Server.
type Config struct {
	Login    *login.Service
	Sessions *sessions.Service
	Accounts *accounts.Service
	MFA      *mfa.Service
	// Federation signs users in through identity providers (none
	// configured: an empty list).
	Federation *federation.Service
	// MFARequiredRoles are the roles that need a second factor for the
	// admin API (403 mfa_enrollment_required without one).
	MFARequiredRoles []string
	// Trust decides who the bearer of a verified token is.
	Trust    *trust.Resolver
	Keys     *keys.Manager
	Verifier *verify.Verifier
	Audit    *audit.Recorder
	Checks   []Check
	// Revocations serves GET /auth/revocations.
	Revocations RevocationFeed
	// RevocationsToken, when set, is the bearer secret that GET
	// /auth/revocations requires.
	RevocationsToken string
	Issuer           string
	SignupOpen       bool
	// Browser configures cookie mode and cross-origin calls.
	Browser Browser
	// WebPage, when set, makes the handler of the built-in sign-in page,
	// served at / and /assets/; it answers other paths with notFound.
	WebPage func(notFound http.Handler) http.Handler
	// HSTS sends Strict-Transport-Security (the issuer is https).
	HSTS bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	Log            *slog.Logger
	// Registry receives the server's metrics and is served at /metrics; a
	// new one is made when nil.
	Registry *prometheus.Registry
	// Requests, when set, counts the requests answered (the mail sender
	// slows down while the API is busy).
	Requests *atomic.Int64
	// MetricsElsewhere leaves /metrics out of the API (it answers 404):
	// MetricsHandler serves Registry on a listener of its own.
	MetricsElsewhere bool
}

// Server answers the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	handler http.Handler
	// meBodies keeps GET /me's encoded answers.
	meBodies meBodies
}

// New builds a Server.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, log: cfg.Log, metrics: newMetrics(cfg.Registry)}
	// The API's mux ends in a catch-all that answers what no route takes;
	// it asks a second mux of the same routes whether that is a 404, a 405
	// or a redirect, so a matched request is looked up only once.
	mux, plain := http.NewServeMux(), http.NewServeMux()
	s.routes(mux)
	s.routes(plain)
	mux.Handle("/", s.jsonFallback(plain))
	s.handler = s.recoverPanics(s.instrument(s.secureHeaders(s.cors(s.crossOrigin(s.limitBody(mux))))))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes is the whole API in one table.
func (s *Server) routes(mux *http.ServeMux) {
	handle := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.handle(h)) }

	handle("POST /auth/login", s.login)
	handle("POST /auth/login/mfa", s.loginMFA)
	handle("POST /auth/refresh", s.refresh)
	handle("POST /auth/logout", s.authed(s.logout))
	handle("POST /auth/revoke", s.authed(s.revoke))
	handle("POST /auth/signup", s.signup)
	handle("POST /auth/email/verify/request", s.authed(s.requestVerification))
	handle("POST /auth/email/verify", s.verifyEmail)
	handle("POST /auth/password/forgot", s.forgotPassword)
	handle("POST /auth/password/reset", s.resetPassword)
	handle("GET /auth/revocations", s.revocations)
	handle("GET /auth/providers", s.providers)
	handle("GET /auth/oauth/{id}/start", s.oauthStart)
	handle("GET /auth/oauth/{id}/callback", s.oauthCallback)
	handle("POST /auth/token", s.token)

	handle("GET /me", s.authed(s.me))
	handle("PUT /me/password", s.authed(s.changePassword))
	handle("PUT /me/email", s.authed(s.changeEmail))
	handle("GET /me/mfa", s.authed(s.mfaStatus))
	handle("POST /me/mfa/totp", s.authed(s.enrollTOTP))
	handle("POST /me/mfa/totp/confirm", s.authed(s.confirmTOTP))
	handle("POST /me/mfa/recovery-codes", s.authed(s.newRecoveryCodes))
	handle("POST /me/mfa/disable", s.authed(s.disableMFA))
	handle("GET /me/identities", s.authed(s.identities))
	handle("POST /me/identities/{id}", s.authed(s.linkIdentity))
	handle("DELETE /me/identities/{id}", s.authed(s.unlinkIdentity))
	handle("GET /public", s.public)

	handle("GET /admin/dashboard", s.admin(s.dashboard))
	handle("GET /admin/users", s.admin(s.listUsers))
	handle("POST /admin/users", s.admin(s.createUser))
	handle("GET /admin/users/{id}", s.admin(s.getUser))
	handle("PATCH /admin/users/{id}", s.admin(s.patchUser))
	handle("DELETE /admin/users/{id}", s.admin(s.deleteUser))
	handle("DELETE /admin/users/{id}/mfa", s.admin(s.resetMFA))
	handle("GET /admin/users/{id}/sessions", s.admin(s.userSessions))
	handle("DELETE /admin/sessions/{id}", s.admin(s.endSession))
	handle("POST /admin/keys/rotate", s.admin(s.rotateKey))
	handle("GET /admin/audit", s.admin(s.auditEvents))

	handle("GET /.well-known/jwks.json", s.jwks)
	handle("GET /.well-known/openid-configuration", s.discovery)
	handle("GET /openapi.json", s.openAPI)

	handle("GET /healthz", s.healthz)
	handle("GET /readyz", s.readyz)
	if !s.cfg.MetricsElsewhere {
		mux.Handle("GET /metrics", MetricsHandler(s.cfg.Registry))
	}

	if s.cfg.WebPage != nil {
		page := s.cfg.WebPage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, errorBody{Detail: "Not Found", Code: string(auth.ENotFound)})
		}))
		mux.Handle("GET /{$}", page)
		mux.Handle("GET /verify-email", page)
		mux.Handle("GET /reset-password", page)
		mux.Handle("GET /assets/", page)
	}
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle runs h and writes the error it returns.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}
