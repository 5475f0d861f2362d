package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

type claimsKey struct{}

// ClaimsFrom returns the claims that Middleware verified for this request,
// or nil outside Middleware.
func ClaimsFrom(ctx context.Context) *Claims {
	c, _ := ctx.Value(claimsKey{}).(*Claims)
	return c
}

// Middleware lets a request through only with a valid access token in its
// Authorization header (never a cookie or the query string), and puts the
// claims in its context for ClaimsFrom. A refused request gets 401 with
// WWW-Authenticate: Bearer and Gatehouse's own error bodies.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return v.authenticate(func(r *http.Request) (string, error) {
		return BearerToken(r.Header.Get("Authorization"))
	}, next)
}

// CookieMiddleware is Middleware for web pages that use Gatehouse's cookie
// mode, on a service that receives Gatehouse's access cookie (same host,
// or GATEHOUSE_COOKIE_DOMAIN covering both). A request with an
// Authorization header is handled exactly as Middleware does. One without
// it is authenticated by the cookie named cookie, after Go's
// http.CrossOriginProtection has refused, with 403, any state-changing
// request that a browser sent from another origin than the service's own or
// trustedOrigins: a cookie rides along on cross-site requests that the
// user's browser makes for another site, a header does not. A request that
// carries the cookie more than once gets 401: another host under the
// cookie's domain may have planted one. The error reports a malformed
// origin.
func (v *Verifier) CookieMiddleware(cookie string, trustedOrigins []string, next http.Handler) (http.Handler, error) {
	if cookie == "" {
		return nil, errors.New("verify: CookieMiddleware needs the access cookie's name")
	}
	p := http.NewCrossOriginProtection()
	for _, o := range trustedOrigins {
		if err := p.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("verify: trusted origin %q: %w", o, err)
		}
	}
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "Cross-origin request refused")
	}))
	bearer := v.Middleware(next)
	byCookie := p.Handler(v.authenticate(func(r *http.Request) (string, error) {
		cs := r.CookiesNamed(cookie)
		switch {
		case len(cs) > 1: // one may be planted by a sibling host
			return "", fmt.Errorf("%w: cookie %s sent more than once", ErrMalformed, cookie)
		case len(cs) == 0 || cs[0].Value == "":
			return "", ErrNoToken
		}
		return cs[0].Value, nil
	}, next))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			bearer.ServeHTTP(w, r)
			return
		}
		byCookie.ServeHTTP(w, r)
	}), nil
}

// authenticate serves next with the claims of the token that tokenOf finds,
// or answers 401.
func (v *Verifier) authenticate(tokenOf func(*http.Request) (string, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := tokenOf(r)
		if err == nil {
			var c *Claims
			if c, err = v.Verify(r.Context(), tok); err == nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
				return
			}
		}
		detail := "Could not validate credentials"
		if errors.Is(err, ErrNoToken) {
			detail = "Not authenticated"
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeError(w, http.StatusUnauthorized, detail)
	})
}

// RequireRole lets through only requests whose verified claims carry role;
// use it inside Middleware. Others get 403.
func RequireRole(role string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := ClaimsFrom(r.Context())
		if c == nil || c.Role != role {
			writeError(w, http.StatusForbidden, "Insufficient role: "+role+" required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireAMR lets through only requests whose verified claims carry every
// one of the RFC 8176 methods; use it inside Middleware. Others get 401
// with WWW-Authenticate: Bearer error="insufficient_user_authentication"
// (RFC 9470), which tells the client to log in again with a second factor.
// Without a method, it lets everything through.
func RequireAMR(next http.Handler, methods ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := ClaimsFrom(r.Context())
		for _, m := range methods {
			if c == nil || !c.HasMethod(m) {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="A stronger authentication is required"`)
				writeError(w, http.StatusUnauthorized, "Insufficient authentication: "+m+" required")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// RequireMFA is RequireAMR for a second factor ("mfa"): a token from a
// password alone gets 401 insufficient_user_authentication.
func RequireMFA(next http.Handler) http.Handler { return RequireAMR(next, "mfa") }

func writeError(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{detail})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
