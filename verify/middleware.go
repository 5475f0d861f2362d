package verify

import (
	"context"
	"encoding/json"
	"errors"
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := BearerToken(r.Header.Get("Authorization"))
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

func writeError(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{detail})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
