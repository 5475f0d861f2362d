package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
)

// maxAuditPageSize is the largest page of GET /admin/audit.
const maxAuditPageSize = 500

// auditEvents: GET /admin/audit?limit=&cursor=&user=&event=&since=&until=
// → {"events","next_cursor"}, newest first.
func (s *Server) auditEvents(w http.ResponseWriter, r *http.Request, _ caller) error {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	events, next, err := s.cfg.Audit.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := struct {
		Events     []audit.JSON `json:"events"`
		NextCursor *string      `json:"next_cursor"`
	}{Events: make([]audit.JSON, 0, len(events))}
	for _, e := range events {
		out.Events = append(out.Events, audit.ToJSON(e))
	}
	if next != 0 {
		cur := encodeAuditCursor(next)
		out.NextCursor = &cur
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// auditFilter reads the query parameters of GET /admin/audit. EInvalid
// names the first bad one.
func auditFilter(q url.Values) (auth.AuditFilter, error) {
	var f auth.AuditFilter
	var err error
	if f.Limit, err = pageSize(q.Get("limit"), maxAuditPageSize); err != nil {
		return f, err
	}
	if c := q.Get("cursor"); c != "" {
		if f.Before, err = decodeAuditCursor(c); err != nil {
			return f, err
		}
	}
	if f.User, err = textParam(q, "user"); err != nil {
		return f, err
	}
	if f.Event, err = audit.ParseEvent(q.Get("event")); err != nil {
		return f, err
	}
	if f.Since, err = auditTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = auditTime(q, "until"); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, auth.Errorf(auth.EInvalid, "since must be before until")
	}
	return f, nil
}

// auditTime reads an optional RFC 3339 time parameter.
func auditTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, auth.Errorf(auth.EInvalid, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// The cursor of the audit list is opaque to clients: the id of the last
// event shown, base64url-encoded.

func encodeAuditCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

var errBadAuditCursor = auth.Errorf(auth.EInvalid, "cursor is not valid: pass the next_cursor of the previous page")

func decodeAuditCursor(c string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, errBadAuditCursor
	}
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadAuditCursor
	}
	return id, nil
}
