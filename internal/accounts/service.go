// Package accounts manages users: creation and signup, the administrator's
// changes, deletion and password changes. It decides what each change
// makes untrustworthy: a new role, a new password or a disabled account
// ends the user's sessions (in the same transaction) and revokes their
// access tokens at once; a change that makes no token lie ends nothing.
package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
)

// Store is what accounts need of the database.
type Store interface {
	CreateUser(ctx context.Context, u *auth.User, fx auth.Effects) error
	UserByID(ctx context.Context, id string) (auth.User, error)
	UserByName(ctx context.Context, name string) (auth.User, error)
	ListUsers(ctx context.Context, after string, limit int) ([]auth.User, error)
	UpdateUser(ctx context.Context, id string, u auth.UserUpdate, end auth.EndSessions, until time.Time, fx auth.Effects) (auth.User, []auth.Revocation, error)
	DeleteUser(ctx context.Context, id string, until time.Time, keepAnAdmin bool, fx auth.Effects) ([]auth.Revocation, error)
}

// Passwords checks the policy, hashes and verifies passwords
// (password.Hasher with password.ValidatePolicy).
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, hash string) (ok, rehash bool, err error)
}

// Denylist takes the revocations a change recorded (revocation.Set).
type Denylist interface {
	Record(ctx context.Context, recs ...auth.Revocation)
}

// Guesses counts wrong current passwords like failed logins, so that a
// stolen access token does not become a way to guess the password.
type Guesses interface {
	Wait(ctx context.Context, account, addr string) (time.Duration, error)
	Failed(ctx context.Context, account, addr string) error
	Succeeded(ctx context.Context, account, addr string) error
}

// Config wires a Service. Store, Passwords and Denylist are required.
type Config struct {
	Store     Store
	Passwords Passwords
	Policy    func(pw string) error // the password policy; none when nil
	Denylist  Denylist
	Guesses   Guesses // nil: current-password guesses are not throttled
	AccessTTL time.Duration
	Now       func() time.Time
	Audit     *audit.Recorder // nil records nothing
}

// Service manages users. It is safe for concurrent use.
type Service struct {
	store     Store
	passwords Passwords
	policy    func(string) error
	denylist  Denylist
	guesses   Guesses
	accessTTL time.Duration
	now       func() time.Time
	audit     *audit.Recorder
}

// New returns a Service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Policy == nil {
		c.Policy = func(string) error { return nil }
	}
	return &Service{
		store: c.Store, passwords: c.Passwords, policy: c.Policy, denylist: c.Denylist, guesses: c.Guesses,
		accessTTL: c.AccessTTL, now: c.Now, audit: c.Audit,
	}
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
func (s *Service) Create(ctx context.Context, n NewUser, o auth.Origin) (auth.User, error) {
	return s.create(ctx, n, o, auth.AuditEvent{
		Event: auth.AuditUserCreated, Detail: fmt.Sprintf("role=%s active=%t", n.Role, n.Active),
	})
}

// Signup creates an active user with the role user, at the user's own
// request. EInvalid, EConflict.
func (s *Service) Signup(ctx context.Context, username, password string, o auth.Origin) (auth.User, error) {
	return s.create(ctx, NewUser{Username: username, Password: password, Role: auth.RoleUser, Active: true}, o,
		auth.AuditEvent{Event: auth.AuditSignup})
}

func (s *Service) create(ctx context.Context, n NewUser, o auth.Origin, e auth.AuditEvent) (auth.User, error) {
	if err := auth.ValidateUsername(n.Username); err != nil {
		return auth.User{}, err
	}
	if err := auth.ValidateRole(n.Role); err != nil {
		return auth.User{}, err
	}
	hash, err := s.hash(password.WithClient(ctx, o.IP), n.Password)
	if err != nil {
		return auth.User{}, err
	}
	u := auth.User{Username: auth.NormalizeUsername(n.Username), Role: n.Role, Active: n.Active, PasswordHash: hash}
	if err := s.store.CreateUser(ctx, &u, s.audit.Effects(ctx, o, e)); err != nil {
		return auth.User{}, err
	}
	return u, nil
}

