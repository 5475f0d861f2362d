package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Path and query parameters are checked by their format here, before any
// store sees them. A malformed id in a path names nothing, so it is 404,
// exactly like a well-formed id that is unknown; a malformed query
// parameter is 422, naming it.

// maxUserAgent is the longest user agent kept, in bytes.
const maxUserAgent = 256

// maxFilterText is the longest free-text query parameter, in bytes.
const maxFilterText = 256

var (
	errUserNotFound    = auth.Errorf(auth.ENotFound, "User not found")
	errSessionNotFound = auth.Errorf(auth.ENotFound, "Session not found")
)

// userIDParam returns the user id in the path parameter name; 404 when it
// is not a user id (auth.ValidUserID).
func userIDParam(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !auth.ValidUserID(id) {
		return "", errUserNotFound
	}
	return id, nil
}

// sessionIDParam returns the session id in the path parameter name; 404
// when it is not a session id (auth.ValidSessionID).
func sessionIDParam(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !auth.ValidSessionID(id) {
		return "", errSessionNotFound
	}
	return id, nil
}

// userCursor reads the cursor of GET /admin/users: "" or the id of the
// last user of the previous page. 422 for anything else.
func userCursor(q url.Values) (string, error) {
	c := q.Get("cursor")
	if c != "" && !auth.ValidUserID(c) {
		return "", auth.Errorf(auth.EInvalid, "cursor is not valid: pass the next_cursor of the previous page")
	}
	return c, nil
}

// textParam reads an optional free-text query parameter, trimmed; 422 when
// it is not short, valid UTF-8 without control characters.
func textParam(q url.Values, name string) (string, error) {
	v := strings.TrimSpace(q.Get(name))
	if err := auth.ValidateText(name, v, maxFilterText); err != nil {
		return "", err
	}
	return v, nil
}

// userAgentOf is r's User-Agent made fit to keep (auth.CleanText), so
// that every flow that records it (sessions, the audit trail, all through
// Server.origin) stores the same clean text on every backend. Only a
// request that records something pays for the cleaning.
func userAgentOf(r *http.Request) string {
	return auth.CleanText(headerValue(r.Header, "User-Agent"), maxUserAgent)
}
