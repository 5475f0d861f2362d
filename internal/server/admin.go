package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/auth"
)

// userJSON is a user as the admin API shows it.
type userJSON struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Role          string    `json:"role"`
	IsActive      bool      `json:"is_active"`
	CreatedAt     time.Time `json:"created_at"`
	Email         *string   `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	MFAEnabled    bool      `json:"mfa_enabled"`
}

func toUserJSON(u auth.User) userJSON {
	return userJSON{u.ID, u.Username, string(u.Role), u.Active, u.CreatedAt.UTC(), emailOrNull(u), u.EmailVerified, u.MFAEnabled}
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// listUsers: GET /admin/users?limit=&cursor= → {"users","next_cursor"}.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ caller) error {
	limit, err := pageSize(r.URL.Query().Get("limit"), maxPageSize)
	if err != nil {
		return err
	}
	cursor, err := userCursor(r.URL.Query())
	if err != nil {
		return err
	}
	users, next, err := s.cfg.Accounts.List(r.Context(), cursor, limit)
	if err != nil {
		return err
	}
	out := struct {
		Users      []userJSON `json:"users"`
		NextCursor *string    `json:"next_cursor"`
	}{Users: make([]userJSON, 0, len(users))}
	for _, u := range users {
		out.Users = append(out.Users, toUserJSON(u))
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pageSize reads the limit parameter: defaultPageSize when it is absent,
// else a number from 1 to most.
func pageSize(v string, most int) (int, error) {
	if v == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, auth.Errorf(auth.EInvalid, "limit must be a number from 1 to %d", most)
	}
	return n, nil
}

// createUser: POST /admin/users {"username","password","role","is_active"}.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c caller) error {
	var body struct {
		credentials
		Role          *string `json:"role"`
		IsActive      *bool   `json:"is_active"`
		Email         *string `json:"email"`
		EmailVerified *bool   `json:"email_verified"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	n := accounts.NewUser{
		Username: *body.Username, Password: *body.Password, Role: auth.RoleUser, Active: true,
		Email: deref(body.Email), EmailVerified: body.EmailVerified != nil && *body.EmailVerified,
	}
	if body.Role != nil {
		n.Role = auth.Role(*body.Role)
	}
	if body.IsActive != nil {
		n.Active = *body.IsActive
	}
	u, err := s.cfg.Accounts.Create(r.Context(), n, c.origin(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
	return nil
}

// getUser: GET /admin/users/{id}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, _ caller) error {
	id, err := userIDParam(r, "id")
	if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

// patchUser: PATCH /admin/users/{id} with any of {"role","is_active",
// "password","email","email_verified"}; "email": null removes the address.
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := userIDParam(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Role          *string          `json:"role"`
		IsActive      *bool            `json:"is_active"`
		Password      *string          `json:"password"`
		Email         nullable[string] `json:"email"`
		EmailVerified *bool            `json:"email_verified"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p := accounts.Patch{Active: body.IsActive, Password: body.Password, EmailVerified: body.EmailVerified}
	if body.Email.Set {
		addr := deref(body.Email.Value)
		p.Email = &addr
	}
	if body.Role != nil {
		role := auth.Role(*body.Role)
		p.Role = &role
	}
	u, err := s.cfg.Accounts.Update(r.Context(), id, p, c.origin(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

// deleteUser: DELETE /admin/users/{id} → 204.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := userIDParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.Delete(r.Context(), id, false, c.origin(s, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type sessionJSON struct {
	ID          string    `json:"id"`
	CreatedAt   time.Time `json:"created_at"`
	RefreshedAt time.Time `json:"refreshed_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	UserAgent   string    `json:"user_agent"`
	IP          string    `json:"ip"`
}

// userSessions: GET /admin/users/{id}/sessions.
func (s *Server) userSessions(w http.ResponseWriter, r *http.Request, _ caller) error {
	id, err := userIDParam(r, "id")
	if err != nil {
		return err
	}
	list, err := s.cfg.Sessions.UserSessions(r.Context(), id)
	if err != nil {
		return err
	}
	out := struct {
		Sessions []sessionJSON `json:"sessions"`
	}{Sessions: make([]sessionJSON, 0, len(list))}
	for _, x := range list {
		out.Sessions = append(out.Sessions, sessionJSON{x.ID, x.CreatedAt.UTC(), x.RefreshedAt.UTC(), x.ExpiresAt.UTC(), x.UserAgent, x.IP})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// endSession: DELETE /admin/sessions/{id} → 204.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := sessionIDParam(r, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.EndSession(r.Context(), id, c.origin(s, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateKey: POST /admin/keys/rotate → the new key, which signs once it
// has been published for the publish delay.
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request, c caller) error {
	k, err := s.cfg.Keys.Rotate(r.Context(), c.origin(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Kid       string    `json:"kid"`
		Alg       string    `json:"alg"`
		State     string    `json:"state"`
		SignsFrom time.Time `json:"signs_from"`
	}{k.ID, k.Algorithm, string(auth.KeyNext), k.ActivatesAt.UTC()})
	return nil
}
