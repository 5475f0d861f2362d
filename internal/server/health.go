package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// healthz: GET /healthz → 200 while the process runs.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz: GET /readyz → 200 when every dependency answers, else 503 naming
// what is down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := make(map[string]string, len(s.cfg.Checks))
	var down []string
	for _, c := range s.cfg.Checks {
		if err := c.Ping(ctx); err != nil {
			checks[c.Name] = "down: " + err.Error()
			down = append(down, c.Name)
			continue
		}
		checks[c.Name] = "ok"
	}
	if len(down) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, struct {
			Detail string            `json:"detail"`
			Code   string            `json:"code"`
			Checks map[string]string `json:"checks"`
		}{strings.Join(down, ", ") + " down", string(auth.EUnavailable), checks})
		return nil
	}
	writeJSON(w, http.StatusOK, struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}{"ok", checks})
	return nil
}
