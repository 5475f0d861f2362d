package server

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// statusOf is the one table that turns domain error codes into HTTP status.
var statusOf = map[auth.Code]int{
	auth.EInvalid:         http.StatusUnprocessableEntity,
	auth.ENotFound:        http.StatusNotFound,
	auth.EConflict:        http.StatusConflict,
	auth.EUnauthenticated: http.StatusUnauthorized,
	auth.EForbidden:       http.StatusForbidden,
	auth.EInactive:        http.StatusBadRequest,
	auth.EBadRequest:      http.StatusBadRequest,
	auth.EUnavailable:     http.StatusServiceUnavailable,
	auth.ETooMany:         http.StatusTooManyRequests,
	auth.ETooLarge:        http.StatusRequestEntityTooLarge,
	auth.EInternal:        http.StatusInternalServerError,
}

// errorBody is every error answer: FastAPI's "detail", plus a code.
type errorBody struct {
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// writeError answers with the status and message of err. What the client
// sees is the domain message; an unexpected error is logged in full and the
// client gets a generic 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := auth.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "ip", s.clientIP(r), "status", status, "err", err)
	}
	h := w.Header()
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	if e := (*auth.Error)(nil); errors.As(err, &e) && e.RetryAfter > 0 {
		// Rounded up: a client that waits as told is not refused again.
		h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds())))))
	}
	writeJSON(w, status, errorBody{Detail: auth.ErrorMessage(err), Code: auth.ErrorReason(err)})
}
