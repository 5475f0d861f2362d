// Package sessions owns the life of a session once its user has
// authenticated: it starts one (for a user the login steps vouch for),
// renews it by refresh-token rotation with reuse detection, and ends it by
// logout, revocation or an administrator's hand. It does not check
// passwords or second factors: internal/login does, then calls Start.
package sessions

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/clientaddr"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/verify"
)

// Store is what the sessions need of the database.
type Store interface {
	CreateSession(ctx context.Context, s auth.Session, refreshHash string, fx auth.Effects) error
	RotateRefreshToken(ctx context.Context, r auth.Rotation) (auth.RotationResult, error)
	SessionByRefreshHash(ctx context.Context, hash string) (auth.Session, error)
	SessionByID(ctx context.Context, id string) (auth.Session, error)
	ListSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error)
	RevokeSessions(ctx context.Context, f auth.SessionFilter, until time.Time, fx auth.Effects) ([]auth.Revocation, error)
	RevokeToken(ctx context.Context, jti string, until time.Time, fx auth.Effects) (auth.Revocation, error)
	UserByID(ctx context.Context, id string) (auth.User, error)
}

// Signers hands out the key that signs access tokens now (keys.Manager).
type Signers interface {
	Signer() (*token.Signer, error)
}

// Verifier checks an access token presented for revocation.
type Verifier interface {
	Verify(ctx context.Context, token string) (*verify.Claims, error)
}

// Denylist takes the revocations a change recorded, and spreads them to
// every replica (revocation.Set).
type Denylist interface {
	Record(ctx context.Context, recs ...auth.Revocation)
}

// Cache is told of every session started or renewed, with its user
// (trust.Resolver), so that the tokens issued here are trusted without a
// database round trip.
type Cache interface {
	Remember(sess auth.Session, u auth.User)
}

// Config wires a Service. Store, Signers, Verifier and Denylist are
// required.
type Config struct {
	Store         Store
	Signers       Signers
	Verifier      Verifier
	Denylist      Denylist
	Issuer        string
	Audience      string
	AccessTTL     time.Duration
	RefreshTTL    time.Duration
	ReuseInterval time.Duration
	Now           func() time.Time // time.Now when nil
	Log           *slog.Logger
	Audit         *audit.Recorder // nil records nothing
	Cache         Cache           // nil: none
	// Limits: refreshes and revocations per client address (Rates
	// counts them; nil Rates or a limit's Free 0: no limit), refreshes
	// per session (decided by the rotation itself), revocations per
	// session, and the most live sessions per user (0: no cap).
	Rates              ratelimit.Taker
	RefreshesPerAddr   ratelimit.Limit
	RevokesPerAddr     ratelimit.Limit
	RevokesPerSession  ratelimit.Limit
	RefreshesPerSess   auth.Rate
	MaxSessionsPerUser int
}

// Service runs the session lifecycle. It is safe for concurrent use.
type Service struct {
	store    Store
	signers  Signers
	verifier Verifier
	denylist Denylist
	issuer   string
	audience string
	access   time.Duration
	refresh  time.Duration
	reuse    time.Duration
	now      func() time.Time
	log      *slog.Logger
	audit    *audit.Recorder
	cache    Cache
	rates    ratelimit.Taker
	limits   limits
}

// limits are a Service's request limits (see Config).
type limits struct {
	refreshAddr, revokeAddr, revokeSession ratelimit.Limit
	refreshSession                         auth.Rate
	maxPerUser                             int
}

// New returns a Service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return &Service{
		store: c.Store, signers: c.Signers, verifier: c.Verifier, denylist: c.Denylist,
		issuer: c.Issuer, audience: c.Audience, access: c.AccessTTL, refresh: c.RefreshTTL,
		reuse: c.ReuseInterval, now: c.Now, log: c.Log, audit: c.Audit, cache: c.Cache, rates: c.Rates,
		limits: limits{
			refreshAddr: c.RefreshesPerAddr, revokeAddr: c.RevokesPerAddr, revokeSession: c.RevokesPerSession,
			refreshSession: c.RefreshesPerSess, maxPerUser: c.MaxSessionsPerUser,
		},
	}
}

// Issued is what a started or renewed session hands the client.
type Issued struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration // the access token's lifetime
	SessionID    string
}

// ErrBadRefresh is the answer to every refresh token that cannot be used.
var ErrBadRefresh = auth.ErrBadRefresh

