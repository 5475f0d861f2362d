// Package accounts manages users: creation and signup, the administrator's
// changes, deletion and password changes. Every change that could make an
// outstanding token lie (role, password, disabling, deletion) ends the
// user's sessions in the same database transaction and revokes their
// access tokens at once.
package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
)

// Service manages users.
type Service struct {
	Store       auth.UserStore
	Passwords   *password.Hasher
	Revocations *revocation.Set
	AccessTTL   time.Duration
	Now         func() time.Time
	// Audit records every change; nil records nothing.
	Audit *audit.Recorder
}

// NewUser is what creating a user takes.
type NewUser struct {
	Username string
	Password string
	Role     auth.Role
	Active   bool
}

// Create validates and stores a user (an administrator's action).
// EInvalid for a bad username, role or password; EConflict for a taken
// username.
func (s *Service) Create(ctx context.Context, n NewUser) (auth.User, error) {
	u, err := s.create(ctx, n)
	if err != nil {
		return auth.User{}, err
	}
	s.Audit.Record(ctx, auth.AuditEvent{
		Event: auth.AuditUserCreated, UserID: u.ID, Username: u.Username,
		Detail: fmt.Sprintf("role=%s active=%t", u.Role, u.Active),
	})
	return u, nil
}

// Signup creates an active user with the role user, at the user's own
// request. EInvalid, EConflict.
func (s *Service) Signup(ctx context.Context, username, password string) (auth.User, error) {
	u, err := s.create(ctx, NewUser{Username: username, Password: password, Role: auth.RoleUser, Active: true})
	if err != nil {
		return auth.User{}, err
	}
	s.Audit.Record(ctx, auth.AuditEvent{Event: auth.AuditSignup, UserID: u.ID, Username: u.Username})
	return u, nil
}

func (s *Service) create(ctx context.Context, n NewUser) (auth.User, error) {
	if err := auth.ValidateUsername(n.Username); err != nil {
		return auth.User{}, err
	}
	if err := auth.ValidateRole(n.Role); err != nil {
		return auth.User{}, err
	}
	hash, err := s.hash(ctx, n.Password)
	if err != nil {
		return auth.User{}, err
	}
	u := auth.User{Username: auth.NormalizeUsername(n.Username), Role: n.Role, Active: n.Active, PasswordHash: hash}
	if err := s.Store.CreateUser(ctx, &u); err != nil {
		return auth.User{}, err
	}
	return u, nil
}

// hash checks the password policy and hashes the password.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := password.ValidatePolicy(pw); err != nil {
		return "", auth.Wrap(auth.EInvalid, err, err.Error())
	}
	h, err := s.Passwords.Hash(ctx, pw)
	if err != nil {
		return "", err
	}
	return h, nil
}

// Get returns a user by id. ENotFound.
func (s *Service) Get(ctx context.Context, id string) (auth.User, error) {
	return s.Store.UserByID(ctx, id)
}

// ByName returns a user by username. ENotFound.
func (s *Service) ByName(ctx context.Context, name string) (auth.User, error) {
	return s.Store.UserByName(ctx, name)
}

// List returns a page of users and the cursor of the next page ("" at the
// end).
func (s *Service) List(ctx context.Context, after string, limit int) ([]auth.User, string, error) {
	users, err := s.Store.ListUsers(ctx, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(users) <= limit {
		return users, "", nil
	}
	users = users[:limit]
	return users, users[limit-1].ID, nil
}

// Patch is an administrator's change to a user; nil fields stay.
type Patch struct {
	Role     *auth.Role
	Active   *bool
	Password *string
}

// Update applies a patch and, if anything changed, ends the user's
// sessions. ENotFound, EInvalid.
func (s *Service) Update(ctx context.Context, id string, p Patch) (auth.User, error) {
	upd, err := s.update(ctx, p)
	if err != nil {
		return auth.User{}, err
	}
	u, err := s.apply(ctx, id, upd, "")
	if err != nil {
		return auth.User{}, err
	}
	s.Audit.Record(ctx, auth.AuditEvent{Event: auth.AuditUserUpdated, UserID: u.ID, Username: u.Username, Detail: p.describe()})
	return u, nil
}

// describe lists the fields a patch sets, for the audit trail; a new
// password is named, never shown.
func (p Patch) describe() string {
	var parts []string
	if p.Role != nil {
		parts = append(parts, "role="+string(*p.Role))
	}
	if p.Active != nil {
		parts = append(parts, fmt.Sprintf("active=%t", *p.Active))
	}
	if p.Password != nil {
		parts = append(parts, "password=changed")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}

func (s *Service) update(ctx context.Context, p Patch) (auth.UserUpdate, error) {
	upd := auth.UserUpdate{Role: p.Role, Active: p.Active}
	if p.Role != nil {
		if err := auth.ValidateRole(*p.Role); err != nil {
			return upd, err
		}
	}
	if p.Password != nil {
		h, err := s.hash(ctx, *p.Password)
		if err != nil {
			return upd, err
		}
		upd.PasswordHash = &h
	}
	return upd, nil
}

func (s *Service) apply(ctx context.Context, id string, upd auth.UserUpdate, keepSession string) (auth.User, error) {
	u, recs, err := s.Store.UpdateUser(ctx, id, upd, keepSession, s.revokeUntil())
	if err != nil {
		return auth.User{}, err
	}
	s.Revocations.Record(ctx, recs...)
	return u, nil
}

func (s *Service) revokeUntil() time.Time {
	return s.Now().Add(s.AccessTTL + keys.MaxLeeway)
}

// Delete removes a user and revokes everything of theirs. ENotFound.
func (s *Service) Delete(ctx context.Context, id string) error {
	u, err := s.Store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	recs, err := s.Store.DeleteUser(ctx, id, s.revokeUntil())
	if err != nil {
		return err
	}
	s.Revocations.Record(ctx, recs...)
	s.Audit.Record(ctx, auth.AuditEvent{
		Event: auth.AuditUserDeleted, UserID: u.ID, Username: u.Username,
		Detail: fmt.Sprintf("role=%s sessions_revoked=%d", u.Role, len(recs)),
	})
	return nil
}

var errWrongPassword = auth.Errorf(auth.EUnauthenticated, "Current password is incorrect")

// ChangePassword sets a new password after checking the current one, and
// ends every session of the user but the one making the change.
func (s *Service) ChangePassword(ctx context.Context, userID, sessionID, current, next string) error {
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	ok, _, err := s.Passwords.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return errWrongPassword
	}
	h, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	if _, err := s.apply(ctx, userID, auth.UserUpdate{PasswordHash: &h}, sessionID); err != nil {
		return err
	}
	s.Audit.Record(ctx, auth.AuditEvent{
		Event: auth.AuditPasswordChanged, UserID: u.ID, Username: u.Username, SessionID: sessionID,
		Detail: "other_sessions=ended",
	})
	return nil
}