// hash checks the password policy and hashes the password.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.policy(pw); err != nil {
		return "", auth.Wrap(auth.EInvalid, err, err.Error())
	}
	return s.passwords.Hash(ctx, pw)
}

// Get returns a user by id. ENotFound.
func (s *Service) Get(ctx context.Context, id string) (auth.User, error) {
	return s.store.UserByID(ctx, id)
}

// ByName returns a user by username. ENotFound.
func (s *Service) ByName(ctx context.Context, name string) (auth.User, error) {
	return s.store.UserByName(ctx, name)
}

// List returns a page of users and the cursor of the next page ("" at the
// end).
func (s *Service) List(ctx context.Context, after string, limit int) ([]auth.User, string, error) {
	users, err := s.store.ListUsers(ctx, after, limit+1)
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
	// Force lets the change leave no active administrator (the command
	// line's --force); otherwise that is refused with ErrLastAdmin.
	Force bool
}

// Update applies a patch. A new role, a new password or disabling ends
// every session of the user: each would make an outstanding token lie.
// ENotFound, EInvalid, ErrLastAdmin.
func (s *Service) Update(ctx context.Context, id string, p Patch, o auth.Origin) (auth.User, error) {
	upd, err := s.update(ctx, p)
	if err != nil {
		return auth.User{}, err
	}
	var end auth.EndSessions
	if p.Role != nil || p.Active != nil || p.Password != nil {
		end = auth.EndSessions{All: true}
	}
	return s.apply(ctx, id, upd, end, o, auth.AuditEvent{Event: auth.AuditUserUpdated, Detail: p.describe()})
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
	upd := auth.UserUpdate{Role: p.Role, Active: p.Active, KeepAnAdmin: !p.Force}
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

// apply stores a change with its audit event and spreads the revocations
// of the sessions it ended.
func (s *Service) apply(ctx context.Context, id string, upd auth.UserUpdate, end auth.EndSessions, o auth.Origin, e auth.AuditEvent) (auth.User, error) {
	u, recs, err := s.store.UpdateUser(ctx, id, upd, end, s.revokeUntil(), s.audit.Effects(ctx, o, e))
	if err != nil {
		return auth.User{}, err
	}
	s.denylist.Record(ctx, recs...)
	return u, nil
}

func (s *Service) revokeUntil() time.Time {
	return revocation.Until(s.now(), s.accessTTL)
}

// Delete removes a user and revokes everything of theirs. ENotFound;
// ErrLastAdmin unless force.
func (s *Service) Delete(ctx context.Context, id string, force bool, o auth.Origin) error {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	recs, err := s.store.DeleteUser(ctx, id, s.revokeUntil(), !force, s.audit.Effects(ctx, o, auth.AuditEvent{
		Event: auth.AuditUserDeleted, UserID: u.ID, Username: u.Username, Detail: fmt.Sprintf("role=%s", u.Role),
	}))
	if err != nil {
		return err
	}
	s.denylist.Record(ctx, recs...)
	return nil
}

var errWrongPassword = auth.Errorf(auth.EUnauthenticated, "Current password is incorrect")

// ChangePassword sets a new password after checking the current one, and
// ends every session of the user but the one making the change. Wrong
// current passwords count, per account and address, as failed logins do:
// past the free ones the caller waits (ETooMany with RetryAfter), and each
// is audited.
func (s *Service) ChangePassword(ctx context.Context, p auth.Principal, current, next string, o auth.Origin) error {
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := s.checkCurrent(ctx, u, current, o); err != nil {
		return err
	}
	h, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	_, err = s.apply(ctx, u.ID, auth.UserUpdate{PasswordHash: &h}, auth.EndSessions{All: true, Except: p.SessionID}, o,
		auth.AuditEvent{Event: auth.AuditPasswordChanged, SessionID: p.SessionID})
	return err
}