// Start begins a session for u, who authenticated as a says, and returns
// its first tokens. fx commits with the session (the login's audit event,
// stamped with the new session). The caller has checked every factor.
func (s *Service) Start(ctx context.Context, u auth.User, a auth.Authentication, o auth.Origin, fx auth.Effects) (Issued, error) {
	now := s.now()
	if a.Time.IsZero() {
		a.Time = now
	}
	refresh, err := token.NewRefreshToken()
	if err != nil {
		return Issued{}, err
	}
	sess := auth.Session{
		ID: newSessionID(), UserID: u.ID, CreatedAt: now, RefreshedAt: now,
		ExpiresAt: now.Add(s.refresh), UserAgent: auth.CleanText(o.UserAgent, 256), IP: o.IP, Auth: a,
	}
	if err := s.store.CreateSession(ctx, sess, token.HashRefreshToken(refresh), fx); err != nil {
		return Issued{}, err
	}
	s.remember(sess, u)
	s.capSessions(ctx, u, o)
	return s.issue(u, sess, refresh, now)
}

// capSessions ends the user's oldest live sessions beyond the cap, so that
// logging in again and again cannot pile up sessions. A failure is logged:
// the new session stands.
func (s *Service) capSessions(ctx context.Context, u auth.User, o auth.Origin) {
	if s.limits.maxPerUser <= 0 {
		return
	}
	recs, err := s.store.RevokeSessions(ctx, auth.SessionFilter{UserID: u.ID, KeepNewest: s.limits.maxPerUser},
		s.revokeUntil(s.now()), s.audit.Effects(ctx, o, auth.AuditEvent{
			Event: auth.AuditSessionEnded, UserID: u.ID, Username: u.Username,
			Detail: fmt.Sprintf("cap=%d", s.limits.maxPerUser),
		}))
	if err != nil {
		s.log.WarnContext(ctx, "ending sessions past the cap failed", "user", u.ID, "err", err)
		return
	}
	s.denylist.Record(ctx, recs...)
}

// tooMany is the answer to a client over one of the request limits.
func tooMany(what string, wait time.Duration) error {
	return &auth.Error{Code: auth.ETooMany, Message: "Too many " + what + "; try again later", RetryAfter: wait}
}

func (s *Service) issue(u auth.User, sess auth.Session, refresh string, now time.Time) (Issued, error) {
	signer, err := s.signers.Signer()
	if err != nil {
		return Issued{}, err
	}
	access, _, _, err := signer.Sign(token.AccessClaims{
		Issuer: s.issuer, Subject: u.ID, Audience: s.audience, SessionID: sess.ID,
		Username: u.Username, Role: string(u.Role), IssuedAt: now, TTL: s.access,
		AuthTime: sess.Auth.Time, AMR: sess.Auth.AMR,
	})
	if err != nil {
		return Issued{}, err
	}
	return Issued{AccessToken: access, RefreshToken: refresh, ExpiresIn: s.access, SessionID: sess.ID}, nil
}

// Refresh uses up a refresh token and returns a new pair for the same
// session, with the session's amr and auth_time. A token used up earlier
// than the reuse interval ends the session.
func (s *Service) Refresh(ctx context.Context, presented string, o auth.Origin) (Issued, error) {
	if !token.LooksLikeRefreshToken(presented) {
		return Issued{}, ErrBadRefresh
	}
	if wait := ratelimit.Allow(ctx, s.rates, s.limits.refreshAddr.Key(clientaddr.Network(o.IP))); wait > 0 {
		return Issued{}, tooMany("refreshes from this address", wait)
	}
	next, err := token.NewRefreshToken()
	if err != nil {
		return Issued{}, err
	}
	now := s.now()
	res, err := s.store.RotateRefreshToken(ctx, auth.Rotation{
		PresentedHash: token.HashRefreshToken(presented), NewHash: token.HashRefreshToken(next),
		Now: now, SessionTTL: s.refresh, ReuseInterval: s.reuse, RevokeUntil: s.revokeUntil(now),
		SessionRate: s.limits.refreshSession,
		// Written in the rotation's own transaction: one commit, and no
		// refresh without its event.
		Renewed: s.audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditRefreshed}),
		Reused:  s.audit.Effects(ctx, o, auth.AuditEvent{Event: auth.AuditRefreshReused, Detail: "session=revoked"}),
	})
	if auth.ErrorCode(err) == auth.EUnauthenticated {
		return Issued{}, ErrBadRefresh
	}
	if err != nil {
		return Issued{}, err
	}
	if res.Outcome == auth.Reused {
		s.denylist.Record(ctx, res.Revocations...)
		s.log.Warn("refresh token reused: session revoked", "session", res.Session.ID, "user", res.Session.UserID, "ip", o.IP)
		return Issued{}, ErrBadRefresh
	}
	if !res.User.Active {
		return Issued{}, ErrBadRefresh
	}
	s.remember(res.Session, res.User)
	return s.issue(res.User, res.Session, next, now)
}

func (s *Service) remember(sess auth.Session, u auth.User) {
	if s.cache != nil {
		s.cache.Remember(sess, u)
	}
}

// revokeUntil is when a revocation made at now can be forgotten: every
// access token issued before now has expired by then.
func (s *Service) revokeUntil(now time.Time) time.Time {
	return revocation.Until(now, s.access)
}

// newSessionID returns 128 random bits, base64url.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}
