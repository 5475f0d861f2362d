package sessions

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/verify"
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
func (s *Service) Logout(ctx context.Context, caller *verify.Claims, scope Scope) error {
	f := auth.SessionFilter{SessionID: caller.SessionID}
	switch scope {
	case ScopeGlobal:
		f = auth.SessionFilter{UserID: caller.Subject}
	case ScopeOthers:
		f = auth.SessionFilter{UserID: caller.Subject, ExceptSessionID: caller.SessionID}
	}
	n, err := s.revokeSessions(ctx, f)
	if err != nil {
		return err
	}
	s.Audit.Record(ctx, auth.AuditEvent{
		Event: auth.AuditLogout, UserID: caller.Subject, Username: caller.Username, SessionID: caller.SessionID,
		Detail: fmt.Sprintf("scope=%s sessions_ended=%d", scope, n),
	})
	return nil
}

// revokeSessions ends the sessions f selects and returns how many it ended.
func (s *Service) revokeSessions(ctx context.Context, f auth.SessionFilter) (int, error) {
	recs, err := s.Store.RevokeSessions(ctx, f, s.revokeUntil(s.Now()))
	if err != nil {
		return 0, err
	}
	s.Revocations.Record(ctx, recs...)
	return len(recs), nil
}

// EndSession ends one session by id (an administrator's action).
func (s *Service) EndSession(ctx context.Context, id string) error {
	sess, err := s.Store.SessionByID(ctx, id)
	if err != nil {
		return err
	}
	n, err := s.revokeSessions(ctx, auth.SessionFilter{SessionID: id})
	if err != nil {
		return err
	}
	s.Audit.Record(ctx, auth.AuditEvent{
		Event: auth.AuditSessionEnded, UserID: sess.UserID, Username: s.username(ctx, sess.UserID),
		SessionID: id, Detail: fmt.Sprintf("sessions_ended=%d", n),
	})
	return nil
}

// username returns the name of a user for the audit trail, or "" if it
// cannot be read.
func (s *Service) username(ctx context.Context, id string) string {
	u, err := s.Store.UserByID(ctx, id)
	if err != nil {
		return ""
	}
	return u.Username
}

// UserSessions lists a user's live sessions.
func (s *Service) UserSessions(ctx context.Context, userID string) ([]auth.Session, error) {
	if _, err := s.Store.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	return s.Store.ListSessions(ctx, userID, s.Now())
}

var errNotYours = auth.Errorf(auth.EForbidden, "Not allowed to revoke another user's token")

// Revoke revokes an access token (its id) or a refresh token (its whole
// session), as RFC 7009 describes: a token that is invalid or already
// expired needs nothing and is not an error. The caller must own the token
// or be an administrator.
func (s *Service) Revoke(ctx context.Context, caller *verify.Claims, tok string) error {
	if token.LooksLikeRefreshToken(tok) {
		return s.revokeRefresh(ctx, caller, tok)
	}
	c, err := s.Verifier.Verify(ctx, tok)
	if err != nil {
		return nil // invalid, expired or already revoked: nothing to do
	}
	if !mayRevoke(caller, c.Subject) {
		return errNotYours
	}
	rec, err := s.Store.RevokeToken(ctx, c.ID, c.ExpiresAt.Add(keys.MaxLeeway))
	if err != nil {
		return err
	}
	s.Revocations.Record(ctx, rec)
	s.Audit.Record(ctx, auth.AuditEvent{
		Event: auth.AuditRevoked, UserID: c.Subject, Username: c.Username, SessionID: c.SessionID,
		Detail: "token=access jti=" + c.ID,
	})
	return nil
}

func (s *Service) revokeRefresh(ctx context.Context, caller *verify.Claims, tok string) error {
	sess, err := s.Store.SessionByRefreshHash(ctx, token.HashRefreshToken(tok))
	if auth.ErrorCode(err) == auth.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !mayRevoke(caller, sess.UserID) {
		return errNotYours
	}
	n, err := s.revokeSessions(ctx, auth.SessionFilter{SessionID: sess.ID})
	if err != nil {
		return err
	}
	name := caller.Username
	if caller.Subject != sess.UserID {
		name = s.username(ctx, sess.UserID)
	}
	s.Audit.Record(ctx, auth.AuditEvent{
		Event: auth.AuditRevoked, UserID: sess.UserID, Username: name, SessionID: sess.ID,
		Detail: fmt.Sprintf("token=refresh sessions_ended=%d", n),
	})
	return nil
}

func mayRevoke(caller *verify.Claims, owner string) bool {
	return caller.Subject == owner || caller.Role == string(auth.RoleAdmin)
}
