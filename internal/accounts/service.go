// Package accounts manages users: creation and signup, the administrator's
// changes, deletion and password changes. It decides what each change
// makes untrustworthy: a new role, a new password or a disabled account
// ends the user's sessions (in the same transaction) and revokes their
// access tokens at once; a change that makes no token lie ends nothing.
package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/revocation"
)

// Store is what accounts need of the database.
type Store interface {
	CreateUser(ctx context.Context, u *auth.User, fx auth.Effects) error
	UserByID(ctx context.Context, id string) (auth.User, error)
	UserByName(ctx context.Context, name string) (auth.User, error)
	UserByEmail(ctx context.Context, addr string) (auth.User, error)
	ListUsers(ctx context.Context, after string, limit int) ([]auth.User, error)
	UpdateUser(ctx context.Context, id string, u auth.UserUpdate, end auth.EndSessions, until time.Time, fx auth.Effects) (auth.User, []auth.Revocation, error)
	DeleteUser(ctx context.Context, id string, until time.Time, keepAnAdmin bool, fx auth.Effects) ([]auth.Revocation, error)
	LookupSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error)
	ConsumeSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error)
	EnqueueMail(ctx context.Context, m auth.Mail, fx auth.Effects) error
}

// Passwords checks the policy, hashes and verifies passwords
// (password.Hasher with password.ValidatePolicy).
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, hash string) (ok, rehash bool, err error)
	// VerifyUnknownUser does a wrong password's work and never matches.
	VerifyUnknownUser(ctx context.Context, pw string) error
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
	Log       *slog.Logger

	// Mailer composes messages; nil sends none (and the email flows
	// answer 503).
	Mailer Mailer
	// Sends counts the per-address send limits and ForgotPerAddr; nil
	// leaves them off.
	Sends ratelimit.Taker
	// ForgotPerAddr limits password-reset requests per client address
	// (IPv6 per /64); past it they get 429. Free 0 turns it off.
	ForgotPerAddr ratelimit.Limit
	// SendsPerMinute and SendsPerHour cap the messages of one kind to one
	// address (nil: DefaultSendsPerMinute, DefaultSendsPerHour; 0 lifts a
	// cap).
	SendsPerMinute, SendsPerHour *int
	// ResetTTL and VerifyTTL are the lifetimes of reset links and of
	// verification and address-change links (DefaultResetTTL,
	// DefaultVerifyTTL when 0).
	ResetTTL, VerifyTTL time.Duration
	// Wake, when set, is called after a message is queued (to wake this
	// process's sender).
	Wake func()
	// ProfileTTL is how old an answer of Current may be
	// (DefaultProfileTTL when 0).
	ProfileTTL time.Duration
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
	log       *slog.Logger

	mailer              Mailer
	sends               ratelimit.Taker
	forgotAddr          ratelimit.Limit
	sendsMinute         ratelimit.Limit
	sendsHour           ratelimit.Limit
	resetTTL, verifyTTL time.Duration
	wake                func()
	profiles            *profiles
}

// New returns a Service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Policy == nil {
		c.Policy = func(string) error { return nil }
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.ResetTTL <= 0 {
		c.ResetTTL = DefaultResetTTL
	}
	if c.VerifyTTL <= 0 {
		c.VerifyTTL = DefaultVerifyTTL
	}
	perMinute, perHour := DefaultSendsPerMinute, DefaultSendsPerHour
	if c.SendsPerMinute != nil {
		perMinute = *c.SendsPerMinute
	}
	if c.SendsPerHour != nil {
		perHour = *c.SendsPerHour
	}
	return &Service{
		profiles:    newProfiles(c.ProfileTTL, c.Now),
		sendsMinute: ratelimit.Limit{Name: "mail-minute", Free: perMinute, Window: time.Minute},
		sendsHour:   ratelimit.Limit{Name: "mail-hour", Free: perHour, Window: time.Hour},
		store:       c.Store, passwords: c.Passwords, policy: c.Policy, denylist: c.Denylist, guesses: c.Guesses,
		accessTTL: c.AccessTTL, now: c.Now, audit: c.Audit, log: c.Log,
		mailer: c.Mailer, sends: c.Sends, forgotAddr: c.ForgotPerAddr, resetTTL: c.ResetTTL, verifyTTL: c.VerifyTTL, wake: c.Wake,
	}
}

