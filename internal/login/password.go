package login

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/clientaddr"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// maxNameBytes bounds what a login reads of a username: a name over the
// contract's 64 characters cannot exist, so it is refused with the usual
// 401 before any other work (no hashing slot, no throttle counter, no
// store lookup; its audit events are folded like a flood's). Its timing
// tells nothing: no account can have such a name. Well-formed unknown
// names cost a full hash, as wrong passwords do.
const maxNameBytes = 4 * auth.MaxUsernameLen

// attempt is what a password step found out, for the audit trail.
type attempt struct {
	name   string    // as typed
	user   auth.User // zero for an unknown user
	reason string    // why it failed
}

// Password is the first factor: a username and a password. An unknown
// user costs the same hashing work as a wrong password and gets the same
// answer; only the audit trail tells them apart. A right password leads to
// a session, or to a pending attempt when the user has a second factor.
func (s *Service) Password(ctx context.Context, username, pw string, o auth.Origin) (Outcome, error) {
	a := attempt{name: username}
	if len(username) > maxNameBytes || utf8.RuneCountInString(username) > auth.MaxUsernameLen {
		a.name, a.reason = clipName(username), auth.AuditReasonMalformed
		s.auditFailure(ctx, o, a, ErrBadLogin)
		return Outcome{}, ErrBadLogin
	}
	// Admission first: it is a look at the hashing slots in memory, while
	// the sign-in rate may be a round trip to Redis. Refusals during a
	// login flood are answered without waiting on anything, and an
	// attempt refused for want of a slot, which checks no password, is not
	// counted against its address.
	ctx = password.WithClient(ctx, o.IP) // the hashing slots are shared fairly between addresses
	if err := s.passwords.AdmitFor(ctx); err != nil {
		s.auditFailure(ctx, o, a, err)
		return Outcome{}, err
	}
	if err := s.signInAllowed(ctx, o); err != nil {
		a.reason = auth.AuditReasonThrottled
		s.auditFailure(ctx, o, a, err)
		return Outcome{}, err
	}
	account := auth.UsernameKey(username)
	if wait := s.throttleWait(ctx, account, o.IP); wait > 0 {
		a.reason = auth.AuditReasonThrottled
		err := throttled(wait)
		s.auditFailure(ctx, o, a, err)
		return Outcome{}, err
	}
	out, err := s.password(ctx, username, pw, o, &a)
	s.throttleRecord(ctx, account, o.IP, err)
	if err != nil {
		s.auditFailure(ctx, o, a, err)
	}
	return out, err
}

func (s *Service) password(ctx context.Context, username, pw string, o auth.Origin, a *attempt) (Outcome, error) {
	u, err := s.users.UserByName(ctx, username)
	if auth.ErrorCode(err) == auth.ENotFound {
		a.reason = auth.AuditReasonUnknownUser
		return Outcome{}, s.failUnknown(ctx, pw)
	}
	if err != nil {
		return Outcome{}, err
	}
	a.user = u
	if u.PasswordHash == "" {
		// An account made by an identity provider has no password: any
		// password is wrong, after the same work as a wrong one.
		a.reason = auth.AuditReasonWrongPassword
		return Outcome{}, s.failUnknown(ctx, pw)
	}
	ok, rehash, err := s.passwords.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return Outcome{}, err
	}
	if !ok {
		a.reason = auth.AuditReasonWrongPassword
		return Outcome{}, ErrBadLogin
	}
	if !u.Active {
		a.reason = auth.AuditReasonInactive
		return Outcome{}, ErrInactive
	}
	if rehash {
		s.upgradeHash(ctx, u.ID, pw)
	}
	return s.next(ctx, u, auth.Authentication{AMR: []string{auth.AMRPassword}, Time: s.now()}, o,
		auth.AuditEvent{Event: auth.AuditLoginSucceeded, UserID: u.ID, Username: u.Username})
}

// signInAllowed counts a sign-in attempt of the client's address (any
// first factor) and refuses it past the limit.
func (s *Service) signInAllowed(ctx context.Context, o auth.Origin) error {
	if wait := ratelimit.Allow(ctx, s.rates, s.signIns.Key(clientaddr.Network(o.IP))); wait > 0 {
		return &auth.Error{Code: auth.ETooMany, Message: "Too many sign-in attempts from this address; try again later", RetryAfter: wait}
	}
	return nil
}

func (s *Service) failUnknown(ctx context.Context, pw string) error {
	if err := s.passwords.VerifyUnknownUser(ctx, pw); err != nil {
		return err
	}
	return ErrBadLogin
}

// upgradeHash re-hashes a password whose stored hash uses an old scheme or
// old parameters. A failure is logged: the login itself has succeeded.
func (s *Service) upgradeHash(ctx context.Context, userID, pw string) {
	h, err := s.passwords.Hash(ctx, pw)
	if err == nil {
		err = s.users.SetPasswordHash(ctx, userID, h)
	}
	if err != nil {
		s.log.WarnContext(ctx, "upgrading password hash failed", "user", userID, "err", err)
	}
}

func (s *Service) throttleWait(ctx context.Context, account, ip string) time.Duration {
	if s.throttle == nil {
		return 0
	}
	wait, err := s.throttle.Wait(ctx, account, ip)
	if err != nil {
		s.log.WarnContext(ctx, "login throttle unavailable; not throttling", "ip", ip, "err", err)
		return 0
	}
	return wait
}

// throttleRecord counts a wrong password and resets the count on success
// of the password (whether or not a second factor follows). It is
// recorded even when the client has gone away meanwhile, so that hanging
// up early does not make a guess free.
func (s *Service) throttleRecord(ctx context.Context, account, ip string, loginErr error) {
	if s.throttle == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	switch {
	case loginErr == nil:
		err = s.throttle.Succeeded(ctx, account, ip)
	case loginErr == ErrBadLogin:
		err = s.throttle.Failed(ctx, account, ip)
	}
	if err != nil {
		s.log.WarnContext(ctx, "login throttle unavailable; attempt not recorded", "ip", ip, "err", err)
	}
}

// auditFailure records a failed password step with its reason. (A success
// is recorded with the session it starts, in the same transaction.)
func (s *Service) auditFailure(ctx context.Context, o auth.Origin, a attempt, err error) {
	e := auth.AuditEvent{Event: auth.AuditLoginFailed, UserID: a.user.ID, Username: a.user.Username, Detail: a.reason}
	if e.Username == "" {
		e.Username = auth.NormalizeUsername(a.name)
	}
	switch {
	case errors.Is(err, password.ErrBusy):
		e.Detail = auth.AuditReasonHashingBusy
	case err != ErrBadLogin && err != ErrInactive && auth.ErrorCode(err) != auth.ETooMany:
		e.Detail = auth.AuditReasonError
	}
	s.audit.Record(ctx, o, e)
}

// clipName cuts an overlong typed name for the audit trail.
func clipName(name string) string {
	if len(name) <= maxNameBytes {
		return name
	}
	n := maxNameBytes
	for n > 0 && !utf8.RuneStart(name[n]) {
		n--
	}
	return name[:n]
}
