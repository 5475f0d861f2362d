// Package sessions runs the flows that start, renew and end sessions:
// login, refresh-token rotation with reuse detection, logout and token
// revocation. It is shared by the HTTP server and the command line.
package sessions

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/verify"
)

// Config wires a Service.
type Config struct {
	Store         auth.Store
	Passwords     *password.Hasher
	Keys          *keys.Manager
	Verifier      *verify.Verifier
	Revocations   *revocation.Set
	Issuer        string
	Audience      string
	AccessTTL     time.Duration
	RefreshTTL    time.Duration
	ReuseInterval time.Duration
	Now           func() time.Time
	Log           *slog.Logger
	// Throttle slows password guessing; nil turns it off.
	Throttle Throttle
	// Audit records every flow's outcome; nil records nothing.
	Audit *audit.Recorder
}

// Throttle counts failed logins per account and client address. A method
// that fails never fails the login: Login logs the error and goes on as if
// the throttle had no objection. An implementation backed by a remote store
// should fall back on its own (see ratelimit.Failover) rather than fail.
type Throttle interface {
	// Wait says how long the client must wait before trying again.
	Wait(ctx context.Context, account, addr string) (time.Duration, error)
	// Failed records a wrong password (or an unknown user).
	Failed(ctx context.Context, account, addr string) error
	// Succeeded resets the account's counter for this address.
	Succeeded(ctx context.Context, account, addr string) error
}

// Service runs the session flows.
type Service struct{ Config }

// New returns a Service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return &Service{c}
}

// Tokens is the answer to a login or a refresh.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Client describes who is calling, for the session list and the logs.
type Client struct {
	UserAgent string
	IP        string
}

// Errors with the exact messages of the contract.
var (
	errBadLogin   = auth.Errorf(auth.EUnauthenticated, "Invalid username or password")
	errInactive   = auth.Errorf(auth.EInactive, "Inactive user")
	errBadRefresh = auth.Errorf(auth.EUnauthenticated, "Invalid or expired refresh token")
)

// Login checks a username and password and starts a session. An unknown
// user costs the same hashing work as a wrong password, and gets the same
// answer; only the audit trail tells them apart.
func (s *Service) Login(ctx context.Context, username, pw string, c Client) (Tokens, error) {
	account := auth.UsernameKey(username)
	a := attempt{name: username}
	ctx = password.WithClient(ctx, c.IP) // the hashing slots are shared fairly between addresses
	if err := s.Passwords.AdmitFor(ctx); err != nil {
		s.auditLogin(ctx, c, a, err)
		return Tokens{}, err
	}
	if wait := s.throttleWait(ctx, account, c.IP); wait > 0 {
		err := &auth.Error{Code: auth.ETooMany, Message: "Too many failed logins; try again later", RetryAfter: wait}
		a.reason = auth.AuditReasonThrottled
		s.auditLogin(ctx, c, a, err)
		return Tokens{}, err
	}
	toks, err := s.login(ctx, username, pw, c, &a)
	s.throttleRecord(ctx, account, c.IP, err)
	s.auditLogin(ctx, c, a, err)
	return toks, err
}

// attempt is what a login found out, for the audit trail.
type attempt struct {
	name    string    // as typed
	user    auth.User // zero for an unknown user
	session string    // the session started
	reason  string    // why it failed
}

func (s *Service) throttleWait(ctx context.Context, account, ip string) time.Duration {
	if s.Throttle == nil {
		return 0
	}
	wait, err := s.Throttle.Wait(ctx, account, ip)
	if err != nil {
		s.Log.WarnContext(ctx, "login throttle unavailable; not throttling", "ip", ip, "err", err)
		return 0
	}
	return wait
}

// throttleRecord counts a wrong password and resets the count on success.
// It is recorded even when the client has gone away meanwhile, so that
// hanging up early does not make a guess free.
func (s *Service) throttleRecord(ctx context.Context, account, ip string, loginErr error) {
	if s.Throttle == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	switch {
	case loginErr == nil:
		err = s.Throttle.Succeeded(ctx, account, ip)
	case loginErr == errBadLogin:
		err = s.Throttle.Failed(ctx, account, ip)
	}
	if err != nil {
		s.Log.WarnContext(ctx, "login throttle unavailable; attempt not recorded", "ip", ip, "err", err)
	}
}

func (s *Service) login(ctx context.Context, username, pw string, c Client, a *attempt) (Tokens, error) {
	u, err := s.Store.UserByName(ctx, username)
	if auth.ErrorCode(err) == auth.ENotFound {
		a.reason = auth.AuditReasonUnknownUser
		return Tokens{}, s.failUnknown(ctx, pw)
	}
	if err != nil {
		return Tokens{}, err
	}
	a.user = u
	ok, rehash, err := s.Passwords.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return Tokens{}, err
	}
	if !ok {
		a.reason = auth.AuditReasonWrongPassword
		return Tokens{}, errBadLogin
	}
	if !u.Active {
		a.reason = auth.AuditReasonInactive
		return Tokens{}, errInactive
	}
	if rehash {
		s.upgradeHash(ctx, u.ID, pw)
	}
	return s.start(ctx, u, c, a)
}

