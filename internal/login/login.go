// Package login owns the order of authentication: a first factor (a
// password today; an identity provider next) leads either to a session or,
// for a user with a second factor, to a pending attempt that the next step
// continues. Steps never call each other: each ends in next, which decides
// from what the user has proved so far. A pending attempt is a one-time
// secret (stored as a hash, short-lived, with a few attempts, consumed
// once), so any replica can take the next step and a replayed attempt
// token is worthless.
package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Users is what the login steps read and write of accounts.
type Users interface {
	UserByName(ctx context.Context, name string) (auth.User, error)
	UserByID(ctx context.Context, id string) (auth.User, error)
	SetPasswordHash(ctx context.Context, id, hash string) error
}

// Passwords checks passwords (password.Hasher).
type Passwords interface {
	// AdmitFor asks for a hashing slot before any other work, as the
	// client that password.WithClient put in ctx (slots are shared fairly
	// between client addresses); ErrBusy when the server is at capacity.
	AdmitFor(ctx context.Context) error
	Verify(ctx context.Context, pw, hash string) (ok, rehash bool, err error)
	VerifyUnknownUser(ctx context.Context, pw string) error
	Hash(ctx context.Context, pw string) (string, error)
}

// Throttle counts failed logins per account and client address. A method
// that fails never fails the login: the step logs the error and goes on
// as if the throttle had no objection. An implementation backed by a
// remote store falls back on its own (see throttle.Failover).
type Throttle interface {
	// Wait says how long the client must wait before trying again.
	Wait(ctx context.Context, account, addr string) (time.Duration, error)
	// Failed records a wrong password (or an unknown user).
	Failed(ctx context.Context, account, addr string) error
	// Succeeded resets the account's counter for this address.
	Succeeded(ctx context.Context, account, addr string) error
}

// Sessions starts the session of a user who has proved enough
// (sessions.Service).
type Sessions interface {
	Start(ctx context.Context, u auth.User, a auth.Authentication, o auth.Origin, fx auth.Effects) (sessions.Issued, error)
}

// Attempts keeps pending logins as one-time secrets (the store).
type Attempts interface {
	IssueSecret(ctx context.Context, s auth.OneTimeSecret, voidOthers bool) error
	LookupSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error)
	ConsumeSecret(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (auth.OneTimeSecret, error)
	FailSecretAttempt(ctx context.Context, purpose auth.SecretPurpose, hash string, now time.Time) (int, error)
}

// CodeThrottle counts wrong second-factor codes per user, whatever the
// attempt or the address they come from (mfa.Guesses). A method that
// fails never fails the step.
type CodeThrottle interface {
	Wait(ctx context.Context, userID string) (time.Duration, error)
	Failed(ctx context.Context, userID string) error
	Succeeded(ctx context.Context, userID string) error
}

// SecondFactor is one kind of second factor (TOTP, recovery codes).
type SecondFactor interface {
	// Method names it to clients ("totp", "recovery_code").
	Method() string
	// Enrolled reports whether u has this factor on.
	Enrolled(ctx context.Context, u auth.User) (bool, error)
	// Check verifies code for u. On success it returns the methods (RFC
	// 8176) the factor adds to the session's amr, in order: ["otp","mfa"]
	// for a TOTP code, ["mfa","rec"] for a recovery code ("mfa" is added
	// if missing); ok is false for a wrong code.
	Check(ctx context.Context, u auth.User, code string, o auth.Origin) (amr []string, ok bool, err error)
}

// Config wires a Service. Users, Passwords and Sessions are required;
// Attempts is required once any SecondFactors are given.
type Config struct {
	Users         Users
	Passwords     Passwords
	Sessions      Sessions
	Attempts      Attempts
	SecondFactors []SecondFactor
	Throttle      Throttle // nil: no throttling
	// Codes counts wrong second-factor codes per user (nil: not counted).
	Codes CodeThrottle
	Audit *audit.Recorder // nil: no audit trail
	// Rates counts SignIns: sign-in attempts per client address, whatever
	// their outcome, but for a password attempt refused because every
	// hashing slot is busy, which is refused before it is counted (nil
	// Rates, or SignIns.Free 0: no limit). The fair
	// share of hashing slots protects everyone else from one busy client;
	// this bounds how many sessions and audit rows it can make.
	Rates   ratelimit.Taker
	SignIns ratelimit.Limit
	// AttemptTTL is how long a pending attempt waits for its next step
	// (AttemptTTL by default), and AttemptTries how many wrong codes it
	// survives (AttemptTries by default).
	AttemptTTL   time.Duration
	AttemptTries int
	Now          func() time.Time
	Log          *slog.Logger
}

