package server

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/httpdate"
	"github.com/gatehouse/gatehouse/verify"
)

// caller is who authed found: the principal the store stands behind, and
// whether the access token came from the cookie. An authenticated handler
// takes it as an argument (authedFunc), so that none can run without one
// and none is looked up in the request's context.
type caller struct {
	principal auth.Principal
	viaCookie bool
}

// authedFunc is a handler that authed has found a caller for.
type authedFunc func(w http.ResponseWriter, r *http.Request, c caller) error

// origin is who asks for a change and from where: the client's address
// and its user agent. Every mutating service call takes one; an
// authenticated handler's names its caller too (caller.origin).
func (s *Server) origin(r *http.Request) auth.Origin {
	return auth.Origin{IP: s.clientIP(r), UserAgent: userAgentOf(r)}
}

// origin is s.origin(r) by the caller.
func (c caller) origin(s *Server, r *http.Request) auth.Origin {
	return s.origin(r).ByPrincipal(c.principal)
}

var (
	errNoToken  = auth.Errorf(auth.EUnauthenticated, "Not authenticated")
	errBadToken = auth.Errorf(auth.EUnauthenticated, "Could not validate credentials")
	errNotAdmin = auth.Errorf(auth.EForbidden, "Admin access required")
)

// authed requires a valid, unrevoked access token, from the Authorization
// header or else from the access cookie, whose session and user the store
// stands behind, and passes the caller to h.
// State-changing cookie requests have passed crossOrigin.
func (s *Server) authed(h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, fromCookie, err := s.authenticate(r)
		if err != nil {
			return err
		}
		p, err := s.cfg.Trust.Principal(r.Context(), c)
		if err != nil {
			if auth.ErrorCode(err) == auth.EUnauthenticated {
				s.metrics.untrusted()
			}
			return err
		}
		return h(w, r, caller{principal: p, viaCookie: fromCookie})
	}
}

func (s *Server) authenticate(r *http.Request) (c *verify.Claims, fromCookie bool, err error) {
	header := headerValue(r.Header, "Authorization")
	if header == "" {
		tok, err := cookieValue(r, s.cfg.Browser.AccessCookie)
		if err != nil {
			return nil, true, auth.Wrap(auth.EUnauthenticated, err, errBadToken.Message)
		}
		if tok != "" {
			c, err := s.cfg.Verifier.Verify(r.Context(), tok)
			return c, true, s.refused(err)
		}
	}
	c, err = s.cfg.Verifier.VerifyBearer(r.Context(), header)
	if errors.Is(err, verify.ErrNoToken) {
		return nil, false, errNoToken
	}
	return c, false, s.refused(err)
}

// refused counts and wraps a verification's failure; nil stays nil.
func (s *Server) refused(err error) error {
	if err == nil {
		return nil
	}
	s.metrics.rejected(err)
	return auth.Wrap(auth.EUnauthenticated, err, errBadToken.Message)
}

// headerValue is h.Get(key) for a key already in canonical form, without
// canonicalizing it again on every request.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// admin requires a caller whose role, in the store, is admin.
func (s *Server) admin(h authedFunc) handlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, c caller) error {
		p := c.principal
		if !p.IsAdmin() {
			return errNotAdmin
		}
		if err := s.mfaRequired(p); err != nil {
			return err
		}
		return h(w, r, c)
	})
}

// limitBody caps every request body at MaxBodyBytes.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxBodyBytes {
			s.writeError(w, r, decodeError(&http.MaxBytesError{Limit: MaxBodyBytes}))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are set on every answer. The value slices are shared by
// all answers, which is safe because nothing changes an element in place
// (Set replaces a slice, Add on a full slice copies it); sharing spares a
// few allocations per request on the hot path.
var securityHeaders = []struct {
	key   string
	value []string
}{
	{"X-Content-Type-Options", shared("nosniff")},
	{"Referrer-Policy", shared("no-referrer")},
	{"Cache-Control", shared("no-store")},
	{"Content-Security-Policy", shared(apiCSP)},
	{"X-Frame-Options", shared("DENY")},
}

var hsts = shared("max-age=31536000")

// shared is a header value of one element whose capacity is full, so that
// appending to it copies.
func shared(v string) []string { return []string{v}[:1:1] }

// apiCSP is the Content-Security-Policy of every answer but the web page:
// a JSON answer opened as a document may run nothing and be framed nowhere.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// secureHeaders sets the headers every answer carries. Nothing Gatehouse
// answers may be cached unless a handler says so.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range securityHeaders {
			h[kv.key] = kv.value
		}
		h["Date"] = httpdate.Value()
		if s.cfg.HSTS {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic in a handler into a logged 500.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic in handler", "path", r.URL.Path, "ip", s.clientIP(r), "panic", v)
				s.writeError(w, r, auth.Errorf(auth.EInternal, "Internal server error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// jsonFallback answers, for the catch-all route, what mux would answer
// (the request matches none of its routes), in JSON as FastAPI does:
// 404 {"detail":"Not Found"}, 405 {"detail":"Method Not Allowed"} with
// Allow, or mux's redirect to the clean path.
func (s *Server) jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusNotFound:
			writeJSON(w, rec.status, errorBody{Detail: "Not Found", Code: string(auth.ENotFound)})
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeJSON(w, rec.status, errorBody{Detail: "Method Not Allowed", Code: "method_not_allowed"})
		default: // a redirect to the clean path
			h.ServeHTTP(w, r)
		}
	})
}

// headerRecorder keeps the status and headers the mux's fallback writes.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }
