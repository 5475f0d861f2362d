package login

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Federated is the first factor of a sign-in at an identity provider
// (internal/federation), once the provider has vouched for u: it leads to
// a session, or to a pending attempt when u has a second factor, like a
// right password. The session's amr starts with "fed" (RFC 8176), and
// login.succeeded names the provider.
func (s *Service) Federated(ctx context.Context, u auth.User, provider string, o auth.Origin) (Outcome, error) {
	detail := "provider=" + provider
	if err := s.signInAllowed(ctx, o); err != nil {
		s.audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditLoginFailed, UserID: u.ID, Username: u.Username, Detail: auth.AuditReasonThrottled + " " + detail})
		return Outcome{}, err
	}
	if !u.Active {
		s.audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditLoginFailed, UserID: u.ID, Username: u.Username, Detail: auth.AuditReasonInactive + " " + detail})
		return Outcome{}, ErrInactive
	}
	return s.next(ctx, u, auth.Authentication{AMR: []string{auth.AMRFederated}, Time: s.now()}, o,
		auth.AuditEvent{Event: auth.AuditLoginSucceeded, UserID: u.ID, Username: u.Username, Detail: detail})
}
