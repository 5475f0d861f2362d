package sessions

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/clientaddr"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Scope says which sessions a logout ends.
type Scope string

// The logout scopes.
const (
	ScopeSession Scope = ""       // the caller's session
	ScopeGlobal  Scope = "global" // every session of the caller
	ScopeOthers  Scope = "others" // every session but the caller's
)

// ParseScope reads the ?scope= parameter.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeSession, "local", "session":
		return ScopeSession, nil
	case ScopeGlobal, ScopeOthers:
		return Scope(s), nil
	}
	return "", auth.Errorf(auth.EInvalid, "scope must be global, others or empty")
}

// String names the scope as the audit trail shows it.
func (sc Scope) String() string {
	if sc == ScopeSession {
		return "session"
	}
	return string(sc)
}

// Logout ends the caller's session, all their sessions, or all the others.
func (s *Service) Logout(ctx context.Context, p auth.Principal, scope Scope, o auth.Origin) error {
	f := auth.SessionFilter{SessionID: p.SessionID}
	switch scope {
	case ScopeGlobal:
		f = auth.SessionFilter{UserID: p.UserID}
	case ScopeOthers:
		f = auth.SessionFilter{UserID: p.UserID, ExceptSessionID: p.SessionID}
	}
	return s.end(ctx, f, o, auth.AuditEvent{
		Event: auth.AuditLogout, UserID: p.UserID, Username: p.Username, SessionID: p.SessionID,
		Detail: "scope=" + scope.String(),
	})
}

// end ends the sessions f selects, with the audit event e in the same
// transaction, and spreads the revocations.
func (s *Service) end(ctx context.Context, f auth.SessionFilter, o auth.Origin, e auth.AuditEvent) error {
	recs, err := s.store.RevokeSessions(ctx, f, s.revokeUntil(s.now()), s.audit.Effects(ctx, o, e))
	if err != nil {
		return err
	}
	s.denylist.Record(ctx, recs...)
	return nil
}

// EndSession ends one session by id (an administrator's action).
// ENotFound.
func (s *Service) EndSession(ctx context.Context, id string, o auth.Origin) error {
	sess, err := s.store.SessionByID(ctx, id)
	if err != nil {
		return err
	}
	return s.end(ctx, auth.SessionFilter{SessionID: id}, o, auth.AuditEvent{
		Event: auth.AuditSessionEnded, UserID: sess.UserID, Username: s.username(ctx, sess.UserID), SessionID: id,
	})
}

// username returns the name of a user for the audit trail, or "" if it
// cannot be read.
func (s *Service) username(ctx context.Context, id string) string {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return ""
	}
	return u.Username
}

// UserSessions lists a user's live sessions. ENotFound.
func (s *Service) UserSessions(ctx context.Context, userID string) ([]auth.Session, error) {
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	return s.store.ListSessions(ctx, userID, s.now())
}

var errNotYours = auth.Errorf(auth.EForbidden, "Not allowed to revoke another user's token")

// Revoke revokes an access token (its id) or a refresh token (its whole
// session), as RFC 7009 describes: a token that is invalid or already
// expired needs nothing and is not an error. The caller must own the token
// or be an administrator.
func (s *Service) Revoke(ctx context.Context, p auth.Principal, tok string, o auth.Origin) error {
	if wait := ratelimit.Allow(ctx, s.rates, s.limits.revokeAddr.Key(clientaddr.Network(o.IP)),
		s.limits.revokeSession.Key(p.SessionID)); wait > 0 {
		return tooMany("revocations", wait)
	}
	if token.LooksLikeRefreshToken(tok) {
		return s.revokeRefresh(ctx, p, tok, o)
	}
	c, err := s.verifier.Verify(ctx, tok)
	if err != nil {
		return nil // invalid, expired or already revoked: nothing to do
	}
	if !mayRevoke(p, c.Subject) {
		return errNotYours
	}
	rec, err := s.store.RevokeToken(ctx, c.ID, revocation.Until(c.ExpiresAt, 0), s.audit.Effects(ctx, o, auth.AuditEvent{
		Event: auth.AuditRevoked, UserID: c.Subject, Username: c.Username, SessionID: c.SessionID,
		Detail: "token=access jti=" + c.ID,
	}))
	if err != nil {
		return err
	}
	s.denylist.Record(ctx, rec)
	return nil
}

func (s *Service) revokeRefresh(ctx context.Context, p auth.Principal, tok string, o auth.Origin) error {
	sess, err := s.store.SessionByRefreshHash(ctx, token.HashRefreshToken(tok))
	if auth.ErrorCode(err) == auth.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !mayRevoke(p, sess.UserID) {
		return errNotYours
	}
	name := p.Username
	if p.UserID != sess.UserID {
		name = s.username(ctx, sess.UserID)
	}
	return s.end(ctx, auth.SessionFilter{SessionID: sess.ID}, o, auth.AuditEvent{
		Event: auth.AuditRevoked, UserID: sess.UserID, Username: name, SessionID: sess.ID, Detail: "token=refresh",
	})
}

func mayRevoke(p auth.Principal, owner string) bool {
	return p.UserID == owner || p.IsAdmin()
}