// auditLogin records the outcome of a login: a success with its session,
// or a failure with its reason.
func (s *Service) auditLogin(ctx context.Context, c Client, a attempt, err error) {
	e := auth.AuditEvent{
		Event: auth.AuditLoginSucceeded, UserID: a.user.ID, Username: a.user.Username,
		SessionID: a.session, IP: c.IP, UserAgent: c.UserAgent,
	}
	if e.Username == "" {
		e.Username = auth.NormalizeUsername(a.name)
	}
	if err != nil {
		e.Event, e.Detail = auth.AuditLoginFailed, a.reason
		switch {
		case errors.Is(err, password.ErrBusy):
			e.Detail = auth.AuditReasonHashingBusy
		case err != errBadLogin && err != errInactive && auth.ErrorCode(err) != auth.ETooMany:
			e.Detail = auth.AuditReasonError
		}
	}
	s.Audit.Record(ctx, e)
}

func (s *Service) failUnknown(ctx context.Context, pw string) error {
	if err := s.Passwords.VerifyUnknownUser(ctx, pw); err != nil {
		return err
	}
	return errBadLogin
}

// upgradeHash re-hashes a password whose stored hash uses an old scheme or
// old parameters. A failure is logged: the login itself has succeeded.
func (s *Service) upgradeHash(ctx context.Context, userID, pw string) {
	h, err := s.Passwords.Hash(ctx, pw)
	if err == nil {
		err = s.Store.SetPasswordHash(ctx, userID, h)
	}
	if err != nil {
		s.Log.Warn("upgrading password hash failed", "user", userID, "err", err)
	}
}

func (s *Service) start(ctx context.Context, u auth.User, c Client, a *attempt) (Tokens, error) {
	now := s.Now()
	refresh, err := token.NewRefreshToken()
	if err != nil {
		return Tokens{}, err
	}
	sess := auth.Session{
		ID: newSessionID(), UserID: u.ID, CreatedAt: now, RefreshedAt: now,
		ExpiresAt: now.Add(s.RefreshTTL), UserAgent: truncate(c.UserAgent, 256), IP: c.IP,
	}
	if err := s.Store.CreateSession(ctx, sess, token.HashRefreshToken(refresh)); err != nil {
		return Tokens{}, err
	}
	a.session = sess.ID
	return s.tokens(u, sess.ID, refresh, now)
}

func (s *Service) tokens(u auth.User, sid, refresh string, now time.Time) (Tokens, error) {
	signer, err := s.Keys.Signer()
	if err != nil {
		return Tokens{}, err
	}
	access, _, _, err := signer.Sign(token.AccessClaims{
		Issuer: s.Issuer, Subject: u.ID, Audience: s.Audience, SessionID: sid,
		Username: u.Username, Role: string(u.Role), IssuedAt: now, TTL: s.AccessTTL,
	})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: refresh, TokenType: "bearer", ExpiresIn: int(s.AccessTTL / time.Second)}, nil
}

// Refresh uses up a refresh token and returns a new pair for the same
// session. A token used up earlier than the reuse interval ends the session.
func (s *Service) Refresh(ctx context.Context, presented string, c Client) (Tokens, error) {
	if !token.LooksLikeRefreshToken(presented) {
		return Tokens{}, errBadRefresh
	}
	next, err := token.NewRefreshToken()
	if err != nil {
		return Tokens{}, err
	}
	now := s.Now()
	rot := auth.Rotation{
		PresentedHash: token.HashRefreshToken(presented), NewHash: token.HashRefreshToken(next),
		Now: now, SessionTTL: s.RefreshTTL, ReuseInterval: s.ReuseInterval, RevokeUntil: s.revokeUntil(now),
	}
	var event *auth.AuditEvent
	if s.Audit != nil {
		// Written in the rotation's own transaction: one commit, and no
		// refresh without its event.
		rot.Audit = func(res auth.RotationResult) *auth.AuditEvent {
			event = refreshEvent(res, c)
			if event != nil {
				*event = s.Audit.Prepare(ctx, *event)
			}
			return event
		}
	}
	res, err := s.Store.RotateRefreshToken(ctx, rot)
	if auth.ErrorCode(err) == auth.EUnauthenticated {
		return Tokens{}, errBadRefresh
	}
	if err != nil {
		return Tokens{}, err
	}
	if res.AuditErr != nil && event != nil {
		s.Audit.Failed(ctx, *event, res.AuditErr)
	}
	if res.Outcome == auth.Reused {
		s.Revocations.Record(ctx, res.Revocations...)
		s.Log.Warn("refresh token reused: session revoked", "session", res.Session.ID, "user", res.Session.UserID, "ip", c.IP)
		return Tokens{}, errBadRefresh
	}
	if !res.User.Active {
		return Tokens{}, errBadRefresh
	}
	return s.tokens(res.User, res.Session.ID, next, now)
}

// refreshEvent is the audit event of a rotation's outcome: the session
// renewed, or revoked for reuse; none when the user is disabled (the
// refresh is refused).
func refreshEvent(res auth.RotationResult, c Client) *auth.AuditEvent {
	e := &auth.AuditEvent{
		Event: auth.AuditRefreshed, UserID: res.User.ID, Username: res.User.Username,
		SessionID: res.Session.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: res.Outcome.String(),
	}
	switch {
	case res.Outcome == auth.Reused:
		e.Event, e.Detail = auth.AuditRefreshReused, "session=revoked"
	case !res.User.Active:
		return nil
	}
	return e
}

// revokeUntil is when a revocation made at now can be forgotten: every
// access token issued before now has expired by then.
func (s *Service) revokeUntil(now time.Time) time.Time {
	return now.Add(s.AccessTTL + keys.MaxLeeway)
}

// newSessionID returns 128 random bits, base64url.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