// The defaults of a pending attempt.
const (
	AttemptTTL   = 5 * time.Minute
	AttemptTries = 5
)

// Service runs the login steps. It is safe for concurrent use.
type Service struct {
	users     Users
	passwords Passwords
	sessions  Sessions
	attempts  Attempts
	factors   []SecondFactor
	throttle  Throttle
	codes     CodeThrottle
	audit     *audit.Recorder
	rates     ratelimit.Taker
	signIns   ratelimit.Limit
	ttl       time.Duration
	tries     int
	now       func() time.Time
	log       *slog.Logger
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{
		users: c.Users, passwords: c.Passwords, sessions: c.Sessions, attempts: c.Attempts,
		factors: c.SecondFactors, throttle: c.Throttle, codes: c.Codes, audit: c.Audit, rates: c.Rates, signIns: c.SignIns,
		ttl: c.AttemptTTL, tries: c.AttemptTries, now: c.Now, log: c.Log,
	}
	if s.ttl <= 0 {
		s.ttl = AttemptTTL
	}
	if s.tries <= 0 {
		s.tries = AttemptTries
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Outcome is where a step led: a session, or a second factor to give.
// Exactly one of Session and Pending is set.
type Outcome struct {
	User    auth.User
	Session *sessions.Issued
	Pending *Pending
}

// Pending is a login waiting for a second factor: the opaque token that
// the next step presents, which factors it accepts, and how long it lives.
type Pending struct {
	Token     string
	Methods   []string
	ExpiresIn time.Duration
}

// Errors with the contract's words.
var (
	ErrBadLogin       = auth.Errorf(auth.EUnauthenticated, "Invalid username or password")
	ErrInactive       = auth.Errorf(auth.EInactive, "Inactive user")
	ErrBadAttempt     = auth.Reasonf(auth.EUnauthenticated, "invalid_mfa_token", "Invalid or expired login attempt")
	ErrBadCode        = auth.Reasonf(auth.EUnauthenticated, "invalid_mfa_code", "Invalid second-factor code")
	errTooManyLogins  = "Too many failed logins; try again later"
	errUnknownFactors = errors.New("login: a user has a second factor but no attempt store is configured")
)

// next decides where a login goes once the user has proved a: on to a
// session, or to a pending attempt when a second factor is on and a does
// not include one yet. events are recorded with whichever comes.
func (s *Service) next(ctx context.Context, u auth.User, a auth.Authentication, o auth.Origin, events ...auth.AuditEvent) (Outcome, error) {
	if !a.HasMethod(auth.AMRMFA) {
		methods, err := s.enrolled(ctx, u)
		if err != nil {
			return Outcome{}, err
		}
		if len(methods) > 0 {
			return s.pend(ctx, u, a, methods, o)
		}
	}
	iss, err := s.sessions.Start(ctx, u, a, o, s.audit.Effects(ctx, o, events...))
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{User: u, Session: &iss}, nil
}

// enrolled lists the second factors u has on.
func (s *Service) enrolled(ctx context.Context, u auth.User) ([]string, error) {
	var methods []string
	for _, f := range s.factors {
		on, err := f.Enrolled(ctx, u)
		if err != nil {
			return nil, err
		}
		if on {
			methods = append(methods, f.Method())
		}
	}
	return methods, nil
}

// pend stores a pending attempt and returns its token.
func (s *Service) pend(ctx context.Context, u auth.User, a auth.Authentication, methods []string, o auth.Origin) (Outcome, error) {
	if s.attempts == nil {
		return Outcome{}, errUnknownFactors
	}
	tok := newAttemptToken()
	now := s.now()
	err := s.attempts.IssueSecret(ctx, auth.OneTimeSecret{
		Hash: token.HashSecret(tok), Purpose: auth.PurposeLoginAttempt, OwnerID: u.ID,
		Data: encodeAuthentication(a), CreatedAt: now, ExpiresAt: now.Add(s.ttl), AttemptsLeft: s.tries,
	}, false)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{User: u, Pending: &Pending{Token: tok, Methods: methods, ExpiresIn: s.ttl}}, nil
}

// newAttemptToken returns 256 random bits, base64url.
func newAttemptToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// throttled is the answer to a client that must wait.
func throttled(wait time.Duration) error {
	return &auth.Error{Code: auth.ETooMany, Message: errTooManyLogins, RetryAfter: wait}
}
