package login

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/token"
)

// pendingAuth is what a pending attempt keeps of the steps so far (never
// a secret): the methods proved, and when the first factor was given.
type pendingAuth struct {
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time_ms"`
}

func encodeAuthentication(a auth.Authentication) string {
	b, _ := json.Marshal(pendingAuth{AMR: a.AMR, AuthTime: a.Time.UnixMilli()}) // cannot fail
	return string(b)
}

func decodeAuthentication(data string) (auth.Authentication, error) {
	var p pendingAuth
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return auth.Authentication{}, fmt.Errorf("login: a pending attempt's data: %w", err)
	}
	return auth.Authentication{AMR: p.AMR, Time: time.UnixMilli(p.AuthTime)}, nil
}

// SecondFactor continues a pending attempt with a code of any second
// factor the user has on. A wrong code costs one of the attempt's tries
// (after the last one the attempt is dead); a right one consumes the
// attempt, exactly once even when the same code races on two replicas,
// and leads on (to a session, since the user has now given a second
// factor).
func (s *Service) SecondFactor(ctx context.Context, attemptToken, code string, o auth.Origin) (Outcome, error) {
	if s.attempts == nil || attemptToken == "" || len(attemptToken) > 128 {
		return Outcome{}, ErrBadAttempt
	}
	hash := token.HashSecret(attemptToken)
	pending, err := s.attempts.LookupSecret(ctx, auth.PurposeLoginAttempt, hash, s.now())
	if auth.ErrorCode(err) == auth.ENotFound {
		return Outcome{}, ErrBadAttempt
	}
	if err != nil {
		return Outcome{}, err
	}
	u, err := s.users.UserByID(ctx, pending.OwnerID)
	if auth.ErrorCode(err) == auth.ENotFound {
		return Outcome{}, ErrBadAttempt
	}
	if err != nil {
		return Outcome{}, err
	}
	if !u.Active {
		return Outcome{}, ErrInactive
	}
	if s.codes != nil {
		if wait, err := s.codes.Wait(ctx, u.ID); err == nil && wait > 0 {
			s.audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditMFAFailed, UserID: u.ID, Username: u.Username, Detail: "login throttled"})
			return Outcome{}, &auth.Error{Code: auth.ETooMany, Message: "Too many wrong codes; try again later", RetryAfter: wait}
		}
	}
	added, err := s.checkCode(ctx, u, code, o)
	if err != nil {
		return Outcome{}, err
	}
	if added == nil {
		if s.codes != nil {
			_ = s.codes.Failed(ctx, u.ID)
		}
		s.audit.Record(ctx, o, auth.AuditEvent{Event: auth.AuditMFAFailed, UserID: u.ID, Username: u.Username, Detail: "login"})
		return Outcome{}, s.wrongCode(ctx, hash)
	}
	if s.codes != nil {
		_ = s.codes.Succeeded(ctx, u.ID)
	}
	if _, err := s.attempts.ConsumeSecret(ctx, auth.PurposeLoginAttempt, hash, s.now()); err != nil {
		if auth.ErrorCode(err) == auth.ENotFound {
			return Outcome{}, ErrBadAttempt // another request finished it first
		}
		return Outcome{}, err
	}
	a, err := decodeAuthentication(pending.Data)
	if err != nil {
		return Outcome{}, err
	}
	a.AMR = appendNew(a.AMR, added...)
	return s.next(ctx, u, a, o, auth.AuditEvent{Event: auth.AuditLoginSucceeded, UserID: u.ID, Username: u.Username})
}

// checkCode tries code against each of u's enrolled factors and returns
// the methods of the one that accepted it, or nil.
func (s *Service) checkCode(ctx context.Context, u auth.User, code string, o auth.Origin) ([]string, error) {
	for _, f := range s.factors {
		on, err := f.Enrolled(ctx, u)
		if err != nil {
			return nil, err
		}
		if !on {
			continue
		}
		amr, ok, err := f.Check(ctx, u, code, o)
		if err != nil {
			return nil, err
		}
		if ok {
			return appendNew(amr, auth.AMRMFA), nil
		}
	}
	return nil, nil
}

// wrongCode counts a wrong code against the attempt; once its tries are
// spent it is dead and the client must start again.
func (s *Service) wrongCode(ctx context.Context, hash string) error {
	_, err := s.attempts.FailSecretAttempt(ctx, auth.PurposeLoginAttempt, hash, s.now())
	switch {
	case auth.ErrorCode(err) == auth.ENotFound:
		return ErrBadAttempt
	case err != nil:
		return err
	}
	return ErrBadCode
}

// appendNew appends the methods of add that ms lacks.
func appendNew(ms []string, add ...string) []string {
	out := append([]string(nil), ms...)
	for _, m := range add {
		if !(auth.Authentication{AMR: out}).HasMethod(m) {
			out = append(out, m)
		}
	}
	return out
}