// NewUser is what creating a user takes.
type NewUser struct {
	Username string
	Password string
	Role     auth.Role
	Active   bool
	// Email is the account's address ("" for none). Unless EmailVerified
	// (an administrator vouches for it), it is unverified and a
	// verification link is sent to it.
	Email         string
	EmailVerified bool
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
// request; an address, when given, gets a verification link. EInvalid,
// EConflict (ErrEmailTaken for a taken address).
func (s *Service) Signup(ctx context.Context, username, password, email string, o auth.Origin) (auth.User, error) {
	return s.create(ctx, NewUser{Username: username, Password: password, Role: auth.RoleUser, Active: true, Email: email}, o,
		auth.AuditEvent{Event: auth.AuditSignup})
}

func (s *Service) create(ctx context.Context, n NewUser, o auth.Origin, e auth.AuditEvent) (auth.User, error) {
	if err := auth.ValidateUsername(n.Username); err != nil {
		return auth.User{}, err
	}
	if err := auth.ValidateRole(n.Role); err != nil {
		return auth.User{}, err
	}
	if n.Email != "" {
		addr, err := auth.ValidateEmail(n.Email)
		if err != nil {
			return auth.User{}, err
		}
		n.Email = addr
	} else {
		n.EmailVerified = false
	}
	hash, err := s.hash(password.WithClient(ctx, o.IP), n.Password)
	if err != nil {
		return auth.User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return auth.User{}, fmt.Errorf("accounts: a user id: %w", err)
	}
	u := auth.User{
		ID: id.String(), Username: auth.NormalizeUsername(n.Username), Role: n.Role, Active: n.Active, PasswordHash: hash,
		Email: n.Email, EmailVerified: n.EmailVerified,
	}
	var fx auth.Effects
	if u.Email != "" && !u.EmailVerified {
		if fx, err = s.verification(ctx, u, u.Email); err != nil {
			return auth.User{}, err
		}
	}
	fx.Audit = append([]auth.AuditEvent{e}, fx.Audit...)
	fx = s.withAudit(ctx, o, fx)
	if err := s.store.CreateUser(ctx, &u, fx); err != nil {
		return auth.User{}, err
	}
	s.queued(fx)
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
	// Email sets the address ("" removes it); unless EmailVerified is
	// true, a new address is unverified and gets a verification link.
	Email         *string
	EmailVerified *bool
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
	fx, err := s.patchMail(ctx, id, upd, o)
	if err != nil {
		return auth.User{}, err
	}
	fx.Audit = append([]auth.AuditEvent{{Event: auth.AuditUserUpdated, Detail: p.describe()}}, fx.Audit...)
	u, err := s.applyFx(ctx, id, upd, end, s.withAudit(ctx, o, fx))
	if err != nil {
		return auth.User{}, err
	}
	return u, nil
}

// patchMail returns the effects of an administrator's change that mail
// someone: a new unverified address gets a verification link, the old
// verified address a notice of the change, and a new password a notice;
// a new password or address voids the user's reset links.
func (s *Service) patchMail(ctx context.Context, id string, upd auth.UserUpdate, o auth.Origin) (auth.Effects, error) {
	var fx auth.Effects
	if upd.Email == nil && upd.PasswordHash == nil {
		return fx, nil
	}
	cur, err := s.store.UserByID(ctx, id)
	if err != nil {
		return fx, err
	}
	fx.Void = []auth.SecretPurpose{auth.PurposeResetPassword}
	if upd.PasswordHash != nil {
		fx.Mail = append(fx.Mail, s.notice(ctx, cur, mail.TemplatePasswordChanged, mail.Data{}, o)...)
	}
	if upd.Email == nil || auth.EmailKey(*upd.Email) == auth.EmailKey(cur.Email) {
		return fx, nil
	}
	fx.Void = append(fx.Void, auth.PurposeVerifyEmail, auth.PurposeChangeEmail)
	fx.Mail = append(fx.Mail, s.notice(ctx, cur, mail.TemplateEmailChanged, mail.Data{NewEmail: *upd.Email}, o)...)
	if *upd.Email != "" && (upd.EmailVerified == nil || !*upd.EmailVerified) {
		link, err := s.verification(ctx, cur, *upd.Email)
		if err != nil {
			return fx, err
		}
		fx.Secrets, fx.Mail, fx.Audit = link.Secrets, append(fx.Mail, link.Mail...), link.Audit
	}
	return fx, nil
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
	if p.Email != nil {
		parts = append(parts, "email=changed")
	}
	if p.EmailVerified != nil {
		parts = append(parts, fmt.Sprintf("email_verified=%t", *p.EmailVerified))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}

func (s *Service) update(ctx context.Context, p Patch) (auth.UserUpdate, error) {
	upd := auth.UserUpdate{Role: p.Role, Active: p.Active, EmailVerified: p.EmailVerified, KeepAnAdmin: !p.Force}
	if p.Email != nil {
		addr := ""
		if *p.Email != "" {
			var err error
			if addr, err = auth.ValidateEmail(*p.Email); err != nil {
				return upd, err
			}
		}
		upd.Email = &addr
	}
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

// applyFx stores a change with its effects, spreads the revocations of
// the sessions it ended and wakes the sender for the messages it queued.
func (s *Service) applyFx(ctx context.Context, id string, upd auth.UserUpdate, end auth.EndSessions, fx auth.Effects) (auth.User, error) {
	u, recs, err := s.store.UpdateUser(ctx, id, upd, end, s.revokeUntil(), fx)
	s.profiles.forget(id)
	if err != nil {
		return auth.User{}, err
	}
	s.denylist.Record(ctx, recs...)
	s.queued(fx)
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
	defer s.profiles.forget(id)
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
	fx := s.audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditPasswordChanged, SessionID: p.SessionID})
	fx.Void = []auth.SecretPurpose{auth.PurposeResetPassword}
	fx.Mail = s.notice(ctx, u, mail.TemplatePasswordChanged, mail.Data{}, o)
	_, err = s.applyFx(ctx, u.ID, auth.UserUpdate{PasswordHash: &h}, auth.EndSessions{All: true, Except: p.SessionID}, fx)
	return err
}
