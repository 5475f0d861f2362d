package accounts

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/password"
)

// checkCurrent verifies a user's current password before a sensitive
// change. A wrong one is counted in the login throttle (same account, same
// address), so that an access token cannot be used to guess the password
// faster than a login could, and audited; past the free guesses the caller
// waits.
func (s *Service) checkCurrent(ctx context.Context, u auth.User, current string, o auth.Origin) error {
	account := auth.UsernameKey(u.Username)
	ctx = password.WithClient(ctx, o.IP) // a fair share of the hashing slots
	if wait := s.guessWait(ctx, account, o.IP); wait > 0 {
		s.audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditPasswordCheckFailed, UserID: u.ID, Username: u.Username, Detail: auth.AuditReasonThrottled})
		return &auth.Error{Code: auth.ETooMany, Message: "Too many wrong passwords; try again later", RetryAfter: wait}
	}
	var ok bool
	var err error
	if u.PasswordHash == "" { // no password (an identity provider's account): every one is wrong
		err = s.passwords.VerifyUnknownUser(ctx, current)
	} else {
		ok, _, err = s.passwords.Verify(ctx, current, u.PasswordHash)
	}
	if err != nil {
		return err
	}
	gctx := context.WithoutCancel(ctx) // a guess counts even if the client hangs up
	if !ok {
		if s.guesses != nil {
			_ = s.guesses.Failed(gctx, account, o.IP) // a throttle failure never fails the request
		}
		s.audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditPasswordCheckFailed, UserID: u.ID, Username: u.Username, Detail: auth.AuditReasonWrongPassword})
		return errWrongPassword
	}
	if s.guesses != nil {
		_ = s.guesses.Succeeded(gctx, account, o.IP)
	}
	return nil
}

func (s *Service) guessWait(ctx context.Context, account, ip string) time.Duration {
	if s.guesses == nil {
		return 0
	}
	wait, err := s.guesses.Wait(ctx, account, ip)
	if err != nil {
		return 0 // the throttle fails open, as the login's does
	}
	return wait
}

// CheckCurrent verifies a user's current password before a sensitive
// change made elsewhere (second factors), throttled and audited like a
// password change's. EUnauthenticated, ETooMany.
func (s *Service) CheckCurrent(ctx context.Context, u auth.User, current string, o auth.Origin) error {
	return s.checkCurrent(ctx, u, current, o)
}
