package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// Browser configures cookie mode and cross-origin calls.
//
// In cookie mode a web page never holds a token: login and refresh answer
// with HttpOnly cookies instead of tokens in the body, and the access
// cookie authenticates requests that carry no Authorization header.
type Browser struct {
	AccessCookie  string // name of the access-token cookie, sent to every path
	RefreshCookie string // name of the refresh-token cookie, sent to RefreshPath only
	Domain        string // cookie Domain; empty keeps cookies to this host
	Secure        bool
	SameSite      http.SameSite
	// RefreshTTL is the refresh cookie's lifetime (the session's).
	RefreshTTL time.Duration
	// AllowedOrigins may call with credentials (CORS) and send
	// state-changing cookie requests from another origin.
	AllowedOrigins []string
}

// RefreshPath is the one path the refresh cookie is sent to.
const RefreshPath = "/auth/refresh"

// CookieModeHeader asks POST /auth/login to answer in cookie mode.
const CookieModeHeader = "Gatehouse-Cookie"

// cookieTokens is the body of a cookie-mode login or refresh: how long the
// access cookie lasts, and no token.
type cookieTokens struct {
	TokenType string `json:"token_type"`
	ExpiresIn int    `json:"expires_in"`
}

// wantsCookies reports whether a login asked for cookie mode.
func wantsCookies(r *http.Request) bool {
	v := strings.ToLower(strings.TrimSpace(r.Header.Get(CookieModeHeader)))
	return v == "1" || v == "true"
}

// writeCookieTokens sets the session cookies and answers without tokens.
func (s *Server) writeCookieTokens(w http.ResponseWriter, iss sessions.Issued) {
	s.setSessionCookies(w, iss)
	writeJSON(w, http.StatusOK, cookieTokens{TokenType: "cookie", ExpiresIn: int(iss.ExpiresIn / time.Second)})
}

// setSessionCookies sets both session cookies.
func (s *Server) setSessionCookies(w http.ResponseWriter, iss sessions.Issued) {
	b := s.cfg.Browser
	http.SetCookie(w, s.cookie(b.AccessCookie, iss.AccessToken, "/", iss.ExpiresIn))
	http.SetCookie(w, s.cookie(b.RefreshCookie, iss.RefreshToken, RefreshPath, b.RefreshTTL))
}

// clearCookies tells the browser to drop both session cookies.
func (s *Server) clearCookies(w http.ResponseWriter) {
	b := s.cfg.Browser
	http.SetCookie(w, s.cookie(b.AccessCookie, "", "/", -1))
	http.SetCookie(w, s.cookie(b.RefreshCookie, "", RefreshPath, -1))
}

// cookie builds a session cookie; a negative lifetime deletes it.
func (s *Server) cookie(name, value, path string, ttl time.Duration) *http.Cookie {
	b := s.cfg.Browser
	c := &http.Cookie{
		Name: name, Value: value, Path: path, Domain: b.Domain,
		HttpOnly: true, Secure: b.Secure, SameSite: b.SameSite,
	}
	if ttl < 0 {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
	} else {
		c.MaxAge = int(ttl / time.Second)
	}
	return c
}

// errDuplicateCookie is the cause of refusing a request that carries a
// session cookie more than once.
var errDuplicateCookie = errors.New("session cookie sent more than once")

// cookieValue is the value of the named cookie, or "" when there is none.
// A cookie sent more than once is errDuplicateCookie: another host under
// the cookie domain (or a plain-http page, without the __Host- prefix) can
// plant one of the same name, the browser sends both, and whichever were
// read would win, perhaps the attacker's session. Callers answer 401 and
// clear nothing, as clearing ours would leave the planted one alone.
func cookieValue(r *http.Request, name string) (string, error) {
	cs := r.CookiesNamed(name)
	switch len(cs) {
	case 0:
		return "", nil
	case 1:
		return cs[0].Value, nil
	}
	return "", errDuplicateCookie
}

var errCrossOrigin = auth.Errorf(auth.EForbidden, "Cross-origin request refused")

// crossOrigin refuses state-changing requests sent by a browser from
// another origin, unless they carry an Authorization header (a browser adds
// one only when the page's own script does, which another origin cannot
// without passing CORS). It is Go's http.CrossOriginProtection: the
// browser's Sec-Fetch-Site header, or failing that Origin against Host,
// decides; requests from clients that send neither are not browsers' and
// pass.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	for _, o := range s.cfg.Browser.AllowedOrigins {
		// Validated when the configuration was loaded.
		_ = p.AddTrustedOrigin(o)
	}
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errCrossOrigin)
	}))
	protected := p.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerValue(r.Header, "Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

// publicPath reports whether p may be read by a page of any origin, without
// credentials (the discovery document, the keys, /public).
func publicPath(p string) bool {
	return strings.HasPrefix(p, "/.well-known/") || p == "/public"
}

var errOriginNotAllowed = auth.Errorf(auth.EForbidden, "Origin not allowed")

// cors answers cross-origin calls: with credentials for the allowed
// origins, without them to anyone for the public documents (discovery,
// JWKS), and not at all otherwise, so the browser keeps the answer from the
// calling page.
func (s *Server) cors(next http.Handler) http.Handler {
	allowed := s.cfg.Browser.AllowedOrigins
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := headerValue(r.Header, "Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		switch {
		case slices.Contains(allowed, origin):
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
			if preflight {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, "+CookieModeHeader)
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case publicPath(r.URL.Path):
			h.Set("Access-Control-Allow-Origin", "*")
			if preflight {
				h.Set("Access-Control-Allow-Methods", "GET")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case preflight:
			s.writeError(w, r, errOriginNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}
